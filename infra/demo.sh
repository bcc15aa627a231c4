#!/usr/bin/env bash
# The README's main job (`npm run demo`): sets up this machine (npm dependencies, our hardened Docker
# engine, the busybox environment built from Debian's archive), then rebuilds every sample manifest
# in a hermetic container, verifies each signed attestation against the worker's pinned key, and
# says whether each rebuild matched the digests its manifest claims.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF2'
Usage: infra/demo.sh [--help]    (normally: npm run demo)

Results go to .rbnet/demo/<sample>/ (outputs/, build.log, attestation.dsse.json, result.json).
The demo worker's identity and key live in .rbnet/demo/worker/ (created on first run).
Exit status 0 when every sample behaved as expected:
  hello        rebuilt; outputs match the claimed digests
  random       rebuilt; random.bin differs from run to run (no claim to compare)
  wrong-claim  rebuilt; the mismatch with the claimed digest is detected (rbnet exit code 3)
EOF2
}
[[ "${1:-}" == "--help" || "${1:-}" == "-h" ]] && { usage; exit 0; }

cd "${RBNET_REPO_DIR}"
require_root
bash infra/install-deps.sh
bash infra/start-dockerd.sh
env_sha256="$(bash infra/build-env-busybox.sh | tail -n 1)"
log "environment ready: sha256:${env_sha256}"

demo_dir="${RBNET_REPO_DIR}/.rbnet/demo"
worker_dir="${demo_dir}/worker"
mkdir -p "${demo_dir}"
if [[ ! -f "${worker_dir}/worker.json" ]]; then
  node bin/rbnet.mjs worker init --operator demo-operator --id demo-worker --worker-dir "${worker_dir}"
fi

status=0
run_sample() {
  local name="$1" expected_exit="$2"
  local out="${demo_dir}/${name}"
  rm -rf "${out}"
  echo
  echo "=== sample ${name}: rbnet rebuild samples/${name}/manifest.json"
  set +e
  node bin/rbnet.mjs rebuild "samples/${name}/manifest.json" --out "${out}" --worker-dir "${worker_dir}"
  local code=$?
  set -e
  if [[ -f "${out}/attestation.dsse.json" ]]; then
    echo "--- rbnet attestation verify (pinned key ${worker_dir}/worker-signing.key.pub)"
    node bin/rbnet.mjs attestation verify "${out}/attestation.dsse.json" \
      --key "${worker_dir}/worker-signing.key.pub" --manifest "samples/${name}/manifest.json" || status=1
  fi
  if [[ "${code}" == "${expected_exit}" ]]; then
    echo ">>> ${name}: as expected (exit ${code})"
  else
    echo ">>> ${name}: UNEXPECTED exit ${code} (expected ${expected_exit})"
    status=1
  fi
}

run_sample hello 0
run_sample random 0
run_sample wrong-claim 3
echo
if [[ ${status} == 0 ]]; then echo "demo finished: every sample behaved as expected"; else echo "demo finished with unexpected results"; fi
exit "${status}"
