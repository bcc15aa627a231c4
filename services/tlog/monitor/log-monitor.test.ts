// The monitor against logs that behave and logs that do not: forks, rollbacks, rewritten history,
// tiles that lie, a hidden dissent, and a witness shown another tree.
import { describe, expect, it } from 'vitest';
import { newKey } from '../../consensus/consensus-test-fixtures.ts';
import { encodeLogEntry, KEY_EVENT_ENTRY } from '../log-entry.ts';
import { formatSignedNote, parseSignedNote } from '../signed-note.ts';
import type { TileRef } from '../tile-path.ts';
import type { MemoryTileStorage } from '../tile-storage.ts';
import { publishBuild } from '../tlog-build-fixtures.ts';
import { cosign, memoryLog, newCosigner, newLogSigner, tlogPolicyText } from '../tlog-fixtures.ts';
import { parseTlogPolicy } from '../tlog-policy.ts';
import { entryBytes } from '../tlog-test-support.ts';
import type { TransparencyLog } from '../transparency-log.ts';
import { type TlogSource, type WatchResult, watchOnce } from './log-monitor.ts';

const ORIGIN = 'log.rbnet.example/monitored';
const logKey = newLogSigner(ORIGIN);
const witness = newCosigner('witness.rbnet.example/m');
const NOW = new Date('2026-07-01T00:00:00Z');
const policy = parseTlogPolicy(
  tlogPolicyText({ logVkey: logKey.vkey, witnesses: [witness], quorum: witness.name, maxAge: '1d' }).replace(
    `witness ${witness.name} ${witness.vkey}`,
    `witness ${witness.name} ${witness.vkey} https://witness.rbnet.example/m`,
  ),
);
const keys = { alpha: newKey(), beta: newKey(), gamma: newKey() };
const coordinator = newKey();

/** A log as a monitor reads it: the latest cosigned checkpoint and the stored tiles. */
function sourceOf(
  tiles: MemoryTileStorage,
  checkpoint: () => string,
  edit?: (tile: TileRef, bytes: Uint8Array) => Uint8Array,
): TlogSource {
  return {
    readCheckpoint: async () => checkpoint(),
    readTiles: async (wanted) =>
      Promise.all(
        wanted.map(async (tile) => {
          const [bytes] = await tiles.readTiles([tile]);
          return edit ? edit(tile, bytes!) : bytes!;
        }),
      ),
  };
}

/** A valid rbnet entry (a key enrolment) whose worker id carries the tag and the index. */
function keyEvent(index: number, tag: string): Uint8Array {
  return encodeLogEntry({
    type: KEY_EVENT_ENTRY,
    event: 'enrolled',
    workerId: `${tag}-${index}`,
    operator: 'alpha',
    keyid: keys.alpha.keyid,
    at: '2026-01-01T00:00:00Z',
  });
}

async function grow(log: TransparencyLog, count: number, tag = 'entry') {
  const start = log.head.size;
  const appended = await log.append(Array.from({ length: count }, (_, i) => keyEvent(start + i, tag)));
  return cosign(appended.checkpoint, [witness], NOW.getTime() / 1000 - 60);
}

const alarms = (result: WatchResult) =>
  result.events.filter((e) => e.event === 'alarm').map((e) => (e as { kind: string }).kind);

describe('watchOnce', () => {
  it('follows an honest log: verifies each checkpoint, every new entry, and remembers where it is', async () => {
    const { log, tiles } = await memoryLog(ORIGIN, logKey);
    let served = await grow(log, 300);
    const source = sourceOf(tiles, () => served);
    const first = await watchOnce({ source, policy, state: undefined, now: NOW });
    expect(first.alarmed).toBe(false);
    expect(first.events).toContainEqual(expect.objectContaining({ event: 'entries', from: 0, to: 300 }));
    served = await grow(log, 700);
    const second = await watchOnce({ source, policy, state: first.state, now: NOW });
    expect(alarms(second)).toEqual([]);
    expect(second.state!.range.size).toBe(1000);
    expect(second.events).toContainEqual(
      expect.objectContaining({
        event: 'checkpoint',
        size: 1000,
        previousSize: 300,
        cosignedBy: [witness.name],
      }),
    );
    const third = await watchOnce({ source, policy, state: second.state, now: NOW });
    expect(third.events).toEqual([{ event: 'unchanged', origin: ORIGIN, size: 1000 }]);
  });

  it('alarms on a fork at the same size, a rollback, and a larger tree that does not extend its view', async () => {
    const { log, tiles } = await memoryLog(ORIGIN, logKey);
    const fork = await memoryLog(ORIGIN, logKey);
    let served = await grow(log, 50);
    const seen = await watchOnce({
      source: sourceOf(tiles, () => served),
      policy,
      state: undefined,
      now: NOW,
    });
    const forkedSame = await grow(fork.log, 50, 'forked');
    const sameSize = await watchOnce({
      source: sourceOf(fork.tiles, () => forkedSame),
      policy,
      state: seen.state,
      now: NOW,
    });
    expect(alarms(sameSize)).toEqual(['fork']);
    expect(sameSize.state).toBe(seen.state);
    expect(sameSize.events[0]).toMatchObject({ evidence: [served, forkedSame] });
    const forkedLarger = await grow(fork.log, 30, 'forked');
    expect(
      alarms(
        await watchOnce({
          source: sourceOf(fork.tiles, () => forkedLarger),
          policy,
          state: seen.state,
          now: NOW,
        }),
      ),
    ).toEqual(['inconsistent']);
    served = await grow(log, 10);
    const ahead = await watchOnce({
      source: sourceOf(tiles, () => served),
      policy,
      state: undefined,
      now: NOW,
    });
    const smaller = await cosign(
      (await (await memoryLog(ORIGIN, logKey)).log.append([entryBytes(0)])).checkpoint,
      [witness],
      NOW.getTime() / 1000,
    );
    expect(
      alarms(
        await watchOnce({
          source: sourceOf(fork.tiles, () => smaller),
          policy,
          state: ahead.state,
          now: NOW,
        }),
      ),
    ).toEqual(['rollback']);
  });

  it('alarms when the entries served do not give the checkpoint, or the tiles do not match them', async () => {
    const { log, tiles } = await memoryLog(ORIGIN, logKey);
    const served = await grow(log, 40);
    const rewrittenBundle = (tile: TileRef, bytes: Uint8Array) =>
      tile.level === 'entries'
        ? Buffer.from(Buffer.from(bytes).toString('latin1').replace('"entry-7"', '"entry-8"'), 'latin1')
        : bytes;
    const result = await watchOnce({
      source: sourceOf(tiles, () => served, rewrittenBundle),
      policy,
      state: undefined,
      now: NOW,
    });
    expect(alarms(result)).toEqual(['tile-mismatch', 'rewritten']);
    expect(result.state).toBeUndefined();
  });

  it('alarms on a dissent logged and hidden from the verdict, naming the result', async () => {
    const { log, tiles } = await memoryLog(ORIGIN, logKey);
    await publishBuild(log, { keys, coordinator, threshold: 2, at: NOW, dissenters: ['gamma'] });
    await publishBuild(log, {
      keys,
      coordinator,
      threshold: 2,
      at: NOW,
      dissenters: ['gamma'],
      hidden: ['gamma'],
    });
    const served = await cosign(await log.signedCheckpoint(), [witness], NOW.getTime() / 1000);
    const result = await watchOnce({
      source: sourceOf(tiles, () => served),
      policy,
      state: undefined,
      now: NOW,
    });
    expect(alarms(result)).toEqual(['hidden-result']);
    expect(result.events).toContainEqual(
      expect.objectContaining({
        event: 'entries',
        types: { 'rbnet.tlog.result/v1': 6, 'rbnet.tlog.verdict/v1': 2 },
      }),
    );
  });

  it('alarms on an entry that is not an rbnet entry', async () => {
    const { log, tiles } = await memoryLog(ORIGIN, logKey);
    await log.append([keyEvent(0, 'fine'), entryBytes(1, 'not json')]);
    const served = await cosign(await log.signedCheckpoint(), [witness], NOW.getTime() / 1000);
    expect(
      alarms(await watchOnce({ source: sourceOf(tiles, () => served), policy, state: undefined, now: NOW })),
    ).toEqual(['malformed-entry']);
  });

  it('compares its view with what the witness cosigned, and alarms on a split view', async () => {
    const { log, tiles } = await memoryLog(ORIGIN, logKey);
    const fork = await memoryLog(ORIGIN, logKey);
    const served = await grow(log, 20);
    const honestWitnessView = await grow(log, 0);
    const forkView = await grow(fork.log, 10, 'forked');
    const asWitness = (note: string) => async () => note;
    const consistent = await watchOnce({
      source: sourceOf(tiles, () => served),
      policy,
      state: undefined,
      now: NOW,
      readWitnessCheckpoint: asWitness(honestWitnessView),
    });
    expect(consistent.events).toContainEqual({
      event: 'witness',
      witness: witness.name,
      size: 20,
      status: 'consistent',
    });
    const split = await watchOnce({
      source: sourceOf(tiles, () => served),
      policy,
      state: undefined,
      now: NOW,
      readWitnessCheckpoint: asWitness(forkView),
    });
    expect(alarms(split)).toEqual(['witness-fork']);
    // A witness note without the witness's own cosignature proves nothing about what it saw.
    const logOnly = formatSignedNote({
      ...parseSignedNote(forkView),
      signatures: parseSignedNote(forkView).signatures.slice(0, 1),
    });
    const unsigned = await watchOnce({
      source: sourceOf(tiles, () => served),
      policy,
      state: undefined,
      now: NOW,
      readWitnessCheckpoint: asWitness(logOnly),
    });
    expect(unsigned.events).toContainEqual({
      event: 'witness',
      witness: witness.name,
      status: 'not-cosigned',
    });
  });
});
