// The answers of a snapshot archive's machine-readable API (snapshot.debian.org's `/mr/`), parsed once
// at the boundary into frozen records, and the one place for the identifiers that API uses: snapshot
// timestamps, archive names and file hashes.
import { ArchiveError } from '../errors.ts';
import { parseStrictJson } from '../strict-json.ts';
import { isDebianPackageName, parseDebianVersion } from './debian-version.ts';

/** A snapshot timestamp as snapshot.debian.org writes it: `20230610T083321Z` (UTC). */
const SNAPSHOT_TIMESTAMP = /^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z$/;
/** An archive name below `/archive/`, e.g. `debian` or `debian-security`. */
const SNAPSHOT_ARCHIVE_NAME = /^[a-z0-9][a-z0-9.-]{0,63}$/;
/** snapshot.debian.org names files by sha1; a sha256 is accepted too, should a snapshot use one. */
const SNAPSHOT_FILE_HASH = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const ARCHITECTURE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+~%:-]{0,254}$/;
const POOL_PATH = /^\/[A-Za-z0-9_.+~%/-]{0,1023}$/;

/** True for a well-formed snapshot timestamp that names a real moment. */
export function isSnapshotTimestamp(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(snapshotTimestampMsOrNaN(value));
}

function snapshotTimestampMsOrNaN(value: string): number {
  const match = SNAPSHOT_TIMESTAMP.exec(value);
  if (!match) return Number.NaN;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  const same =
    check.getUTCFullYear() === year &&
    check.getUTCMonth() === month - 1 &&
    check.getUTCDate() === day &&
    check.getUTCHours() === hour &&
    check.getUTCMinutes() === minute &&
    check.getUTCSeconds() === second;
  return same ? ms : Number.NaN;
}

/** Epoch milliseconds of a snapshot timestamp. @throws ArchiveError ARCHIVE_API for a malformed one. */
export function snapshotTimestampMs(value: string): number {
  const ms = snapshotTimestampMsOrNaN(value);
  if (Number.isNaN(ms))
    throw refuse('first_seen', `${JSON.stringify(value.slice(0, 40))} is not a timestamp`);
  return ms;
}

/** A snapshot timestamp for a moment (seconds precision), e.g. for a test server's layout. */
export function formatSnapshotTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/[-:]/g, '').replace('.000', '');
}

export function isSnapshotArchiveName(value: unknown): value is string {
  return typeof value === 'string' && SNAPSHOT_ARCHIVE_NAME.test(value);
}

/** Where the snapshot archive saw one file: `/archive/<archiveName>/<firstSeen>/<path>/<name>`. */
export interface SnapshotFileLocation {
  readonly archiveName: string;
  /** The first snapshot timestamp that holds the file. */
  readonly firstSeen: string;
  /** The file name, e.g. `hello_2.10-3_amd64.deb`. */
  readonly name: string;
  /** Its directory below the archive root, e.g. `/pool/main/h/hello`. */
  readonly path: string;
  /** Size in bytes, as the API says (a hint: the signed index is what counts). */
  readonly size: number;
}

/** One file of a binary package version, per architecture, from `/mr/binary/<name>/<version>/binfiles`. */
export interface SnapshotBinaryFile {
  readonly architecture: string;
  /** The snapshot's content hash of the file (sha1 on snapshot.debian.org): a lookup key, never trusted. */
  readonly hash: string;
  /** Where the file was seen, when the answer carried `fileinfo` for it (`?fileinfo=1`). */
  readonly locations?: readonly SnapshotFileLocation[];
}

export interface SnapshotBinfiles {
  readonly binary: string;
  readonly binaryVersion: string;
  readonly files: readonly SnapshotBinaryFile[];
}

/** Largest API answer read: real ones are a few kilobytes. */
export const SNAPSHOT_API_MAX_BYTES = 1024 * 1024;
const MAX_RESULTS = 256;
const MAX_LOCATIONS = 64;

function refuse(field: string, message: string, cause?: unknown): ArchiveError {
  return new ArchiveError(
    'ARCHIVE_API',
    `snapshot API answer: ${field}: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

function parseBody(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.byteLength > SNAPSHOT_API_MAX_BYTES)
    throw refuse('$', `larger than ${SNAPSHOT_API_MAX_BYTES} bytes`);
  let value: unknown;
  try {
    value = parseStrictJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw refuse('$', `not strict JSON (${(cause as Error).message.slice(0, 200)})`, cause);
  }
  return object(value, '$');
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw refuse(field, 'must be an object');
  return value as Record<string, unknown>;
}

function list(value: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw refuse(field, 'must be an array');
  if (value.length > max) throw refuse(field, `more than ${max} entries`);
  return value;
}

function text(value: unknown, field: string, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value))
    throw refuse(field, `${JSON.stringify(value)?.slice(0, 80)} is not accepted`);
  return value;
}

function parseLocation(value: unknown, field: string): SnapshotFileLocation {
  const entry = object(value, field);
  const size = entry.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw refuse(`${field}.size`, 'must be a non-negative integer');
  const firstSeen = text(entry.first_seen, `${field}.first_seen`, SNAPSHOT_TIMESTAMP);
  snapshotTimestampMs(firstSeen);
  return Object.freeze({
    archiveName: text(entry.archive_name, `${field}.archive_name`, SNAPSHOT_ARCHIVE_NAME),
    firstSeen,
    name: text(entry.name, `${field}.name`, FILE_NAME),
    path: text(entry.path, `${field}.path`, POOL_PATH),
    size,
  });
}

function parseLocations(value: unknown, field: string): readonly SnapshotFileLocation[] {
  return Object.freeze(
    list(value, field, MAX_LOCATIONS).map((item, i) => parseLocation(item, `${field}[${i}]`)),
  );
}

/**
 * Parses the answer to `/mr/binary/<binary>/<version>/binfiles[?fileinfo=1]`:
 * `{"binary", "binary_version", "result": [{"architecture", "hash"}], "fileinfo"?: {hash: [{"archive_name",
 * "first_seen", "name", "path", "size"}]}}`. The answer must be about exactly the binary and version asked
 * for. Unknown fields (e.g. `_comment`) are ignored.
 * @throws ArchiveError ARCHIVE_API naming the field at fault.
 */
export function parseSnapshotBinfiles(
  bytes: Uint8Array,
  asked: { readonly name: string; readonly version: string },
): SnapshotBinfiles {
  const body = parseBody(bytes);
  if (body.binary !== asked.name)
    throw refuse('binary', `is ${JSON.stringify(body.binary)?.slice(0, 80)}, asked for ${asked.name}`);
  if (body.binary_version !== asked.version)
    throw refuse(
      'binary_version',
      `is ${JSON.stringify(body.binary_version)?.slice(0, 80)}, asked for ${asked.version}`,
    );
  const fileinfo = body.fileinfo === undefined ? undefined : object(body.fileinfo, 'fileinfo');
  const files = list(body.result, 'result', MAX_RESULTS).map((item, i) => {
    const entry = object(item, `result[${i}]`);
    const hash = text(entry.hash, `result[${i}].hash`, SNAPSHOT_FILE_HASH);
    const where = fileinfo && Object.hasOwn(fileinfo, hash) ? fileinfo[hash] : undefined;
    return Object.freeze({
      architecture: text(entry.architecture, `result[${i}].architecture`, ARCHITECTURE),
      hash,
      ...(where === undefined ? {} : { locations: parseLocations(where, `fileinfo.${hash}`) }),
    });
  });
  return Object.freeze({ binary: asked.name, binaryVersion: asked.version, files: Object.freeze(files) });
}

/**
 * Parses the answer to `/mr/file/<hash>/info`: `{"hash", "result": [{"archive_name", "first_seen",
 * "name", "path", "size"}]}`, which must be about exactly `hash`.
 * @throws ArchiveError ARCHIVE_API naming the field at fault.
 */
export function parseSnapshotFileInfo(bytes: Uint8Array, hash: string): readonly SnapshotFileLocation[] {
  const body = parseBody(bytes);
  if (body.hash !== undefined && body.hash !== hash) throw refuse('hash', `is not ${hash}`);
  return parseLocations(body.result, 'result');
}

/** The URL path of a binary version's files: `/mr/binary/<name>/<version>/binfiles?fileinfo=1`. */
export function snapshotBinfilesPath(name: string, version: string): string {
  if (!isDebianPackageName(name)) throw refuse('binary', `${JSON.stringify(name)} is not a package name`);
  parseDebianVersion(version, 'Version');
  return `/mr/binary/${encodeURIComponent(name)}/${encodeURIComponent(version)}/binfiles?fileinfo=1`;
}

/** The URL path of a file's locations: `/mr/file/<hash>/info`. */
export function snapshotFileInfoPath(hash: string): string {
  if (!SNAPSHOT_FILE_HASH.test(hash)) throw refuse('hash', `${JSON.stringify(hash)} is not a file hash`);
  return `/mr/file/${hash}/info`;
}

/** The root of one archive as of one snapshot: `<base>/archive/<archiveName>/<timestamp>`. */
export function snapshotArchiveRoot(baseUrl: string, archiveName: string, timestamp: string): string {
  if (!SNAPSHOT_ARCHIVE_NAME.test(archiveName))
    throw refuse('archive_name', `${JSON.stringify(archiveName)} is not accepted`);
  snapshotTimestampMs(timestamp);
  return `${baseUrl.replace(/\/+$/, '')}/archive/${archiveName}/${timestamp}`;
}
