// `rbnet coordinator run`: serves the API until SIGINT/SIGTERM; the first start prints the admin token.
import { loadCoordinatorConfig } from '../../coordinator/coordinator-config.ts';
import { startCoordinator } from '../../coordinator/main.ts';
import { createLogger } from '../../worker/main.ts';
import { type Command, EXIT, stringFlag, writeLine } from '../command.ts';

export const coordinatorRunCommand: Command = {
  path: ['coordinator', 'run'],
  help: `Usage: rbnet coordinator run [options]

The first start creates the data directory, the coordinator's signing key (it signs consensus
attestations only) and an admin token, printed once on stdout.

Options:
  --data-dir DIR     env RBNET_COORDINATOR_DIR, default /var/lib/rbnet/coordinator
  --listen HOST:PORT env RBNET_LISTEN, default 127.0.0.1:8470
  --public-url URL   env RBNET_PUBLIC_URL: the origin workers and consumers use (https behind a proxy)
  --redis URL        env RBNET_REDIS_URL, default redis://127.0.0.1:6390 (admin connection to the
                     default queue shard; one Redis per operator: RBNET_REDIS_SHARDS, docs/queues.md)
  --threshold K      agreeing operators needed (env RBNET_THRESHOLD, default 2)
  --replicas N       operators assigned per build (env RBNET_REPLICAS, default max(K, 3))
  --log-level LEVEL  default info (JSON logs on stderr)

Exit codes: 0 stopped by a signal; 1 failed to start.`,
  options: {
    'data-dir': { type: 'string' },
    listen: { type: 'string' },
    'public-url': { type: 'string' },
    redis: { type: 'string' },
    threshold: { type: 'string' },
    replicas: { type: 'string' },
    'log-level': { type: 'string' },
  },
  async run(args, io) {
    const threshold = stringFlag(args, 'threshold');
    const replicas = stringFlag(args, 'replicas');
    const config = loadCoordinatorConfig({
      env: io.env,
      flags: {
        ...(stringFlag(args, 'data-dir') ? { dataDir: stringFlag(args, 'data-dir') } : {}),
        ...(stringFlag(args, 'listen') ? { listen: stringFlag(args, 'listen') } : {}),
        ...(stringFlag(args, 'public-url') ? { publicUrl: stringFlag(args, 'public-url') } : {}),
        ...(stringFlag(args, 'redis') ? { redisUrl: stringFlag(args, 'redis') } : {}),
        ...(threshold ? { threshold: Number(threshold) } : {}),
        ...(replicas ? { replicas: Number(replicas) } : {}),
      },
    });
    const logger = createLogger(stringFlag(args, 'log-level') ?? 'info');
    const coordinator = await startCoordinator(config, logger);
    writeLine(
      io.stdout,
      `coordinator listening on ${coordinator.url} (public URL ${coordinator.deps.config.publicUrl})`,
    );
    if (coordinator.adminToken) {
      writeLine(io.stdout, `admin token (shown once, store it safely): ${coordinator.adminToken}`);
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await coordinator.close();
    return EXIT.ok;
  },
};
