// Benchmark: the network's overhead. Submit-to-verdict latency of the trivial sample on 3 workers of
// 3 operators vs the same 3 containers as raw parallel `docker run`; throughput of 20 concurrent
// submissions (60 rebuilds) vs 60 raw runs 3 at a time. Same engine, same run, interleaved.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startNetworkHarness } from '../test/support/network-harness.ts';
import { REPO_ROOT } from '../test/support/runner-harness.ts';
import { formatRow, median, rawHelloDockerRunArgs, runCommand, timeMs } from './bench-support.ts';

const SUBMISSIONS = Number(process.env.BENCH_SUBMISSIONS ?? 20);
const dockerHost = process.env.RBNET_DOCKER_HOST ?? 'unix:///run/rbnet/docker.sock';
const env = { ...process.env, DOCKER_HOST: dockerHost };
const sampleDir = join(REPO_ROOT, 'samples', 'hello');
const manifest = JSON.parse(await readFile(join(sampleDir, 'manifest.json'), 'utf8')) as {
  environment: { image: { sha256: string } };
};
const rawArgs = await rawHelloDockerRunArgs(sampleDir, manifest.environment.image.sha256);
const rawRun = () => runCommand('docker', rawArgs, env);

const net = await startNetworkHarness({ threshold: 3, prefix: 'bench' });
try {
  for (const operator of ['alpha', 'beta', 'gamma']) await net.addWorker(operator, `${operator}-bench`);
  const token = await net.maintainerToken();
  const manifestPath = join(sampleDir, 'manifest.json');
  await net.waitForVerdict(await net.submit(manifestPath, token), 120_000, 20); // warm-up

  const latency: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < SUBMISSIONS; i += 1) {
    raw.push(await timeMs(() => Promise.all([rawRun(), rawRun(), rawRun()])));
    latency.push(
      await timeMs(async () => net.waitForVerdict(await net.submit(manifestPath, token), 120_000, 20)),
    );
    process.stderr.write(`latency ${i + 1}/${SUBMISSIONS}\n`);
  }

  const rawTotalMs = await timeMs(async () => {
    for (let i = 0; i < SUBMISSIONS; i += 1) await Promise.all([rawRun(), rawRun(), rawRun()]);
  });
  const networkTotalMs = await timeMs(async () => {
    const ids = await Promise.all(Array.from({ length: SUBMISSIONS }, () => net.submit(manifestPath, token)));
    await Promise.all(ids.map((id) => net.waitForVerdict(id, 600_000, 50)));
  });

  const containers = SUBMISSIONS * 3;
  console.log(`## network latency and throughput (${SUBMISSIONS} submissions, 3 operators, k=3)\n`);
  console.log('| measure | raw `docker run` | rbnet | ratio |');
  console.log('|---|---|---|---|');
  const base = median(raw);
  const ours = median(latency);
  console.log(
    formatRow(['median submit → verdict vs 3 parallel runs, ms', base, ours, `${(ours / base).toFixed(2)}×`]),
  );
  const rawRate = containers / (rawTotalMs / 1000);
  const netRate = containers / (networkTotalMs / 1000);
  console.log(
    formatRow([
      `throughput, rebuilds/s (${containers} rebuilds)`,
      rawRate,
      netRate,
      `${(netRate / rawRate).toFixed(2)}×`,
    ]),
  );
} finally {
  await net.close();
}
