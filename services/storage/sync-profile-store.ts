// The sync profiles aggregate: the archives the coordinator follows by itself, each with its
// .buildinfo source, package rules, scheduling settings and the maintainer it submits as.
import type {
  SyncArchive,
  SyncBuildinfoSource,
  SyncProfileRequest,
  SyncRules,
} from '../api/sync-profiles.ts';
import type { IsoTimestamp } from './store-error.ts';

/** A profile to store: the request with every default filled in. */
export interface NewSyncProfile {
  readonly name: string;
  readonly archive: SyncArchive;
  readonly buildinfo: SyncBuildinfoSource;
  readonly include: SyncRules;
  readonly exclude: SyncRules;
  readonly priority: number;
  readonly rateLimitPerHour: number;
  readonly initialDelaySeconds: number;
  readonly maintainer: string;
}

/** A stored profile (keyrings in full: the poller verifies with them). */
export interface SyncProfileRecord extends NewSyncProfile {
  readonly paused: boolean;
  readonly createdAt: IsoTimestamp;
  readonly updatedAt: IsoTimestamp;
}

/** The profile a request stands for, defaults filled in. */
export function newSyncProfileOf(
  request: SyncProfileRequest,
  defaults: Pick<NewSyncProfile, 'priority' | 'rateLimitPerHour' | 'initialDelaySeconds'>,
): NewSyncProfile {
  return Object.freeze({
    name: request.name,
    archive: request.archive,
    buildinfo: request.buildinfo,
    include: request.include ?? {},
    exclude: request.exclude ?? {},
    priority: request.priority ?? defaults.priority,
    rateLimitPerHour: request.rateLimitPerHour ?? defaults.rateLimitPerHour,
    initialDelaySeconds: request.initialDelaySeconds ?? defaults.initialDelaySeconds,
    maintainer: request.maintainer,
  });
}

/**
 * Where sync profiles are kept. Refusals are BuildStoreErrors: `NOT_FOUND` for a maintainer that
 * is not registered or a profile that does not exist, `CONFLICT` for a name taken or one profile
 * over the store's limit, `INVALID` naming the field of a malformed profile.
 */
export interface SyncProfileStore {
  /** Stores a new profile, not paused. */
  addSyncProfile(profile: NewSyncProfile, now: Date): Promise<SyncProfileRecord>;
  getSyncProfile(name: string): Promise<SyncProfileRecord | undefined>;
  /** Every profile, highest priority first, then by name. */
  listSyncProfiles(): Promise<readonly SyncProfileRecord[]>;
  /** Pauses or resumes a profile (idempotent). @throws BuildStoreError NOT_FOUND. */
  setSyncProfilePaused(name: string, paused: boolean, now: Date): Promise<SyncProfileRecord>;
  /** Removes a profile; @returns false when there was none. */
  removeSyncProfile(name: string): Promise<boolean>;
}
