// Benchmark: what starting `rbnet` as a process costs. `rbnet --version` against `node -e 0` (wall
// time and peak RSS), and `rbnet rebuild samples/hello` as a process against the same rebuild
// in-process (rebuildManifest). Runs are interleaved so machine noise hits all alike.
// RBNET_BENCH_COMPARE=DIR also measures the bin/rbnet.mjs of another checkout (e.g. the commit
// before a change, with its node_modules) in the same runs, against the same baselines.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatRow, median, runCommand, timeMs } from './bench-support.ts';
import { helloRebuilds } from './hello-rebuilds.ts';

const START_RUNS = Number(process.env.BENCH_RUNS ?? 21);
const REBUILD_RUNS = Number(process.env.BENCH_RUNS ?? 9);
const here = resolve(import.meta.dirname, '..');
const subjects = [
  { label: 'this checkout', entry: join(here, 'bin', 'rbnet.mjs') },
  ...(process.env.RBNET_BENCH_COMPARE
    ? [
        {
          label: resolve(process.env.RBNET_BENCH_COMPARE),
          entry: join(process.env.RBNET_BENCH_COMPARE, 'bin', 'rbnet.mjs'),
        },
      ]
    : []),
];
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
const nodeStart = { ms: [] as number[], rss: [] as number[] };
const versionStart = subjects.map(() => ({ ms: [] as number[], rss: [] as number[] }));
// One unmeasured round warms the page cache for all.
await nodeProcess(['-e', '0']);
for (const subject of subjects) await nodeProcess([subject.entry, '--version']);
for (let i = 0; i < START_RUNS; i += 1) {
  const node = await nodeProcess(['-e', '0']);
  nodeStart.ms.push(node.ms);
  nodeStart.rss.push(node.rssMiB);
  for (const [s, subject] of subjects.entries()) {
    const version = await nodeProcess([subject.entry, '--version']);
    versionStart[s]!.ms.push(version.ms);
    versionStart[s]!.rss.push(version.rssMiB);
  }
}

// ---------------------------------------------------------------- rbnet rebuild: process vs in-process
const rebuilders = await Promise.all(
  subjects.map((subject, s) => helloRebuilds(join(scratch, `subject-${s}`), subject.entry)),
);
const inProcess: number[] = [];
const asProcess = subjects.map(() => [] as number[]);
for (let i = 0; i < REBUILD_RUNS; i += 1) {
  inProcess.push(await timeMs(rebuilders[0]!.inProcess));
  for (const [s, rebuilder] of rebuilders.entries()) asProcess[s]!.push(await timeMs(rebuilder.asProcess));
  process.stderr.write(`rebuild run ${i + 1}/${REBUILD_RUNS}\n`);
}
await rm(scratch, { recursive: true, force: true });

const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;
const nodeMs = median(nodeStart.ms);
const nodeRss = median(nodeStart.rss);
console.log(`## start-up (${START_RUNS} interleaved runs, medians)\n`);
console.log('| what | wall ms | ratio | peak RSS MiB | ratio |');
console.log('|---|---|---|---|---|');
console.log(formatRow(['`node -e 0` (baseline)', nodeMs, '1.00×', nodeRss, '1.00×']));
for (const [s, subject] of subjects.entries()) {
  const ms = median(versionStart[s]!.ms);
  const rss = median(versionStart[s]!.rss);
  console.log(
    formatRow([`\`rbnet --version\`, ${subject.label}`, ms, ratio(ms, nodeMs), rss, ratio(rss, nodeRss)]),
  );
}
const base = median(inProcess);
console.log(`\n## rbnet rebuild of samples/hello (${REBUILD_RUNS} interleaved runs, medians)\n`);
console.log('| what | median ms | ratio |');
console.log('|---|---|---|');
console.log(formatRow(['in-process, `rebuildManifest` (baseline)', base, '1.00×']));
for (const [s, subject] of subjects.entries()) {
  const ms = median(asProcess[s]!);
  console.log(formatRow([`\`rbnet rebuild\` as a process, ${subject.label}`, ms, ratio(ms, base)]));
}
