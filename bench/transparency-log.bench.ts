// The transparency log's costs (docs/benchmarks.md, "The transparency log"), medians and ratios
// against baselines measured in the same run:
// 1. appending 1,000,000 entries (a checkpoint signed per batch of 1,000) to the tiled log, in
//    memory and on files, against plain better-sqlite3 inserts of the same records (in memory, and
//    a WAL file with synchronous=FULL as the coordinator's store runs it), one transaction per batch;
// 2. an inclusion proof at 1,000,000 entries (from the in-memory tiles) against reading one row by
//    primary key from the same SQLite table;
// 3. `rbnet verify FILE --bundle` against `sha256sum FILE`, both as processes, at 1 MiB and 256 MiB.
// Run under the engine lock: flock /tmp/rbnet-engine.lock npx tsx bench/transparency-log.bench.ts
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { newKey, policyDocument } from '../services/consensus/consensus-test-fixtures.ts';
import { sha256Hex } from '../services/digest.ts';
import { canonicalizeJcs } from '../services/jcs.ts';
import { FileLogHeadStore, FileTileStorage } from '../services/tlog/file-tile-storage.ts';
import { RESULT_ENTRY } from '../services/tlog/log-entry.ts';
import { leafHash } from '../services/tlog/merkle-hash.ts';
import { verifyInclusion } from '../services/tlog/merkle-proofs.ts';
import { assembleBundle } from '../services/tlog/rbnet-bundle.ts';
import { MemoryTileStorage, type TileStorage } from '../services/tlog/tile-storage.ts';
import { publishBuild } from '../services/tlog/tlog-build-fixtures.ts';
import { cosign, newCosigner, newLogSigner } from '../services/tlog/tlog-fixtures.ts';
import { seededRandom } from '../services/tlog/tlog-test-support.ts';
import { type LogHeadStore, MemoryLogHeadStore, TransparencyLog } from '../services/tlog/transparency-log.ts';
import { REPO_ROOT } from '../test/support/runner-harness.ts';
import { formatRow, median } from './bench-support.ts';

const ENTRIES = Number(process.env.BENCH_TLOG_ENTRIES ?? 1_000_000);
const BATCH = 1000;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PROOFS = 10_000;
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
    };
    let memoryLog: TransparencyLog | undefined;
    let memoryDb: Database.Database | undefined;
    for (let run = 0; run < RUNS; run++) {
      const db = sqliteInserts(entries, ':memory:');
      times.sqliteMemory!.push(db.ms);
      memoryDb?.close();
      memoryDb = db.db;
      const tiles = await appendAll(entries, new MemoryTileStorage(), new MemoryLogHeadStore());
      times.tilesMemory!.push(tiles.ms);
      memoryLog = tiles.log;
      const dir = join(root, `run-${run}`);
      const file = sqliteInserts(entries, join(root, `run-${run}.sqlite`));
      times.sqliteFile!.push(file.ms);
      file.db.close();
      times.tilesFiles!.push(
        (
          await appendAll(
            entries,
            new FileTileStorage(join(dir, 'public')),
            new FileLogHeadStore(join(dir, 'head.json')),
          )
        ).ms,
      );
      await rm(dir, { recursive: true, force: true });
      await rm(join(root, `run-${run}.sqlite`), { force: true });
      await rm(join(root, `run-${run}.sqlite-wal`), { force: true });
    }
    console.log(
      '| append 1,000,000 entries | median s | entries/s | ratio (throughput vs SQLite) |\n|---|---|---|---|',
    );
    for (const [label, tilesKey, sqlKey] of [
      ['memory', 'tilesMemory', 'sqliteMemory'],
      ['files (fsync per batch)', 'tilesFiles', 'sqliteFile'],
    ] as const) {
      const sql = median(times[sqlKey]!);
      const tiles = median(times[tilesKey]!);
      console.log(
        formatRow([
          `SQLite inserts, ${label} (baseline)`,
          sql / 1000,
          Math.round(ENTRIES / (sql / 1000)),
          '1.00×',
        ]),
      );
      console.log(
        formatRow([
          `tiled log, ${label}`,
          tiles / 1000,
          Math.round(ENTRIES / (tiles / 1000)),
          `${(sql / tiles).toFixed(2)}×`,
        ]),
      );
    }

    // 2. Proofs at 1,000,000 entries, against one-row primary-key reads of the same table.
    const random = seededRandom(7);
    const proofMs: number[] = [];
    const rowMs: number[] = [];
    const select = memoryDb!.prepare('SELECT entry FROM entries WHERE idx = ?');
    const log = memoryLog!;
    for (let i = 0; i < PROOFS; i++) {
      const index = random.int(ENTRIES);
      let started = performance.now();
      select.get(index);
      rowMs.push(performance.now() - started);
      started = performance.now();
      const proof = await log.inclusionProof(index);
      proofMs.push(performance.now() - started);
      if (i % 1000 === 0)
        verifyInclusion(index, ENTRIES, leafHash(entries[index]!), proof, log.head.rootHash);
    }
    console.log(
      '\n| at 1,000,000 entries | median ms | p99 ms | ratio (median vs row read) |\n|---|---|---|---|',
    );
    console.log(
      formatRow([
        'SQLite: read one row by primary key (baseline)',
        median(rowMs),
        percentile(rowMs, 0.99),
        '1.00×',
      ]),
    );
    console.log(
      formatRow([
        'inclusion proof from the tiles',
        median(proofMs),
        percentile(proofMs, 0.99),
        `${(median(proofMs) / median(rowMs)).toFixed(1)}×`,
      ]),
    );
    memoryDb!.close();

    await verifyVersusSha256sum(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** `rbnet verify FILE --bundle` against `sha256sum FILE`, as processes, interleaved. */
async function verifyVersusSha256sum(root: string): Promise<void> {
  const run = promisify(execFile);
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
      await run('sha256sum', [file]);
      sums.push(performance.now() - started);
      started = performance.now();
      await run(process.execPath, [
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
