// Vitest global set-up: compiles dist/ when it is missing or older than the sources, because the
// tests that start `rbnet` as a process run bin/rbnet.mjs, the entry users run, and it runs dist/.
// The tests themselves import the TypeScript sources.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export default function buildDistIfStale(): void {
  const root = resolve(import.meta.dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'infra', 'build-dist.mjs'), '--if-stale'], {
    cwd: root,
    stdio: 'inherit',
  });
}
