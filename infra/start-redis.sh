#!/usr/bin/env bash
# Start rbnet's own Redis (for BullMQ) on 127.0.0.1:$RBNET_REDIS_PORT with its own config, data and
# pid file. Never the system's Redis on 6379, which it leaves alone.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: infra/start-redis.sh [--port PORT] [--help]

Starts redis-server for rbnet unless something already answers PING on 127.0.0.1:PORT (then exits 0).
Config $RBNET_STATE_DIR/redis/redis.conf (rewritten on every start), data $RBNET_STATE_DIR/redis/data
(appendonly yes + RDB snapshots), log $RBNET_STATE_DIR/redis/redis.log, pid $RBNET_RUN_DIR/redis/redis.pid.
Daemonized; runs as the `redis` user when it exists. maxmemory-policy noeviction (BullMQ needs it).

Options:
  --port PORT  port (default $RBNET_REDIS_PORT or 6390)
  --help       this text

Environment: RBNET_STATE_DIR (/var/lib/rbnet), RBNET_RUN_DIR (/run/rbnet), RBNET_REDIS_PORT (6390).
EOF
}

port="${RBNET_REDIS_PORT}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="${2:?--port needs a value}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
[[ "${port}" =~ ^[0-9]+$ ]] || die "bad port ${port}"
[[ "${port}" != 6379 ]] || warn "port 6379 is the system Redis's port; rbnet's default is 6390"

need_packages redis-server

ping() { [[ "$(redis-cli -h 127.0.0.1 -p "${port}" --no-auth-warning PING 2>/dev/null || true)" == PONG ]]; }

summary() {
  local ver aof pid
  ver="$(redis-cli -h 127.0.0.1 -p "${port}" INFO server 2>/dev/null | tr -d '\r' | awk -F: '/^redis_version:/ {print $2}')"
  aof="$(redis-cli -h 127.0.0.1 -p "${port}" CONFIG GET appendonly 2>/dev/null | tail -1 | tr -d '\r')"
  pid="$(redis-cli -h 127.0.0.1 -p "${port}" INFO server 2>/dev/null | tr -d '\r' | awk -F: '/^process_id:/ {print $2}')"
  echo "rbnet redis ${ver:-?} ok: redis://127.0.0.1:${port} pid=${pid:-?} appendonly=${aof:-?} dir=${RBNET_STATE_DIR}/redis/data"
}

if ping; then
  log "redis already answers PING on 127.0.0.1:${port}"
  summary
  exit 0
fi
require_root

rdir="${RBNET_STATE_DIR}/redis"
piddir="${RBNET_RUN_DIR}/redis"
mkdir -p "${rdir}/data" "${piddir}"
user=root
if id redis >/dev/null 2>&1; then
  user=redis
  chown redis:redis "${rdir}" "${rdir}/data" "${piddir}"
  [[ ! -e "${rdir}/redis.log" ]] || chown redis:redis "${rdir}/redis.log"
fi
chmod 750 "${rdir}" "${rdir}/data"

conf="${rdir}/redis.conf"
cat >"${conf}.tmp" <<EOF
# Written by infra/start-redis.sh; edits are overwritten on the next start.
bind 127.0.0.1
protected-mode yes
port ${port}
daemonize yes
supervised no
pidfile ${piddir}/redis.pid
logfile ${rdir}/redis.log
loglevel notice
dir ${rdir}/data
dbfilename dump.rdb
appendonly yes
appendfilename "appendonly.aof"
appendfsync everysec
save 3600 1 300 100 60 10000
maxmemory-policy noeviction
EOF
mv "${conf}.tmp" "${conf}"
chmod 644 "${conf}"

log "starting redis-server on 127.0.0.1:${port} as ${user} (config ${conf})"
if [[ "${user}" == redis ]]; then
  setpriv --reuid=redis --regid=redis --init-groups redis-server "${conf}" </dev/null >/dev/null
else
  redis-server "${conf}" </dev/null >/dev/null
fi
for _ in $(seq 1 50); do
  ping && break
  sleep 0.2
done
if ! ping; then
  tail -n 40 "${rdir}/redis.log" >&2 || true
  die "redis did not answer PING on 127.0.0.1:${port} within 10s (log ${rdir}/redis.log)"
fi
summary
