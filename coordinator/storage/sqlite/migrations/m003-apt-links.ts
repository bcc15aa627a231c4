// Migration 3 as released: apt links served to apt-transport-in-toto.
// Never edit a released migration (existing databases ran it); add the next number.
import type { Migration } from './migration.ts';

export const migration3: Migration = {
  version: 3,
  name: 'apt links served to apt-transport-in-toto',
  // One row per (architecture, operator, binary package, version): the operator's signed link for
  // a build whose verdict is reproducible. The primary key is the lookup the apt endpoint makes.
  sql: `
      CREATE TABLE apt_links (
        architecture TEXT NOT NULL,
        operator TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        link_sha256 TEXT NOT NULL,
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        worker_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (architecture, operator, package, version)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX apt_links_build ON apt_links (build_id);
    `,
};
