// Lists the members of one (decompressed) tar stream of a .deb in archive order, hashing regular
// files as they stream past; hostile entries become hazards and the listing goes on where it is safe.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type {
  DebHazard,
  GzipHeaderFacts,
  HazardKind,
  TarMember,
  TarMemberType,
} from '../../../services/debian/deb-inspection/deb-listing.ts';

export interface ListTarOptions {
  /** ar member name the stream came from, for hazards. */
  readonly member: string;
  /** Entries listed before the rest is abandoned with a `too-many-members` hazard. Default 100,000. */
  readonly maxMembers?: number;
  /** Strings (UTF-8) to look for in regular files; at most 16, each 1..4096 bytes. */
  readonly searchStrings?: readonly string[];
  /** Bytes of each regular file searched for `searchStrings`; the rest is only hashed. Default 64 MiB. */
  readonly maxSearchBytesPerFile?: number;
  /** Aborting stops the listing; it comes back incomplete with `error: 'aborted'`. */
  readonly signal?: AbortSignal;
}

export interface TarListing {
  readonly members: readonly TarMember[];
  readonly hazards: readonly DebHazard[];
  /** False when the listing stopped before the end of the archive (see `error` or the hazards). */
  readonly complete: boolean;
  /** Why the tar could not be read to its end (malformed or truncated data, 'aborted'). */
  readonly error?: string;
}

/** Listing limits: counts, bytes per file searched, search string bytes, path and segment bytes. */
export const defaultListTarLimits = Object.freeze({
  maxMembers: 100_000,
  maxSearchBytesPerFile: 64 * 1024 ** 2,
  maxSearchStrings: 16,
  maxSearchStringBytes: 4096,
  /** Longer paths (PATH_MAX) are not listed, only reported. */
  maxPathBytes: 4096,
  /** Longer path segments (NAME_MAX) are not listed, only reported. */
  maxSegmentBytes: 255,
});

const GZIP_PROBE_BYTES = 512;

/** Path as the report shows it: one leading './' removed, '.' for the root. */
export function normaliseMemberPath(name: string): string {
  const stripped = name.startsWith('./') ? name.slice(2) : name;
  return stripped === '' ? '.' : stripped;
}

/** True when `path` is absolute or has a '..' segment: extracting it could write outside the target. */
export function escapesRoot(path: string): boolean {
  return path.startsWith('/') || path.split('/').includes('..');
}

function clip(text: string): string {
  return text.length > 256 ? `${text.slice(0, 256)}…` : text;
}

function tooLong(path: string): string | undefined {
  const bytes = Buffer.byteLength(path);
  if (bytes > defaultListTarLimits.maxPathBytes)
    return `${bytes} bytes, longer than ${defaultListTarLimits.maxPathBytes}`;
  const segment = path.split('/').find((s) => Buffer.byteLength(s) > defaultListTarLimits.maxSegmentBytes);
  if (segment !== undefined)
    return `a path segment of ${Buffer.byteLength(segment)} bytes, longer than ${defaultListTarLimits.maxSegmentBytes}`;
  return undefined;
}

function memberType(type: string | null | undefined): TarMemberType {
  switch (type) {
    case 'file':
    case 'contiguous-file':
    case null:
    case undefined:
      return 'file';
    case 'link':
      return 'hardlink';
    case 'symlink':
      return 'symlink';
    case 'directory':
      return 'directory';
    case 'character-device':
      return 'char-device';
    case 'block-device':
      return 'block-device';
    case 'fifo':
      return 'fifo';
    default:
      return 'other';
  }
}

/** Reads the gzip header fields from the first bytes of a file; undefined when they are not gzip. */
export function parseGzipHeader(head: Uint8Array): GzipHeaderFacts | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length < 10 || b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 0x08) return undefined;
  const flags = b[3]!;
  const facts = { mtimeSeconds: b.readUInt32LE(4), os: b[9]!, hasName: (flags & 0x08) !== 0 };
  if (!facts.hasName) return facts;
  let at = 10;
  if (flags & 0x04) {
    if (b.length < 12) return facts;
    at = 12 + b.readUInt16LE(10);
  }
  if (at >= b.length) return facts;
  const nul = b.indexOf(0, at);
  const end = Math.min(nul === -1 ? b.length : nul, at + 255);
  return { ...facts, name: b.toString('latin1', at, end) };
}

/** Finds needles in a stream of chunks, including matches that straddle two chunks. */
class StreamingSearch {
  private readonly found = new Set<number>();
  private carry = Buffer.alloc(0);
  private searched = 0;
  private readonly keep: number;

  constructor(
    private readonly needles: readonly Buffer[],
    private readonly maxBytes: number,
  ) {
    this.keep = Math.max(0, ...needles.map((n) => n.length - 1));
  }

  update(chunk: Buffer): void {
    if (this.found.size === this.needles.length || this.searched >= this.maxBytes) return;
    const part = chunk.subarray(0, this.maxBytes - this.searched);
    this.searched += part.length;
    const window = this.carry.length > 0 ? Buffer.concat([this.carry, part]) : part;
    this.needles.forEach((needle, index) => {
      if (!this.found.has(index) && window.includes(needle)) this.found.add(index);
    });
    this.carry = Buffer.from(window.subarray(Math.max(0, window.length - this.keep)));
  }

  results(labels: readonly string[]): string[] {
    return [...this.found].sort((a, b) => a - b).map((i) => labels[i]!);
  }
}

function checkSearchStrings(strings: readonly string[]): Buffer[] {
  if (strings.length > defaultListTarLimits.maxSearchStrings) {
    throw new RangeError(`at most ${defaultListTarLimits.maxSearchStrings} search strings`);
  }
  return strings.map((s) => {
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length === 0 || bytes.length > defaultListTarLimits.maxSearchStringBytes) {
      throw new RangeError(`search strings must be 1..${defaultListTarLimits.maxSearchStringBytes} bytes`);
    }
    return bytes;
  });
}

interface EntryContent {
  readonly sha256: string;
  readonly gzipHeader?: GzipHeaderFacts;
  readonly foundStrings?: readonly string[];
}

async function readContent(
  entry: AsyncIterable<Buffer>,
  wantGzipHeader: boolean,
  search: StreamingSearch | undefined,
  searchLabels: readonly string[],
): Promise<EntryContent> {
  const hash = createHash('sha256');
  let head: Buffer[] | undefined = wantGzipHeader ? [] : undefined;
  let headBytes = 0;
  for await (const chunk of entry) {
    hash.update(chunk);
    search?.update(chunk);
    if (head && headBytes < GZIP_PROBE_BYTES) {
      head.push(chunk.subarray(0, GZIP_PROBE_BYTES - headBytes));
      headBytes += Math.min(chunk.length, GZIP_PROBE_BYTES - headBytes);
    }
  }
  const gzipHeader = head ? parseGzipHeader(Buffer.concat(head)) : undefined;
  head = undefined;
  const foundStrings = search?.results(searchLabels) ?? [];
  return {
    sha256: hash.digest('hex'),
    ...(gzipHeader ? { gzipHeader } : {}),
    ...(foundStrings.length > 0 ? { foundStrings } : {}),
  };
}

/**
 * Lists `stream` (an uncompressed tar) entry by entry, in archive order. Hazards: `path-traversal`
 * (absolute path or a '..' segment, in a path or a hard link target), `duplicate-member`,
 * `device-node`, `name-too-long` (the entry is reported, not listed) and `too-many-members` (the
 * listing stops). A tar that cannot be parsed to its end comes back with `complete: false` and
 * `error`; the caller decides whether that is a `malformed` hazard (it is not when the decompressor
 * cut the stream at its cap). Never holds a file's content in memory.
 *
 * @throws RangeError when `searchStrings` break their limits (a caller bug, not hostile input).
 */
export async function listTarMembers(stream: Readable, options: ListTarOptions): Promise<TarListing> {
  const maxMembers = options.maxMembers ?? defaultListTarLimits.maxMembers;
  const searchLabels = options.searchStrings ?? [];
  const needles = checkSearchStrings(searchLabels);
  const maxSearchBytes = options.maxSearchBytesPerFile ?? defaultListTarLimits.maxSearchBytesPerFile;
  const members: TarMember[] = [];
  const hazards: DebHazard[] = [];
  const seen = new Set<string>();
  const hazard = (kind: HazardKind, detail: string, path?: string) =>
    hazards.push({
      kind,
      member: options.member,
      ...(path !== undefined ? { path: clip(path) } : {}),
      detail,
    });

  const extract = tar.extract();
  let parseError: Error | undefined;
  extract.on('error', (err: Error) => {
    parseError ??= err;
  });
  stream.once('error', (err: Error) => extract.destroy(err));
  const onAbort = () => extract.destroy(new Error('aborted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  stream.pipe(extract as unknown as NodeJS.WritableStream);

  let entries = 0;
  let complete = true;
  try {
    for await (const entry of extract) {
      const header = entry.header;
      entries += 1;
      if (entries > maxMembers) {
        hazard('too-many-members', `more than ${maxMembers} entries; the rest of the archive is not listed`);
        complete = false;
        break;
      }
      const rawName = header.name;
      const path = normaliseMemberPath(rawName);
      const type = memberType(header.type);
      const longName = tooLong(rawName);
      const rawLink = header.linkname ?? undefined;
      const longLink = rawLink !== undefined ? tooLong(rawLink) : undefined;
      if (longName || longLink) {
        hazard(
          'name-too-long',
          longName ? `path of ${longName}; not listed` : `link target of ${longLink}; not listed`,
          path,
        );
        entry.resume();
        continue;
      }
      if (escapesRoot(path)) {
        hazard('path-traversal', `${type} path is absolute or contains '..'`, path);
      }
      const linkTarget =
        rawLink === undefined ? undefined : type === 'hardlink' ? normaliseMemberPath(rawLink) : rawLink;
      if (type === 'hardlink' && linkTarget !== undefined && escapesRoot(linkTarget)) {
        hazard(
          'path-traversal',
          `hard link target ${JSON.stringify(clip(linkTarget))} is outside the archive`,
          path,
        );
      }
      const key = path.replace(/\/+$/, '') || '.';
      if (seen.has(key)) hazard('duplicate-member', 'the path appears more than once', path);
      seen.add(key);
      if (type === 'char-device' || type === 'block-device') {
        hazard('device-node', `${type} ${header.devmajor ?? 0}:${header.devminor ?? 0}`, path);
      }
      const base = {
        path,
        type,
        mode: (header.mode ?? 0) & 0o7777,
        uid: header.uid ?? 0,
        gid: header.gid ?? 0,
        uname: header.uname ?? '',
        gname: header.gname ?? '',
        mtimeSeconds: header.mtime ? Math.floor(header.mtime.getTime() / 1000) : 0,
        size: type === 'file' ? (header.size ?? 0) : 0,
        ...(linkTarget !== undefined && (type === 'hardlink' || type === 'symlink') ? { linkTarget } : {}),
      };
      if (type === 'file') {
        const search = needles.length > 0 ? new StreamingSearch(needles, maxSearchBytes) : undefined;
        const content = await readContent(
          entry as AsyncIterable<Buffer>,
          path.endsWith('.gz'),
          search,
          searchLabels,
        );
        members.push(Object.freeze({ ...base, ...content }));
      } else {
        entry.resume();
        members.push(Object.freeze(base));
      }
    }
  } catch (err) {
    if (!parseError && !extract.destroyed) throw err;
    parseError ??= err as Error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (!complete || parseError) {
    extract.destroy();
    stream.destroy();
  }
  if (parseError) {
    return { members, hazards, complete: false, error: parseError.message };
  }
  return { members, hazards, complete };
}
