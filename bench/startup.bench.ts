// Benchmark: what starting `rbnet` as a process costs. `rbnet --version` against `node -e 0` (wall
// time and peak RSS), and `rbnet rebuild samples/hello` as a process against the same rebuild
// in-process (rebuildManifest). Runs are interleaved so machine noise hits both alike.
// RBNET_BENCH_REPO=DIR measures the bin/rbnet.mjs of another checkout (e.g. an older commit) against
// the same baselines; the in-process rebuild always runs this checkout's code.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { parseManifest } from '../services/manifest/parse-manifest.ts';
import { LocalInputSource } from '../worker/inputs/input-source.ts';
import { createWorkerRuntime } from '../worker/main.ts';
import { rebuildManifest } from '../worker/rebuild-manifest.ts';
import { loadWorkerConfig } from '../worker/worker-config.ts';
import { formatRow, median, runCommand, timeMs } from './bench-support.ts';

const START_RUNS = Number(process.env.BENCH_RUNS ?? 21);
const REBUILD_RUNS = Number(process.env.BENCH_RUNS ?? 9);
const here = resolve(import.meta.dirname, '..');
const measured = resolve(process.env.RBNET_BENCH_REPO ?? here);
const rbnet = join(measured, 'bin', 'rbnet.mjs');
const sampleDir = join(here, 'samples', 'hello');
const scratch = await mkdtemp(join(tmpdir(), 'rbnet-bench-startup-'));

/** Runs `node ARGS` under GNU time; resolves with the wall time (ms, measured here) and peak RSS (MiB). */
async function nodeProcess(args: readonly string[]): Promise<{ ms: number; rssMiB: number }> {
  const rssFile = join(scratch, 'rss.txt');
  const ms = await timeMs(() =>
    runCommand('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, ...args]),
  );
  const rssKiB = Number((await readFile(rssFile, 'utf8')).trim().split('\n').pop());
  return { ms, rssMiB: rssKiB / 1024 };
}

// ---------------------------------------------------------------- rbnet --version vs node -e 0
const start = {
  nodeMs: [] as number[],
  nodeRss: [] as number[],
  rbnetMs: [] as number[],
  rbnetRss: [] as number[],
};
await nodeProcess(['-e', '0']); // warm the page cache for both before measuring
await nodeProcess([rbnet, '--version']);
for (let i = 0; i < START_RUNS; i += 1) {
  const node = await nodeProcess(['-e', '0']);
  const version = await nodeProcess([rbnet, '--version']);
  start.nodeMs.push(node.ms);
  start.nodeRss.push(node.rssMiB);
  start.rbnetMs.push(version.ms);
  start.rbnetRss.push(version.rssMiB);
}

// ---------------------------------------------------------------- rbnet rebuild: process vs in-process
const config = loadWorkerConfig({ env: { ...process.env, RBNET_WORKER_DIR: join(scratch, 'worker') } });
const runtime = await createWorkerRuntime(config, pino({ level: 'silent' }), {
  operator: 'bench',
  id: 'bench-worker',
});
const parsed = parseManifest(await readFile(join(sampleDir, 'manifest.json')));
const rebuild = { inProcess: [] as number[], process: [] as number[] };
let counter = 0;
for (let i = 0; i < REBUILD_RUNS; i += 1) {
  rebuild.inProcess.push(
    await timeMs(() =>
      rebuildManifest(runtime, {
        parsed,
        inputs: new LocalInputSource(sampleDir, undefined),
        outDir: join(scratch, `in-${++counter}`),
      }),
    ),
  );
  rebuild.process.push(
    await timeMs(() =>
      runCommand(process.execPath, [
        rbnet,
        'rebuild',
        join(sampleDir, 'manifest.json'),
        '--quiet',
        '--out',
        join(scratch, `process-${++counter}`),
        '--worker-dir',
        join(scratch, 'worker'),
      ]),
    ),
  );
  process.stderr.write(`rebuild run ${i + 1}/${REBUILD_RUNS}\n`);
}
await rm(scratch, { recursive: true, force: true });

const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;
const nodeMs = median(start.nodeMs);
const nodeRss = median(start.nodeRss);
console.log(`## start-up (${measured === here ? 'this checkout' : measured})\n`);
console.log(`${START_RUNS} interleaved runs, medians\n`);
console.log('| what | wall ms | ratio | peak RSS MiB | ratio |');
console.log('|---|---|---|---|---|');
console.log(formatRow(['`node -e 0` (baseline)', nodeMs, '1.00×', nodeRss, '1.00×']));
console.log(
  formatRow([
    '`rbnet --version`',
    median(start.rbnetMs),
    ratio(median(start.rbnetMs), nodeMs),
    median(start.rbnetRss),
    ratio(median(start.rbnetRss), nodeRss),
  ]),
);
const inProcess = median(rebuild.inProcess);
console.log(`\n${REBUILD_RUNS} interleaved rebuilds of samples/hello, medians\n`);
console.log('| what | median ms | ratio |');
console.log('|---|---|---|');
console.log(formatRow(['rebuild in-process, `rebuildManifest` (baseline)', inProcess, '1.00×']));
console.log(
  formatRow([
    '`rbnet rebuild` as a process',
    median(rebuild.process),
    ratio(median(rebuild.process), inProcess),
  ]),
);
