// `rbnet worker doctor`: checks that this host can serve as a worker and prints one fix per problem.
import { Redis } from 'ioredis';
import { checkWorkerHost } from '../../worker/doctor/check-worker-host.ts';
import type { HostCheck, WorkerHostReport } from '../../worker/doctor/host-check.ts';
import { createDockerClient } from '../../worker/main.ts';
import { type Command, EXIT, writeLine } from '../command.ts';
import { workerConfigFromFlags } from '../worker-config-flags.ts';

function renderCheck(check: HostCheck, width: number): string {
  const line = `${check.status.padEnd(4)}  ${check.id.padEnd(width)}  ${check.detail}`;
  return check.fix ? `${line}\n${' '.repeat(width + 8)}fix: ${check.fix}` : line;
}

/** The human-readable report: one line per check, a `fix:` line under each warning or failure. */
export function renderDoctorReport(report: WorkerHostReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const counts = (status: HostCheck['status']) => report.checks.filter((c) => c.status === status).length;
  const summary = `${counts('ok')} ok, ${counts('warn')} warn, ${counts('fail')} fail, ${counts('skip')} skipped`;
  return [...report.checks.map((c) => renderCheck(c, width)), '', summary].join('\n');
}

export const workerDoctorCommand: Command = {
  path: ['worker', 'doctor'],
  help: `Usage: rbnet worker doctor [options]

Checks, in order, and prints ok / warn / fail / skip with a one-line fix for each problem:
  engine          the container engine answers
  userns-remap    builds run in a remapped user namespace
  storage-driver  the engine can cap a container's disk (btrfs)
  engine-network  no bridge (or other) network besides none and host
  engine-disk     free space in the engine's data root (warn under 10 GiB)
  state-disk      free space in the state directory (warn under 10 GiB)
  environments    a registered environment is present in the engine with the right layer
  identity        worker.json and network.json exist and agree
  key-files       private keys and network.json are mode 0600
  coordinator     GET <coordinator>/healthz answers
  clock           skew against the coordinator's Date header (warn over 2 s, fail over 60 s)
  redis           the worker's own Redis credentials authenticate and reach its queue

Options:
  --worker-dir DIR     env RBNET_WORKER_DIR, default STATE_DIR/worker
  --state-dir DIR      env RBNET_STATE_DIR, default /var/lib/rbnet
  --docker-host URL    env RBNET_DOCKER_HOST, default unix:///run/rbnet/docker.sock
  --json               print {ok, checks[{id, status, detail, fix?}]}

Exit codes: 0 nothing failed (warnings allowed); 1 a check failed; 2 usage.`,
  options: {
    'worker-dir': { type: 'string' },
    'state-dir': { type: 'string' },
    'docker-host': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const config = workerConfigFromFlags(args, io);
    const report = await checkWorkerHost(
      {
        workerDir: config.workerDir,
        stateDir: config.stateDir,
        dockerHost: config.dockerHost,
        requireDiskLimit: config.requireDiskLimit,
      },
      {
        docker: createDockerClient(config.dockerHost),
        fetch: globalThis.fetch,
        createRedis: (options) => new Redis(options),
        nowMs: () => Date.now(),
      },
    );
    if (args.values.json) writeLine(io.stdout, JSON.stringify(report, null, 2));
    else writeLine(io.stdout, renderDoctorReport(report));
    return report.ok ? EXIT.ok : EXIT.failed;
  },
};
