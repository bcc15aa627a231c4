#!/usr/bin/env bash
# shellcheck disable=SC2016 # hooks and node programs are single-quoted on purpose: they expand later
# Build a Debian bookworm minbase build environment with mmdebstrap (unshare mode, pinned keyring,
# SOURCE_DATE_EPOCH) as a deterministic uncompressed tarball whose sha256 is the environment's
# identity; import it into our engine and register it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RECIPE=debian-minbase
RECIPE_VERSION=1
# Debian 12.0's release day, 2023-06-10T00:00:00Z: the fixed default SOURCE_DATE_EPOCH of this recipe.
DEFAULT_EPOCH=1686355200

usage() {
  cat <<EOF
Usage: infra/build-env-debian.sh [--no-import] [--state-dir DIR] [--docker-host URL]
                                 [--suite SUITE] [--mirror URL] [--include PKG,...] [--help]

Runs  mmdebstrap --mode=unshare --variant=minbase --format=tar  with the pinned keyring
${RBNET_KEYRING} and SOURCE_DATE_EPOCH set, adds a
'builder' user (uid/gid 1000, home /build, shell /bin/sh), fixes /etc/hostname and /etc/resolv.conf
(mmdebstrap copies the host's), and writes \$RBNET_STATE_DIR/environments/<sha256>.tar and
<sha256>.json (registry entry with the dpkg package list and each .deb's sha256), then imports it as
rbnet-env:<sha256> and checks RootFS.Layers == ["sha256:<sha256>"].
The sha256 is printed alone as the last line of stdout.

The same options, mirror content and SOURCE_DATE_EPOCH give the same tarball. A moving suite
(bookworm gets point releases) changes the content: point --mirror at a snapshot
(e.g. a snapshot.debian.org/archive/debian/<timestamp> mirror) to rebuild an old environment.

Options:
  --no-import        build and register the tarball only (no engine needed)
  --state-dir DIR    state root (default \$RBNET_STATE_DIR or /var/lib/rbnet)
  --image-repo NAME  tag the image NAME:<sha256> instead of rbnet-env:<sha256> (tests only: the
                     worker looks environments up as rbnet-env:<sha256>)
  --docker-host URL  engine to import into (default \$RBNET_DOCKER_HOST or unix:///run/rbnet/docker.sock)
  --suite SUITE      Debian suite (default bookworm)
  --mirror URL       archive (default \$RBNET_DEBIAN_MIRROR, else the first URIs of
                     /etc/apt/sources.list.d/debian.sources, else http://deb.debian.org/debian)
  --include PKGS     extra packages, comma separated (changes the identity, of course)
  --help             this text

Environment: SOURCE_DATE_EPOCH (default ${DEFAULT_EPOCH}, 2023-06-10T00:00:00Z), RBNET_DEBIAN_MIRROR,
TMPDIR (mmdebstrap's scratch rootfs; needs ~500 MB).
EOF
}

do_import=1
suite=bookworm
mirror="${RBNET_DEBIAN_MIRROR:-}"
include=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-import) do_import=0 ;;
    --state-dir) RBNET_STATE_DIR="${2:?--state-dir needs a value}"; shift ;;
    --image-repo) RBNET_ENV_IMAGE_REPO="${2:?--image-repo needs a value}"; shift ;;
    --docker-host) RBNET_DOCKER_HOST="${2:?--docker-host needs a value}"; RBNET_DOCKER_SOCK="$(engine_sock_from_host "$2")"; shift ;;
    --suite) suite="${2:?--suite needs a value}"; shift ;;
    --mirror) mirror="${2:?--mirror needs a value}"; shift ;;
    --include) include="${2:?--include needs a value}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
export RBNET_STATE_DIR RBNET_DOCKER_HOST RBNET_DOCKER_SOCK

need_packages mmdebstrap uidmap debian-archive-keyring ca-certificates curl
[[ -f "${RBNET_KEYRING}" ]] || die "pinned keyring ${RBNET_KEYRING} missing (package debian-archive-keyring)"

[[ -n "${mirror}" ]] || mirror="$(debian_mirror_default)"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-${DEFAULT_EPOCH}}"
[[ "${SOURCE_DATE_EPOCH}" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be an integer"
arch="$(dpkg --print-architecture)"

extra=()
[[ -z "${include}" ]] || extra+=(--include="${include}")
log "mmdebstrap ${suite} from ${mirror} (SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH}, keyring ${RBNET_KEYRING})"
env_mmdebstrap debian "${suite}" "${mirror}" "" "${extra[@]}"
sha="${ENV_SHA}"
tarball="${ENV_TARBALL}"

tag=""
if [[ "${do_import}" == 1 ]]; then
  env_import_debian "${tarball}" "${sha}" "${RECIPE}"
  tag="${RBNET_ENV_IMAGE_REPO}:${sha}"
fi
env_write_registry "${sha}" "${RECIPE}" "${tarball}" "${tag}" "${ENV_WORK}/packages.json" \
  "{\"recipeVersion\":${RECIPE_VERSION},\"architecture\":\"${arch}\",\"suite\":\"${suite}\",\"mirror\":\"${mirror}\",\"sourceDateEpoch\":${SOURCE_DATE_EPOCH},\"mmdebstrapVersion\":\"$(dpkg-query -W -f='${Version}' mmdebstrap)\"}"
echo "${sha}"
