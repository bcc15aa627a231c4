// Migration 6 as released: attempts started by a heartbeat, with a run limit.
// Never edit a released migration (existing databases ran it); add the next number.
import type { Migration } from './migration.ts';

export const migration6: Migration = {
  version: 6,
  name: 'attempts: started by a heartbeat, run limit',
  // A heartbeat renews only the attempts it names; started_at tells a running attempt (lease) from
  // one still waiting in the queue (pickup deadline). run_limit_ms caps how long naming renews it.
  sql: `
      ALTER TABLE attempts ADD COLUMN started_at INTEGER;
      ALTER TABLE attempts ADD COLUMN run_limit_ms INTEGER CHECK (run_limit_ms IS NULL OR run_limit_ms > 0);
      -- (each worker's open attempts are indexed by attempts_open_worker, migration 4)
    `,
};
