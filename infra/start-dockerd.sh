#!/usr/bin/env bash
# Start rbnet's own hardened Docker engine (or check the one already running), on its own socket,
# with its data root on a loop-mounted btrfs file so per-container StorageOpt.size is enforced.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
Usage: infra/start-dockerd.sh [--disk-gb N] [--help]

Starts dockerd for rbnet unless one already answers on ${RBNET_DOCKER_SOCK}; then (or when one
was already running) checks through the engine API that it is configured as rbnet requires
(userns-remap on, btrfs storage driver, data root on our btrfs mount) and prints a one-line summary.

Engine flags: --bridge=none --iptables=false --ip-masq=false --ip-forward=false
  --userns-remap=default --storage-driver=btrfs --log-driver=none --live-restore=false
  --no-new-privileges --userland-proxy=false, its own socket, data root, exec root, pid file and an
  empty daemon config file (so /etc/docker/daemon.json cannot change it).

Options:
  --disk-gb N   size of a newly created btrfs image file in GiB (default \$RBNET_ENGINE_DISK_GB or 20;
                an existing image file is reused as it is)
  --help        this text

Environment:
  RBNET_STATE_DIR       state root (default /var/lib/rbnet); image file \$RBNET_STATE_DIR/docker-btrfs.img,
                        mounted at \$RBNET_STATE_DIR/docker (the engine's data root)
  RBNET_RUN_DIR         runtime dir (default /run/rbnet): docker.sock, dockerd.pid, docker-exec/
  RBNET_ENGINE_DISK_GB  btrfs image size in GiB for a new image file (default 20; the file is sparse)
  RBNET_DOCKERD_LOG     engine log (default /var/log/rbnet-dockerd.log)
  RBNET_DOCKERD_TIMEOUT seconds to wait for the engine to answer (default 60)
  RBNET_OWN_CONTAINERD  1 = always run a dedicated containerd for our engine (default: only when a
                        system containerd listens on /run/containerd/containerd.sock, which dockerd
                        20.10 would otherwise share instead of starting its own managed one)
EOF
}

disk_gb="${RBNET_ENGINE_DISK_GB:-20}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --disk-gb) disk_gb="${2:?--disk-gb needs a value}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
[[ "${disk_gb}" =~ ^[0-9]+$ && "${disk_gb}" -ge 2 ]] || die "--disk-gb must be an integer >= 2, got ${disk_gb}"

require_root

DOCKERD_LOG="${RBNET_DOCKERD_LOG:-/var/log/rbnet-dockerd.log}"
TIMEOUT="${RBNET_DOCKERD_TIMEOUT:-60}"
IMG="${RBNET_STATE_DIR}/docker-btrfs.img"
DATA_ROOT="${RBNET_STATE_DIR}/docker"
EXEC_ROOT="${RBNET_RUN_DIR}/docker-exec"
PIDFILE="${RBNET_RUN_DIR}/dockerd.pid"
DAEMON_JSON="${RBNET_RUN_DIR}/daemon.json"
CTRD_DIR="${RBNET_RUN_DIR}/containerd"
CTRD_SOCK="${CTRD_DIR}/containerd.sock"
CTRD_PIDFILE="${RBNET_RUN_DIR}/containerd.pid"
SYSTEM_CTRD_SOCK="/run/containerd/containerd.sock"

# verify_engine — check the running engine's configuration through /info; print a summary line.
verify_engine() {
  local info problems=()
  info="$(engine_api "${RBNET_DOCKER_SOCK}" GET /info)" || die "engine on ${RBNET_DOCKER_SOCK} answers _ping but not /info"
  local driver root userns version pidlimit memlimit cgver
  driver="$(json_get "${info}" 'j.Driver')"
  root="$(json_get "${info}" 'j.DockerRootDir')"
  userns="$(json_get "${info}" '(j.SecurityOptions||[]).some(s => s.split(",").includes("name=userns"))')"
  version="$(json_get "${info}" 'j.ServerVersion')"
  pidlimit="$(json_get "${info}" 'j.PidsLimit')"
  memlimit="$(json_get "${info}" 'j.MemoryLimit')"
  cgver="$(json_get "${info}" 'j.CgroupVersion || "1"')"
  [[ "${driver}" == btrfs ]] || problems+=("storage driver is '${driver}', want btrfs")
  [[ "${userns}" == true ]] || problems+=("SecurityOptions lacks name=userns (userns-remap off)")
  case "${root}" in
    "${DATA_ROOT}" | "${DATA_ROOT}"/*) ;;
    *) problems+=("data root is '${root}', want under ${DATA_ROOT}") ;;
  esac
  local fstype
  fstype="$(findmnt -n -o FSTYPE --target "${DATA_ROOT}" 2>/dev/null || true)"
  [[ "${fstype}" == btrfs ]] || problems+=("${DATA_ROOT} is on '${fstype}', want btrfs")
  [[ "${fstype}" != btrfs ]] || btrfs_quota_ready "${DATA_ROOT}"
  if [[ ${#problems[@]} -gt 0 ]]; then
    local p
    for p in "${problems[@]}"; do warn "${p}"; done
    die "the engine on ${RBNET_DOCKER_SOCK} is not configured as rbnet requires; stop it with infra/stop-dockerd.sh and start again"
  fi
  local size
  size="$(df -h --output=size "${DATA_ROOT}" | tail -1 | tr -d ' ')"
  echo "rbnet dockerd ${version} ok: host=${RBNET_DOCKER_HOST} driver=${driver} userns=on root=${root} (btrfs ${size}) cgroup=v${cgver} memory-limit=${memlimit} pids-limit=${pidlimit}"
}

# btrfs_quota_ready MOUNT — btrfs quotas (qgroups) on and consistent. Docker's btrfs driver would
# enable them itself on the first container with StorageOpt.size, but enabling them while
# subvolumes exist leaves an off-by-a-little qgroup behind; when that container is removed the
# kernel (6.x) marks all qgroup data inconsistent and stops enforcing every size limit until a
# rescan. So: enable them on the empty filesystem before the engine starts, and rescan whenever the
# kernel says they are inconsistent.
btrfs_quota_ready() {
  local mnt="$1" err
  if ! btrfs qgroup show "${mnt}" >/dev/null 2>&1; then
    log "enabling btrfs quotas on ${mnt}"
    btrfs quota enable "${mnt}"
    btrfs quota rescan -W "${mnt}" >/dev/null 2>&1 || true
  fi
  err="$(btrfs qgroup show "${mnt}" 2>&1 >/dev/null || true)"
  if grep -qi inconsistent <<<"${err}"; then
    warn "btrfs qgroup data on ${mnt} is inconsistent (size limits are not enforced); rescanning"
    btrfs quota rescan -w "${mnt}" >&2 || btrfs quota rescan -W "${mnt}" >&2 || true
    err="$(btrfs qgroup show "${mnt}" 2>&1 >/dev/null || true)"
    ! grep -qi inconsistent <<<"${err}" || die "btrfs qgroups on ${mnt} stay inconsistent after a rescan"
  fi
}

# pid_alive PIDFILE NAME — true when PIDFILE names a live process whose command is NAME.
pid_alive() {
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(cat "$1" 2>/dev/null || true)"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  [[ "$(cat "/proc/${pid}/comm" 2>/dev/null || true)" == "$2" ]]
}

need_packages docker.io btrfs-progs uidmap iproute2 curl ca-certificates

if engine_ping "${RBNET_DOCKER_SOCK}"; then
  log "an engine already answers on ${RBNET_DOCKER_SOCK}; checking its configuration"
  verify_engine
  exit 0
fi

if pid_alive "${PIDFILE}" dockerd; then
  # Starting or hung: give it the usual time before declaring failure.
  log "dockerd (pid $(cat "${PIDFILE}")) is running but not answering yet; waiting"
else
  rm -f "${PIDFILE}"

  # ---------------------------------------------------------------- btrfs data root
  mkdir -p "${RBNET_STATE_DIR}" "${DATA_ROOT}" "${RBNET_RUN_DIR}" "${EXEC_ROOT}"
  chmod 711 "${RBNET_STATE_DIR}" "${DATA_ROOT}"
  if [[ ! -f "${IMG}" ]]; then
    log "creating sparse ${disk_gb} GiB btrfs image ${IMG}"
    truncate -s "${disk_gb}G" "${IMG}.tmp"
    mkfs.btrfs -q -L rbnet-docker "${IMG}.tmp" >&2
    mv "${IMG}.tmp" "${IMG}"
  fi
  if mountpoint -q "${DATA_ROOT}"; then
    fstype="$(findmnt -n -o FSTYPE "${DATA_ROOT}")"
    [[ "${fstype}" == btrfs ]] || die "${DATA_ROOT} is a mount point of type ${fstype}, not our btrfs image"
    src="$(findmnt -n -o SOURCE "${DATA_ROOT}")"
    back="$(losetup -n -O BACK-FILE "${src}" 2>/dev/null | sed 's/[[:space:]]*$//' || true)"
    [[ -z "${back}" || "${back}" == "${IMG}" ]] || die "${DATA_ROOT} is mounted from ${back}, not ${IMG}"
  else
    log "mounting ${IMG} at ${DATA_ROOT}"
    mount -t btrfs -o loop,noatime "${IMG}" "${DATA_ROOT}" || die "cannot loop-mount ${IMG} (needs loop devices and btrfs in the kernel)"
  fi
  chmod 711 "${DATA_ROOT}"
  btrfs_quota_ready "${DATA_ROOT}"

  # An empty daemon config: a host's /etc/docker/daemon.json must not alter our engine.
  echo '{}' >"${DAEMON_JSON}"

  # ---------------------------------------------------------------- containerd
  # dockerd 20.10 starts its own managed containerd (state under the exec root, data under the data
  # root) unless a system containerd answers on /run/containerd/containerd.sock, which it would then
  # share. We never share: in that case (or when asked) we run a dedicated one on our own socket.
  ctrd_args=()
  if [[ -S "${SYSTEM_CTRD_SOCK}" || "${RBNET_OWN_CONTAINERD:-0}" == 1 ]]; then
    if ! pid_alive "${CTRD_PIDFILE}" containerd || [[ ! -S "${CTRD_SOCK}" ]]; then
      mkdir -p "${CTRD_DIR}" "${DATA_ROOT}/containerd-rbnet"
      cat >"${RBNET_RUN_DIR}/containerd.toml" <<EOF
version = 2
root = "${DATA_ROOT}/containerd-rbnet"
state = "${CTRD_DIR}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
oom_score = -500
[grpc]
  address = "${CTRD_SOCK}"
[ttrpc]
  address = "${CTRD_SOCK}.ttrpc"
[debug]
  address = "${CTRD_DIR}/containerd-debug.sock"
  level = "info"
EOF
      log "a system containerd exists (or RBNET_OWN_CONTAINERD=1): starting a dedicated containerd on ${CTRD_SOCK}"
      setsid nohup containerd --config "${RBNET_RUN_DIR}/containerd.toml" \
        >>"${DOCKERD_LOG}" 2>&1 </dev/null &
      echo $! >"${CTRD_PIDFILE}"
      for _ in $(seq 1 50); do
        [[ -S "${CTRD_SOCK}" ]] && break
        sleep 0.2
      done
      [[ -S "${CTRD_SOCK}" ]] || { tail -n 40 "${DOCKERD_LOG}" >&2; die "containerd did not start"; }
    fi
    ctrd_args=(--containerd "${CTRD_SOCK}" --containerd-namespace rbnet --containerd-plugins-namespace rbnet-plugins)
  fi

  # ---------------------------------------------------------------- dockerd
  dockerd_args=(
    --config-file "${DAEMON_JSON}"
    --host "${RBNET_DOCKER_HOST}"
    --data-root "${DATA_ROOT}"
    --exec-root "${EXEC_ROOT}"
    --pidfile "${PIDFILE}"
    --bridge=none
    --iptables=false
    --ip6tables=false
    --ip-masq=false
    --ip-forward=false
    --userland-proxy=false
    --userns-remap=default
    --storage-driver=btrfs
    --log-driver=none
    --live-restore=false
    --no-new-privileges
    "${ctrd_args[@]}"
  )
  log "starting dockerd ${dockerd_args[*]} (log ${DOCKERD_LOG})"
  echo "=== $(date -u +%FT%TZ) start-dockerd.sh: dockerd ${dockerd_args[*]}" >>"${DOCKERD_LOG}"
  # setsid + nohup + every stdio redirected: the engine outlives this script and holds no pipe
  # of its caller open (a test runner waiting on our stdout would otherwise hang).
  setsid nohup dockerd "${dockerd_args[@]}" >>"${DOCKERD_LOG}" 2>&1 </dev/null &
  started_pid=$!
fi

deadline=$((SECONDS + TIMEOUT))
until engine_ping "${RBNET_DOCKER_SOCK}"; do
  if [[ -n "${started_pid:-}" ]] && ! kill -0 "${started_pid}" 2>/dev/null; then
    tail -n 40 "${DOCKERD_LOG}" >&2 || true
    die "dockerd exited during start-up (log above, full log ${DOCKERD_LOG})"
  fi
  if ((SECONDS >= deadline)); then
    tail -n 40 "${DOCKERD_LOG}" >&2 || true
    die "dockerd did not answer on ${RBNET_DOCKER_SOCK} within ${TIMEOUT}s (log above, full log ${DOCKERD_LOG})"
  fi
  sleep 0.5
done
verify_engine
