// The pure judgements of `rbnet worker doctor`: clock skew from the coordinator's Date header, free
// disk space, and the engine's networks, each from facts the probes read.
import { type DoctorThresholds, doctorDefaults, fail, GiB, type HostCheck, ok, warn } from './host-check.ts';

/**
 * Judges clock skew from the coordinator's `Date` header. The header has whole seconds and was
 * written somewhere while the request was in flight, so the coordinator's clock read a value in
 * [date, date + 1 s) at a local time in [sentAtMs, receivedAtMs]. Only the skew that no rounding
 * or latency can explain is compared with the thresholds; the estimate shown is the midpoint.
 */
export function classifyClockSkew(
  observation: {
    readonly dateHeader: string | null;
    readonly sentAtMs: number;
    readonly receivedAtMs: number;
  },
  thresholds: Pick<DoctorThresholds, 'clockSkewWarnMs' | 'clockSkewFailMs'> = doctorDefaults,
): HostCheck {
  const fix =
    'synchronise this host with NTP (e.g. `apt-get install chrony`, or `timedatectl set-ntp true`); the coordinator refuses worker requests more than 120 s off';
  const serverMs = observation.dateHeader ? Date.parse(observation.dateHeader) : Number.NaN;
  if (!Number.isFinite(serverMs)) {
    return warn(
      'clock',
      `the coordinator sent no usable Date header (${JSON.stringify(observation.dateHeader)}), so skew is unknown`,
      'compare clocks another way (`chronyc tracking`); a proxy in front of the coordinator may strip Date',
    );
  }
  const lowestMs = serverMs - observation.receivedAtMs;
  const highestMs = serverMs + 1000 - observation.sentAtMs;
  const certainMs = lowestMs > 0 ? lowestMs : highestMs < 0 ? -highestMs : 0;
  const estimateMs = serverMs + 500 - (observation.sentAtMs + observation.receivedAtMs) / 2;
  const uncertaintyS = ((highestMs - lowestMs) / 2000).toFixed(1);
  const direction = estimateMs >= 0 ? 'behind' : 'ahead of';
  const detail = `this host's clock is about ${(Math.abs(estimateMs) / 1000).toFixed(1)} s ${direction} the coordinator's (±${uncertaintyS} s)`;
  if (certainMs > thresholds.clockSkewFailMs) return fail('clock', detail, fix);
  if (certainMs > thresholds.clockSkewWarnMs) return warn('clock', detail, fix);
  return ok('clock', detail);
}

/** Judges free space on a file system; `what` names it in the detail. */
export function classifyFreeDisk(
  id: 'engine-disk' | 'state-disk',
  what: string,
  freeBytes: number,
  thresholds: Pick<DoctorThresholds, 'minFreeDiskBytes'> = doctorDefaults,
): HostCheck {
  const detail = `${(freeBytes / GiB).toFixed(1)} GiB free in ${what}`;
  if (freeBytes >= thresholds.minFreeDiskBytes) return ok(id, detail);
  return warn(
    id,
    `${detail}, under ${(thresholds.minFreeDiskBytes / GiB).toFixed(1)} GiB`,
    id === 'engine-disk'
      ? 'remove unused images (`docker image prune`), or grow the engine file (`infra/start-dockerd.sh --disk-gb N` on a new image file)'
      : 'free space there, or move RBNET_STATE_DIR (--state-dir) to a larger disk',
  );
}

/** Networks other than `none` and `host`: a bridge would give any container attached to it the network. */
export function classifyEngineNetworks(
  networks: readonly { readonly Name: string; readonly Driver: string }[],
): HostCheck {
  const extra = networks.filter((n) => !['none', 'host'].includes(n.Name));
  if (extra.length === 0) return ok('engine-network', 'only the none and host networks exist (no bridge)');
  const bridges = extra.filter((n) => n.Driver === 'bridge');
  const names = extra.map((n) => `${n.Name} (${n.Driver})`).join(', ');
  return warn(
    'engine-network',
    `the engine has network(s) besides none and host: ${names}`,
    bridges.length > 0
      ? 'start the engine with --bridge=none (bash infra/stop-dockerd.sh && bash infra/start-dockerd.sh); builds run with no network regardless'
      : `remove them (\`docker network rm ${extra.map((n) => n.Name).join(' ')}\`)`,
  );
}

// ---------------------------------------------------------------- engine
