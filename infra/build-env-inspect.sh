#!/usr/bin/env bash
# shellcheck disable=SC2016 # hooks and node programs are single-quoted on purpose: they expand later
# Build the .deb inspection environment (bookworm minbase + nodejs, xz-utils, zstd, bzip2 and
# diffoscope-minimal) with mmdebstrap, import it into our engine and register it. The divergence
# report runs its parsers of untrusted .debs inside it. Pinned by infra/environments/inspect.lock.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RECIPE=debian-inspect
RECIPE_VERSION=1
DEFAULT_LOCK="${RBNET_INFRA_DIR}/environments/inspect.lock"

usage() {
  cat <<EOF
Usage: infra/build-env-inspect.sh [--no-import] [--state-dir DIR] [--docker-host URL] [--mirror URL]
                                  [--lock FILE] [--update-lock] [--rebuild] [--help]

Reuses the environment an earlier run built from the same lock when its tarball is registered (and,
unless --no-import, its image is in the engine with RootFS.Layers == ["sha256:<sha256>"]): then it
only prints the sha256. Otherwise runs  mmdebstrap --mode=unshare --variant=minbase --format=tar
with the pinned keyring ${RBNET_KEYRING}, SOURCE_DATE_EPOCH and the lock's package
versions (--include=PKG=VERSION,...), adds the 'builder' user (uid/gid 1000, home /build), writes
\$RBNET_STATE_DIR/environments/<sha256>.tar and <sha256>.json (registry entry with the dpkg package
list and each .deb's sha256, recipe ${RECIPE}), then imports it as rbnet-env:<sha256>.
The sha256 is printed alone as the last line of stdout.

Unlike the busybox environment this one is not promised to be bit-reproducible: only the listed
packages are pinned, their dependencies float with the suite. A tarball digest that differs from the
lock's ENV_TAR_SHA256 is a warning, not an error (the digest still identifies what was built).

Options:
  --no-import        build and register the tarball only (no engine needed)
  --state-dir DIR    state root (default \$RBNET_STATE_DIR or /var/lib/rbnet)
  --image-repo NAME  tag the image NAME:<sha256> instead of rbnet-env:<sha256> (tests only)
  --docker-host URL  engine to import into (default \$RBNET_DOCKER_HOST or unix:///run/rbnet/docker.sock)
  --mirror URL       archive (default \$RBNET_DEBIAN_MIRROR, else the first URIs of
                     /etc/apt/sources.list.d/debian.sources, else http://deb.debian.org/debian)
  --lock FILE        lock file (default infra/environments/inspect.lock)
  --update-lock      install the suite's current versions of the lock's PACKAGES and rewrite the lock
                     with them and the tarball's sha256 (review the diff, then commit it)
  --rebuild          build even when a registered environment from this lock exists
  --help             this text

Environment: SOURCE_DATE_EPOCH (default: the lock's), RBNET_DEBIAN_MIRROR, TMPDIR (mmdebstrap's
scratch rootfs; needs ~700 MB).
EOF
}

do_import=1
update_lock=0
rebuild=0
mirror="${RBNET_DEBIAN_MIRROR:-}"
lock="${DEFAULT_LOCK}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-import) do_import=0 ;;
    --state-dir) RBNET_STATE_DIR="${2:?--state-dir needs a value}"; shift ;;
    --image-repo) RBNET_ENV_IMAGE_REPO="${2:?--image-repo needs a value}"; shift ;;
    --docker-host) RBNET_DOCKER_HOST="${2:?--docker-host needs a value}"; RBNET_DOCKER_SOCK="$(engine_sock_from_host "$2")"; shift ;;
    --mirror) mirror="${2:?--mirror needs a value}"; shift ;;
    --lock) lock="${2:?--lock needs a value}"; shift ;;
    --update-lock) update_lock=1 ;;
    --rebuild) rebuild=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
export RBNET_STATE_DIR RBNET_DOCKER_HOST RBNET_DOCKER_SOCK

[[ -f "${lock}" ]] || die "lock file ${lock} missing"
arch="$(dpkg --print-architecture)"
suite="$(read_lock "${lock}" SUITE)"
packages="$(read_lock "${lock}" PACKAGES)"
lock_epoch="$(read_lock "${lock}" SOURCE_DATE_EPOCH)"
lock_tar_sha="$(read_lock "${lock}" "ENV_TAR_SHA256_${arch}")"
[[ -n "${suite}" && -n "${packages}" ]] || die "${lock} must set SUITE and PACKAGES"
[[ "${packages}" =~ ^[a-z0-9][a-z0-9.+-]*(,[a-z0-9][a-z0-9.+-]*)*$ ]] ||
  die "${lock}: PACKAGES must be a comma-separated list of Debian package names, got ${packages}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-${lock_epoch:-0}}"
[[ "${SOURCE_DATE_EPOCH}" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be an integer"
IFS=, read -r -a package_list <<<"${packages}"
envdir="${RBNET_STATE_DIR}/environments"

# ---------------------------------------------------------------- reuse
# The lock's sha256 names the recipe's inputs: a registered environment built from the same lock (and
# recipe version) is what a new build would be meant to produce, so it is reused.
lock_sha="$(sha256_of "${lock}")"
find_registered() {
  [[ -d "${envdir}" ]] || return 0
  node -e '
    const fs = require("node:fs");
    const path = require("node:path");
    const [dir, recipe, version, lockSha, arch] = process.argv.slice(1);
    let best = null;
    for (const name of fs.readdirSync(dir)) {
      if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
      let e;
      try { e = JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")); } catch { continue; }
      if (e.recipe !== recipe || String(e.recipeVersion) !== version || e.lockSha256 !== lockSha) continue;
      if (e.architecture !== arch || !fs.existsSync(e.tarball)) continue;
      if (!best || e.builtAt > best.builtAt) best = e;
    }
    if (best) process.stdout.write(best.sha256);
  ' "${envdir}" "${RECIPE}" "${RECIPE_VERSION}" "${lock_sha}" "${arch}"
}
if [[ "${rebuild}" == 0 && "${update_lock}" == 0 ]]; then
  existing="$(find_registered)"
  if [[ -n "${existing}" ]]; then
    if [[ "${do_import}" == 0 ]]; then
      log "environment ${existing} from this lock is registered; not rebuilding (--rebuild forces it)"
      echo "${existing}"
      exit 0
    fi
    if [[ "$(env_image_layers "${existing}")" == "[\"sha256:${existing}\"]" ]]; then
      log "environment ${existing} from this lock is registered and imported; not rebuilding (--rebuild forces it)"
      echo "${existing}"
      exit 0
    fi
    # Registered but not in this engine (a new engine data root): import the registered tarball.
    env_import_debian "${envdir}/${existing}.tar" "${existing}" "${RECIPE}"
    echo "${existing}"
    exit 0
  fi
fi

# ---------------------------------------------------------------- build
need_packages mmdebstrap uidmap debian-archive-keyring ca-certificates curl
[[ -f "${RBNET_KEYRING}" ]] || die "pinned keyring ${RBNET_KEYRING} missing (package debian-archive-keyring)"

includes=()
for p in "${package_list[@]}"; do
  if [[ "${update_lock}" == 1 ]]; then
    includes+=("${p}")
  else
    v="$(read_lock "${lock}" "VERSION_${p}_${arch}")"
    [[ -n "${v}" ]] ||
      die "${lock} pins no VERSION_${p}_${arch}; run infra/build-env-inspect.sh --update-lock to pin the suite's current one"
    includes+=("${p}=${v}")
  fi
done
include_arg="$(IFS=,; echo "${includes[*]}")"

[[ -n "${mirror}" ]] || mirror="$(debian_mirror_default)"

log "mmdebstrap ${suite} from ${mirror} with ${include_arg} (SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH})"
env_mmdebstrap inspect "${suite}" "${mirror}" \
  "If the suite no longer offers a pinned version (a point release superseded it), re-pin with infra/build-env-inspect.sh --update-lock and review the diff" \
  --aptopt='APT::Install-Recommends "false"' --include="${include_arg}"
sha="${ENV_SHA}"
tarball="${ENV_TARBALL}"

# The versions the lock asked for are checked against what is installed.
declare -A installed=()
while IFS=' ' read -r name version; do
  installed["${name}"]="${version}"
done < <(node -e '
  for (const p of JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"))) console.log(`${p.name} ${p.version}`);
' "${ENV_WORK}/packages.json")
for p in "${package_list[@]}"; do
  have="${installed[${p}]:-}"
  [[ -n "${have}" ]] || die "${p} is not installed in the built environment"
  if [[ "${update_lock}" == 0 ]]; then
    want="$(read_lock "${lock}" "VERSION_${p}_${arch}")"
    [[ "${have}" == "${want}" ]] || die "${p}: installed ${have}, the lock pins ${want}"
  fi
done

if [[ "${update_lock}" == 1 ]]; then
  {
    echo "# rbnet environment recipe lock: ${RECIPE} (recipeVersion ${RECIPE_VERSION}), the sandbox image in which"
    echo "# .debs are inspected for the divergence report. Written by infra/build-env-inspect.sh --update-lock"
    echo "# on $(date -u +%F). PACKAGES are installed at exactly these versions; their dependencies float"
    echo "# with the suite, so ENV_TAR_SHA256 records the last --update-lock build and is not enforced."
    echo "SUITE=${suite}"
    echo "SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH}"
    echo "PACKAGES=${packages}"
    grep -E '^(VERSION_[a-z0-9.+-]+|ENV_TAR_SHA256)_[a-z0-9]+=' "${lock}" | grep -vE "_${arch}=" || true
    for p in "${package_list[@]}"; do
      echo "VERSION_${p}_${arch}=${installed[${p}]}"
    done
    echo "ENV_TAR_SHA256_${arch}=${sha}"
  } >"${lock}.tmp"
  mv "${lock}.tmp" "${lock}"
  lock_sha="$(sha256_of "${lock}")"
  log "wrote ${lock}"
elif [[ -n "${lock_tar_sha}" && "${sha}" != "${lock_tar_sha}" ]]; then
  warn "tarball sha256 ${sha} differs from the lock's ENV_TAR_SHA256_${arch} ${lock_tar_sha} (dependencies moved with the suite); using it"
fi

# ---------------------------------------------------------------- import and register
tag=""
if [[ "${do_import}" == 1 ]]; then
  env_import_debian "${tarball}" "${sha}" "${RECIPE}"
  tag="${RBNET_ENV_IMAGE_REPO}:${sha}"
fi
env_write_registry "${sha}" "${RECIPE}" "${tarball}" "${tag}" "${ENV_WORK}/packages.json" \
  "{\"recipeVersion\":${RECIPE_VERSION},\"architecture\":\"${arch}\",\"suite\":\"${suite}\",\"mirror\":\"${mirror}\",\"sourceDateEpoch\":${SOURCE_DATE_EPOCH},\"lock\":\"${lock#"${RBNET_REPO_DIR}/"}\",\"lockSha256\":\"${lock_sha}\",\"mmdebstrapVersion\":\"$(dpkg-query -W -f='${Version}' mmdebstrap)\"}"
echo "${sha}"
