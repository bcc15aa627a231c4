// Benchmark: what rbnet's hermetic rebuild costs over a plain `docker run --rm --network none` of the
// same trivial build on the same engine. Runs are interleaved so machine noise hits both alike.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { parseManifest } from '../services/manifest/parse-manifest.ts';
import { LocalInputSource } from '../worker/inputs/input-source.ts';
import { createWorkerRuntime } from '../worker/main.ts';
import { rebuildManifest } from '../worker/rebuild-manifest.ts';
import { loadWorkerConfig } from '../worker/worker-config.ts';
import { formatRow, median, rawHelloDockerRunArgs, runCommand, timeMs } from './bench-support.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const repo = resolve(import.meta.dirname, '..');
const sampleDir = join(repo, 'samples', 'hello');
const dockerHost = process.env.RBNET_DOCKER_HOST ?? 'unix:///run/rbnet/docker.sock';

const scratch = await mkdtemp(join(tmpdir(), 'rbnet-bench-'));
const config = loadWorkerConfig({ env: { ...process.env, RBNET_WORKER_DIR: join(scratch, 'worker') } });
const runtime = await createWorkerRuntime(config, pino({ level: 'silent' }), {
  operator: 'bench',
  id: 'bench-worker',
});
const parsed = parseManifest(await readFile(join(sampleDir, 'manifest.json')));

const baselineArgs = await rawHelloDockerRunArgs(sampleDir, parsed.manifest.environment.imageSha256);
const env = { ...process.env, DOCKER_HOST: dockerHost };

const samples = { baseline: [] as number[], inProcess: [] as number[], cli: [] as number[] };
let counter = 0;
for (let i = 0; i < RUNS; i += 1) {
  samples.baseline.push(await timeMs(() => runCommand('docker', baselineArgs, env)));
  samples.inProcess.push(
    await timeMs(() =>
      rebuildManifest(runtime, {
        parsed,
        inputs: new LocalInputSource(sampleDir, undefined),
        outDir: join(scratch, `in-${++counter}`),
      }),
    ),
  );
  samples.cli.push(
    await timeMs(() =>
      runCommand(process.execPath, [
        join(repo, 'bin', 'rbnet.mjs'),
        'rebuild',
        join(sampleDir, 'manifest.json'),
        '--quiet',
        '--out',
        join(scratch, `cli-${++counter}`),
        '--worker-dir',
        join(scratch, 'worker'),
      ]),
    ),
  );
  process.stderr.write(`run ${i + 1}/${RUNS}\n`);
}
await rm(scratch, { recursive: true, force: true });

const base = median(samples.baseline);
console.log(`## rebuild overhead (${RUNS} interleaved runs, medians)\n`);
console.log('| what | median ms | ratio vs docker run |');
console.log('|---|---|---|');
console.log(formatRow(['`docker run --rm --network none` (baseline)', base, '1.00×']));
console.log(
  formatRow([
    'rbnet rebuild, in-process (rebuildManifest)',
    median(samples.inProcess),
    `${(median(samples.inProcess) / base).toFixed(2)}×`,
  ]),
);
console.log(
  formatRow([
    '`rbnet rebuild` CLI process (incl. Node start-up)',
    median(samples.cli),
    `${(median(samples.cli) / base).toFixed(2)}×`,
  ]),
);
