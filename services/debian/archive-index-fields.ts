// Fields every signed archive index shares (Release, Packages, Sources): sizes, sha256 digests and
// paths that must stay below the archive root.
import { isSha256Hex, type Sha256Hex } from '../digest.ts';
import { DebianFormatError } from '../errors.ts';

const SIZE = /^[0-9]{1,15}$/;
const PATH_SEGMENT = /^[A-Za-z0-9_.+~:%@=,-]+$/;

/** A size field as a non-negative safe integer (bytes). */
export function parseSize(value: string, field: string): number {
  if (!SIZE.test(value))
    throw new DebianFormatError(field, `${JSON.stringify(value)} is not a size in bytes`);
  return Number(value);
}

export function parseSha256(value: string, field: string): Sha256Hex {
  if (!isSha256Hex(value)) throw new DebianFormatError(field, 'expected 64 lowercase hex characters');
  return value;
}

/**
 * Checks a path from an index is relative and stays below its root: no leading '/', no empty, '.'
 * or '..' segment, no backslash, whitespace or other unusual characters.
 */
export function checkRelativePath(value: string, field: string): string {
  if (value.length === 0 || value.length > 1024)
    throw new DebianFormatError(field, 'path is empty or too long');
  for (const segment of value.split('/')) {
    if (segment === '' || segment === '.' || segment === '..' || !PATH_SEGMENT.test(segment)) {
      throw new DebianFormatError(
        field,
        `${JSON.stringify(value.slice(0, 200))} is not a relative path below the archive root`,
      );
    }
  }
  return value;
}
