// `rbnet worker enrol` and `rbnet worker run`: an operator joins the network and serves its queue.

import { statfs } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { UsageError } from '../../services/errors.ts';
import { createLogger } from '../../worker/main.ts';
import { enrolWithCoordinator } from '../../worker/network/enrol-with-coordinator.ts';
import { startNetworkWorker } from '../../worker/network/start-network-worker.ts';
import { loadWorkerConfig } from '../../worker/worker-config.ts';
import { type Command, EXIT, requireFlag, stringFlag, writeLine } from '../command.ts';
import { workerConfigFromFlags } from '../worker-config-flags.ts';

function positiveFlag(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) <= 0)
    throw new UsageError('USAGE', `--${name}: expected a positive integer`);
  return Number(value);
}

export const workerEnrolCommand: Command = {
  path: ['worker', 'enrol'],
  help: `Usage: rbnet worker enrol --coordinator URL --token TOKEN --id WORKER_ID [options]

Creates the worker's signing key and a separate auth key in the worker directory, registers the
public halves using the single-use enrolment token, and stores the queue name and Redis credentials
it receives in network.json (mode 0600). Only over https, or plain http to a loopback address.

Options:
  --coordinator URL    the coordinator
  --token TOKEN        enrolment token from \`rbnet admin token create\`
  --id WORKER_ID       this worker's id ([a-z0-9._-], up to 63)
  --arch ARCH          architectures it builds, comma-separated (default amd64)
  --backend NAME       backends, comma-separated (default generic)
  --cores N --memory-bytes N --disk-bytes N   declared capacity (default: what one build may
                       use here: the per-build limits, capped by the host)
  --worker-dir DIR     default STATE_DIR/worker (env RBNET_WORKER_DIR)
  --json               print the enrolment (without the Redis password) as JSON

Exit codes: 0 enrolled; 1 refused; 2 usage.`,
  options: {
    coordinator: { type: 'string' },
    token: { type: 'string' },
    id: { type: 'string' },
    arch: { type: 'string' },
    backend: { type: 'string' },
    cores: { type: 'string' },
    'memory-bytes': { type: 'string' },
    'disk-bytes': { type: 'string' },
    'worker-dir': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const workerConfig = loadWorkerConfig({ env: io.env });
    const workerDir = stringFlag(args, 'worker-dir') ?? workerConfig.workerDir;
    // A build gets the worker's per-build limits, not the whole host: declaring more would attract
    // builds that then fail with oom or disk.
    const limits = workerConfig.limits;
    const disk = await statfs(workerDir.replace(/\/[^/]*$/, '') || '/').catch(() => undefined);
    const enrolled = await enrolWithCoordinator({
      coordinatorUrl: requireFlag(args, 'coordinator', workerEnrolCommand),
      token: requireFlag(args, 'token', workerEnrolCommand),
      workerId: requireFlag(args, 'id', workerEnrolCommand),
      workerDir,
      architectures: (stringFlag(args, 'arch') ?? 'amd64').split(','),
      backends: (stringFlag(args, 'backend') ?? 'generic').split(','),
      capacity: {
        cores:
          positiveFlag(stringFlag(args, 'cores'), 'cores') ??
          Math.max(1, Math.min(availableParallelism(), Math.floor(limits.nanoCpus / 1e9))),
        memoryBytes:
          positiveFlag(stringFlag(args, 'memory-bytes'), 'memory-bytes') ??
          Math.min(totalmem(), limits.memoryBytes),
        diskBytes:
          positiveFlag(stringFlag(args, 'disk-bytes'), 'disk-bytes') ??
          Math.min(disk ? disk.bavail * disk.bsize : limits.diskBytes, limits.diskBytes),
      },
    });
    const { redis, ...shown } = enrolled;
    if (args.values.json)
      writeLine(io.stdout, JSON.stringify({ ...shown, redisUser: redis.username }, null, 2));
    else {
      writeLine(io.stdout, `enrolled worker ${enrolled.workerId} of operator ${enrolled.operator}`);
      writeLine(
        io.stdout,
        `signing keyid ${enrolled.signingKeyid} (public key: ${workerDir}/worker-signing.key.pub — give it to consumers who pin your operator)`,
      );
      writeLine(
        io.stdout,
        `queue ${enrolled.queueName}; now run: rbnet worker run --worker-dir ${workerDir}`,
      );
    }
    return EXIT.ok;
  },
};

export const workerRunCommand: Command = {
  path: ['worker', 'run'],
  help: `Usage: rbnet worker run [options]

Runs until SIGINT/SIGTERM: then it takes no new job, lets the running one finish (up to
--grace-seconds), else kills its container and hands the job back.

Options:
  --concurrency N      builds at once (default 1)
  --grace-seconds N    on SIGTERM (default 30)
  --worker-dir DIR     env RBNET_WORKER_DIR
  --state-dir DIR      env RBNET_STATE_DIR (environments), default /var/lib/rbnet
  --docker-host URL    env RBNET_DOCKER_HOST, default unix:///run/rbnet/docker.sock
  --log-level LEVEL    default info (JSON logs on stderr)

Per-build limits come from WORKER_DIR/config.json ("limits") and RBNET_* variables (docs/operator-guide.md).

Exit codes: 0 stopped by a signal; 1 failed to start.`,
  options: {
    concurrency: { type: 'string' },
    'grace-seconds': { type: 'string' },
    'worker-dir': { type: 'string' },
    'state-dir': { type: 'string' },
    'docker-host': { type: 'string' },
    'log-level': { type: 'string' },
  },
  async run(args, io) {
    const config = workerConfigFromFlags(args, io);
    const logger = createLogger(stringFlag(args, 'log-level') ?? 'info');
    const worker = await startNetworkWorker(config, logger, {
      concurrency: positiveFlag(stringFlag(args, 'concurrency'), 'concurrency') ?? 1,
    });
    writeLine(
      io.stderr,
      `worker ${worker.workerId} (${worker.operator}) consuming its queue; SIGTERM to stop`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const outcome = await worker.stop(
      (positiveFlag(stringFlag(args, 'grace-seconds'), 'grace-seconds') ?? 30) * 1000,
    );
    writeLine(io.stderr, `worker stopped (${outcome})`);
    return EXIT.ok;
  },
};
