// Benchmark: capturing and hashing a build's output (engine getArchive → tar-stream → sha256) against
// `docker cp CONTAINER:FILE - | openssl dgst -sha256`, and the capturing process's peak RSS at two
// output sizes (it must not grow with the output).
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createDockerClient } from '../worker/main.ts';
import { formatRow, median, runCommand, timeMs } from './bench-support.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const repo = resolve(import.meta.dirname, '..');
const dockerHost = process.env.RBNET_DOCKER_HOST ?? 'unix:///run/rbnet/docker.sock';
const docker = createDockerClient(dockerHost);
const lock = await readFile(join(repo, 'infra', 'environments', 'busybox.lock'), 'utf8');
const image = `rbnet-env:${/ENV_TAR_SHA256_amd64=([0-9a-f]{64})/.exec(lock)![1]}`;
const env = { ...process.env, DOCKER_HOST: dockerHost };

async function containerWithOutput(sizeBytes: number): Promise<string> {
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['/bin/sh', '-c', `mkdir -p /build/out && head -c ${sizeBytes} /dev/zero > /build/out/big`],
    HostConfig: { NetworkMode: 'none', StorageOpt: { size: String(sizeBytes * 2 + 256 * 1024 ** 2) } },
    Labels: { 'dev.rbnet.role': 'bench' },
  });
  await container.start();
  await container.wait();
  return container.id;
}

console.log(`## output capture and hashing (${RUNS} interleaved runs each, medians)\n`);
console.log(
  '| output size | `docker cp \\| openssl dgst` ms | rbnet capture ms | ratio | rbnet peak RSS MiB |',
);
console.log('|---|---|---|---|---|');
for (const sizeBytes of [64 * 1024 ** 2, 1024 ** 3]) {
  const id = await containerWithOutput(sizeBytes);
  try {
    const baseline: number[] = [];
    const capture: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      baseline.push(
        await timeMs(() =>
          runCommand('sh', ['-c', `docker cp ${id}:/build/out/big - | openssl dgst -sha256 >/dev/null`], env),
        ),
      );
      const child = JSON.parse(
        await runCommand(
          process.execPath,
          ['--import', 'tsx', join(repo, 'bench', 'capture-child.ts'), id, '/build/out'],
          env,
        ),
      ) as { ms: number; maxRssKiB: number };
      capture.push(child.ms);
      rss.push(child.maxRssKiB / 1024);
      process.stderr.write(`${sizeBytes} bytes: run ${i + 1}/${RUNS}\n`);
    }
    const base = median(baseline);
    const ours = median(capture);
    console.log(
      formatRow([
        `${sizeBytes / 1024 ** 2} MiB`,
        base,
        ours,
        `${(ours / base).toFixed(2)}×`,
        Math.max(...rss),
      ]),
    );
  } finally {
    await docker.getContainer(id).remove({ force: true });
  }
}
