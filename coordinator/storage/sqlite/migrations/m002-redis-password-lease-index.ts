// Migration 2 as released: the worker Redis password hash and the lease lookup index.
// Never edit a released migration (existing databases ran it); add the next number.
import type { Migration } from './migration.ts';

export const migration2: Migration = {
  version: 2,
  name: 'worker redis password hash; lease lookups',
  // Redis keeps ACL users in memory only: after Redis loses its data the coordinator re-creates
  // each worker's user from this hash (never the password itself).
  sql: `
      ALTER TABLE workers ADD COLUMN redis_password_sha256 TEXT;
      CREATE INDEX attempts_open_lease ON attempts (state, lease_expires_at);
    `,
};
