import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStores } from '../coordinator/storage/sqlite/open-sqlite-stores.ts';
import { RbnetError } from '../services/errors.ts';
import { parseCheckpointText } from '../services/tlog/checkpoint.ts';
import { FileTileStorage } from '../services/tlog/file-tile-storage.ts';
import { encodeHash, leafHash, type MerkleHash } from '../services/tlog/merkle-hash.ts';
import { treeRoot, verifyConsistency, verifyInclusion } from '../services/tlog/merkle-proofs.ts';
import { formatSignatureLine, formatSignedNote, parseSignedNote } from '../services/tlog/signed-note.ts';
import { tileSubtreeReader } from '../services/tlog/tile-hash-reader.ts';
import { tilePath } from '../services/tlog/tile-path.ts';
import { MemoryTileStorage, type TileStorage, tilesUpTo } from '../services/tlog/tile-storage.ts';
import { cosign, newCosigner, newLogSigner, tlogPolicyText } from '../services/tlog/tlog-fixtures.ts';
import { parseTlogPolicy } from '../services/tlog/tlog-policy.ts';
import { parseTlogProof } from '../services/tlog/tlog-proof.ts';
import { entryBytes, seededRandom } from '../services/tlog/tlog-test-support.ts';
import { MemoryLogHeadStore, TransparencyLog } from '../services/tlog/transparency-log.ts';
import { verifyCheckpoint } from '../services/tlog/verify-checkpoint.ts';
import { dbFileIn, integratedLog, rewriteAsSchema, seedLoggedWorld } from './support/backfilled-log.ts';
import { type GoVerdict, runGoTlogCheck } from './support/go-tlog-check.ts';

const ORIGIN = 'log.rbnet.example/go';
const folder = mkdtempSync(join(tmpdir(), 'rbnet-go-tlog-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Runs the Go verifier on `vectors`; its answer per vector id. */
function runGo(vectors: Record<string, unknown>): Promise<Record<string, GoVerdict>> {
  return runGoTlogCheck(join(folder, `vectors-${Object.keys(vectors).join('-')}.json`), vectors);
}

/** Whether our own verifier accepts (true) or refuses with an RbnetError (false). */
function ours(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (error) {
    if (error instanceof RbnetError) return false;
    throw error;
  }
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const flip = (hash: MerkleHash) => {
  const copy = Buffer.from(hash);
  copy[0] = copy[0]! ^ 1;
  return copy;
};

async function logOf(
  entries: readonly Uint8Array[],
  batches: () => number,
  tiles: TileStorage = new MemoryTileStorage(),
  signer = newLogSigner(ORIGIN),
) {
  const log = await TransparencyLog.open({ origin: ORIGIN, signer, tiles, heads: new MemoryLogHeadStore() });
  while (log.head.size < entries.length)
    await log.append(entries.slice(log.head.size, log.head.size + batches()));
  const roots = new Map<number, MerkleHash>();
  const rootAt = async (size: number) => {
    if (!roots.has(size))
      roots.set(size, await treeRoot(size, tileSubtreeReader(size, tilesUpTo(tiles, log.head.size))));
    return roots.get(size)!;
  };
  return { log, tiles, rootAt, signer };
}

describe('Go x/mod sumdb/note and sumdb/tlog agree with rbnet', () => {
  it('on inclusion and consistency proofs for every tree size up to 3,000, and refuse every tampering rbnet refuses', async () => {
    const random = seededRandom(1962);
    const entries = Array.from({ length: 3000 }, (_, i) => entryBytes(i, 'go'));
    const honest = await logOf(entries, () => 1 + random.int(400));
    // What a dishonest log would serve later: the history with entries 10 and 11 swapped, or entry 100 rewritten.
    const reordered = await logOf(
      entries.map((e, i) => (i === 10 ? entries[11]! : i === 11 ? entries[10]! : e)),
      () => 3000,
    );
    const rewritten = await logOf(
      entries.map((e, i) => (i === 100 ? entryBytes(100, 'rewritten') : e)),
      () => 3000,
    );
    const inclusion: object[] = [];
    const consistency: object[] = [];
    const valid = new Map<string, boolean>();
    const rbnet = new Map<string, boolean>();
    const addInclusion = (
      id: string,
      index: number,
      size: number,
      entry: Uint8Array,
      proof: MerkleHash[],
      root: MerkleHash,
      isValid: boolean,
    ) => {
      inclusion.push({
        id,
        index,
        size,
        entry: b64(entry),
        proof: proof.map(encodeHash),
        root: encodeHash(root),
      });
      valid.set(id, isValid);
      rbnet.set(
        id,
        ours(() => verifyInclusion(index, size, leafHash(entry), proof, root)),
      );
    };
    const addConsistency = (
      id: string,
      oldSize: number,
      newSize: number,
      oldRoot: MerkleHash,
      newRoot: MerkleHash,
      proof: MerkleHash[],
      isValid: boolean,
    ) => {
      consistency.push({
        id,
        oldSize,
        newSize,
        oldRoot: encodeHash(oldRoot),
        newRoot: encodeHash(newRoot),
        proof: proof.map(encodeHash),
      });
      valid.set(id, isValid);
      rbnet.set(
        id,
        ours(() => verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof)),
      );
    };
    for (let size = 1; size <= 3000; size++) {
      const root = await honest.rootAt(size);
      for (const index of new Set([0, size - 1, random.int(size)]))
        addInclusion(
          `inc-${size}-${index}`,
          index,
          size,
          entries[index]!,
          await honest.log.inclusionProof(index, size),
          root,
          true,
        );
      const old = 1 + random.int(size);
      addConsistency(
        `con-${size}-${old}`,
        old,
        size,
        await honest.rootAt(old),
        root,
        await honest.log.consistencyProof(old, size),
        true,
      );
      if (size % 5 !== 0) continue;
      const index = random.int(size);
      const proof = await honest.log.inclusionProof(index, size);
      addInclusion(
        `rewritten-entry-${size}`,
        index,
        size,
        entryBytes(index, 'rewritten'),
        proof,
        root,
        false,
      );
      addInclusion(`wrong-index-${size}`, (index + 1) % size, size, entries[index]!, proof, root, false);
      if (proof.length > 0)
        addInclusion(
          `tampered-proof-${size}`,
          index,
          size,
          entries[index]!,
          proof.map((h, i) => (i === proof.length - 1 ? flip(h) : h)),
          root,
          false,
        );
      // A forked checkpoint: the same size with another root; no proof joins them.
      addConsistency(`forked-${size}`, size, size, root, flip(root), [], false);
      for (const [name, forged, firstChanged] of [
        ['reordered', reordered, 10],
        ['rewritten', rewritten, 100],
      ] as const) {
        if (size <= firstChanged + 1) continue;
        const before = 1 + random.int(size - 1);
        // Consistent only when the old checkpoint predates the changed entries.
        addConsistency(
          `${name}-${before}-${size}`,
          before,
          size,
          await honest.rootAt(before),
          await forged.rootAt(size),
          await forged.log.consistencyProof(before, size),
          before <= firstChanged,
        );
      }
    }
    const go = await runGo({ logVkey: honest.signer.vkey, inclusion, consistency });
    const disagreements = [...valid].filter(
      ([id, isValid]) => go[id]?.ok !== isValid || rbnet.get(id) !== isValid,
    );
    expect(
      disagreements
        .slice(0, 10)
        .map(
          ([id, isValid]) =>
            `${id}: expected ${isValid}, rbnet ${rbnet.get(id)}, go ${go[id]?.ok} ${go[id]?.error ?? ''}`,
        ),
    ).toEqual([]);
    expect(valid.size).toBeGreaterThan(12_000);
    expect([...valid.values()].filter((v) => !v).length).toBeGreaterThan(2_000);
  });

  it('on signed and cosigned checkpoints, tiles, entry bundles and tile paths of a log past 65,536 entries', async () => {
    const random = seededRandom(65_537);
    const witnesses = [newCosigner('witness.go.example/a'), newCosigner('witness.go.example/b')];
    const stranger = newCosigner('witness.go.example/stranger');
    const entries = Array.from({ length: 66_000 }, (_, i) => entryBytes(i, 'tiles'));
    const tiles = new FileTileStorage(join(folder, 'log'));
    const big = await logOf(entries, () => [1, 255, 256, 5000, 20_000][random.int(5)]!, tiles);
    const size = big.log.head.size;
    const checkpoint = await cosign(
      await big.log.signedCheckpoint(),
      [...witnesses, stranger],
      1_770_000_000,
    );
    const policy = parseTlogPolicy(
      tlogPolicyText({
        logVkey: big.signer.vkey,
        witnesses,
        quorum: 'both',
        extra: [`group both all ${witnesses.map((w) => w.name).join(' ')}`],
      }),
    );
    const at = new Date(1_770_000_100_000);
    const note = parseSignedNote(checkpoint);
    const variants: Record<string, [string, boolean]> = {
      cosigned: [checkpoint, true],
      'text-changed': [checkpoint.replace(`\n${size}\n`, `\n${size + 1}\n`), false],
      'cosignature-changed': [
        formatSignedNote({
          text: note.text,
          signatures: note.signatures.map((s, i) =>
            i === 1 ? { ...s, signature: Buffer.concat([Buffer.from([9]), s.signature.subarray(1)]) } : s,
          ),
        }),
        false,
      ],
      'cosignature-time-changed': [
        `${note.text}\n${formatSignatureLine(note.signatures[0]!)}${formatSignatureLine({ ...note.signatures[1]!, signature: Buffer.concat([Buffer.alloc(8, 0), note.signatures[1]!.signature.subarray(8)]) })}`,
        false,
      ],
      // The log's signature under another key of the same name: a key neither verifier knows.
      'other-log-key': [
        `${note.text}\n${formatSignatureLine({ ...note.signatures[0]!, keyHash: newLogSigner(ORIGIN).keyHash })}`,
        false,
      ],
    };
    const checkpoints = Object.entries(variants).map(([id, [text]]) => ({ id, note: text }));
    // The tiles of the whole tree, a copy with one level-0 hash changed, a copy with one entry rewritten.
    const tampered = (name: string, path: string, edit: (bytes: Buffer) => void) => {
      const copy = join(folder, name);
      cpSync(join(folder, 'log'), copy, { recursive: true });
      const bytes = readFileSync(join(copy, path));
      edit(bytes);
      writeFileSync(join(copy, path), bytes);
      return copy;
    };
    const tileHashChanged = tampered('tile-changed', 'tile/0/100', (bytes) => {
      bytes[40] = bytes[40]! ^ 1;
    });
    const entryChanged = tampered('entry-changed', 'tile/entries/200', (bytes) => {
      bytes[5] = bytes[5]! ^ 1;
    });
    const proofsAt = async (n: number) => ({
      inclusion: await Promise.all(
        [0, 255, 256, 65_535, 65_536, n - 1, random.int(n)].map(async (index) => ({
          id: `tile-inc-${index}`,
          index,
          proof: (await big.log.inclusionProof(index)).map(encodeHash),
        })),
      ),
      consistency: await Promise.all(
        [1, 256, 65_536, random.int(n) + 1].map(async (oldSize) => ({
          id: `tile-con-${oldSize}`,
          oldSize,
          proof: (await big.log.consistencyProof(oldSize)).map(encodeHash),
        })),
      ),
    });
    const root = encodeHash(big.log.head.rootHash);
    const honestTiles = { id: 'tiles', dir: join(folder, 'log'), size, root, ...(await proofsAt(size)) };
    const tilePaths = [
      { level: 0, index: 1234067, width: 256 },
      { level: 1, index: 0, width: 17 },
      { level: 2, index: 999, width: 1 },
      { level: 0, index: 1000, width: 255 },
    ].map((tile) => ({ ...tile, path: tilePath(tile) }));
    const go = await runGo({
      logVkey: big.signer.vkey,
      witnesses: [...witnesses, stranger].map((w) => ({ name: w.name, vkey: w.vkey })).slice(0, 2),
      checkpoints,
      tileTrees: [
        honestTiles,
        { id: 'tile-hash-changed', dir: tileHashChanged, size, root },
        { id: 'entry-changed', dir: entryChanged, size, root },
      ],
      tilePaths,
    });
    for (const [id, [text, isValid]] of Object.entries(variants)) {
      expect(go[id]?.ok, `go on ${id}: ${go[id]?.error}`).toBe(isValid);
      expect(
        ours(() => verifyCheckpoint(text, policy, at)),
        `rbnet on ${id}`,
      ).toBe(isValid);
    }
    // Go counts the cosignatures of the two witnesses it was given, and ignores the stranger's.
    expect(go.cosigned).toMatchObject({ ok: true, size, root, cosigned: witnesses.map((w) => w.name) });
    expect(go.tiles, go.tiles?.error).toMatchObject({ ok: true });
    for (const vector of [...honestTiles.inclusion, ...honestTiles.consistency])
      expect(go[vector.id], `${vector.id}: ${go[vector.id]?.error}`).toMatchObject({ ok: true });
    expect(go['tile-hash-changed']?.ok).toBe(false);
    expect(go['entry-changed']).toMatchObject({
      ok: false,
      error: expect.stringMatching(/does not hash to its level-0 tile hash/),
    });
    for (let i = 0; i < tilePaths.length; i++)
      expect(go[`tile-path-${i}`], go[`tile-path-${i}`]?.error).toMatchObject({ ok: true });
  });

  it('on the checkpoint and the inclusion of every result migration 16 backfilled into a coordinator log', async () => {
    const dir = join(folder, 'backfilled');
    mkdirSync(dir);
    await seedLoggedWorld(dir);
    rewriteAsSchema(dbFileIn(dir), 9);
    const stores = openSqliteStores(dbFileIn(dir));
    try {
      const signer = newLogSigner('rbnet.example/backfilled');
      const { log, entries } = await integratedLog(stores, signer.name, signer);
      const backfilled = entries.flatMap((e, index) =>
        e.type === 'rbnet.tlog.result/v1' && e.backfilled ? [index] : [],
      );
      expect(backfilled.length).toBeGreaterThan(20);
      const checkpoint = await log.checkpoint();
      const inclusion = await Promise.all(
        backfilled.map(async (index) => {
          const proof = parseTlogProof(await log.tlogProof(index));
          const { size, rootHash } = parseCheckpointText(proof.note.text);
          return {
            id: `backfilled-${index}`,
            index,
            size,
            entry: b64(proof.extra!),
            proof: proof.inclusionProof.map(encodeHash),
            root: encodeHash(rootHash),
          };
        }),
      );
      // The same entry without its marker is not what the log holds: Go refuses it.
      const unmarked = Buffer.from(
        Buffer.from(inclusion[0]!.entry, 'base64').toString().replace(',"backfilled":true', ''),
      );
      inclusion.push({ ...inclusion[0]!, id: 'unmarked', entry: b64(unmarked) });
      const go = await runGo({
        logVkey: signer.vkey,
        checkpoints: [{ id: 'checkpoint', note: checkpoint }],
        inclusion,
      });
      expect(go.checkpoint, go.checkpoint?.error).toMatchObject({ ok: true, size: entries.length });
      for (const vector of inclusion.slice(0, -1))
        expect(go[vector.id], `${vector.id}: ${go[vector.id]?.error}`).toMatchObject({ ok: true });
      expect(go.unmarked?.ok).toBe(false);
    } finally {
      await stores.close();
    }
  });
});
