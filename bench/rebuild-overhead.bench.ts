// Benchmark: what rbnet's hermetic rebuild costs over a plain `docker run --rm --network none` of the
// same trivial build on the same engine. Runs are interleaved so machine noise hits both alike.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatRow, median, rawHelloDockerRunArgs, runCommand, timeMs } from './bench-support.ts';
import { helloRebuilds } from './hello-rebuilds.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const dockerHost = process.env.RBNET_DOCKER_HOST ?? 'unix:///run/rbnet/docker.sock';

const scratch = await mkdtemp(join(tmpdir(), 'rbnet-bench-'));
const hello = await helloRebuilds(scratch);
const baselineArgs = await rawHelloDockerRunArgs(
  hello.sampleDir,
  hello.parsed.manifest.environment.imageSha256,
);
const env = { ...process.env, DOCKER_HOST: dockerHost };

const samples = { baseline: [] as number[], inProcess: [] as number[], cli: [] as number[] };
for (let i = 0; i < RUNS; i += 1) {
  samples.baseline.push(await timeMs(() => runCommand('docker', baselineArgs, env)));
  samples.inProcess.push(await timeMs(hello.inProcess));
  samples.cli.push(await timeMs(hello.asProcess));
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
