// Proofs answered from memory (the formatted rest of a tile's path kept per checkpoint note, its
// hashes' levels, one entry read without waiting) against the RFC 6962 proof computed from all the
// leaves: byte-identical at every size, under every note, never joined to another note's text.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TILE_WIDTH } from '../../services/tlog/tile-path.ts';
import { cosign, newCosigner, newLogSigner } from '../../services/tlog/tlog-fixtures.ts';
import { formatTlogProof } from '../../services/tlog/tlog-proof.ts';
import { entryBytes, NaiveMerkle, seededRandom } from '../../services/tlog/tlog-test-support.ts';
import { TransparencyLog } from '../../services/tlog/transparency-log.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { errorResponse } from '../http/api-error.ts';
import { type AppEnv, registerRoutes } from '../http/route.ts';
import { tlogRoutes } from '../http/routes/tlog.ts';
import { SqliteConnection } from '../storage/sqlite/sqlite-connection.ts';
import { SqliteTiledLogStore } from '../storage/sqlite/sqlite-tiled-log-store.ts';
import { CoordinatorLog } from './coordinator-log.ts';

const ORIGIN = 'log.rbnet.example/memory-proofs';
const entries = Array.from({ length: 3000 }, (_, i) =>
  entryBytes(i, `entry of some length ${'x'.repeat(i % 97)}`),
);
const naive = NaiveMerkle.of(entries);
let root: string;
let connection: SqliteConnection | undefined;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-tlog-memory-proofs-'));
});
afterEach(async () => {
  connection?.close();
  await rm(root, { recursive: true, force: true });
});

const signer = newLogSigner(ORIGIN);

async function openLog(): Promise<TransparencyLog> {
  connection = new SqliteConnection(join(root, 'db.sqlite'));
  const store = new SqliteTiledLogStore(connection);
  return TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
}

/** What a proof must be: RFC 6962's PATH over all the leaves, the entry, the note verbatim. */
function expected(index: number, size: number, note: string): string {
  const inclusionProof = naive.path(index, 0, size);
  return formatTlogProof({ extra: entries[index]!, index, inclusionProof, checkpoint: note });
}

describe('tlog-proofs answered from memory', () => {
  it('are byte-identical to the proof from all the leaves, at every size and under every note, in any order', async () => {
    const log = await openLog();
    const random = seededRandom(15);
    const notes: { note: string; size: number }[] = [];
    let appended = 0;
    for (const size of [300, 1000, 1024, 2999, 3000]) {
      const { checkpoint } = await log.append(entries.slice(appended, size));
      appended = size;
      notes.push({ note: checkpoint, size });
      // The older notes and the newest, in both orders: each switch of note must not reuse a tail.
      for (const { note, size: at } of [...notes, ...[...notes].reverse()]) {
        const indexes = [0, 1, 255, 256, 299, 511, 767, 999, 1023, 2047, 2303, 2815, 2999].filter(
          (i) => i < at,
        );
        for (let n = 0; n < 20; n++) indexes.push(random.int(at));
        for (const index of indexes) {
          const want = expected(index, at, note);
          expect(await log.tlogProof(index, note), `${index} at ${at}`).toBe(want);
          // Asked again: from memory when the entry's tile is full at this size, never otherwise.
          const full = (Math.floor(index / TILE_WIDTH) + 1) * TILE_WIDTH <= at;
          expect(log.tlogProofNow(index, note)?.toString('utf8'), `${index} at ${at}, from memory`).toBe(
            full ? want : undefined,
          );
          expect(await log.tlogProof(index, note)).toBe(want);
        }
      }
    }
  });

  it('never join one note’s text to a proof under another note of the same size', async () => {
    const log = await openLog();
    const { checkpoint } = await log.append(entries.slice(0, 1000));
    const cosigned = await cosign(checkpoint, [newCosigner('witness.example/w1')], 1_770_000_000);
    expect(await log.tlogProof(300, checkpoint)).toBe(expected(300, 1000, checkpoint));
    expect(log.tlogProofNow(300, cosigned)).toBeUndefined();
    expect(await log.tlogProof(300, cosigned)).toBe(expected(300, 1000, cosigned));
    expect(log.tlogProofNow(301, cosigned)?.toString('utf8')).toBe(expected(301, 1000, cosigned));
    expect(log.tlogProofNow(301, checkpoint)).toBeUndefined();
    expect(await log.tlogProof(301, checkpoint)).toBe(expected(301, 1000, checkpoint));
  });

  it('are what the proof route answers, with its headers; what it cannot prove it refuses', async () => {
    const { checkpoint } = await (await openLog()).append(entries.slice(0, 600));
    const log = await CoordinatorLog.open({
      store: new SqliteTiledLogStore(connection!),
      origin: ORIGIN,
      signer,
      witnesses: [],
      logger: pino({ level: 'silent' }),
    });
    const app = new Hono<AppEnv>();
    app.onError((err, c) => errorResponse(c, err));
    const deps = { tlog: log } as Partial<CoordinatorDeps> as CoordinatorDeps;
    registerRoutes(
      app,
      deps,
      tlogRoutes.filter((route) => route.operationId === 'getLogProof'),
    );
    const get = (index: number | string) => app.request(`/v1/log/proofs/${index}`);
    expect(log.tlogProofNow(300)).toBeUndefined();
    for (const index of [300, 301, 511, 256, 599, 0]) {
      const answer = await get(index);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(answer.headers.get('cache-control')).toBe('no-cache');
      expect(await answer.text(), `${index}`).toBe(expected(index, 600, checkpoint));
    }
    expect(log.tlogProofNow(302)?.toString('utf8')).toBe(expected(302, 600, checkpoint));
    expect(log.tlogProofNow(599)).toBeUndefined();
    expect(log.tlogProofNow(600)).toBeUndefined();
    expect((await get(600)).status).toBe(404);
    expect((await get('3x')).status).toBe(400);
  });
});
