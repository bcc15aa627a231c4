#!/usr/bin/env bash
# `npm run bench`: sets up like the tests do, then runs every benchmark under bench/ and prints
# markdown tables (medians and ratios against a baseline measured in the same run).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ "${1:-}" == "--help" || "${1:-}" == "-h" ]] && { echo "Usage: infra/bench.sh  (env BENCH_RUNS overrides the run count)"; exit 0; }
cd "${RBNET_REPO_DIR}"
require_root
bash infra/install-deps.sh
# Only benchmarks need these: wrk drives the apt metadata endpoint benchmark, GNU time reports the
# peak RSS of the start-up benchmark's processes.
need_packages wrk time
bash infra/start-dockerd.sh
bash infra/build-env-busybox.sh >/dev/null
for bench in bench/*.bench.ts; do
  log "running ${bench}"
  npx tsx "${bench}"
  echo
done
