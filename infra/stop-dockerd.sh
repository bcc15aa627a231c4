#!/usr/bin/env bash
# Stop rbnet's own Docker engine (never any other engine). Leaves the btrfs loop mount in place
# unless --unmount is given.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: infra/stop-dockerd.sh [--unmount] [--timeout SECONDS] [--help]

Sends SIGTERM to the dockerd named by $RBNET_RUN_DIR/dockerd.pid (default /run/rbnet), waits for it
(dockerd stops its containers: live-restore is off), then SIGKILLs it and its managed containerd if
they are still there. Also stops the dedicated containerd start-dockerd.sh may have started.

Options:
  --unmount          also unmount the btrfs data root $RBNET_STATE_DIR/docker (the image file
                     $RBNET_STATE_DIR/docker-btrfs.img is kept; delete it by hand to drop all images)
  --timeout SECONDS  how long to wait after SIGTERM (default 30)
  --help             this text
EOF
}

unmount=0
timeout=30
while [[ $# -gt 0 ]]; do
  case "$1" in
    --unmount) unmount=1 ;;
    --timeout) timeout="${2:?--timeout needs a value}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
require_root

PIDFILE="${RBNET_RUN_DIR}/dockerd.pid"
EXEC_ROOT="${RBNET_RUN_DIR}/docker-exec"
DATA_ROOT="${RBNET_STATE_DIR}/docker"

# stop_pid PID NAME — TERM, wait up to $timeout s, then KILL. Only if PID's command is NAME.
stop_pid() {
  local pid="$1" name="$2"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 0
  [[ "$(cat "/proc/${pid}/comm" 2>/dev/null || true)" == "${name}" ]] || return 0
  log "stopping ${name} (pid ${pid})"
  kill -TERM "${pid}" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "${pid}" 2>/dev/null; then
    warn "${name} (pid ${pid}) still running after ${timeout}s; sending SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || true
    sleep 0.5
  fi
}

stopped=0
if [[ -f "${PIDFILE}" ]]; then
  stop_pid "$(cat "${PIDFILE}")" dockerd
  stopped=1
  rm -f "${PIDFILE}"
fi
# dockerd's managed containerd normally exits with it; after a SIGKILL it may be left behind.
if [[ -f "${EXEC_ROOT}/containerd/containerd.pid" ]]; then
  stop_pid "$(cat "${EXEC_ROOT}/containerd/containerd.pid")" containerd
  rm -f "${EXEC_ROOT}/containerd/containerd.pid"
fi
if [[ -f "${RBNET_RUN_DIR}/containerd.pid" ]]; then
  stop_pid "$(cat "${RBNET_RUN_DIR}/containerd.pid")" containerd
  rm -f "${RBNET_RUN_DIR}/containerd.pid"
fi
rm -f "${RBNET_DOCKER_SOCK}"
if [[ "${stopped}" == 1 ]]; then
  log "dockerd stopped"
else
  log "no dockerd pid file at ${PIDFILE}: nothing to stop"
fi

if [[ "${unmount}" == 1 ]]; then
  if mountpoint -q "${DATA_ROOT}"; then
    # Container rootfs mounts (if any survived) sit below the data root.
    while read -r m; do
      umount "${m}" 2>/dev/null || umount -l "${m}" || true
    done < <(findmnt -rn -o TARGET | grep -F "${DATA_ROOT}/" | sort -r)
    umount "${DATA_ROOT}" || die "cannot unmount ${DATA_ROOT} (busy? see: fuser -vm ${DATA_ROOT})"
    log "unmounted ${DATA_ROOT} (image file ${RBNET_STATE_DIR}/docker-btrfs.img kept)"
  else
    log "${DATA_ROOT} is not mounted"
  fi
fi
