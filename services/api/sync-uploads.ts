// The wire contract of GET /v1/admin/sync-profiles/:name/uploads: one page of what a sync profile
// selected, each upload with its state, why it waits and the suites it was read in; the opaque
// cursor that continues a page; and the strict reader the CLI reads the answer with.
import {
  architectureRule,
  packageSourceRule,
  packageVersionRule,
  suiteRule,
  syncProfileNameRule,
  syncUploadCursorRule,
} from '../identifiers.ts';
import {
  SYNC_REASONS,
  SYNC_UPLOAD_CLASSES,
  SYNC_UPLOAD_STATES,
  type SyncReason,
  type SyncUploadClass,
  type SyncUploadKey,
  type SyncUploadState,
} from '../storage/sync-progress-store.ts';
import {
  arrayOf,
  identifier,
  integer,
  nullable,
  object,
  oneOf,
  parseWire,
  text,
  timestamp,
  type WireType,
} from './wire-type.ts';

/** Uploads per page when `limit` is absent, and the most one page holds. */
export const defaultSyncUploadPage = 100;
export const maxSyncUploadPage = 500;
/** Largest answer the reader accepts. */
export const maxSyncUploadPageBytes = 16 * 1024 ** 2;

export interface SyncUploadView {
  readonly source: string;
  /** The source version. */
  readonly version: string;
  /** The binaries' version: `version`, or a binNMU's `version+bN` (an upload and build of its own). */
  readonly binaryVersion: string;
  readonly architecture: string;
  /** The binary packages of the upload (one build covers them all). */
  readonly binaries: readonly string[];
  /** new, retry or backfill: the order uploads are submitted in. */
  readonly class: SyncUploadClass;
  readonly state: SyncUploadState;
  /** Every suite the profile read it in, by name (empty: read before suites were recorded). */
  readonly suites: readonly string[];
  readonly firstSeenAt: string;
  /** When it is tried next (pending), or was claimed. */
  readonly dueAt: string;
  readonly tries: number;
  /** Why it waits (pending after a refusal or a missing .buildinfo), or why it was skipped. */
  readonly reason?: SyncReason;
  readonly detail?: string;
  readonly buildId?: string;
  readonly submittedAt?: string;
}

export interface SyncUploadPage {
  readonly profile: string;
  readonly uploads: readonly SyncUploadView[];
  /** Pass as `cursor` for the next page; null on the last. */
  readonly nextCursor: string | null;
}

const name = (rule: typeof packageSourceRule) => identifier(rule);

export const syncUploadViewType: WireType<SyncUploadView> = object(
  {
    source: name(packageSourceRule),
    version: name(packageVersionRule),
    binaryVersion: name(packageVersionRule),
    architecture: name(architectureRule),
    binaries: arrayOf(text({ maxLength: 256, minLength: 1, characters: 'printable' }), { maxItems: 4096 }),
    class: oneOf(SYNC_UPLOAD_CLASSES),
    state: oneOf(SYNC_UPLOAD_STATES),
    suites: arrayOf(identifier(suiteRule), { maxItems: 256 }),
    firstSeenAt: timestamp(),
    dueAt: timestamp(),
    tries: integer({ minimum: 0 }),
  },
  {
    reason: oneOf(SYNC_REASONS),
    detail: text({ maxLength: 2000 }),
    buildId: text({ maxLength: 64, minLength: 1, characters: 'printable' }),
    submittedAt: timestamp(),
  },
  { unknown: 'ignore' },
);

export const syncUploadPageType: WireType<SyncUploadPage> = object(
  {
    profile: identifier(syncProfileNameRule),
    uploads: arrayOf(syncUploadViewType, { maxItems: maxSyncUploadPage }),
    nextCursor: nullable(identifier(syncUploadCursorRule, 'opaque: pass it back as `cursor`')),
  },
  {},
  { unknown: 'ignore' },
);

/** The cursor after `key`: base64url of its JSON (opaque to clients). */
export function syncUploadCursorOf(key: Omit<SyncUploadKey, 'profile'>): string {
  return Buffer.from(JSON.stringify([key.source, key.version, key.binaryVersion, key.architecture])).toString(
    'base64url',
  );
}

/** The key a cursor names, or undefined when this coordinator did not make it. */
export function syncUploadKeyOfCursor(cursor: string): Omit<SyncUploadKey, 'profile'> | undefined {
  if (cursor.length > syncUploadCursorRule.maxLength || !syncUploadCursorRule.pattern.test(cursor))
    return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 4) return undefined;
  const [source, version, binaryVersion, architecture] = value as unknown[];
  const fits = (v: unknown, rule: typeof packageSourceRule) =>
    typeof v === 'string' && v.length <= rule.maxLength && rule.pattern.test(v);
  if (
    !fits(source, packageSourceRule) ||
    !fits(version, packageVersionRule) ||
    !fits(binaryVersion, packageVersionRule) ||
    !fits(architecture, architectureRule)
  )
    return undefined;
  return {
    source: source as string,
    version: version as string,
    binaryVersion: binaryVersion as string,
    architecture: architecture as string,
  };
}

/** Reads one page (the CLI's side). @throws WireFormatError `ANSWER_INVALID` naming the field. */
export function readSyncUploadPage(answer: string | Uint8Array): SyncUploadPage {
  return parseWire(syncUploadPageType, answer, {
    maxBytes: maxSyncUploadPageBytes,
    what: 'sync upload page',
    side: 'answer',
  });
}
