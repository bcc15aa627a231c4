// The witness: every refusal C2SP tlog-witness names, with its status; state kept on disk; and,
// under a log key that signs forks and clients that replay, race and lie, never two inconsistent
// checkpoints cosigned.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../digest.ts';
import { parseCheckpointText } from '../checkpoint.ts';
import { cosignatureVerifier } from '../cosignature.ts';
import { hashesEqual, type MerkleHash } from '../merkle-hash.ts';
import { ed25519NoteVerifier } from '../note-keys.ts';
import { parseSignatureLine, parseSignedNote, verifyNote } from '../signed-note.ts';
import { memoryLog, newCosigner, newLogSigner } from '../tlog-fixtures.ts';
import { entryBytes, NaiveMerkle, seededRandom } from '../tlog-test-support.ts';
import { formatAddCheckpointRequest, witnessedLogsFromVkeys } from './add-checkpoint.ts';
import { WitnessService } from './witness-service.ts';
import {
  FileWitnessStateStore,
  MemoryWitnessStateStore,
  type WitnessStateStore,
} from './witness-state-store.ts';

const ORIGIN = 'log.rbnet.example/witnessed';
const logKey = newLogSigner(ORIGIN);
const witnessKey = newCosigner('witness.rbnet.example/w1');
const NOW = new Date('2026-04-01T00:00:00Z');
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function service(store: WitnessStateStore = new MemoryWitnessStateStore()) {
  return new WitnessService({
    cosigner: witnessKey,
    logs: witnessedLogsFromVkeys([logKey.vkey]),
    store,
    now: () => NOW,
  });
}

const post = (witness: WitnessService, body: string) => witness.addCheckpoint(Buffer.from(body));

async function grownLog(sizes: readonly number[], tag = 'entry') {
  const { log } = await memoryLog(ORIGIN, logKey);
  const checkpoints: { size: number; note: string }[] = [];
  let size = 0;
  for (const target of sizes) {
    const appended = await log.append(
      Array.from({ length: target - size }, (_, i) => entryBytes(size + i, tag)),
    );
    size = target;
    checkpoints.push({ size, note: appended.checkpoint });
  }
  return { log, checkpoints };
}

describe('add-checkpoint', () => {
  it('cosigns a consistent checkpoint, stores it, and serves it for monitors', async () => {
    const witness = service();
    const { log, checkpoints } = await grownLog([5, 300]);
    const first = await post(witness, formatAddCheckpointRequest(0, [], checkpoints[0]!.note));
    expect(first.status).toBe(200);
    const line = parseSignatureLine(first.body.replace(/\n$/, ''));
    expect(line.name).toBe(witnessKey.name);
    const verifier = cosignatureVerifier(witnessKey.vkey);
    expect(verifier.verify(Buffer.from(parseSignedNote(checkpoints[0]!.note).text), line.signature)).toBe(
      true,
    );
    const second = await post(
      witness,
      formatAddCheckpointRequest(5, await log.consistencyProof(5, 300), checkpoints[1]!.note),
    );
    expect(second.status).toBe(200);
    const stored = await witness.latestCheckpoint(sha256Hex(ORIGIN));
    expect(stored.status).toBe(200);
    const note = verifyNote(parseSignedNote(stored.body), [ed25519NoteVerifier(logKey.vkey), verifier]);
    expect(note.verified).toHaveLength(2);
    expect(parseCheckpointText(note.note.text).size).toBe(300);
    expect((await witness.latestCheckpoint('0'.repeat(64))).status).toBe(404);
  });

  it('answers each refusal with the status the protocol names', async () => {
    const witness = service();
    const { log, checkpoints } = await grownLog([4, 9]);
    const [at4, at9] = [checkpoints[0]!.note, checkpoints[1]!.note];
    const proof = await log.consistencyProof(4, 9);
    // Unknown origin: 404. Signed by an unknown key only, or a trusted key's signature broken: 403.
    const { log: stranger } = await memoryLog('log.rbnet.example/stranger');
    expect(
      (
        await post(
          witness,
          formatAddCheckpointRequest(0, [], (await stranger.append([entryBytes(0)])).checkpoint),
        )
      ).status,
    ).toBe(404);
    const { log: impostor } = await memoryLog(ORIGIN, newLogSigner(ORIGIN));
    expect(
      (
        await post(
          witness,
          formatAddCheckpointRequest(0, [], (await impostor.append([entryBytes(0)])).checkpoint),
        )
      ).status,
    ).toBe(403);
    const broken = at4.replace(/(— \S+ \S{30})(\S)/, (_, head, c) => `${head}${c === 'A' ? 'B' : 'A'}`);
    expect((await post(witness, formatAddCheckpointRequest(0, [], broken))).status).toBe(403);
    // Malformed: 400. Old size above the checkpoint's: 400.
    for (const bad of [
      '',
      'old 0\n',
      `old 00\n\n${at4}`,
      `old 0\nnot-base64\n\n${at4}`,
      `old 0\n\n${at4.replace('\n\n', '\n')}`,
    ])
      expect((await post(witness, bad)).status, JSON.stringify(bad)).toBe(400);
    expect((await post(witness, formatAddCheckpointRequest(10, [], at9))).status).toBe(400);
    // A proof from 0: 422. Then cosign size 4.
    expect((await post(witness, formatAddCheckpointRequest(0, proof, at4))).status).toBe(422);
    expect((await post(witness, formatAddCheckpointRequest(0, [], at4))).status).toBe(200);
    // Out of date old size: 409 with the size it holds, as text/x.tlog.size.
    const conflict = await post(witness, formatAddCheckpointRequest(0, [], at9));
    expect(conflict).toMatchObject({ status: 409, contentType: 'text/x.tlog.size', body: '4\n' });
    // A consistency proof that fails: 422. Same size, another root (a fork): 422.
    expect((await post(witness, formatAddCheckpointRequest(4, proof.slice(1), at9))).status).toBe(422);
    const fork = (
      await (await memoryLog(ORIGIN, logKey)).log.append([0, 1, 2, 3].map((i) => entryBytes(i, 'fork')))
    ).checkpoint;
    expect((await post(witness, formatAddCheckpointRequest(4, [], fork))).status).toBe(422);
    expect((await post(witness, formatAddCheckpointRequest(4, proof, at9))).status).toBe(200);
    // Too large a body: 400, before anything is parsed.
    expect((await post(witness, `old 0\n\n${at4}${'x'.repeat(70_000)}`)).status).toBe(400);
  });

  it('keeps its state on disk across restarts', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'rbnet-witness-'));
    folders.push(folder);
    const { checkpoints } = await grownLog([3, 7]);
    expect(
      (
        await post(
          service(new FileWitnessStateStore(folder)),
          formatAddCheckpointRequest(0, [], checkpoints[0]!.note),
        )
      ).status,
    ).toBe(200);
    const restarted = service(new FileWitnessStateStore(folder));
    expect(await post(restarted, formatAddCheckpointRequest(0, [], checkpoints[1]!.note))).toMatchObject({
      status: 409,
      body: '3\n',
    });
  });

  it('checks and stores atomically per log: of two racing requests from one old size, one is told 409', async () => {
    // A store that answers slowly, so both requests would have read the old size before either wrote.
    class SlowStore extends MemoryWitnessStateStore {
      override async read(origin: string) {
        const note = await super.read(origin);
        await new Promise((resolve) => setTimeout(resolve, 20));
        return note;
      }
    }
    const witness = service(new SlowStore());
    const { log, checkpoints } = await grownLog([2, 5, 9]);
    expect((await post(witness, formatAddCheckpointRequest(0, [], checkpoints[0]!.note))).status).toBe(200);
    const [larger, smaller] = await Promise.all([
      post(witness, formatAddCheckpointRequest(2, await log.consistencyProof(2, 9), checkpoints[2]!.note)),
      post(witness, formatAddCheckpointRequest(2, await log.consistencyProof(2, 5), checkpoints[1]!.note)),
    ]);
    expect([larger.status, smaller.status]).toEqual([200, 409]);
    expect(smaller.body).toBe('9\n');
  });

  it('never cosigns two inconsistent checkpoints: forks by the log key, replays, races and bad proofs', async () => {
    const random = seededRandom(2024);
    const witness = service();
    // Two histories under one (compromised) log key, diverging at entry 40.
    const honest = Array.from({ length: 600 }, (_, i) => entryBytes(i));
    const forked = honest.map((e, i) => (i < 40 ? e : entryBytes(i, 'fork')));
    const trees = [NaiveMerkle.of(honest), NaiveMerkle.of(forked)];
    const logs = await Promise.all([grownLog([], 'x'), grownLog([], 'y')]);
    const sizes = [0, 0];
    const history = [honest, forked];
    const snapshots: { tree: number; size: number; note: string }[][] = [[], []];
    for (let round = 0; round < 40; round++) {
      for (const t of [0, 1]) {
        const grow = 1 + random.int(20);
        const appended = await logs[t]!.log.append(history[t]!.slice(sizes[t], sizes[t]! + grow));
        sizes[t] = sizes[t]! + grow;
        snapshots[t]!.push({ tree: t, size: sizes[t]!, note: appended.checkpoint });
      }
    }
    const cosigned: { size: number; root: MerkleHash; tree: number }[] = [];
    const request = async () => {
      const tree = random.int(2);
      const target = snapshots[tree]![random.int(snapshots[tree]!.length)]!;
      // The client guesses the witness's size: right, stale, or made up; proofs from either tree, or tampered.
      const guesses = [0, ...snapshots[random.int(2)]!.map((s) => s.size).filter((s) => s <= target.size)];
      let old = guesses[random.int(guesses.length)]!;
      if (random.int(2) === 0) {
        // Learn the witness's size the way the protocol suggests: old 0, read the 409.
        const probe = await post(witness, formatAddCheckpointRequest(0, [], target.note));
        if (probe.status === 409 && Number(probe.body) <= target.size) old = Number(probe.body);
      }
      const source = random.int(4) === 0 ? 1 - tree : tree;
      const upTo = Math.min(target.size, sizes[source]!);
      let proof = old <= upTo ? await logs[source]!.log.consistencyProof(old, upTo) : [];
      if (random.int(5) === 0 && proof.length > 0)
        proof = proof.map((h, i) => (i === 0 ? Buffer.alloc(32, 1) : h));
      const answer = await post(witness, formatAddCheckpointRequest(old, proof, target.note));
      if (answer.status === 200) {
        const checkpoint = parseCheckpointText(parseSignedNote(target.note).text);
        cosigned.push({ size: checkpoint.size, root: checkpoint.rootHash, tree: target.tree });
      }
    };
    // 100 rounds of 4 clients at once: their checks and stores interleave.
    for (let round = 0; round < 100; round++) await Promise.all([request(), request(), request(), request()]);
    expect(cosigned.length).toBeGreaterThan(3);
    // In the order cosigned, each checkpoint extends the one before: same tree prefix, never smaller.
    for (let i = 1; i < cosigned.length; i++) {
      const [before, after] = [cosigned[i - 1]!, cosigned[i]!];
      expect(after.size).toBeGreaterThanOrEqual(before.size);
      expect(
        hashesEqual(trees[after.tree]!.mth(0, before.size), before.root),
        `cosigned #${i} forks from #${i - 1}`,
      ).toBe(true);
    }
  });
});
