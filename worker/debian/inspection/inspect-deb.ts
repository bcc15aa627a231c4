// Inspects one .deb file: its ar container, debian-binary, and the member listings of control.tar and
// data.tar. Malformed or hostile content becomes hazards in the listing; only our own failures throw.
import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  AR_CONTAINER,
  type DebArea,
  type DebHazard,
  type DebListing,
  type TarAreaListing,
  type TarMember,
} from '../../../services/debian/deb-inspection/deb-listing.ts';
import { InspectionError } from '../../../services/errors.ts';
import { ArFormatError, type ArMember, fileByteSource, readArIndex } from './ar-archive.ts';
import {
  classifyDebMember,
  decompressMember,
  defaultDecompressLimits,
  MAGIC_PROBE_BYTES,
  magicMismatch,
} from './decompress-member.ts';
import { listTarMembers } from './list-tar-members.ts';

export interface DebInspectionLimits {
  /** Bytes control.tar and data.tar may expand to, together. Default 4 GiB. */
  readonly maxDecompressedBytes: number;
  /** Entries listed per tar before a `too-many-members` hazard. Default 100,000. */
  readonly maxMembers: number;
  /** Wall time for the whole .deb; past it the listing stops with a `timeout` hazard. Default 10 min. */
  readonly timeoutMs: number;
  /** Largest decompressed/compressed ratio past 64 MiB of output. Default 2000. */
  readonly maxCompressionRatio: number;
}

export const defaultDebInspectionLimits: DebInspectionLimits = Object.freeze({
  maxDecompressedBytes: 4 * 1024 ** 3,
  maxMembers: 100_000,
  timeoutMs: 10 * 60 * 1000,
  maxCompressionRatio: defaultDecompressLimits.maxRatio,
});

export interface InspectDebOptions {
  /** Strings (e.g. build paths) to look for in every regular file; see listTarMembers. */
  readonly searchStrings?: readonly string[];
}

const DEBIAN_BINARY_MAX_BYTES = 64;

const READ_CHUNK_BYTES = 256 * 1024;

/**
 * `length` bytes of `handle` from `start`, by positioned reads. (A FileHandle's own createReadStream
 * closes the handle when the stream is destroyed early, whatever autoClose says.)
 */
function rangeStream(handle: FileHandle, start: number, length: number): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    let offset = start;
    const end = start + length;
    while (offset < end) {
      const buffer = Buffer.alloc(Math.min(READ_CHUNK_BYTES, end - offset));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) return;
      offset += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

async function sha256OfHandle(handle: FileHandle, size: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of rangeStream(handle, 0, size)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Inspects the .deb at `filePath`. Malformed input never throws: a bad ar container, a missing or odd
 * debian-binary, missing control/data members, a compression whose magic does not match the name,
 * corrupt compressed data or a broken tar each add a `malformed` hazard (and whatever could still be
 * listed is kept, with `complete: false`). Resource limits add `decompression-bomb`, `too-many-members`
 * or `timeout` hazards.
 *
 * @throws InspectionError INSPECTION_FAILED when the file cannot be read or a decompressor is missing.
 */
export async function inspectDeb(
  filePath: string,
  limits: Partial<DebInspectionLimits> = {},
  options: InspectDebOptions = {},
): Promise<DebListing> {
  const effective = { ...defaultDebInspectionLimits, ...limits };
  let handle: FileHandle;
  try {
    handle = await open(filePath, 'r');
  } catch (cause) {
    throw new InspectionError('INSPECTION_FAILED', `cannot open ${filePath}: ${(cause as Error).message}`, {
      cause,
    });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new InspectionError('INSPECTION_FAILED', `${filePath} is not a regular file`);
    const sha256 = await sha256OfHandle(handle, stat.size);
    return await new DebInspector(handle, stat.size, sha256, effective, options).run();
  } finally {
    await handle.close();
  }
}

class DebInspector {
  private readonly hazards: DebHazard[] = [];
  private readonly abort = new AbortController();
  private timedOut = false;
  private budgetBytes: number;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
    private readonly sha256: string,
    private readonly limits: DebInspectionLimits,
    private readonly options: InspectDebOptions,
  ) {
    this.budgetBytes = limits.maxDecompressedBytes;
  }

  private malformed(member: string, detail: string): void {
    this.hazards.push({ kind: 'malformed', member, detail });
  }

  async run(): Promise<DebListing> {
    const timer = setTimeout(() => {
      this.timedOut = true;
      this.abort.abort();
    }, this.limits.timeoutMs);
    try {
      return await this.inspect();
    } finally {
      clearTimeout(timer);
    }
  }

  private result(
    arMembers: readonly string[],
    debianBinary: string | null,
    control: TarAreaListing | null,
    data: TarAreaListing | null,
  ): DebListing {
    return Object.freeze({
      sha256: this.sha256,
      size: this.size,
      debianBinary,
      arMembers: Object.freeze([...arMembers]),
      control,
      data,
      hazards: Object.freeze([...this.hazards]),
    });
  }

  private async inspect(): Promise<DebListing> {
    let index: ArMember[];
    try {
      index = await readArIndex(fileByteSource(this.handle, this.size));
    } catch (err) {
      if (!(err instanceof ArFormatError)) throw err;
      this.malformed(AR_CONTAINER, err.message);
      return this.result([], null, null, null);
    }
    const names = index.map((m) => m.name);
    const debianBinary = await this.readDebianBinary(index);
    const areas = this.locateAreas(index);
    const control = areas.control ? await this.listArea(areas.control) : null;
    const data = areas.data ? await this.listArea(areas.data) : null;
    return this.result(names, debianBinary, control, data);
  }

  private async readDebianBinary(index: readonly ArMember[]): Promise<string | null> {
    const first = index[0];
    if (first?.name === 'debian-binary') return this.readDebianBinaryText(first);
    this.malformed(
      AR_CONTAINER,
      `the first member is ${first ? `"${first.name}"` : 'missing'}, not "debian-binary"`,
    );
    const elsewhere = index.find((m) => m.name === 'debian-binary');
    return elsewhere ? this.readDebianBinaryText(elsewhere) : null;
  }

  private async readDebianBinaryText(member: ArMember): Promise<string> {
    const length = Math.min(member.sizeBytes, DEBIAN_BINARY_MAX_BYTES);
    const buffer = Buffer.alloc(length);
    await this.handle.read(buffer, 0, length, member.dataOffset);
    const text = buffer.toString('latin1');
    if (member.sizeBytes > DEBIAN_BINARY_MAX_BYTES) {
      this.malformed('debian-binary', `${member.sizeBytes} bytes; a format version is a few bytes`);
    } else if (!/^2\.[0-9]+\n/.test(text)) {
      this.malformed('debian-binary', `format version ${JSON.stringify(text)} is not "2.x\\n"`);
    }
    return text;
  }

  /** dpkg's order: debian-binary, control.tar*, data.tar*; members named `_*` may sit in between. */
  private locateAreas(index: readonly ArMember[]): Partial<Record<DebArea, ArMember>> {
    const found: Partial<Record<DebArea, ArMember>> = {};
    for (const member of index.slice(1)) {
      const kind = classifyDebMember(member.name);
      if (!kind) {
        if (member.name !== 'debian-binary' && !member.name.startsWith('_')) {
          this.malformed(member.name, 'not a member a .deb may have');
        }
        continue;
      }
      if (found[kind.area]) {
        this.malformed(member.name, `a second ${kind.area}.tar member (after "${found[kind.area]!.name}")`);
        continue;
      }
      if (kind.area === 'control' && found.data) {
        this.malformed(member.name, 'control.tar comes after data.tar');
      }
      found[kind.area] = member;
    }
    if (!found.control) this.malformed(AR_CONTAINER, 'no control.tar member');
    if (!found.data) this.malformed(AR_CONTAINER, 'no data.tar member');
    return found;
  }

  private async listArea(member: ArMember): Promise<TarAreaListing> {
    const { compression } = classifyDebMember(member.name)!;
    const area = (members: readonly TarMember[], decompressedSize: number, complete: boolean) =>
      Object.freeze({
        member: member.name,
        compression,
        compressedSize: member.sizeBytes,
        decompressedSize,
        complete,
        members: Object.freeze([...members]),
      });
    const probe = Buffer.alloc(Math.min(member.sizeBytes, MAGIC_PROBE_BYTES));
    await this.handle.read(probe, 0, probe.length, member.dataOffset);
    const mismatch = magicMismatch(compression, probe);
    if (mismatch) {
      this.malformed(member.name, mismatch);
      return area([], 0, false);
    }
    if (this.abort.signal.aborted) {
      this.hazards.push({ kind: 'timeout', member: member.name, detail: this.timeoutDetail() });
      return area([], 0, false);
    }
    const input = rangeStream(this.handle, member.dataOffset, member.sizeBytes);
    const decompressed = decompressMember(input, compression, {
      maxOutputBytes: this.budgetBytes,
      maxRatio: this.limits.maxCompressionRatio,
      ratioFloorBytes: defaultDecompressLimits.ratioFloorBytes,
      compressedBytes: member.sizeBytes,
      decoderMemoryBytes: defaultDecompressLimits.decoderMemoryBytes,
      signal: this.abort.signal,
    });
    const listing = await listTarMembers(decompressed.stream, {
      member: member.name,
      maxMembers: this.limits.maxMembers,
      ...(this.options.searchStrings ? { searchStrings: this.options.searchStrings } : {}),
      signal: this.abort.signal,
    });
    if (!decompressed.stream.destroyed) decompressed.stream.destroy();
    const end = await decompressed.end;
    this.budgetBytes -= end.outputBytes;
    this.hazards.push(...listing.hazards);
    let complete = listing.complete;
    if (end.kind === 'capped') {
      this.hazards.push({ kind: 'decompression-bomb', member: member.name, detail: end.detail });
      complete = false;
    } else if (this.timedOut) {
      this.hazards.push({ kind: 'timeout', member: member.name, detail: this.timeoutDetail() });
      complete = false;
    } else if (end.kind === 'corrupt') {
      this.malformed(member.name, `corrupt ${compression} data: ${end.detail}`);
      complete = false;
    } else if (listing.error !== undefined) {
      this.malformed(member.name, `unreadable tar: ${listing.error}`);
      complete = false;
    }
    return area(listing.members, end.outputBytes, complete);
  }

  private timeoutDetail(): string {
    return `inspection ran past its limit of ${this.limits.timeoutMs} ms; the rest is not listed`;
  }
}
