// The .deb inspection environment for tests: infra/build-env-inspect.sh builds it once (or finds it
// registered) and prints its sha256 last; infra/test.sh exports it as RBNET_INSPECTION_IMAGE.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './runner-harness.ts';

const run = promisify(execFile);

export async function inspectionEnvironmentSha256(): Promise<string> {
  const fromEnv = process.env.RBNET_INSPECTION_IMAGE;
  if (fromEnv && /^[0-9a-f]{64}$/.test(fromEnv)) return fromEnv;
  const { stdout } = await run('bash', [join(REPO_ROOT, 'infra', 'build-env-inspect.sh')], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const sha = stdout.trim().split('\n').at(-1) ?? '';
  if (!/^[0-9a-f]{64}$/.test(sha))
    throw new Error(`infra/build-env-inspect.sh printed no sha256: ${stdout.slice(-500)}`);
  return sha;
}
