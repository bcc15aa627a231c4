// The transparency log's costs (docs/benchmarks.md, "The transparency log"), medians and ratios
// against baselines measured in the same run:
// 1. appending 1,000,000 entries (a checkpoint signed per batch of 1,000) to the tiled log, in
//    memory, on files, and in the coordinator's SQLite store, against plain better-sqlite3 inserts of
//    the same records (in memory, and a WAL file with synchronous=FULL as the coordinator's store
//    runs it), one transaction per batch;
// 2. tlog-proof lookups at 1,000,000 entries through the coordinator's route (its route definition,
//    tiles in its SQLite store) against a hono route answering constant JSON, both through app.request;
// 3. serving tiles over HTTP from the coordinator's /log app against a node:http static file
//    server over the same tiles as files;
// 4. `rbnet verify FILE --bundle` against `sha256sum FILE`, both as processes, at 1 MiB and 256 MiB.
// size: the four measurements the issue names share one 1,000,000-entry log and its records, so
// they stay in one file rather than building that log four times.
// Run under the engine lock: flock /tmp/rbnet-engine.lock npx tsx bench/transparency-log.bench.ts
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { serve } from '@hono/node-server';
import Database from 'better-sqlite3';
import { Hono } from 'hono';
import pino from 'pino';
import type { CoordinatorDeps } from '../coordinator/coordinator-deps.ts';
import { type AppEnv, registerRoutes } from '../coordinator/http/route.ts';
import { tlogRoutes } from '../coordinator/http/routes/tlog.ts';
import { createTlogTilesApp } from '../coordinator/http/tlog-tiles-app.ts';
import { SqliteConnection } from '../coordinator/storage/sqlite/sqlite-connection.ts';
import { SqliteTiledLogStore } from '../coordinator/storage/sqlite/sqlite-tiled-log-store.ts';
import { CoordinatorLog } from '../coordinator/tlog/coordinator-log.ts';
import { newKey, policyDocument } from '../services/consensus/consensus-test-fixtures.ts';
import { sha256Hex } from '../services/digest.ts';
import { canonicalizeJcs } from '../services/jcs.ts';
import { FileLogHeadStore, FileTileStorage } from '../services/tlog/file-tile-storage.ts';
import { RESULT_ENTRY } from '../services/tlog/log-entry.ts';
import { leafHash } from '../services/tlog/merkle-hash.ts';
import { verifyInclusion } from '../services/tlog/merkle-proofs.ts';
import { assembleBundle } from '../services/tlog/rbnet-bundle.ts';
import { tilePath, tilesOfTree } from '../services/tlog/tile-path.ts';
import { MemoryTileStorage, type TileStorage } from '../services/tlog/tile-storage.ts';
import { publishBuild } from '../services/tlog/tlog-build-fixtures.ts';
import { cosign, newCosigner, newLogSigner } from '../services/tlog/tlog-fixtures.ts';
import { parseTlogProof } from '../services/tlog/tlog-proof.ts';
import { seededRandom } from '../services/tlog/tlog-test-support.ts';
import { type LogHeadStore, MemoryLogHeadStore, TransparencyLog } from '../services/tlog/transparency-log.ts';
import { REPO_ROOT } from '../test/support/runner-harness.ts';
import { startStaticServer } from '../test/support/static-file-server.ts';
import { formatRow, median } from './bench-support.ts';

const ENTRIES = Number(process.env.BENCH_TLOG_ENTRIES ?? 1_000_000);
const BATCH = 1000;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PROOFS = 10_000;
/**
 * BENCH_TLOG_ONLY=serving: build one log in the coordinator's store and measure proofs and tiles
 * only; BENCH_TLOG_ONLY=append: the appends only.
 */
const SERVING_ONLY = process.env.BENCH_TLOG_ONLY === 'serving';
const APPEND_ONLY = process.env.BENCH_TLOG_ONLY === 'append';
const execFileAsync = promisify(execFile);

/**
 * Waits until the page cache has written back what earlier measurements left dirty: the files
 * variant writes ~8,000 files and ~600 MB, and its writeback otherwise lands on (and slows the
 * fsyncs of) whichever measurement runs next. Run before every timed measurement on disk.
 */
async function settleDisk(): Promise<void> {
  await execFileAsync('sync');
}
const ORIGIN = 'log.rbnet.example/bench';
const signer = newLogSigner(ORIGIN);

/** Realistic result entries (about 420 bytes each), made once, outside every timing. */
function records(count: number): Buffer[] {
  const buildIds = Array.from({ length: 1000 }, () => randomUUID());
  return Array.from({ length: count }, (_, i) =>
    Buffer.from(
      canonicalizeJcs({
        type: RESULT_ENTRY,
        buildId: buildIds[i % 1000],
        manifestSha256: sha256Hex(`manifest ${i % 1000}`),
        workerId: `worker-${i % 7}`,
        operator: `operator-${i % 7}`,
        keyid: sha256Hex(`key ${i % 7}`),
        jobId: `job-${i}`,
        attempt: 0,
        outcome: 'built',
        envelopeSha256: sha256Hex(`envelope ${i}`),
        outputsSha256: sha256Hex(`outputs ${i % 1000}`),
        receivedAt: new Date(1_770_000_000_000 + i * 1000).toISOString(),
      }),
    ),
  );
}

async function appendAll(
  entries: readonly Buffer[],
  tiles: TileStorage,
  heads: LogHeadStore,
): Promise<{ ms: number; log: TransparencyLog }> {
  const log = await TransparencyLog.open({ origin: ORIGIN, signer, tiles, heads });
  const started = performance.now();
  for (let at = 0; at < entries.length; at += BATCH) await log.append(entries.slice(at, at + BATCH));
  return { ms: performance.now() - started, log };
}

function sqliteInserts(entries: readonly Buffer[], path: string): { ms: number; db: Database.Database } {
  const db = new Database(path);
  if (path !== ':memory:') {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
  }
  db.exec('CREATE TABLE entries (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO entries (idx, entry) VALUES (?, ?)');
  const batch = db.transaction((from: number) => {
    for (let i = from; i < Math.min(from + BATCH, entries.length); i++) insert.run(i, entries[i]);
  });
  const started = performance.now();
  for (let at = 0; at < entries.length; at += BATCH) batch(at);
  return { ms: performance.now() - started, db };
}

const percentile = (values: readonly number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'rbnet-bench-tlog-'));
  try {
    console.log(
      `## The transparency log: ${ENTRIES.toLocaleString('en')} entries, batches of ${BATCH}, ${RUNS} runs each\n`,
    );
    const entries = records(ENTRIES);
    const bytes = entries.reduce((n, e) => n + e.length, 0);
    console.log(`records: ${ENTRIES} result entries, ${(bytes / ENTRIES).toFixed(0)} bytes on average\n`);
    const times: Record<string, number[]> = {
      tilesMemory: [],
      sqliteMemory: [],
      tilesFiles: [],
      sqliteFile: [],
      tilesSqlite: [],
    };
    let kept: { connection: SqliteConnection; store: SqliteTiledLogStore } | undefined;
    if (SERVING_ONLY) {
      const connection = new SqliteConnection(join(root, 'coordinator.sqlite'));
      const store = new SqliteTiledLogStore(connection);
      await appendAll(entries, store, store);
      entries.length = 0;
      await routesAndTiles(store, root);
      connection.close();
      return;
    }
    for (let run = 0; run < RUNS; run++) {
      const db = sqliteInserts(entries, ':memory:');
      times.sqliteMemory!.push(db.ms);
      db.db.close();
      times.tilesMemory!.push(
        (await appendAll(entries, new MemoryTileStorage(), new MemoryLogHeadStore())).ms,
      );
      const dir = join(root, `run-${run}`);
      await settleDisk();
      const file = sqliteInserts(entries, join(root, `run-${run}.sqlite`));
      times.sqliteFile!.push(file.ms);
      file.db.close();
      await settleDisk();
      times.tilesFiles!.push(
        (
          await appendAll(
            entries,
            new FileTileStorage(join(dir, 'public')),
            new FileLogHeadStore(join(dir, 'head.json')),
          )
        ).ms,
      );
      // The coordinator's own store: tiles and head in its SQLite file (WAL, synchronous=FULL).
      kept?.connection.close();
      const connection = new SqliteConnection(join(root, `coordinator-${run}.sqlite`));
      const store = new SqliteTiledLogStore(connection);
      await settleDisk();
      times.tilesSqlite!.push((await appendAll(entries, store, store)).ms);
      kept = { connection, store };
      await rm(dir, { recursive: true, force: true });
      await rm(join(root, `run-${run}.sqlite`), { force: true });
      await rm(join(root, `run-${run}.sqlite-wal`), { force: true });
    }
    console.log(
      '| append 1,000,000 entries | median s | entries/s | ratio (throughput vs SQLite) |\n|---|---|---|---|',
    );
    for (const [label, tilesKeys, sqlKey] of [
      ['memory', ['tilesMemory'], 'sqliteMemory'],
      ['files (fsync per batch)', ['tilesFiles', 'tilesSqlite'], 'sqliteFile'],
    ] as const) {
      const sql = median(times[sqlKey]!);
      console.log(
        formatRow([
          `SQLite inserts, ${label} (baseline)`,
          sql / 1000,
          Math.round(ENTRIES / (sql / 1000)),
          '1.00×',
        ]),
      );
      for (const key of tilesKeys) {
        const tiles = median(times[key]!);
        const name =
          key === 'tilesSqlite' ? "tiled log in the coordinator's SQLite file" : `tiled log, ${label}`;
        console.log(
          formatRow([
            name,
            tiles / 1000,
            Math.round(ENTRIES / (tiles / 1000)),
            `${(sql / tiles).toFixed(2)}×`,
          ]),
        );
      }
    }
    if (APPEND_ONLY) {
      kept!.connection.close();
      return;
    }
    // The records are not needed any more: serving is measured without 0.5 GB of them on the heap.
    entries.length = 0;
    await routesAndTiles(kept!.store, root);
    kept!.connection.close();
    await verifyVersusSha256sum(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Runs `count` GETs of `paths()` against `base`, `concurrency` at a time; requests per second. */
async function load(base: string, paths: () => string, count: number, concurrency: number): Promise<number> {
  let left = count;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const response = await fetch(`${base}${paths()}`);
        if (response.status !== 200) throw new Error(`GET ${base}: ${response.status}`);
        await response.arrayBuffer();
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/** 2. proofs through the coordinator's route vs constant JSON; 3. tiles from /log vs a static server. */
async function routesAndTiles(store: SqliteTiledLogStore, root: string): Promise<void> {
  const logger = pino({ level: 'silent' });
  const log = await CoordinatorLog.open({ store, origin: ORIGIN, signer, witnesses: [], logger });
  const size = log.size;
  // The coordinator's own route (its validation, headers, and no authentication: a public read).
  const proofApp = new Hono<AppEnv>();
  const proofRoute = tlogRoutes.filter((route) => route.operationId === 'getLogProof');
  registerRoutes(proofApp, { tlog: log } as Partial<CoordinatorDeps> as CoordinatorDeps, proofRoute);
  const constant = new Hono();
  const body = { ok: true, origin: ORIGIN, size };
  constant.get('/constant', (c) => c.json(body));
  const random = seededRandom(7);
  const root0 = (await store.readHead())!.rootHash;
  /** PROOFS lookups at random indexes, in 5 rounds each beside as many constant-JSON ones. */
  const measure = async () => {
    const proofMs: number[] = [];
    const constantMs: number[] = [];
    const rounds: { proof: number; constant: number }[] = [];
    for (let round = 0; round < 5; round++) {
      let started = performance.now();
      for (let i = 0; i < PROOFS / 5; i++) {
        const t = performance.now();
        await (await constant.request('/constant')).text();
        constantMs.push(performance.now() - t);
      }
      const constantRound = performance.now() - started;
      started = performance.now();
      for (let i = 0; i < PROOFS / 5; i++) {
        const index = random.int(size);
        const t = performance.now();
        const text = await (await proofApp.request(`/v1/log/proofs/${index}`)).text();
        proofMs.push(performance.now() - t);
        if (i === 0) {
          const proof = parseTlogProof(text);
          verifyInclusion(index, size, leafHash(proof.extra!), proof.inclusionProof, root0);
        }
      }
      rounds.push({ proof: performance.now() - started, constant: constantRound });
    }
    const perSecond = (ms: number) => PROOFS / 5 / (ms / 1000);
    return {
      proofRate: median(rounds.map((r) => perSecond(r.proof))),
      constantRate: median(rounds.map((r) => perSecond(r.constant))),
      proofMs,
      constantMs,
    };
  };
  console.log(
    `\n| at ${size.toLocaleString('en')} entries, app.request | lookups/s (median of 5) | median ms | p99 ms | ratio |\n|---|---|---|---|---|`,
  );
  const cold = await measure();
  // A coordinator that has served for a while has hashed each tile's inner levels once.
  for (let index = 0; index < size; index += 256) await log.tlogProof(index);
  const warm = await measure();
  for (const [label, m] of [
    ['just started', cold],
    ['every tile read once before', warm],
  ] as const) {
    console.log(
      formatRow([
        `hono route answering constant JSON (baseline; ${label})`,
        m.constantRate,
        median(m.constantMs),
        percentile(m.constantMs, 0.99),
        '1.00×',
      ]),
    );
    console.log(
      formatRow([
        `tlog-proof from the coordinator's route (${label})`,
        m.proofRate,
        median(m.proofMs),
        percentile(m.proofMs, 0.99),
        `${(m.proofRate / m.constantRate).toFixed(2)}×`,
      ]),
    );
  }

  // 3. The same tiles served by the coordinator's /log app and by a plain static file server.
  const mirror = join(root, 'mirror');
  const tiles = tilesOfTree(size);
  for (const tile of tiles) {
    const path = join(mirror, tilePath(tile));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, (await store.readTile(tile))!);
  }
  const tilesApp = new Hono();
  tilesApp.route('/log', createTlogTilesApp(log));
  const served = serve({ fetch: tilesApp.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((ready) => served.once('listening', () => ready()));
  const coordinatorBase = `http://127.0.0.1:${(served.address() as AddressInfo).port}/log/`;
  const staticServer = await startStaticServer(mirror);
  const pick = seededRandom(11);
  const path = () => tilePath(tiles[pick.int(tiles.length)]!);
  const REQUESTS = 20_000;
  const coordinatorRates: number[] = [];
  const staticRates: number[] = [];
  await load(coordinatorBase, path, 2_000, 16);
  await load(`${staticServer.url}/`, path, 2_000, 16);
  for (let round = 0; round < 5; round++) {
    staticRates.push(await load(`${staticServer.url}/`, path, REQUESTS / 5, 16));
    coordinatorRates.push(await load(coordinatorBase, path, REQUESTS / 5, 16));
  }
  console.log(
    `\n| serving ${tiles.length.toLocaleString('en')} tiles over HTTP, 16 concurrent GETs | requests/s (median of 5) | ratio |\n|---|---|---|`,
  );
  console.log(
    formatRow([
      'node:http static file server over the tiles as files (baseline)',
      median(staticRates),
      '1.00×',
    ]),
  );
  console.log(
    formatRow([
      "the coordinator's /log app (tiles in SQLite)",
      median(coordinatorRates),
      `${(median(coordinatorRates) / median(staticRates)).toFixed(2)}×`,
    ]),
  );
  await staticServer.close();
  await new Promise<void>((done) => served.close(() => done()));
}

/** `rbnet verify FILE --bundle` against `sha256sum FILE`, as processes, interleaved. */
async function verifyVersusSha256sum(root: string): Promise<void> {
  const keys = { alpha: newKey(), beta: newKey(), gamma: newKey() };
  const witness = newCosigner('witness.rbnet.example/bench');
  console.log(
    '\n| `rbnet verify --bundle` vs `sha256sum`, as processes | sha256sum median ms | rbnet verify median ms | ratio |\n|---|---|---|---|',
  );
  for (const sizeBytes of [1024 * 1024, 256 * 1024 * 1024]) {
    const file = join(root, `artifact-${sizeBytes}`);
    const content = randomBytes(sizeBytes);
    await writeFile(file, content);
    const artifact = { path: 'artifact.deb', sha256: sha256Hex(content), sizeBytes };
    const log = await TransparencyLog.open({
      origin: ORIGIN,
      signer,
      tiles: new MemoryTileStorage(),
      heads: new MemoryLogHeadStore(),
    });
    const build = await publishBuild(log, {
      keys,
      coordinator: newKey(),
      threshold: 2,
      at: new Date(),
      outputs: [artifact],
    });
    const checkpoint = await cosign(await log.signedCheckpoint(), [witness], Math.floor(Date.now() / 1000));
    const proofs = await Promise.all(
      [build.verdictIndex, ...build.resultIndexes].map((i) => log.tlogProof(i, checkpoint)),
    );
    await writeFile(join(root, 'bundle.json'), assembleBundle(build.consensusEnvelope, proofs));
    const trust = policyDocument({
      operators: Object.entries(keys).map(([name, key]) => ({ name, keys: [key] })),
      threshold: 2,
      expires: '2099-01-01T00:00:00Z',
    });
    await writeFile(
      join(root, 'trust.json'),
      JSON.stringify({
        ...trust,
        transparencyLog: `log ${signer.vkey}\nwitness W ${witness.vkey}\nquorum W\nmax-checkpoint-age 1d\n`,
      }),
    );
    const sums: number[] = [];
    const verifies: number[] = [];
    for (let i = 0; i < 7; i++) {
      let started = performance.now();
      await execFileAsync('sha256sum', [file]);
      sums.push(performance.now() - started);
      started = performance.now();
      await execFileAsync(process.execPath, [
        join(REPO_ROOT, 'bin', 'rbnet.mjs'),
        'verify',
        file,
        '--bundle',
        join(root, 'bundle.json'),
        '--policy',
        join(root, 'trust.json'),
        '--manifest-sha256',
        build.manifestSha256,
      ]);
      verifies.push(performance.now() - started);
    }
    const label =
      sizeBytes >= 1024 * 1024 * 1024 ? `${sizeBytes / 1024 ** 3} GiB` : `${sizeBytes / 1024 ** 2} MiB`;
    console.log(
      formatRow([label, median(sums), median(verifies), `${(median(verifies) / median(sums)).toFixed(1)}×`]),
    );
  }
}

await main();
