import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStores } from '../coordinator/storage/sqlite/open-sqlite-stores.ts';
import { type Sha256Hex, sha256Hex } from '../services/digest.ts';
import { startRedisServer } from '../test/support/redis-server.ts';
import { formatRow, startCoordinatorProcess } from './bench-support.ts';

const BUILDS = Number(process.env.BENCH_BUILDS ?? 10_000);
const redis = await startRedisServer();
const root = await mkdtemp(join(tmpdir(), 'rbnet-bench-mem-'));

async function fill(dataDir: string, count: number): Promise<string[]> {
  const store = openSqliteStores(join(dataDir, 'rbnet.sqlite'));
  const ids: string[] = [];
  const batch = [];
  for (let i = 0; i < count; i += 1) {
    const manifestJson = JSON.stringify({ name: `pkg-${i}` });
    const buildId = crypto.randomUUID();
    ids.push(buildId);
    batch.push({
      buildId,
      manifestSha256: sha256Hex(manifestJson) as Sha256Hex,
      manifestJson,
      name: `pkg-${i}`,
      architecture: 'amd64',
      backend: 'generic',
      claimedOutputs: [{ path: `pkg-${i}.deb`, sha256: sha256Hex(`deb-${i}`) as Sha256Hex }],
      policy: { threshold: 2, maxAttempts: 6, decisionDeadlineMs: 3_600_000 },
      submittedBy: 'bench',
      createdAt: new Date(),
    });
  }
  if (batch.length) await store.builds.createBuilds(batch);
  await store.close();
  return ids;
}

async function measure(label: string, count: number): Promise<number> {
  const dataDir = join(root, label);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dataDir, { recursive: true });
  const ids = await fill(dataDir, count);
  const { child, baseUrl: base } = await startCoordinatorProcess(dataDir, redis.url);
  for (let i = 0; i < 200; i += 1) {
    await (
      await fetch(`${base}/v1/builds/${ids[i % Math.max(ids.length, 1)] ?? crypto.randomUUID()}`)
    ).text();
    await (await fetch(`${base}/v1/artifacts/sha256/${sha256Hex(`deb-${i}`)}`)).text();
  }
  await new Promise((r) => setTimeout(r, 1000));
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return rssKiB / 1024;
}

try {
  const idle = await measure('empty', 0);
  const full = await measure('full', BUILDS);
  console.log('## coordinator resident memory\n');
  console.log('| store | RSS MiB | ratio vs empty |');
  console.log('|---|---|---|');
  console.log(formatRow(['empty (idle)', idle, '1.00×']));
  console.log(
    formatRow([`${BUILDS.toLocaleString('en')} stored builds`, full, `${(full / idle).toFixed(2)}×`]),
  );
} finally {
  await redis.stop();
  await rm(root, { recursive: true, force: true });
}
