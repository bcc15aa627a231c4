// Turns what migration 10 sequenced (the facts a trigger or the verdict's store captured) into the
// log entry's bytes: the same facts always give the same bytes, so an append that crashed is
// redone identically.
import {
  CHAIN_ENTRY,
  encodeLogEntry,
  KEY_EVENT_ENTRY,
  type LogEntry,
  outputsDigest,
  parseLogEntry,
  RESULT_ENTRY,
} from '../../services/tlog/log-entry.ts';
import type { SequencedEntry } from '../storage/sqlite/sqlite-tiled-log-store.ts';

type Facts = Record<string, unknown>;

/** Drops the JSON nulls SQL's json_object writes for absent columns. */
function present(facts: Facts): Facts {
  return Object.fromEntries(Object.entries(facts).filter(([, value]) => value !== null));
}

/** @throws TlogError ENTRY_INVALID when the facts do not make a valid entry. */
export function sequencedEntryBytes(sequenced: SequencedEntry): Uint8Array {
  if (sequenced.source === 'verdict') return encodeLogEntry(parseLogEntry(Buffer.from(sequenced.factsJson)));
  const facts = present(JSON.parse(sequenced.factsJson) as Facts);
  return encodeLogEntry(entryOf(sequenced.source, facts));
}

function entryOf(source: Exclude<SequencedEntry['source'], 'verdict'>, facts: Facts): LogEntry {
  switch (source) {
    case 'chain':
      return { type: CHAIN_ENTRY, ...facts } as unknown as LogEntry;
    case 'key-event':
      return { type: KEY_EVENT_ENTRY, ...facts } as unknown as LogEntry;
    case 'result': {
      const { outputs, envelopeSha256, failureReason, ...common } = facts;
      return (common.outcome === 'built'
        ? {
            type: RESULT_ENTRY,
            ...common,
            envelopeSha256,
            outputsSha256: outputsDigest(outputs as { path: string; sha256: string }[]),
          }
        : { type: RESULT_ENTRY, ...common, failureReason }) as unknown as LogEntry;
    }
  }
}
