// Benchmark: the web pages with 100,000 stored builds. Requests per second and p99 of the overview
// and a package page, served by a real `rbnet coordinator run` process, against a static node:http
// server answering the same bytes (wrk on loopback, same run); the same while another process
// stores a new build 10 times a second (each commit makes the cached pages stale); the pages rendered for every request
// (cache defeated); Chromium's time from navigation to the load event; and what migration 9's
// triggers add to writing builds and verdicts (docs/benchmarks.md, "Web pages").
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStores } from '../coordinator/storage/sqlite/open-sqlite-stores.ts';
import { type Sha256Hex, sha256Hex } from '../services/digest.ts';
import type { NewBuild } from '../services/storage/build-store.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { startRedisServer } from '../test/support/redis-server.ts';
import { REPO_ROOT } from '../test/support/runner-harness.ts';
import { formatRow, median, runCommand, startCoordinatorProcess, timeMs } from './bench-support.ts';

const BUILDS = Number(process.env.BENCH_BUILDS ?? 100_000);
const PACKAGES = Math.max(1, Math.floor(BUILDS / 5));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION = process.env.BENCH_WRK_DURATION ?? '10s';
const LOADS = Number(process.env.BENCH_LOADS ?? 10);
const DAY_MS = 86_400_000;
const PACKAGE_PAGE = '/packages/pkg-00042';

const root = await mkdtemp(join(tmpdir(), 'rbnet-bench-web-'));
const redis = await startRedisServer();
const children: ChildProcess[] = [];

/** Verdicts in roughly the proportions of a healthy distribution. */
function verdictOf(i: number): string {
  const r = (i * 7919) % 1000;
  if (r < 800) return 'reproducible';
  if (r < 850) return 'agreed';
  if (r < 860) return 'mismatch-upstream';
  if (r < 920) return 'diverged';
  if (r < 950) return 'failed';
  if (r < 970) return 'insufficient-operators';
  if (r < 980) return 'inputs-differ';
  if (r < 990) return 'environment-unavailable';
  return 'source-unavailable';
}

/** Build `i`: package pkg-(i mod PACKAGES), version by round, spread over 120 days, a realistic manifest size. */
function buildOf(i: number, now: number): NewBuild {
  const pkg = i % PACKAGES;
  const name = `pkg-${String(pkg).padStart(5, '0')}`;
  const version = `1.${Math.floor(i / PACKAGES)}-1`;
  const manifestJson = JSON.stringify({
    schema: 'rbnet.debian/v1',
    name,
    version,
    architecture: pkg % 5 === 0 ? 'arm64' : 'amd64',
    padding: 'x'.repeat(1500),
  });
  return {
    buildId: crypto.randomUUID(),
    manifestSha256: sha256Hex(manifestJson) as Sha256Hex,
    manifestJson,
    name,
    architecture: pkg % 5 === 0 ? 'arm64' : 'amd64',
    backend: 'debian',
    claimedOutputs: [{ path: `${name}_${version}_amd64.deb`, sha256: sha256Hex(`deb-${i}`) as Sha256Hex }],
    policy: { threshold: 2, maxAttempts: 6, decisionDeadlineMs: 3_600_000 },
    submittedBy: 'bench',
    createdAt: new Date(now - 120 * DAY_MS + Math.floor((i / BUILDS) * 120 * DAY_MS)),
  };
}

/**
 * Stores `count` builds and decides all but the newest 100 (a history row each, from which the
 * schema sets the build's verdict), through a second connection in one transaction: the stores'
 * and migration 9's triggers keep their counters and aggregates for these rows as for any other. @returns fill time in ms.
 */
async function fill(
  dbPath: string,
  count: number,
  options: { withoutWebTriggers?: boolean } = {},
): Promise<number> {
  const now = Date.now();
  const store = openSqliteStores(dbPath);
  if (options.withoutWebTriggers) {
    const db = new Database(dbPath);
    db.exec(`DROP TRIGGER web_builds_insert; DROP TRIGGER web_builds_verdict;
      DROP TRIGGER web_results_hourly; DROP TRIGGER web_attempts_hourly;`);
    db.close();
  }
  return timeMs(async () => {
    for (let start = 0; start < count; start += 10_000) {
      const batch: NewBuild[] = [];
      for (let i = start; i < Math.min(count, start + 10_000); i++) batch.push(buildOf(i, now));
      await store.builds.createBuilds(batch);
      if (count >= 50_000)
        process.stderr.write(`\r[fill] ${Math.min(count, start + 10_000)}/${count} builds`);
    }
    await store.close();
    const db = new Database(dbPath);
    const rows = db.prepare('SELECT seq, build_id, created_at FROM builds ORDER BY seq').all() as {
      seq: number;
      build_id: string;
      created_at: number;
    }[];
    const history = db.prepare(
      `INSERT INTO verdict_history (build_id, sequence, verdict, previous_verdict, decision_json, decided_at)
       VALUES (?, 1, ?, 'pending', ?, ?)`,
    );
    db.transaction(() => {
      for (const [i, row] of rows.entries()) {
        if (i >= rows.length - 100) break;
        const verdict = verdictOf(i);
        const agreeing =
          verdict === 'reproducible' || verdict === 'agreed' || verdict === 'mismatch-upstream';
        const decision = JSON.stringify({
          verdict,
          countedOperators: ['alpha', 'beta', 'gamma'],
          agreeingOperators: agreeing ? ['alpha', 'beta', 'gamma'] : ['alpha'],
          ...(verdict === 'diverged' && {
            dissent: [{ operator: 'beta', workerId: 'beta-1', differingPaths: ['x.deb'] }],
          }),
          notCounted: [],
          explanation: `${verdict} (bench)`,
        });
        const decidedAt = row.created_at + 3_600_000;
        history.run(row.build_id, verdict, decision, decidedAt);
      }
    })();
    db.close();
    if (count >= 50_000) process.stderr.write('\n');
  });
}

/** The baseline: a bare node:http server answering every request with `body`. */
async function startStaticServer(body: string): Promise<string> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const script = `const body = Buffer.from(${JSON.stringify(body)}); require('node:http').createServer((q, s) => { s.writeHead(200, {'content-type': 'text/html; charset=utf-8', 'content-length': body.length}); s.end(body); }).listen(${port}, '127.0.0.1', () => console.log('listening'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve) => child.stdout!.on('data', () => resolve()));
  return `http://127.0.0.1:${port}`;
}

interface WrkResult {
  readonly rps: number;
  readonly p99Ms: number;
}

async function wrk(url: string, script?: string): Promise<WrkResult> {
  // One wrk thread: on this 2-core machine it leaves the other core to the server (one Node thread,
  // like the static baseline); two threads take CPU from whichever server they measure.
  const args = ['-t1', '-c16', `-d${DURATION}`, '--latency', ...(script ? ['-s', script] : []), url];
  const out = await runCommand('wrk', args);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  if (!rps || !p99) throw new Error(`wrk printed no Requests/sec or 99%:\n${out}`);
  if (/Non-2xx or 3xx responses/.test(out)) throw new Error(`wrk saw errors:\n${out}`);
  const unit = p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1;
  return { rps: Number(rps[1]), p99Ms: Number(p99[1]) * unit };
}

/** A wrk script that asks for `path` with a new query every time: the page cache never hits. */
async function uncachedScript(name: string, path: string): Promise<string> {
  const file = join(root, `${name}.lua`);
  await writeFile(
    file,
    `local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format("GET", "${path}${path.includes('?') ? '&' : '?'}r=" .. n)\nend\n`,
  );
  return file;
}

/** Builds stored per second while the "busy" figures are measured. */
const WRITES_PER_SECOND = 10;

/**
 * Runs `measure` while a child process stores a new build of an existing package
 * {@link WRITES_PER_SECOND} times a second through the stores (its own connection, as another
 * coordinator process or the sweep would): every commit changes the data version the page cache
 * is keyed on, and the overview's counts.
 */
async function withWrites<T>(dbPath: string, measure: () => Promise<T>): Promise<T> {
  const script = `
    import { openSqliteStores } from ${JSON.stringify(join(REPO_ROOT, 'coordinator/storage/sqlite/open-sqlite-stores.ts'))};
    import { createHash, randomUUID } from 'node:crypto';
    const stores = openSqliteStores(${JSON.stringify(dbPath)});
    let n = 0;
    setInterval(async () => {
      n++;
      const manifestJson = JSON.stringify({ schema: 'rbnet.debian/v1', name: 'pkg-00007', version: '9.' + n + '-1' });
      await stores.builds.createBuild({
        buildId: randomUUID(),
        manifestSha256: createHash('sha256').update(manifestJson).digest('hex'),
        manifestJson, name: 'pkg-00007', architecture: 'amd64', backend: 'debian', claimedOutputs: [],
        policy: { threshold: 2, maxAttempts: 6, decisionDeadlineMs: 3600000 },
        submittedBy: 'bench', createdAt: new Date(),
      });
    }, ${1000 / WRITES_PER_SECOND});
    console.log('writing');`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`writer exited with ${code}`)));
  });
  try {
    return await measure();
  } finally {
    child.kill('SIGTERM');
  }
}

/** Chromium: ms from navigation start to the load event of the overview (Navigation Timing). */
async function chromiumLoads(base: string, dbPath: string): Promise<{ cold: number[]; warm: number[] }> {
  const cold: number[] = [];
  const warm: number[] = [];
  const touch = new Database(dbPath);
  const loadMs = async (page: import('playwright-core').Page) => {
    await page.goto(`${base}/`, { waitUntil: 'load' });
    return page.evaluate(() => {
      const [nav] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[];
      return nav!.loadEventEnd - nav!.startTime;
    });
  };
  for (let run = 0; run < Math.max(3, Math.floor(LOADS / 2)); run++) {
    // Cold: a new profile (no cached stylesheet or script) and a page the server must render again
    // (any commit by another connection changes the data version the page cache is keyed on).
    touch.pragma(`user_version = ${run + 1}`);
    const browser = await launchChromium();
    const page = await browser.context.newPage();
    cold.push(await loadMs(page));
    await browser.close();
  }
  touch.close();
  const browser = await launchChromium();
  const page = await browser.context.newPage();
  await loadMs(page);
  for (let run = 0; run < LOADS; run++) warm.push(await loadMs(page));
  await browser.close();
  return { cold, warm };
}

try {
  // What the aggregates cost on write: the same 20,000 builds and verdicts with and without the triggers.
  const writes = { with: [] as number[], without: [] as number[] };
  for (let run = 0; run < RUNS; run++) {
    for (const variant of ['with', 'without'] as const) {
      const dir = join(root, `writes-${variant}-${run}`);
      await mkdir(dir, { recursive: true });
      writes[variant].push(
        await fill(join(dir, 'rbnet.sqlite'), 20_000, { withoutWebTriggers: variant === 'without' }),
      );
    }
  }

  const dataDir = join(root, 'coordinator');
  await mkdir(dataDir, { recursive: true });
  const fillMs = await fill(join(dataDir, 'rbnet.sqlite'), BUILDS);
  // No sweep or collection while measuring: the newest 100 builds are pending with no worker to take them.
  process.env.RBNET_SWEEP_INTERVAL_MS = '3600000';
  process.env.RBNET_GC_INTERVAL_MS = '0';
  const { child, baseUrl } = await startCoordinatorProcess(dataDir, redis.url);
  children.push(child);

  const rows: {
    label: string;
    path: string;
    static: WrkResult[];
    cached: WrkResult[];
    busy: WrkResult[];
    rendered: WrkResult[];
    bytes: number;
  }[] = [];
  for (const [label, path] of [
    ['overview', '/'],
    ['package page', PACKAGE_PAGE],
  ] as const) {
    const first = await fetch(`${baseUrl}${path}`);
    const body = await first.text();
    if (first.status !== 200) throw new Error(`${path} answered ${first.status}`);
    const staticBase = await startStaticServer(body);
    const script = await uncachedScript(label.replace(' ', '-'), path);
    const row = {
      label,
      path,
      static: [] as WrkResult[],
      cached: [] as WrkResult[],
      busy: [] as WrkResult[],
      rendered: [] as WrkResult[],
      bytes: Buffer.byteLength(body),
    };
    for (let run = 0; run < RUNS; run++) {
      row.static.push(await wrk(`${staticBase}/`));
      row.cached.push(await wrk(`${baseUrl}${path}`));
      row.busy.push(await withWrites(join(dataDir, 'rbnet.sqlite'), () => wrk(`${baseUrl}${path}`)));
      row.rendered.push(await wrk(`${baseUrl}/`, script));
    }
    rows.push(row);
  }
  const loads = await chromiumLoads(baseUrl, join(dataDir, 'rbnet.sqlite'));

  const med = (results: WrkResult[], key: keyof WrkResult) => median(results.map((r) => r[key]));
  console.log(
    `## Web pages, ${BUILDS.toLocaleString('en')} stored builds of ${PACKAGES.toLocaleString('en')} packages (wrk -t1 -c16 -d${DURATION}, ${RUNS} runs, medians)\n`,
  );
  console.log(`Filled in ${(fillMs / 1000).toFixed(1)} s.\n`);
  console.log('| page | bytes | server | requests/s | ratio vs static | p99 ms |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) {
    const baseline = med(row.static, 'rps');
    console.log(
      formatRow([
        row.label,
        row.bytes,
        'static node:http, same bytes (baseline)',
        baseline,
        '1.00×',
        med(row.static, 'p99Ms'),
      ]),
    );
    console.log(
      formatRow([
        row.label,
        row.bytes,
        'rbnet (page cache)',
        med(row.cached, 'rps'),
        `${(med(row.cached, 'rps') / baseline).toFixed(2)}×`,
        med(row.cached, 'p99Ms'),
      ]),
    );
    console.log(
      formatRow([
        row.label,
        row.bytes,
        `rbnet (page cache), ${WRITES_PER_SECOND} builds stored per second`,
        med(row.busy, 'rps'),
        `${(med(row.busy, 'rps') / baseline).toFixed(2)}×`,
        med(row.busy, 'p99Ms'),
      ]),
    );
    console.log(
      formatRow([
        row.label,
        row.bytes,
        'rbnet, rendered for every request',
        med(row.rendered, 'rps'),
        `${(med(row.rendered, 'rps') / baseline).toFixed(2)}×`,
        med(row.rendered, 'p99Ms'),
      ]),
    );
  }
  console.log('\nPer run (requests/s, static / cached / cached while writing / rendered):\n');
  for (const row of rows)
    console.log(
      `- ${row.label}: ${row.static.map((s, i) => `${s.rps.toFixed(0)} / ${row.cached[i]!.rps.toFixed(0)} / ${row.busy[i]!.rps.toFixed(0)} / ${row.rendered[i]!.rps.toFixed(0)}`).join('; ')}`,
    );
  console.log(
    `\n## Chromium, navigation to load event of the overview (${BUILDS.toLocaleString('en')} builds)\n`,
  );
  console.log('| load | runs | median ms | min ms | max ms |');
  console.log('|---|---|---|---|---|');
  for (const [label, values] of [
    ['cold: new profile, page rendered by the server', loads.cold],
    ['warm: assets cached, page cached by the server', loads.warm],
  ] as const)
    console.log(formatRow([label, values.length, median(values), Math.min(...values), Math.max(...values)]));
  console.log("\n## Writing 20,000 builds and their verdicts, with and without migration 9's triggers\n");
  console.log('| store | ms (median) | ratio |');
  console.log('|---|---|---|');
  console.log(formatRow(['without the web triggers (baseline)', median(writes.without), '1.00×']));
  console.log(
    formatRow([
      'with the web triggers',
      median(writes.with),
      `${(median(writes.with) / median(writes.without)).toFixed(2)}×`,
    ]),
  );
} finally {
  for (const child of children) child.kill('SIGTERM');
  await redis.stop();
  await rm(root, { recursive: true, force: true });
}
