#!/usr/bin/env bash
# shellcheck shell=bash
# Shared helpers for rbnet's infra scripts. Source it; do not execute it:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Safe under `set -euo pipefail`: every function returns 0 on success and never relies on
# unset variables.

if [[ "${BASH_SOURCE[0]}" == "${0}" ]]; then
  cat <<'EOF'
Usage: source infra/lib.sh   (a library for the other infra scripts; running it does nothing)

Defines: log warn die require_root need_packages need_cmd pkg_installed apt_update_once
engine_api engine_ping json_get sha256_of read_lock deterministic_tar env_import env_import_debian
env_mmdebstrap env_write_registry,
and the defaults RBNET_STATE_DIR=/var/lib/rbnet RBNET_RUN_DIR=/run/rbnet
RBNET_DOCKER_HOST=unix:///run/rbnet/docker.sock RBNET_REDIS_PORT=6390
RBNET_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg.
EOF
  exit 0
fi

if [[ -n "${RBNET_LIB_SOURCED:-}" ]]; then
  return 0
fi
RBNET_LIB_SOURCED=1

# ---------------------------------------------------------------- paths and defaults
RBNET_INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RBNET_REPO_DIR="$(cd "${RBNET_INFRA_DIR}/.." && pwd)"
export RBNET_REPO_DIR
# Engine loop file, engine data root, environments, redis data.
: "${RBNET_STATE_DIR:=/var/lib/rbnet}"
# Sockets and pid files of our own engine (never /var/run/docker.sock: we do not fight another engine).
: "${RBNET_RUN_DIR:=/run/rbnet}"
if [[ -n "${RBNET_DOCKER_HOST:-}" ]]; then
  [[ "${RBNET_DOCKER_HOST}" == unix:///* ]] || { echo "RBNET_DOCKER_HOST must be unix:///path, got ${RBNET_DOCKER_HOST}" >&2; exit 1; }
  RBNET_DOCKER_SOCK="${RBNET_DOCKER_HOST#unix://}"
else
  : "${RBNET_DOCKER_SOCK:=${RBNET_RUN_DIR}/docker.sock}"
  RBNET_DOCKER_HOST="unix://${RBNET_DOCKER_SOCK}"
fi
: "${RBNET_REDIS_PORT:=6390}"
# The pinned trust root for everything we take from Debian.
: "${RBNET_KEYRING:=/usr/share/keyrings/debian-archive-keyring.gpg}"
export RBNET_STATE_DIR RBNET_RUN_DIR RBNET_DOCKER_SOCK RBNET_DOCKER_HOST RBNET_REDIS_PORT RBNET_KEYRING

# ---------------------------------------------------------------- logging
# log MSG...  — to stderr, so stdout stays for machine-readable results (e.g. a digest).
log() {
  printf '[%s] %s: %s\n' "$(date -u +%H:%M:%S)" "$(basename "${0}")" "$*" >&2
}

# warn MSG...
warn() {
  printf '[%s] %s: WARNING: %s\n' "$(date -u +%H:%M:%S)" "$(basename "${0}")" "$*" >&2
}

# die MSG... — print and exit 1.
die() {
  printf '[%s] %s: ERROR: %s\n' "$(date -u +%H:%M:%S)" "$(basename "${0}")" "$*" >&2
  exit 1
}

require_root() {
  [[ "$(id -u)" == 0 ]] || die "must run as root (it manages mounts, daemons and packages)"
}

# ---------------------------------------------------------------- Debian packages
# pkg_installed PKG — true when dpkg has PKG fully installed.
pkg_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# apt_lists_present — true when apt has at least one Packages index.
apt_lists_present() {
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

RBNET_APT_UPDATED=""
# apt_update_once — `apt-get update`, at most once per script run.
apt_update_once() {
  if [[ -z "${RBNET_APT_UPDATED}" ]]; then
    log "apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    RBNET_APT_UPDATED=1
  fi
}

# pkg_has_candidate PKG — true when the current lists know an installable version of PKG.
pkg_has_candidate() {
  local cand
  cand="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')"
  [[ -n "${cand}" && "${cand}" != "(none)" ]]
}

# need_packages PKG... — install the Debian packages that are missing. Runs `apt-get update` only
# when the package lists are missing, do not know a wanted package, or an install fails (stale
# lists point at files the archive no longer has). Quick no-op when everything is installed.
need_packages() {
  local missing=() p
  for p in "$@"; do
    pkg_installed "${p}" || missing+=("${p}")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
  fi
  require_root
  if ! apt_lists_present; then
    apt_update_once
  else
    for p in "${missing[@]}"; do
      if ! pkg_has_candidate "${p}"; then
        apt_update_once
        break
      fi
    done
  fi
  log "installing Debian packages: ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
    [[ -z "${RBNET_APT_UPDATED}" ]] || die "apt-get install ${missing[*]} failed"
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
      die "apt-get install ${missing[*]} failed"
  fi
}

# need_cmd CMD PKG — install PKG when CMD is not on PATH.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 || need_packages "$2"
}

# ---------------------------------------------------------------- engine API helpers
# engine_sock_from_host URL — unix:///path -> /path (only unix sockets are supported).
engine_sock_from_host() {
  local host="$1"
  case "${host}" in
    unix://*) printf '%s\n' "${host#unix://}" ;;
    /*) printf '%s\n' "${host}" ;;
    *) die "only unix:// docker hosts are supported, got ${host}" ;;
  esac
}

# engine_api SOCK METHOD PATH [curl args...] — call the Docker Engine API over a unix socket;
# prints the body, fails on HTTP >= 400 (the body goes to stderr then).
engine_api() {
  local sock="$1" method="$2" path="$3"
  shift 3
  local out code
  out="$(mktemp)"
  code="$(curl -sS --max-time "${RBNET_API_TIMEOUT:-600}" --unix-socket "${sock}" -X "${method}" \
    -o "${out}" -w '%{http_code}' "$@" "http://localhost${path}")" || {
    rm -f "${out}"
    return 1
  }
  if [[ "${code}" -ge 400 ]]; then
    printf 'engine API %s %s -> HTTP %s: %s\n' "${method}" "${path}" "${code}" "$(head -c 2000 "${out}")" >&2
    rm -f "${out}"
    return 1
  fi
  cat "${out}"
  rm -f "${out}"
}

# engine_ping SOCK — true when an engine answers _ping on SOCK.
engine_ping() {
  [[ -S "$1" ]] || return 1
  [[ "$(curl -sS --max-time 5 --unix-socket "$1" http://localhost/_ping 2>/dev/null || true)" == "OK" ]]
}

# json_get JSON EXPR — evaluate a JS expression on parsed JSON `j` with node (always present:
# the project runs on it). Prints strings raw, everything else as JSON.
json_get() {
  node -e '
    const j = JSON.parse(process.argv[1]);
    const v = (0, eval)("(j) => (" + process.argv[2] + ")")(j);
    process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
  ' "$1" "$2"
}

# sha256_of FILE — hex digest only.
sha256_of() {
  sha256sum "$1" | awk '{print $1}'
}

# ---------------------------------------------------------------- environments
# An environment is a deterministic, uncompressed rootfs tarball; its sha256 is its identity
# (and equals the diff ID of the single layer `docker import` makes of it). The worker's registry
# of environments is ${RBNET_STATE_DIR}/environments/<sha256>.{tar,json}.

# urlencode STRING
urlencode() {
  node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1"
}

# read_lock FILE KEY — value of KEY=VALUE in a lock file (comments and blanks ignored; never sourced).
read_lock() {
  local file="$1" key="$2" line
  [[ -f "${file}" ]] || return 0
  while IFS= read -r line || [[ -n "${line}" ]]; do
    [[ "${line}" =~ ^[[:space:]]*# || -z "${line}" ]] && continue
    if [[ "${line%%=*}" == "${key}" ]]; then
      printf '%s\n' "${line#*=}"
      return 0
    fi
  done <"${file}"
}

# deterministic_tar ROOTFS OUT EPOCH — GNU tar of ROOTFS with sorted names, every mtime = EPOCH,
# the ownership the files have on disk as plain numbers (no user/group names), GNU format (no
# atime/ctime/pax headers). Modes and owners must already be set explicitly on ROOTFS.
deterministic_tar() {
  local rootfs="$1" out="$2" epoch="$3"
  LC_ALL=C TZ=UTC tar --create --file="${out}" --directory="${rootfs}" \
    --sort=name --mtime="@${epoch}" --numeric-owner --format=gnu \
    --no-acls --no-selinux --no-xattrs --one-file-system .
}

# Repository the environments are tagged in: the worker looks them up as rbnet-env:<sha256>.
# (Another name only for tests and experiments, so they never retag the images workers use.)
: "${RBNET_ENV_IMAGE_REPO:=rbnet-env}"

# env_image_layers SHA — the RootFS.Layers JSON of ${RBNET_ENV_IMAGE_REPO}:SHA, empty when absent.
env_image_layers() {
  local body
  body="$(engine_api "${RBNET_DOCKER_SOCK}" GET "/images/${RBNET_ENV_IMAGE_REPO}:$1/json" 2>/dev/null)" || return 0
  json_get "${body}" '(j.RootFS && j.RootFS.Layers) || []'
}

# env_import TAR SHA [CHANGE...] — import TAR into our engine as ${RBNET_ENV_IMAGE_REPO}:SHA (uncompressed, so the
# layer diff ID must be sha256:SHA) and verify that RootFS.Layers is exactly ["sha256:SHA"].
# CHANGE is a Dockerfile instruction applied to the image config (ENV, WORKDIR, CMD, USER, LABEL).
env_import() {
  local tar="$1" sha="$2"
  shift 2
  local want="[\"sha256:${sha}\"]" have q c
  engine_ping "${RBNET_DOCKER_SOCK}" ||
    die "no engine answers on ${RBNET_DOCKER_SOCK}: start it with infra/start-dockerd.sh (or pass --no-import)"
  have="$(env_image_layers "${sha}")"
  if [[ "${have}" == "${want}" ]]; then
    log "${RBNET_ENV_IMAGE_REPO}:${sha} already imported (layers ${have})"
    return 0
  fi
  q="fromSrc=-&repo=${RBNET_ENV_IMAGE_REPO}&tag=${sha}&message=$(urlencode "rbnet environment sha256:${sha}")"
  for c in "$@"; do
    q+="&changes=$(urlencode "${c}")"
  done
  log "importing ${tar} into ${RBNET_DOCKER_HOST} as ${RBNET_ENV_IMAGE_REPO}:${sha}"
  local resp
  # -T streams the file instead of reading it into memory; -X POST keeps the method the API wants.
  resp="$(engine_api "${RBNET_DOCKER_SOCK}" POST "/images/create?${q}" -T "${tar}" \
    -H 'Content-Type: application/x-tar')" || die "import of ${tar} failed"
  if grep -q '"errorDetail"' <<<"${resp}"; then
    die "import of ${tar} failed: ${resp}"
  fi
  have="$(env_image_layers "${sha}")"
  [[ "${have}" == "${want}" ]] ||
    die "imported image ${RBNET_ENV_IMAGE_REPO}:${sha} has RootFS.Layers ${have:-<none>}, expected ${want}: the tarball is not what the engine stored"
  log "imported ${RBNET_ENV_IMAGE_REPO}:${sha}; RootFS.Layers == ${want}"
}

# env_write_registry SHA RECIPE TARBALL IMAGE_TAG(or "") PACKAGES_JSON_FILE EXTRA_JSON
# — write ${RBNET_STATE_DIR}/environments/SHA.json atomically.
env_write_registry() {
  local sha="$1" recipe="$2" tarball="$3" tag="$4" pkgs="$5" extra="${6:-}"
  [[ -n "${extra}" ]] || extra='{}'
  local dir="${RBNET_STATE_DIR}/environments" keyring_sha=""
  [[ -f "${RBNET_KEYRING}" ]] && keyring_sha="$(sha256_of "${RBNET_KEYRING}")"
  mkdir -p "${dir}"
  node -e '
    const fs = require("node:fs");
    const [out, sha, recipe, tarball, tag, pkgsFile, extra, keyring, keyringSha] = process.argv.slice(1);
    const entry = {
      sha256: sha,
      origin: "built-locally",
      recipe,
      recipeVersion: 1,
      builtAt: new Date().toISOString(),
      keyring: { path: keyring, sha256: keyringSha || null },
      packages: JSON.parse(fs.readFileSync(pkgsFile, "utf8")),
      imageTag: tag || null,
      tarball,
      sizeBytes: fs.statSync(tarball).size,
      ...JSON.parse(extra),
    };
    fs.writeFileSync(out + ".tmp", JSON.stringify(entry, null, 2) + "\n");
    fs.renameSync(out + ".tmp", out);
  ' "${dir}/${sha}.json" "${sha}" "${recipe}" "${tarball}" "${tag}" "${pkgs}" "${extra}" \
    "${RBNET_KEYRING}" "${keyring_sha}"
  log "registered environment ${dir}/${sha}.json"
}

# debian_mirror_default — the archive this machine's apt uses (first URIs: of debian.sources), else
# http://deb.debian.org/debian.
debian_mirror_default() {
  local src=/etc/apt/sources.list.d/debian.sources mirror=""
  if [[ -f "${src}" ]]; then
    mirror="$(awk 'tolower($1) == "uris:" {print $2; exit}' "${src}")"
  fi
  echo "${mirror:-http://deb.debian.org/debian}"
}

# env_common_hooks OUT — sets the array ENV_HOOKS to the mmdebstrap hooks every Debian environment
# recipe shares. Hooks run inside the unshared namespace as (mapped) root, with the chroot as "$1".
# The builder user is added by editing the files directly (no useradd: no lastlog/faillog churn, no
# timestamps); shadow's "last change" field is left empty on purpose. The last three record the
# sha256 of every .deb apt installed (still in its cache then) and copy the list out to OUT.
# shellcheck disable=SC2016 # the hooks expand later, inside mmdebstrap
env_common_hooks() {
  local out="$1"
  # shellcheck disable=SC2034 # read by the scripts that source this file
  ENV_HOOKS=(
    # mmdebstrap copies these two from the host, mode included: replace both with fixed content.
    --customize-hook='rm -f "$1/etc/hostname" "$1/etc/resolv.conf"'
    --customize-hook='echo rbnet > "$1/etc/hostname" && chmod 0644 "$1/etc/hostname"'
    --customize-hook=': > "$1/etc/resolv.conf" && chmod 0644 "$1/etc/resolv.conf"'
    --customize-hook='echo "builder:x:1000:1000:builder:/build:/bin/sh" >> "$1/etc/passwd"'
    --customize-hook='echo "builder:x:1000:" >> "$1/etc/group"'
    --customize-hook='echo "builder:*::0:99999:7:::" >> "$1/etc/shadow"'
    --customize-hook='echo "builder:*::" >> "$1/etc/gshadow"'
    --customize-hook='mkdir -m 0755 "$1/build" && chown 1000:1000 "$1/build"'
    --customize-hook='cd "$1/var/cache/apt/archives" && sha256sum -- *.deb > "$1/tmp/rbnet-debs.sha256"'
    --customize-hook="copy-out /tmp/rbnet-debs.sha256 ${out}"
    --customize-hook='rm -f "$1/tmp/rbnet-debs.sha256"'
  )
}

# env_mmdebstrap NAME SUITE MIRROR FAILURE_HINT [MMDEBSTRAP_ARG...] — builds a minbase Debian
# environment with the pinned keyring and rbnet's hooks, stores it as
# ${RBNET_STATE_DIR}/environments/<sha256>.tar and writes its package list. Sets ENV_WORK (scratch,
# removed on exit), ENV_SHA and ENV_TARBALL; the package list is "${ENV_WORK}/packages.json" and
# dpkg's status "${ENV_WORK}/status". FAILURE_HINT follows "mmdebstrap failed" when it fails.
env_mmdebstrap() {
  local name="$1" suite="$2" mirror="$3" hint="$4"
  shift 4
  local envdir="${RBNET_STATE_DIR}/environments" arch tmp_tar t0
  arch="$(dpkg --print-architecture)"
  mkdir -p "${envdir}"
  ENV_WORK="$(mktemp -d "${envdir}/.build-${name}.XXXXXX")"
  # copy-out runs as the unshared user: the directory must be writable for it.
  ENV_OUT="$(mktemp -d "${TMPDIR:-/tmp}/rbnet-${name}-out.XXXXXX")"
  chmod 0777 "${ENV_OUT}"
  trap 'rm -rf "${ENV_WORK}" "${ENV_OUT}"' EXIT
  env_common_hooks "${ENV_OUT}"
  local args=(
    --mode=unshare --variant=minbase --format=tar --architectures="${arch}"
    --keyring="${RBNET_KEYRING}"
    --aptopt='Acquire::Languages "none"'
    --skip=essential/unlink
    "$@"
  )
  t0=${SECONDS}
  # The output goes to a world-writable scratch dir: in unshare mode the tar is written by the
  # unshared user.
  mmdebstrap "${args[@]}" "${ENV_HOOKS[@]}" "${suite}" "${ENV_OUT}/env.tar" \
    "deb [signed-by=${RBNET_KEYRING}] ${mirror} ${suite} main" >&2 ||
    die "mmdebstrap failed${hint:+. ${hint}}"
  tmp_tar="${ENV_WORK}/env.tar"
  mv "${ENV_OUT}/env.tar" "${tmp_tar}"
  log "mmdebstrap took $((SECONDS - t0)) s"

  ENV_SHA="$(sha256_of "${tmp_tar}")"
  ENV_TARBALL="${envdir}/${ENV_SHA}.tar"
  mv -f "${tmp_tar}" "${ENV_TARBALL}"
  log "environment tarball ${ENV_TARBALL} ($(stat -c %s "${ENV_TARBALL}") bytes)"

  # Package list: dpkg's status inside the tarball, joined with the .deb digests.
  tar -xOf "${ENV_TARBALL}" ./var/lib/dpkg/status >"${ENV_WORK}/status"
  env_package_list "${ENV_WORK}/status" "${ENV_OUT}/rbnet-debs.sha256" "${ENV_WORK}/packages.json"
}

# env_import_debian TAR SHA RECIPE — env_import with the image config every Debian environment
# shares (a login-less bash in /build, C.UTF-8, labelled with its sha256 and recipe).
env_import_debian() {
  env_import "$1" "$2" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' 'ENV LANG=C.UTF-8' \
    'ENV HOME=/build' 'WORKDIR /build' 'CMD ["/bin/bash"]' \
    "LABEL org.rbnet.environment.sha256=$2 org.rbnet.environment.recipe=$3"
}

# env_package_list STATUS DEBS_SHA256 OUT — writes OUT: the dpkg status file's installed packages as
# JSON [{name, version, architecture, debSha256}], each joined with its .deb's sha256 from the
# `sha256sum` list the hooks copied out (null when apt did not download it).
# shellcheck disable=SC2016 # the node program is single-quoted on purpose
env_package_list() {
node -e '
  const fs = require("node:fs");
  const [statusFile, shaFile, outFile] = process.argv.slice(1);
  const debs = new Map();
  if (fs.existsSync(shaFile)) {
    for (const line of fs.readFileSync(shaFile, "utf8").split("\n")) {
      const m = /^([0-9a-f]{64})\s+\*?(.+\.deb)$/.exec(line.trim());
      if (!m) continue;
      // name_version_arch.deb, version with ":" as %3a
      const [name, ver, arch] = m[2].replace(/\.deb$/, "").split("_");
      debs.set(`${name} ${decodeURIComponent(ver)} ${arch}`, m[1]);
    }
  }
  const pkgs = [];
  for (const stanza of fs.readFileSync(statusFile, "utf8").split(/\n\n+/)) {
    const f = {};
    for (const line of stanza.split("\n")) {
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) f[m[1]] = m[2];
    }
    if (!f.Package || f.Status !== "install ok installed") continue;
    const key = (v) => `${f.Package} ${v} ${f.Architecture}`;
    const epochless = f.Version.replace(/^[0-9]+:/, "");
    pkgs.push({
      name: f.Package,
      version: f.Version,
      architecture: f.Architecture,
      debSha256: debs.get(key(f.Version)) ?? debs.get(key(epochless)) ?? null,
    });
  }
  pkgs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  fs.writeFileSync(outFile, JSON.stringify(pkgs));
  process.stderr.write(`${pkgs.length} packages, ${pkgs.filter((p) => p.debSha256).length} with .deb sha256\n`);
' "$1" "$2" "$3"
}
