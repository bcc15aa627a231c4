#!/usr/bin/env bash
# Stop rbnet's own Redis (the one whose pid file start-redis.sh wrote). Never touches another Redis.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: infra/stop-redis.sh [--timeout SECONDS] [--help]

SIGTERMs the redis-server named by $RBNET_RUN_DIR/redis/redis.pid (Redis then writes its AOF/RDB and
exits), waits, and SIGKILLs it after the timeout (default 30 s). Data under $RBNET_STATE_DIR/redis stays.
EOF
}

timeout=30
while [[ $# -gt 0 ]]; do
  case "$1" in
    --timeout) timeout="${2:?--timeout needs a value}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

pidfile="${RBNET_RUN_DIR}/redis/redis.pid"
if [[ ! -f "${pidfile}" ]]; then
  log "no pid file ${pidfile}: rbnet's redis is not running"
  exit 0
fi
pid="$(cat "${pidfile}")"
if [[ ! "${pid}" =~ ^[0-9]+$ ]] || [[ "$(cat "/proc/${pid}/comm" 2>/dev/null || true)" != redis-server ]]; then
  log "stale pid file ${pidfile} (pid ${pid} is not redis-server); removing it"
  rm -f "${pidfile}"
  exit 0
fi
log "stopping redis-server (pid ${pid})"
kill -TERM "${pid}"
deadline=$((SECONDS + timeout))
while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
if kill -0 "${pid}" 2>/dev/null; then
  warn "redis-server (pid ${pid}) still running after ${timeout}s; sending SIGKILL"
  kill -KILL "${pid}" || true
fi
rm -f "${pidfile}"
log "redis stopped"
