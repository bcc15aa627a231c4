// Migration 13: alert subscriptions, the verdict changes waiting to be turned into alert
// events (queued by a trigger in the verdict's own transaction), the events, and their deliveries.
// Never edit a released migration (existing databases ran it); add the next number.
import { appendOnly } from './frozen-sql.ts';
import type { Migration } from './migration.ts';

export const migration13: Migration = {
  version: 13,
  name: 'alerts: subscriptions, event outbox, webhook deliveries',
  sql: `
      CREATE TABLE alert_subscriptions (
        subscription_id TEXT PRIMARY KEY CHECK (length(subscription_id) = 36),
        kind TEXT NOT NULL CHECK (kind IN ('webhook')),
        url TEXT NOT NULL CHECK (url GLOB 'http://*' OR url GLOB 'https://*'),
        secret TEXT NOT NULL CHECK (length(secret) >= 32),
        maintainer TEXT,
        package TEXT,
        architecture TEXT,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;

      -- Written in the same transaction as the verdict, so no verdict change that may alert is lost
      -- whatever happens between the verdict and the alert deriver.
      CREATE TABLE alert_verdicts_pending (
        build_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        PRIMARY KEY (build_id, sequence),
        FOREIGN KEY (build_id, sequence) REFERENCES verdict_history (build_id, sequence)
      ) STRICT;
      CREATE TRIGGER verdict_history_alerts AFTER INSERT ON verdict_history
        WHEN NEW.verdict IN ('mismatch-upstream', 'diverged', 'failed', 'inputs-differ',
          'insufficient-operators', 'environment-unavailable', 'source-unavailable')
      BEGIN
        INSERT INTO alert_verdicts_pending (build_id, sequence) VALUES (NEW.build_id, NEW.sequence);
      END;

      CREATE TABLE alert_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE CHECK (length(event_id) = 36),
        kind TEXT NOT NULL CHECK (kind IN ('regression', 'mismatch-upstream', 'not-honoured')),
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        verdict_sequence INTEGER NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        architecture TEXT NOT NULL,
        maintainer TEXT NOT NULL,
        verdict TEXT NOT NULL,
        summary TEXT NOT NULL,
        body_json TEXT NOT NULL CHECK (json_valid(body_json)),
        occurred_at INTEGER NOT NULL,
        UNIQUE (build_id, verdict_sequence)
      ) STRICT;
      ${appendOnly('alert_events', 'an alert event')}
      CREATE INDEX alert_events_by_package ON alert_events (package, seq);
      CREATE INDEX alert_events_by_maintainer ON alert_events (maintainer, seq);

      CREATE TABLE alert_deliveries (
        subscription_id TEXT NOT NULL REFERENCES alert_subscriptions (subscription_id) ON DELETE CASCADE,
        event_seq INTEGER NOT NULL REFERENCES alert_events (seq),
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        finished_at INTEGER,
        PRIMARY KEY (subscription_id, event_seq)
      ) STRICT;
      CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE state = 'pending';
      CREATE INDEX alert_deliveries_dead ON alert_deliveries (finished_at) WHERE state = 'dead';
    `,
};

/**
 * What migration 13 creates, in an order that can be dropped (tests roll a file back to an older
 * schema); dropping the tables drops their triggers and indexes.
 */
export const migration13Rollback =
  'DROP TRIGGER verdict_history_alerts; DROP TABLE alert_deliveries; DROP TABLE alert_events; ' +
  'DROP TABLE alert_verdicts_pending; DROP TABLE alert_subscriptions; ' +
  'DELETE FROM schema_migrations WHERE version = 13;';
