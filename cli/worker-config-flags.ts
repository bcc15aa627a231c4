// The worker's configuration as every worker-side command reads it: defaults, file and environment
// (loadWorkerConfig), then the --state-dir, --worker-dir and --docker-host flags.
import { loadWorkerConfig, type WorkerConfig } from '../worker/worker-config.ts';
import { type CliIo, type ParsedCommandArgs, stringFlag } from './command.ts';

export function workerConfigFromFlags(args: ParsedCommandArgs, io: CliIo): WorkerConfig {
  const stateDir = stringFlag(args, 'state-dir');
  const workerDir = stringFlag(args, 'worker-dir');
  const dockerHost = stringFlag(args, 'docker-host');
  return loadWorkerConfig({
    env: io.env,
    flags: {
      ...(stateDir ? { stateDir } : {}),
      ...(workerDir ? { workerDir } : {}),
      ...(dockerHost ? { dockerHost } : {}),
    },
  });
}
