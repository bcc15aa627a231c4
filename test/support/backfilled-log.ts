// A coordinator database written by an older rbnet, for the tests of migration 16 (the backfill of
// results recorded before the log): a world recorded live (real stores, real decisions), the file
// turned back into an older schema, and the coordinator's log over it once upgraded.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { MIGRATIONS } from '../../coordinator/storage/sqlite/migrations/migrate.ts';
import type { SqliteStores } from '../../coordinator/storage/sqlite/open-sqlite-stores.ts';
import type { SequencedEntry } from '../../coordinator/storage/sqlite/sqlite-tiled-log-store.ts';
import { CoordinatorLog } from '../../coordinator/tlog/coordinator-log.ts';
import { sequencedEntryBytes } from '../../coordinator/tlog/sequenced-entry-bytes.ts';
import {
  type LogEntry,
  parseLogEntry,
  RESULT_ENTRY,
  type ResultEntry,
} from '../../services/tlog/log-entry.ts';
import type { Ed25519NoteSigner } from '../../services/tlog/note-keys.ts';
import { createTestCoordinatorDeps } from './coordinator-deps-fixture.ts';
import { undoMigrationsAbove } from './undo-migrations.ts';
import { seedWebWorld, type WebWorld } from './web-world.ts';

export interface LoggedWorld {
  readonly world: WebWorld;
  /** Each result's entry as the live trigger logged it, by job id. */
  readonly liveResults: ReadonlyMap<string, ResultEntry>;
  /** The verdicts as the live store sequenced them. */
  readonly verdicts: readonly SequencedEntry[];
}

/** Records the web world in `root`/db.sqlite with the current schema (everything logged live). */
export async function seedLoggedWorld(root: string): Promise<LoggedWorld> {
  const fixture = await createTestCoordinatorDeps(root);
  try {
    const world = await seedWebWorld(fixture.deps, new Date());
    const sequenced = fixture.store.tiledLog.sequencedFrom(0, 1_000_000);
    const liveResults = new Map<string, ResultEntry>();
    for (const s of sequenced.filter((s) => s.source === 'result')) {
      const entry = parseLogEntry(sequencedEntryBytes(s));
      if (entry.type === RESULT_ENTRY) liveResults.set(entry.jobId, entry);
    }
    return { world, liveResults, verdicts: sequenced.filter((s) => s.source === 'verdict') };
  } finally {
    await fixture.close();
  }
}

/**
 * Turns the file into one an older rbnet wrote: down to 9, then (as that release would) up to
 * `version`, running `atSchema` in the same transaction (what that release recorded then).
 */
export function rewriteAsSchema(
  dbPath: string,
  version: number,
  atSchema?: (db: Database.Database) => void,
): void {
  const db = new Database(dbPath);
  try {
    undoMigrationsAbove(db, 9);
    db.transaction(() => {
      const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
      for (const m of MIGRATIONS.filter((m) => m.version > 9 && m.version <= version)) {
        db.exec(m.sql);
        record.run(m.version, m.name, Date.now());
      }
      atSchema?.(db);
    })();
  } finally {
    db.close();
  }
}

/** The coordinator's log over `stores`, with everything sequenced integrated, and its entries parsed. */
export async function integratedLog(
  stores: SqliteStores,
  origin: string,
  signer: Ed25519NoteSigner,
): Promise<{ readonly log: CoordinatorLog; readonly entries: readonly LogEntry[] }> {
  const log = await CoordinatorLog.open({
    store: stores.tiledLog,
    origin,
    signer,
    witnesses: [],
    logger: pino({ level: 'silent' }),
  });
  await log.integrate();
  const entries: LogEntry[] = [];
  for (let i = 0; i < log.size; i++) entries.push(parseLogEntry(await log.entry(i)));
  return { log, entries };
}

/** The job ids of the file's results, in the order recorded. */
export function recordedJobs(dbPath: string): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT job_id FROM results ORDER BY seq').pluck().all() as string[];
  } finally {
    db.close();
  }
}

export const dbFileIn = (root: string) => join(root, 'db.sqlite');
