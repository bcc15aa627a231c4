// A Debian archive's Release (the plaintext of a verified InRelease): suite, codename, dates and the
// SHA256 list of the indexes it vouches for, parsed into a frozen ReleaseIndex.
import type { Sha256Hex } from '../digest.ts';
import { DebianFormatError } from '../errors.ts';
import { checkRelativePath, parseSha256, parseSize } from './archive-index-fields.ts';
import { type Deb822Limits, fieldLines, parseDeb822, requireField } from './deb822.ts';

/** One file listed in a Release file's SHA256 field. */
export interface ReleaseFileDigest {
  /** Size of the file in bytes. */
  readonly size: number;
  readonly sha256: Sha256Hex;
}

/** A parsed Release (the plaintext of InRelease). Frozen. */
export interface ReleaseIndex {
  readonly origin?: string;
  /** The Suite field, e.g. `oldstable`. */
  readonly suite: string;
  /** The Codename field, e.g. `bookworm`. */
  readonly codename: string;
  /** The Date field, in epoch seconds. */
  readonly date: number;
  /** The Valid-Until field, in epoch seconds; undefined when the Release does not expire. */
  readonly validUntil?: number;
  readonly architectures: readonly string[];
  readonly components: readonly string[];
  /** Every file of the SHA256 field, keyed by its path relative to `dists/<suite>/`. */
  readonly sha256: ReadonlyMap<string, ReleaseFileDigest>;
  /** True when the Release says `Acquire-By-Hash: yes` (indexes may be fetched by digest). */
  readonly acquireByHash: boolean;
}

export const RELEASE_LIMITS: Deb822Limits = Object.freeze({
  maxBytes: 1024 * 1024,
  maxParagraphs: 1,
  maxFieldsPerParagraph: 64,
  maxLineLength: 4096,
});

const RELEASE_WORD = /^[A-Za-z0-9][A-Za-z0-9._/+-]*$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC2822_DATE =
  /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) ([A-Z][a-z]{2}) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) (UTC|GMT|Z|[+-][0-9]{4})$/;

/** Parses an RFC 2822 date as Release files write it (`Sat, 11 Jul 2026 10:16:37 UTC`) into epoch seconds. */
function parseReleaseDate(value: string, field: string): number {
  const match = RFC2822_DATE.exec(value);
  const month = match ? MONTHS.indexOf(match[2] as string) : -1;
  if (!match || month < 0)
    throw new DebianFormatError(field, `${JSON.stringify(value)} is not an RFC 2822 date`);
  const [day, year, hour, minute, second] = [1, 3, 4, 5, 6].map((index) => Number(match[index]));
  const ms = Date.UTC(year!, month, day!, hour!, minute!, second!);
  const check = new Date(ms);
  if (check.getUTCDate() !== day || check.getUTCHours() !== hour || minute! > 59 || second! > 60) {
    throw new DebianFormatError(field, `${JSON.stringify(value)} is not a valid date`);
  }
  const zone = match[7] as string;
  let offsetSeconds = 0;
  if (zone.startsWith('+') || zone.startsWith('-')) {
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(3, 5));
    if (hours > 23 || minutes > 59) throw new DebianFormatError(field, `bad time zone ${zone}`);
    offsetSeconds = (zone.startsWith('+') ? 1 : -1) * (hours * 3600 + minutes * 60);
  }
  return Math.floor(ms / 1000) - offsetSeconds;
}

function words(value: string | undefined, field: string): string[] {
  if (value === undefined) return [];
  const list = value.split(/\s+/).filter((word) => word !== '');
  for (const word of list) {
    if (!RELEASE_WORD.test(word))
      throw new DebianFormatError(field, `${JSON.stringify(word)} is not accepted`);
  }
  return list;
}

/**
 * Parses the plaintext of a Release/InRelease file (already verified by the caller). Requires Suite,
 * Codename, Date and SHA256; refuses duplicate or non-relative paths in SHA256 and malformed dates.
 * MD5Sum and SHA1 are ignored: only SHA256 is trusted.
 */
export function parseRelease(text: string): ReleaseIndex {
  const [paragraph] = parseDeb822(text, 'Release', RELEASE_LIMITS);
  if (!paragraph) throw new DebianFormatError('Release', 'is empty');
  const suite = requireField(paragraph, 'Suite');
  const codename = requireField(paragraph, 'Codename');
  for (const [field, value] of [
    ['Suite', suite],
    ['Codename', codename],
  ] as const) {
    if (!RELEASE_WORD.test(value))
      throw new DebianFormatError(field, `${JSON.stringify(value)} is not accepted`);
  }
  const date = parseReleaseDate(requireField(paragraph, 'Date'), 'Date');
  const validUntilText = paragraph.get('Valid-Until');
  const validUntil =
    validUntilText === undefined ? undefined : parseReleaseDate(validUntilText, 'Valid-Until');
  const sha256 = new Map<string, ReleaseFileDigest>();
  for (const line of fieldLines(requireField(paragraph, 'SHA256'))) {
    if (line === '') continue;
    const parts = line.split(/\s+/);
    if (parts.length !== 3)
      throw new DebianFormatError(
        'SHA256',
        `line ${JSON.stringify(line.slice(0, 200))} is not "digest size path"`,
      );
    const [digest, size, path] = parts as [string, string, string];
    checkRelativePath(path, 'SHA256');
    if (sha256.has(path)) throw new DebianFormatError('SHA256', `${path} is listed twice`);
    sha256.set(
      path,
      Object.freeze({ size: parseSize(size, 'SHA256'), sha256: parseSha256(digest, 'SHA256') }),
    );
  }
  const acquireByHash = paragraph.get('Acquire-By-Hash');
  const origin = paragraph.get('Origin');
  return Object.freeze({
    ...(origin === undefined ? {} : { origin }),
    suite,
    codename,
    date,
    ...(validUntil === undefined ? {} : { validUntil }),
    architectures: Object.freeze(words(paragraph.get('Architectures'), 'Architectures')),
    components: Object.freeze(words(paragraph.get('Components'), 'Components')),
    sha256,
    acquireByHash: acquireByHash === 'yes',
  });
}
