// samples/hello rebuilt the two ways benchmarks compare: in this process (rebuildManifest on one
// worker runtime made once) and as an `rbnet rebuild` process, each into a new folder under `scratch`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import type { ParsedManifest } from '../services/manifest/manifest.ts';
import { parseManifest } from '../services/manifest/parse-manifest.ts';
import { REPO_ROOT } from '../test/support/runner-harness.ts';
import { LocalInputSource } from '../worker/inputs/input-source.ts';
import { createWorkerRuntime } from '../worker/main.ts';
import { rebuildManifest } from '../worker/rebuild-manifest.ts';
import { loadWorkerConfig } from '../worker/worker-config.ts';
import { runCommand } from './bench-support.ts';

export interface HelloRebuilds {
  readonly sampleDir: string;
  readonly parsed: ParsedManifest;
  inProcess(): Promise<unknown>;
  /** `node RBNET_ENTRY rebuild samples/hello/manifest.json --quiet` with the same worker key. */
  asProcess(): Promise<unknown>;
}

export async function helloRebuilds(
  scratch: string,
  rbnetEntry = join(REPO_ROOT, 'bin', 'rbnet.mjs'),
): Promise<HelloRebuilds> {
  const sampleDir = join(REPO_ROOT, 'samples', 'hello');
  const workerDir = join(scratch, 'worker');
  const config = loadWorkerConfig({ env: { ...process.env, RBNET_WORKER_DIR: workerDir } });
  const runtime = await createWorkerRuntime(
    config,
    pino({ level: 'silent' }),
    { operator: 'bench', id: 'bench-worker' },
    ['generic'],
  );
  const parsed = parseManifest(await readFile(join(sampleDir, 'manifest.json')));
  let counter = 0;
  return {
    sampleDir,
    parsed,
    inProcess: () =>
      rebuildManifest(runtime, {
        parsed,
        inputs: new LocalInputSource(sampleDir, undefined),
        outDir: join(scratch, `in-${++counter}`),
      }),
    asProcess: () =>
      runCommand(process.execPath, [
        rbnetEntry,
        'rebuild',
        join(sampleDir, 'manifest.json'),
        '--quiet',
        '--out',
        join(scratch, `cli-${++counter}`),
        '--worker-dir',
        workerDir,
      ]),
  };
}
