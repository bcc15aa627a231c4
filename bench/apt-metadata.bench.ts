// Benchmark: requests per second of the apt-transport-in-toto metadata endpoint with 100,000 stored
// Debian builds (each with its own signed link), measured with wrk on loopback against a static
// node:http server answering the same link bytes in the same run. The coordinator is a real
// `rbnet coordinator run` process. RBNET_BENCH_APT_DIR=DIR keeps the filled store in DIR and reuses it
// on the next run (filling 100,000 builds takes minutes); BENCH_FILL_ONLY=1 only fills it, so the
// measured run can take the engine lock without holding it through the fill.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FsContentStore } from '../coordinator/storage/fs-content-store.ts';
import { openSqliteStores } from '../coordinator/storage/sqlite/open-sqlite-stores.ts';
import { signRebuildLink } from '../services/apt/in-toto-rebuild-link.ts';
import { newKey } from '../services/consensus/consensus-test-fixtures.ts';
import { type Sha256Hex, sha256Hex } from '../services/digest.ts';
import { startRedisServer } from '../test/support/redis-server.ts';
import { formatRow, median, runCommand, startCoordinatorProcess, timeMs } from './bench-support.ts';

const BUILDS = Number(process.env.BENCH_BUILDS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION = process.env.BENCH_WRK_DURATION ?? '10s';
const OPERATOR = 'alpha';

const keptDir = process.env.RBNET_BENCH_APT_DIR;
const root = await mkdtemp(join(tmpdir(), 'rbnet-bench-apt-'));
const redis = await startRedisServer();
const children: ChildProcess[] = [];

/** Stores BUILDS decided, reproducible Debian builds of pkg-N 1.0-N, each with its own signed link. */
async function fill(dataDir: string): Promise<string> {
  const store = openSqliteStores(join(dataDir, 'rbnet.sqlite'));
  const content = new FsContentStore(join(dataDir, 'cas'));
  const key = newKey();
  let sampleLink = '';
  const batchSize = 5_000;
  for (let start = 0; start < BUILDS; start += batchSize) {
    const builds = [];
    const links = [];
    for (let i = start; i < Math.min(BUILDS, start + batchSize); i += 1) {
      const deb = sha256Hex(`deb-${i}`) as Sha256Hex;
      const link = JSON.stringify(
        await signRebuildLink([{ aptFileName: `pkg-${i}_1.0-${i}_amd64.deb`, sha256: deb }], key.signer),
      );
      if (i === 0) sampleLink = link;
      const linkSha256 = sha256Hex(link) as Sha256Hex;
      await content.put(Readable.from([Buffer.from(link)]), { sha256: linkSha256, maxBytes: link.length });
      const manifestJson = JSON.stringify({ name: `pkg-${i}` });
      const buildId = crypto.randomUUID();
      builds.push({
        buildId,
        manifestSha256: sha256Hex(manifestJson) as Sha256Hex,
        manifestJson,
        name: `pkg-${i}`,
        architecture: 'amd64',
        backend: 'debian',
        claimedOutputs: [{ path: `pkg-${i}_1.0-${i}_amd64.deb`, sha256: deb }],
        policy: { threshold: 1, maxAttempts: 2, decisionDeadlineMs: 3_600_000 },
        submittedBy: 'bench',
        createdAt: new Date(),
      });
      links.push({ buildId, i, linkSha256 });
    }
    await store.builds.createBuilds(builds);
    for (const { buildId, i, linkSha256 } of links) {
      // Decided, as every build with links is: the coordinator's sweep has no pending work here.
      await store.builds.recordVerdict({
        buildId,
        verdict: 'reproducible',
        decisionJson: '{}',
        decidedAt: new Date(),
      });
      await store.aptLinks.replaceAptLinks(buildId, [
        {
          architecture: 'amd64',
          operator: OPERATOR,
          package: `pkg-${i}`,
          version: `1.0-${i}`,
          linkSha256,
          productsSha256: linkSha256,
          workerId: 'w',
        },
      ]);
    }
    process.stderr.write(`\r[fill] ${Math.min(BUILDS, start + batchSize)}/${BUILDS} builds`);
  }
  process.stderr.write('\n');
  await store.close();
  return sampleLink;
}

async function startCoordinator(dataDir: string): Promise<string> {
  const { child, baseUrl } = await startCoordinatorProcess(dataDir, redis.url);
  children.push(child);
  return baseUrl;
}

/** The baseline: a bare node:http server answering every request with the same bytes. */
async function startStaticServer(body: string): Promise<string> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const script = `require('node:http').createServer((q, s) => { s.writeHead(200, {'content-type': 'application/json', 'cache-control': 'no-store'}); s.end(${JSON.stringify(body)}); }).listen(${port}, '127.0.0.1', () => console.log('listening'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve) => child.stdout!.on('data', () => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** GETs every stored version once, 16 at a time; each must be served. */
async function askEveryVersion(base: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < BUILDS) {
        const i = next++;
        const response = await fetch(`${base}/apt/amd64/${OPERATOR}/sources/pkg-${i}/1.0-${i}/metadata`);
        if (response.status !== 200) throw new Error(`pkg-${i}: ${response.status}`);
        await response.arrayBuffer();
      }
    }),
  );
}

async function wrk(url: string, script?: string): Promise<number> {
  const args = ['-t2', '-c32', `-d${DURATION}`, '--latency', ...(script ? ['-s', script] : []), url];
  const out = await runCommand('wrk', args);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`wrk printed no Requests/sec:\n${out}`);
  if (/Non-2xx or 3xx responses/.test(out)) throw new Error(`wrk saw errors:\n${out}`);
  return Number(rps[1]);
}

/** Filled once per RBNET_BENCH_APT_DIR: the data dir and a sample link. */
async function filledStore(): Promise<{ dataDir: string; sample: string }> {
  const dataDir = keptDir ? join(keptDir, `coordinator-${BUILDS}`) : join(root, 'coordinator');
  const samplePath = join(dataDir, 'bench-sample-link.json');
  let sample = await readFile(samplePath, 'utf8').catch(() => undefined);
  if (sample === undefined) {
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true });
    sample = await fill(dataDir);
    await writeFile(samplePath, sample);
  }
  return { dataDir, sample };
}

/** The measured part: the coordinator on `dataDir` against a static server answering `sample`. */
async function measure(dataDir: string, sample: string): Promise<void> {
  const coordinator = await startCoordinator(dataDir);
  const staticBase = await startStaticServer(sample);
  const hot = `${coordinator}/apt/amd64/${OPERATOR}/sources/pkg-0/1.0-0/metadata`;
  const check = await fetch(hot);
  if (check.status !== 200 || (await check.text()) !== sample)
    throw new Error('the coordinator does not serve the link');
  // Spread: every request asks for a random one of the stored versions.
  const spreadScript = join(root, 'spread.lua');
  await writeFile(
    spreadScript,
    `math.randomseed(os.time())\nrequest = function()\n  local i = math.random(0, ${BUILDS - 1})\n  return wrk.format("GET", "/apt/amd64/${OPERATOR}/sources/pkg-" .. i .. "/1.0-" .. i .. "/metadata")\nend\n`,
  );
  // Once, on the fresh process: most versions are asked for the first time (store and file reads).
  const cold = await wrk(`${coordinator}/`, spreadScript);
  // Then every version once, as a server that has run for a while has seen them.
  const warmUpMs = await timeMs(() => askEveryVersion(coordinator));
  const results = { static: [] as number[], hot: [] as number[], spread: [] as number[] };
  for (let run = 0; run < RUNS; run += 1) {
    results.static.push(await wrk(`${staticBase}/`));
    results.hot.push(await wrk(hot));
    results.spread.push(await wrk(`${coordinator}/`, spreadScript));
  }
  const baseline = median(results.static);
  const ratio = (value: number) => `${(value / baseline).toFixed(2)}×`;
  console.log(
    `## apt metadata endpoint, ${BUILDS.toLocaleString('en')} stored builds (wrk -t2 -c32 -d${DURATION}, ${RUNS} runs, medians)\n`,
  );
  console.log('| server | requests/s | ratio vs static node:http |');
  console.log('|---|---|---|');
  console.log(formatRow(['static node:http, same bytes (baseline)', baseline, '1.00×']));
  console.log(
    formatRow(['rbnet, one version asked again and again', median(results.hot), ratio(median(results.hot))]),
  );
  console.log(
    formatRow([
      `rbnet, a random one of ${BUILDS.toLocaleString('en')} versions per request`,
      median(results.spread),
      ratio(median(results.spread)),
    ]),
  );
  console.log(
    formatRow([
      'the same, first run after the coordinator started (one run, versions mostly asked for the first time)',
      cold,
      ratio(cold),
    ]),
  );
  console.log(`\nasking for every version once took ${(warmUpMs / 1000).toFixed(1)} s`);
  console.log(`\n${JSON.stringify({ ...results, cold })}`);
}

try {
  const { dataDir, sample } = await filledStore();
  if (process.env.BENCH_FILL_ONLY !== '1') await measure(dataDir, sample);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await redis.stop();
  await rm(root, { recursive: true, force: true });
}
