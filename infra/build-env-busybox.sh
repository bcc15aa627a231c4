#!/usr/bin/env bash
# Build the tiny "busybox-static" build environment from Debian's busybox-static package, as a
# deterministic uncompressed tarball whose sha256 is the environment's identity; import it into our
# engine and register it. Pinned by infra/environments/busybox.lock.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RECIPE=busybox-static
RECIPE_VERSION=1
DEFAULT_LOCK="${RBNET_INFRA_DIR}/environments/busybox.lock"

usage() {
  cat <<'EOF'
Usage: infra/build-env-busybox.sh [--no-import] [--state-dir DIR] [--docker-host URL]
                                  [--lock FILE] [--update-lock] [--help]

Downloads the busybox-static .deb pinned in the lock (apt-get download, verified by apt against the
archive's signed index, then by the lock's sha256), builds a rootfs (/bin/busybox and a symlink for
every applet, /usr/bin /sbin /usr/sbin -> bin, /etc/passwd and /etc/group with root and builder
uid/gid 1000 home /build, /tmp 1777, /build owned 1000:1000, empty /dev /proc /sys /root) and packs it
with GNU tar (--sort=name --mtime=@$SOURCE_DATE_EPOCH --numeric-owner --format=gnu).

Writes  $RBNET_STATE_DIR/environments/<sha256>.tar  and  <sha256>.json (registry entry), imports
the tarball as rbnet-env:<sha256> and checks RootFS.Layers == ["sha256:<sha256>"].
The sha256 is printed alone as the last line of stdout.

Options:
  --no-import        build and register the tarball only (no engine needed)
  --state-dir DIR    state root (default $RBNET_STATE_DIR or /var/lib/rbnet)
  --image-repo NAME  tag the image NAME:<sha256> instead of rbnet-env:<sha256> (tests only: the
                     worker looks environments up as rbnet-env:<sha256>)
  --docker-host URL  engine to import into (default $RBNET_DOCKER_HOST or unix:///run/rbnet/docker.sock)
  --lock FILE        lock file (default infra/environments/busybox.lock)
  --no-cache         always download the .deb (default: reuse apt's cached copy when its sha256
                     matches the lock)
  --update-lock      take the archive's current busybox-static, build, and rewrite the lock with its
                     version, .deb sha256 and tarball sha256 (review the diff, then commit it)
  --help             this text

Environment: SOURCE_DATE_EPOCH (default: the lock's, 0). With another value the tarball differs
from the lock's digest, and the lock check is skipped with a warning.
Exit status: 0 ok; 1 error; 3 the tarball's sha256 differs from the lock's ENV_TAR_SHA256 (not
registered nor imported: something in the recipe or the tools changed).
EOF
}

do_import=1
update_lock=0
use_cache=1
lock="${DEFAULT_LOCK}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-import) do_import=0 ;;
    --state-dir) RBNET_STATE_DIR="${2:?--state-dir needs a value}"; shift ;;
    --image-repo) RBNET_ENV_IMAGE_REPO="${2:?--image-repo needs a value}"; shift ;;
    --docker-host) RBNET_DOCKER_HOST="${2:?--docker-host needs a value}"; RBNET_DOCKER_SOCK="$(engine_sock_from_host "$2")"; shift ;;
    --lock) lock="${2:?--lock needs a value}"; shift ;;
    --update-lock) update_lock=1 ;;
    --no-cache) use_cache=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
export RBNET_STATE_DIR RBNET_DOCKER_HOST RBNET_DOCKER_SOCK

need_packages busybox-static ca-certificates curl
command -v dpkg-deb >/dev/null || die "dpkg-deb missing"

arch="$(dpkg --print-architecture)"
lock_version="$(read_lock "${lock}" "BUSYBOX_STATIC_VERSION_${arch}")"
lock_deb_sha="$(read_lock "${lock}" "BUSYBOX_STATIC_DEB_SHA256_${arch}")"
lock_tar_sha="$(read_lock "${lock}" "ENV_TAR_SHA256_${arch}")"
lock_epoch="$(read_lock "${lock}" SOURCE_DATE_EPOCH)"
epoch="${SOURCE_DATE_EPOCH:-${lock_epoch:-0}}"
[[ "${epoch}" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be a non-negative integer, got ${epoch}"

if [[ "${update_lock}" == 1 ]]; then
  apt_update_once
  version="$(apt-cache policy busybox-static | awk '/Candidate:/ {print $2; exit}')"
  [[ -n "${version}" && "${version}" != "(none)" ]] || die "the archive offers no busybox-static for ${arch}"
  log "--update-lock: using the archive's current busybox-static ${version}"
else
  [[ -n "${lock_version}" && -n "${lock_deb_sha}" ]] ||
    die "${lock} has no BUSYBOX_STATIC_VERSION_${arch} / BUSYBOX_STATIC_DEB_SHA256_${arch}; run with --update-lock to pin the archive's current one"
  version="${lock_version}"
fi

envdir="${RBNET_STATE_DIR}/environments"
mkdir -p "${envdir}"
work="$(mktemp -d "${envdir}/.build-busybox.XXXXXX")"
# apt downloads as the unprivileged _apt user: give it a directory it can reach whatever the state
# dir's permissions are.
dl="$(mktemp -d "${TMPDIR:-/tmp}/rbnet-dl.XXXXXX")"
chmod 0755 "${dl}"
trap 'rm -rf "${work}" "${dl}"' EXIT

# ---------------------------------------------------------------- fetch the .deb
# Debian file names carry the version without its epoch ("1:" -> "").
deb_name="busybox-static_${version#*:}_${arch}.deb"
deb=""
if [[ -n "${lock_deb_sha}" && "${update_lock}" == 0 && "${use_cache}" == 1 ]]; then
  # A copy apt already fetched is as good as a new download: the lock's sha256 decides either way.
  for cand in "/var/cache/apt/archives/${deb_name}" "/var/cache/apt/archives/${deb_name/_${version#*:}_/_${version/:/%3a}_}"; do
    if [[ -f "${cand}" && "$(sha256_of "${cand}")" == "${lock_deb_sha}" ]]; then
      deb="${cand}"
      log "using apt's cached ${cand} (sha256 matches the lock)"
      break
    fi
  done
fi
if [[ -z "${deb}" ]]; then
  if id _apt >/dev/null 2>&1; then chown _apt "${dl}"; fi
  fetch() { (cd "${dl}" && apt-get download -q "busybox-static=${version}" >&2); }
  if ! apt_lists_present; then apt_update_once; fi
  if ! fetch; then
    apt_update_once
    fetch || die "cannot download busybox-static=${version} from the archive. If a Debian point release superseded it, pin the new one: infra/build-env-busybox.sh --update-lock (then commit ${lock} and update every manifest that names the old environment digest), or point apt at a snapshot mirror that still has it"
  fi
  deb="$(ls "${dl}"/busybox-static_*.deb)"
fi
deb_sha="$(sha256_of "${deb}")"
if [[ "${update_lock}" == 0 && "${deb_sha}" != "${lock_deb_sha}" ]]; then
  die "busybox-static ${version} .deb has sha256 ${deb_sha}, but ${lock} pins ${lock_deb_sha}. Refusing it. If the archive legitimately rebuilt the package, re-pin with infra/build-env-busybox.sh --update-lock and review the diff"
fi
log "busybox-static ${version} (${arch}) .deb sha256 ${deb_sha}"

# ---------------------------------------------------------------- rootfs
umask 022
dpkg-deb -x "${deb}" "${work}/deb"
bb="${work}/deb/bin/busybox"
[[ -x "${bb}" ]] || die "the .deb has no /bin/busybox"
root="${work}/rootfs"
mkdir -p "${root}"/{bin,etc,tmp,build,dev,proc,sys,root,usr}
install -m 0755 "${bb}" "${root}/bin/busybox"
n=0
while IFS= read -r applet; do
  [[ -n "${applet}" && "${applet}" != busybox && "${applet}" != */* ]] || continue
  ln -s busybox "${root}/bin/${applet}"
  n=$((n + 1))
done < <("${bb}" --list | LC_ALL=C sort -u)
# One directory for everything: scripts that say /usr/bin/env or /sbin/... find their tools.
ln -s ../bin "${root}/usr/bin"
ln -s ../bin "${root}/usr/sbin"
ln -s bin "${root}/sbin"
cat >"${root}/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
builder:x:1000:1000:builder:/build:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"${root}/etc/group" <<'EOF'
root:x:0:
builder:x:1000:
nogroup:x:65534:
EOF
# Explicit modes and owners (never whatever the umask or the building user gives).
chown -R -h 0:0 "${root}"
chmod 0755 "${root}" "${root}"/{bin,etc,dev,proc,sys,usr,build}
chmod 0644 "${root}/etc/passwd" "${root}/etc/group"
chmod 0700 "${root}/root"
chmod 1777 "${root}/tmp"
chown 1000:1000 "${root}/build"
log "rootfs: busybox + ${n} applet links"

# ---------------------------------------------------------------- tarball
tmp_tar="${work}/env.tar"
deterministic_tar "${root}" "${tmp_tar}" "${epoch}"
sha="$(sha256_of "${tmp_tar}")"
tarball="${envdir}/${sha}.tar"
mv -f "${tmp_tar}" "${tarball}"
log "environment tarball ${tarball} ($(stat -c %s "${tarball}") bytes)"

if [[ "${update_lock}" == 1 ]]; then
  mkdir -p "$(dirname "${lock}")"
  {
    echo "# rbnet environment recipe lock: busybox-static (recipeVersion ${RECIPE_VERSION})."
    echo "# Written by infra/build-env-busybox.sh --update-lock on $(date -u +%F). The script installs"
    echo "# exactly this Debian version, refuses a .deb with another sha256, and fails (exit 3) when the"
    echo "# tarball it builds differs from ENV_TAR_SHA256: sample manifests reference that digest."
    echo "SOURCE_DATE_EPOCH=${epoch}"
    for a in $(grep -oE '^BUSYBOX_STATIC_VERSION_[a-z0-9]+' "${lock}" 2>/dev/null | sed 's/^BUSYBOX_STATIC_VERSION_//' | grep -vx "${arch}" || true); do
      grep -E "^(BUSYBOX_STATIC_VERSION|BUSYBOX_STATIC_DEB_SHA256|ENV_TAR_SHA256)_${a}=" "${lock}"
    done
    echo "BUSYBOX_STATIC_VERSION_${arch}=${version}"
    echo "BUSYBOX_STATIC_DEB_SHA256_${arch}=${deb_sha}"
    echo "ENV_TAR_SHA256_${arch}=${sha}"
  } >"${lock}.tmp"
  mv "${lock}.tmp" "${lock}"
  log "wrote ${lock}"
elif [[ "${epoch}" != "${lock_epoch:-0}" ]]; then
  warn "SOURCE_DATE_EPOCH=${epoch} differs from the lock's ${lock_epoch:-0}: not comparing with the locked digest"
elif [[ -n "${lock_tar_sha}" && "${sha}" != "${lock_tar_sha}" ]]; then
  {
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!! busybox environment tarball sha256 ${sha}"
    echo "!! differs from the lock's ENV_TAR_SHA256_${arch} ${lock_tar_sha}"
    echo "!! (same .deb, so the recipe or the tools changed). Manifests that reference the locked"
    echo "!! digest cannot be honoured with this build. Not registered, not imported. Tarball kept at"
    echo "!! ${tarball}"
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  } >&2
  exit 3
elif [[ -z "${lock_tar_sha}" ]]; then
  warn "${lock} records no ENV_TAR_SHA256_${arch}; run --update-lock to record ${sha}"
fi

# ---------------------------------------------------------------- import and register
tag=""
if [[ "${do_import}" == 1 ]]; then
  env_import "${tarball}" "${sha}" \
    'ENV PATH=/bin' 'ENV HOME=/build' 'WORKDIR /build' 'CMD ["/bin/sh"]' \
    "LABEL org.rbnet.environment.sha256=${sha} org.rbnet.environment.recipe=${RECIPE}"
  tag="${RBNET_ENV_IMAGE_REPO}:${sha}"
fi
printf '[{"name":"busybox-static","version":"%s","architecture":"%s","debSha256":"%s"}]\n' \
  "${version}" "${arch}" "${deb_sha}" >"${work}/packages.json"
env_write_registry "${sha}" "${RECIPE}" "${tarball}" "${tag}" "${work}/packages.json" \
  "{\"recipeVersion\":${RECIPE_VERSION},\"architecture\":\"${arch}\",\"sourceDateEpoch\":${epoch},\"lock\":\"${lock#"${RBNET_REPO_DIR}/"}\"}"
echo "${sha}"
