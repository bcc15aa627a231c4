// Migration 12: sync profiles, the archives the coordinator follows by itself (`rbnet admin sync`).
// Never edit a released migration (existing databases ran it); add the next number.
import { isIntegerIn, isName, refuseIf, refuseUnless } from './m008-sql-guards.ts';
import type { Migration } from './migration.ts';

const NAME = 'expected 1-63 characters from [a-z0-9._-], starting with a letter or digit';
/** Profiles one coordinator keeps: services/api/sync-profiles.ts's maxProfiles, frozen here. */
const MAX_PROFILES = 64;

const profileChecks = (when: 'INSERT' | 'UPDATE') => `
  CREATE TRIGGER sync_profiles_checked_${when.toLowerCase()} BEFORE ${when} ON sync_profiles BEGIN
    ${refuseUnless('INVALID', 'name', NAME, isName('NEW.name'))}
    ${refuseUnless('NOT_FOUND', 'maintainer', { sql: "'maintainer ' || quote(NEW.maintainer) || ' is not registered'" }, 'EXISTS (SELECT 1 FROM maintainers WHERE name = NEW.maintainer)')}
    ${refuseUnless('INVALID', 'priority', 'expected an integer from 0 to 1000', isIntegerIn('NEW.priority', 0, 1000))}
    ${refuseUnless('INVALID', 'rateLimitPerHour', 'expected an integer from 1 to 36000', isIntegerIn('NEW.rate_limit_per_hour', 1, 36_000))}
    ${refuseUnless('INVALID', 'initialDelaySeconds', 'expected an integer from 0 to 604800', isIntegerIn('NEW.initial_delay_seconds', 0, 604_800))}
    ${refuseUnless('INVALID', 'paused', 'expected 0 or 1', 'NEW.paused IN (0, 1)')}
    ${refuseUnless('INVALID', 'spec', 'expected a JSON object with archive and buildinfo', "json_valid(NEW.spec_json) AND json_type(NEW.spec_json, '$.archive') = 'object' AND json_type(NEW.spec_json, '$.buildinfo') = 'object'")}
    ${refuseUnless('INVALID', 'now', 'expected a time', 'NEW.created_at IS NOT NULL AND NEW.updated_at >= NEW.created_at')}
  END;`;

export const migration12: Migration = {
  version: 12,
  name: 'sync profiles and their progress',
  // One row per profile. The archive, .buildinfo source and rules are one JSON document (read and
  // written whole, checked by the API's strict parser before it gets here); what the coordinator
  // schedules by (priority, rate, delay, paused) and who it submits as are columns.
  sql: `
      CREATE TABLE sync_profiles (
        name TEXT PRIMARY KEY,
        maintainer TEXT NOT NULL REFERENCES maintainers (name),
        spec_json TEXT NOT NULL,
        priority INTEGER NOT NULL,
        rate_limit_per_hour INTEGER NOT NULL,
        initial_delay_seconds INTEGER NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      ${profileChecks('INSERT')}
      ${profileChecks('UPDATE')}
      CREATE TRIGGER sync_profiles_unique BEFORE INSERT ON sync_profiles BEGIN
        ${refuseIf('CONFLICT', 'name', { sql: "'sync profile ' || NEW.name || ' already exists'" }, 'EXISTS (SELECT 1 FROM sync_profiles WHERE name = NEW.name)')}
        ${refuseIf('CONFLICT', 'name', `a coordinator keeps at most ${MAX_PROFILES} sync profiles`, `(SELECT COUNT(*) FROM sync_profiles) >= ${MAX_PROFILES}`)}
      END;
      CREATE TRIGGER sync_profiles_name_fixed BEFORE UPDATE OF name ON sync_profiles
        WHEN NEW.name IS NOT OLD.name BEGIN
        SELECT RAISE(ABORT, 'CONFLICT name: a sync profile is never renamed');
      END;

      -- The digest of each index last read whole: an index whose Release digest is unchanged is not
      -- fetched again.
      CREATE TABLE sync_indexes (
        profile TEXT NOT NULL REFERENCES sync_profiles (name) ON DELETE CASCADE,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
        read_at INTEGER NOT NULL,
        PRIMARY KEY (profile, path)
      ) STRICT, WITHOUT ROWID;

      -- One row per upload (source version and architecture) a profile ever selected: the key makes a
      -- second submission impossible. class: 0 new upload, 1 retry, 2 backfill (the order they go in).
      -- state: pending; submitting (build_id chosen before the build is created, so a restart finds
      -- it); submitted.
      CREATE TABLE sync_uploads (
        profile TEXT NOT NULL REFERENCES sync_profiles (name) ON DELETE CASCADE,
        source TEXT NOT NULL,
        version TEXT NOT NULL,
        architecture TEXT NOT NULL,
        binaries_json TEXT NOT NULL CHECK (json_valid(binaries_json)),
        class INTEGER NOT NULL CHECK (class IN (0, 1, 2)),
        state TEXT NOT NULL CHECK (state IN ('pending', 'submitting', 'submitted')),
        first_seen_at INTEGER NOT NULL,
        due_at INTEGER NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0 CHECK (tries >= 0),
        reason TEXT,
        detail TEXT CHECK (detail IS NULL OR length(detail) <= 2000),
        build_id TEXT,
        submitted_at INTEGER,
        CHECK ((state = 'pending') = (build_id IS NULL)),
        CHECK ((state = 'submitted') = (submitted_at IS NOT NULL)),
        PRIMARY KEY (profile, source, version, architecture)
      ) STRICT;
      CREATE INDEX sync_uploads_due ON sync_uploads (profile, class, due_at) WHERE state != 'submitted';
      CREATE INDEX sync_uploads_submitted ON sync_uploads (profile, submitted_at) WHERE state = 'submitted';

      -- Each profile's last poll: when, and why it failed if it did (bad signature, digest mismatch…).
      CREATE TABLE sync_polls (
        profile TEXT PRIMARY KEY REFERENCES sync_profiles (name) ON DELETE CASCADE,
        polled_at INTEGER NOT NULL,
        failures INTEGER NOT NULL CHECK (failures >= 0),
        next_poll_at INTEGER NOT NULL,
        reason TEXT,
        detail TEXT CHECK (detail IS NULL OR length(detail) <= 2000)
      ) STRICT;
    `,
};
