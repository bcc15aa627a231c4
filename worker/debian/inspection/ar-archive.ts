// The Unix ar container of a .deb: reads the member index (names, offsets, sizes) by random access,
// never holding a member in memory, and refuses anything dpkg's own reader would not accept.
import type { FileHandle } from 'node:fs/promises';
import { RbnetError } from '../../../services/errors.ts';

/** A .deb's ar container is malformed; the message says where and what (an outcome for callers to report). */
export class ArFormatError extends RbnetError<'AR_FORMAT'> {}

/** The 8 bytes every ar archive starts with. */
export const AR_MAGIC = '!<arch>\n';
/** Size of each member header: name 16, mtime 12, uid 6, gid 6, mode 8, size 10, terminator 2. */
export const AR_HEADER_BYTES = 60;
/** A .deb has three members (plus rare `_`-prefixed extras); more is not a package. */
export const AR_MAX_MEMBERS = 16;

/** One member of the ar container. Offsets and sizes in bytes from the start of the file. */
export interface ArMember {
  /** Name with the padding spaces (and GNU ar's trailing '/') removed. */
  readonly name: string;
  /** Where its 60-byte header starts. */
  readonly headerOffset: number;
  /** Where its content starts (headerOffset + 60). */
  readonly dataOffset: number;
  /** Content size. */
  readonly sizeBytes: number;
}

/** Random access to the bytes being parsed; `read` returns fewer bytes only at the end. */
export interface ArByteSource {
  readonly sizeBytes: number;
  read(offset: number, length: number): Promise<Buffer>;
}

/** A byte source over an open file handle. */
export function fileByteSource(handle: FileHandle, sizeBytes: number): ArByteSource {
  return {
    sizeBytes,
    async read(offset, length) {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    },
  };
}

/** A byte source over a buffer (tests, small inputs). */
export function bufferByteSource(bytes: Uint8Array): ArByteSource {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    sizeBytes: buffer.length,
    read: async (offset, length) => buffer.subarray(offset, Math.min(offset + length, buffer.length)),
  };
}

/** Member names we accept: what dpkg-deb writes (debian-binary, control.tar.*, data.tar.*, _extras). */
const MEMBER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
const DECIMAL_FIELD = /^[0-9]+ *$/;

/**
 * Reads the member index of an ar archive: checks the `!<arch>\n` magic, each 60-byte header's
 * terminator "`\n", that sizes are decimal and inside the file, that names are plain file names
 * (no '/', after stripping GNU ar's single trailing '/'), at most {@link AR_MAX_MEMBERS} members,
 * and the even-offset padding between members (a missing last padding byte at the end is tolerated,
 * as dpkg does).
 *
 * @throws ArFormatError AR_FORMAT naming the offset and the problem.
 */
export async function readArIndex(source: ArByteSource): Promise<ArMember[]> {
  const magic = await source.read(0, AR_MAGIC.length);
  if (magic.toString('latin1') !== AR_MAGIC) {
    throw new ArFormatError('AR_FORMAT', `not an ar archive: the first 8 bytes are not "!<arch>\\n"`);
  }
  const members: ArMember[] = [];
  let offset = AR_MAGIC.length;
  while (offset < source.sizeBytes) {
    const remaining = source.sizeBytes - offset;
    if (remaining < AR_HEADER_BYTES) {
      throw new ArFormatError(
        'AR_FORMAT',
        `at byte ${offset}: ${remaining} trailing bytes, too few for a member header`,
      );
    }
    if (members.length === AR_MAX_MEMBERS) {
      throw new ArFormatError('AR_FORMAT', `more than ${AR_MAX_MEMBERS} members`);
    }
    const header = await source.read(offset, AR_HEADER_BYTES);
    const member = parseHeader(header, offset, source.sizeBytes);
    if (members.some((m) => m.name === member.name)) {
      throw new ArFormatError('AR_FORMAT', `at byte ${offset}: member "${member.name}" appears twice`);
    }
    members.push(member);
    const end = member.dataOffset + member.sizeBytes;
    offset = end + (end % 2);
    if (end % 2 === 1 && end < source.sizeBytes) {
      const pad = await source.read(end, 1);
      if (pad[0] !== 0x0a) {
        throw new ArFormatError(
          'AR_FORMAT',
          `at byte ${end}: padding byte after "${member.name}" is not "\\n"`,
        );
      }
    }
  }
  return members;
}

function parseHeader(header: Buffer, offset: number, fileSize: number): ArMember {
  const field = (start: number, length: number) => header.toString('latin1', start, start + length);
  if (field(58, 2) !== '`\n') {
    throw new ArFormatError('AR_FORMAT', `at byte ${offset}: member header does not end with "\`\\n"`);
  }
  let name = field(0, 16).replace(/ +$/, '');
  if (name.endsWith('/')) name = name.slice(0, -1);
  if (!MEMBER_NAME.test(name)) {
    throw new ArFormatError(
      'AR_FORMAT',
      `at byte ${offset}: member name ${JSON.stringify(field(0, 16))} is not a plain file name`,
    );
  }
  const sizeField = field(48, 10);
  if (!DECIMAL_FIELD.test(sizeField)) {
    throw new ArFormatError(
      'AR_FORMAT',
      `at byte ${offset}: size of "${name}" is not a decimal number: ${JSON.stringify(sizeField)}`,
    );
  }
  const sizeBytes = Number.parseInt(sizeField, 10);
  const dataOffset = offset + AR_HEADER_BYTES;
  if (dataOffset + sizeBytes > fileSize) {
    throw new ArFormatError(
      'AR_FORMAT',
      `at byte ${offset}: member "${name}" claims ${sizeBytes} bytes, past the end of the file (${fileSize - dataOffset} left)`,
    );
  }
  return { name, headerOffset: offset, dataOffset, sizeBytes };
}
