#!/usr/bin/env bash
# The README's main job (`npm run demo`): sets up this machine (Debian packages, npm dependencies, our
# hardened Docker engine, the busybox environment built from Debian's archive), then runs the whole
# rebuilder network on it with `rbnet demo`: a coordinator, three workers of three operators, the
# sample manifests submitted, each verdict printed, and `rbnet verify` checking the result locally.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF2'
Usage: infra/demo.sh [--keep]    (normally: npm run demo)

Expected verdicts: samples/hello reproducible (and verified by a consumer under threshold 3),
samples/random diverged (random.bin differs), samples/wrong-claim mismatch-upstream.
Exit status 0 when everything behaved as expected. --keep leaves keys, databases and logs in
.rbnet/demo-network-*/.
EOF2
}
[[ "${1:-}" == "--help" || "${1:-}" == "-h" ]] && { usage; exit 0; }

cd "${RBNET_REPO_DIR}"
require_root
bash infra/install-deps.sh
bash infra/start-dockerd.sh
env_sha256="$(bash infra/build-env-busybox.sh | tail -n 1)"
log "environment ready: sha256:${env_sha256}"
exec node bin/rbnet.mjs demo "$@"
