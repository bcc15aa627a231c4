// Migration 7 as released: why an attempt closed without a report.
// Never edit a released migration (existing databases ran it); add the next number.
import type { Migration } from './migration.ts';

export const migration7: Migration = {
  version: 7,
  name: 'why an attempt closed without a report',
  // Infrastructure failures (a build container killed by someone else, an engine error) close the
  // attempt with the worker queue's reason, so the API shows why the build was retried.
  sql: `
      ALTER TABLE attempts ADD COLUMN failure_reason TEXT;
    `,
};
