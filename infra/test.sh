#!/usr/bin/env bash
# The README's test command (`npm test`): installs and starts everything the suite needs on a fresh
# Debian machine, then runs the static checks and the whole vitest suite against the real engine,
# Redis and SQLite. Ends with one line: "N passed, N failed".
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF2'
Usage: infra/test.sh [vitest args...]   (normally: npm test)

Set-up (idempotent): infra/install-deps.sh, infra/start-dockerd.sh, infra/start-redis.sh,
infra/build-env-busybox.sh, infra/build-env-inspect.sh (skipped when already built). Then: biome check (lint + format), tsc --noEmit, vitest run.
The last line is "N passed, N failed": vitest's counts plus the two static checks.
Results: .rbnet/test-results.json (vitest JSON reporter), .rbnet/test-summary.txt.
EOF2
}
[[ "${1:-}" == "--help" || "${1:-}" == "-h" ]] && { usage; exit 0; }

cd "${RBNET_REPO_DIR}"
mkdir -p .rbnet
require_root
set -e
bash infra/install-deps.sh
bash infra/start-dockerd.sh
bash infra/start-redis.sh
bash infra/build-env-busybox.sh >/dev/null
# The .deb inspection environment: reused when this lock's build is registered and imported.
bash infra/build-env-inspect.sh >/dev/null
set +e

static_passed=0
static_failed=0
log "lint and format check (biome)"
if npx biome check . >&2; then static_passed=$((static_passed + 1)); else static_failed=$((static_failed + 1)); fi
log "type check (tsc --noEmit)"
if npx tsc --noEmit -p tsconfig.json >&2; then static_passed=$((static_passed + 1)); else static_failed=$((static_failed + 1)); fi

log "vitest run"
rm -f .rbnet/test-results.json
npx vitest run --reporter=default --reporter=json --outputFile.json=.rbnet/test-results.json "$@"
vitest_rc=$?

summary="$(node -e '
  const fs = require("node:fs");
  let r = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 };
  try { r = JSON.parse(fs.readFileSync(".rbnet/test-results.json", "utf8")); } catch { r.numFailedTests = 1; }
  const passed = r.numPassedTests + Number(process.argv[1]);
  const failed = r.numFailedTests + Number(process.argv[2]);
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "${static_passed}" "${static_failed}")"
echo "${summary}" > .rbnet/test-summary.txt
rc=0
if [[ ${vitest_rc} -ne 0 || ${static_failed} -ne 0 ]]; then rc=1; fi
if [[ "${summary}" == 0\ passed* ]]; then rc=1; fi
echo "${summary}"
exit "${rc}"
