// SQL builders released migrations were written with. Their output is part of those migrations, so
// it never changes: a later migration that needs something else writes its own.

/** The entry before entry 0 of the transparency log (64 zeros), as migration 1 spells it. */
export const GENESIS_HASH = '0'.repeat(64);

/** Builds `RAISE(ABORT)` triggers that make a table's rows immutable: append-only history. */
export function appendOnly(table: string, what: string): string {
  return `
    CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table}
    BEGIN SELECT RAISE(ABORT, 'rbnet: ${what} is append-only'); END;
    CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table}
    BEGIN SELECT RAISE(ABORT, 'rbnet: ${what} is append-only'); END;`;
}

/**
 * Part of migration 5: an INSERT that records, for `holder`, every sha256 anywhere in the JSON text
 * `json` (a 64-lowercase-hex string, bare or `sha256:`-prefixed). Over-approximate on purpose: a
 * digest named anywhere in a record is kept. Inside a trigger `json` reads `NEW.…`; with `table` it
 * reads every row `r` of that table.
 */
export function insertDigestRefs(holder: string, json: string, table?: string): string {
  const digest = `CASE WHEN t.value LIKE 'sha256:%' THEN substr(t.value, 8) ELSE t.value END`;
  return `INSERT OR IGNORE INTO blob_refs (sha256, holder)
          SELECT DISTINCT ${digest}, ${holder}
          FROM ${table ? `${table} AS r, ` : ''}json_tree(CASE WHEN json_valid(${json}) THEN ${json} ELSE '[]' END) AS t
          WHERE t.type = 'text' AND length(${digest}) = 64 AND ${digest} NOT GLOB '*[^0-9a-f]*';`;
}
