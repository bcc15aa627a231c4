#!/usr/bin/env bash
# Install what rbnet needs on a Debian bookworm host: the Debian packages behind the engine, Redis
# and environment builds, and the project's npm dependencies. Idempotent and quick when all is there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: infra/install-deps.sh [--no-npm] [--help]

Installs (only what is missing; `apt-get update` only when the lists are missing or stale):
  docker.io redis-server mmdebstrap busybox-static btrfs-progs uidmap iproute2
  ca-certificates xz-utils zstd bzip2 curl openssl
  apt-transport-in-toto in-toto gnupg apt-utils dpkg-dev chromium
  golang-go golang-golang-x-mod-dev
(zstd and bzip2: the .deb inspection tests compress and decompress with them; apt-transport-in-toto
to dpkg-dev: `rbnet apt setup` and the real-apt tests of docs/apt-in-toto.md; chromium: the web
pages' browser tests and bench, driven by playwright-core, which downloads no browser of its own;
the Go two: the tests' independent verifier of the transparency log, test/go/tlogcheck, built
offline in GOPATH mode)
and runs `npm ci` in the repository when node_modules is missing or older than package-lock.json,
then compiles the TypeScript into dist/ (what `rbnet` runs) when dist/ is missing or older than the
sources (infra/build-dist.mjs --if-stale; npm ci's `prepare` step builds it too).

Options:
  --no-npm   skip the npm and build steps
  --help     this text
EOF
}

do_npm=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-npm) do_npm=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

RBNET_DEB_PACKAGES=(
  docker.io redis-server mmdebstrap busybox-static btrfs-progs uidmap iproute2
  ca-certificates xz-utils zstd bzip2 curl openssl
  apt-transport-in-toto in-toto gnupg apt-utils dpkg-dev chromium
  golang-go golang-golang-x-mod-dev
)

missing=()
for p in "${RBNET_DEB_PACKAGES[@]}"; do
  pkg_installed "${p}" || missing+=("${p}")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "Debian packages: all ${#RBNET_DEB_PACKAGES[@]} already installed"
else
  need_packages "${missing[@]}"
  log "Debian packages: installed ${missing[*]}"
fi

# The Debian redis-server package starts the system's redis on 6379 through its init script; we
# neither use nor stop it (rbnet runs its own on RBNET_REDIS_PORT, see start-redis.sh).

if [[ "${do_npm}" == 1 ]]; then
  cd "${RBNET_REPO_DIR}"
  # npm writes node_modules/.package-lock.json at the end of every install: it is the reliable
  # "when were these modules installed" stamp (a directory's mtime is not).
  if [[ ! -f node_modules/.package-lock.json ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
    command -v npm >/dev/null || die "npm not found: install Node.js 20 first"
    log "npm ci (node_modules missing or older than package-lock.json)"
    npm ci --no-audit --no-fund >&2
    log "npm: dependencies installed"
  else
    log "npm: node_modules up to date"
  fi
  node infra/build-dist.mjs --if-stale >&2
  log "build: dist/ matches the sources"
fi
