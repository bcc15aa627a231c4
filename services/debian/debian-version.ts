// Debian version strings and package names (Debian Policy §5.6.1, §5.6.12) and dpkg's ordering of versions.
import { DebianFormatError } from '../errors.ts';

/** A parsed Debian version `[epoch:]upstream[-revision]`. Frozen; `text` is the string as written. */
export interface DebianVersion {
  /** The version exactly as written, e.g. `1:2.10-3+b1`. */
  readonly text: string;
  /** The epoch, 0 when none is written. A non-negative integer ≤ 2^31 - 1 (dpkg's limit). */
  readonly epoch: number;
  /** The upstream version: starts with a digit, then alphanumerics and `.+~-` (hyphen only with a revision). */
  readonly upstream: string;
  /** The Debian revision after the last hyphen (alphanumerics and `.+~`), or undefined for native versions. */
  readonly revision: string | undefined;
}

/** Longest version accepted, in characters. Policy sets no limit; real versions are far shorter. */
export const MAX_DEBIAN_VERSION_LENGTH = 256;

/** Longest package name accepted, in characters. Policy sets no limit; the archive's longest is under 80. */
export const MAX_DEBIAN_PACKAGE_NAME_LENGTH = 128;

const MAX_EPOCH = 2 ** 31 - 1;
const UPSTREAM_WITH_REVISION = /^[0-9][A-Za-z0-9.+~-]*$/;
const UPSTREAM_NATIVE = /^[0-9][A-Za-z0-9.+~]*$/;
const REVISION = /^[A-Za-z0-9.+~]+$/;
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const BIN_NMU = /\+b([1-9][0-9]*)$/;

/**
 * Parses a version per Debian Policy §5.6.12. The epoch is the digits before the first colon, the
 * revision whatever follows the last hyphen. Refuses empty parts, a non-numeric epoch, an upstream
 * version not starting with a digit, colons outside the epoch, whitespace, and anything longer than
 * {@link MAX_DEBIAN_VERSION_LENGTH}. Errors are DebianFormatError naming `field`.
 */
export function parseDebianVersion(text: string, field: string): DebianVersion {
  if (text.length === 0) throw new DebianFormatError(field, 'version is empty');
  if (text.length > MAX_DEBIAN_VERSION_LENGTH) {
    throw new DebianFormatError(field, `version is longer than ${MAX_DEBIAN_VERSION_LENGTH} characters`);
  }
  const shown = JSON.stringify(text);
  const colon = text.indexOf(':');
  const epoch = colon < 0 ? 0 : parseEpoch(text.slice(0, colon), shown, field);
  const rest = text.slice(colon + 1);
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen < 0 ? rest : rest.slice(0, hyphen);
  const revision = hyphen < 0 ? undefined : rest.slice(hyphen + 1);
  if (upstream === '') throw new DebianFormatError(field, `version ${shown} has an empty upstream version`);
  if (!/^[0-9]/.test(upstream)) {
    throw new DebianFormatError(field, `version ${shown}: the upstream version must start with a digit`);
  }
  if (!(revision === undefined ? UPSTREAM_NATIVE : UPSTREAM_WITH_REVISION).test(upstream)) {
    throw new DebianFormatError(
      field,
      `version ${shown}: the upstream version may hold only alphanumerics and . + ~ -`,
    );
  }
  if (revision !== undefined && !REVISION.test(revision)) {
    const why = revision === '' ? 'has an empty revision' : 'has a revision with characters other than . + ~';
    throw new DebianFormatError(field, `version ${shown} ${why}`);
  }
  return Object.freeze({ text, epoch, upstream, revision });
}

function parseEpoch(digits: string, shown: string, field: string): number {
  if (!/^[0-9]+$/.test(digits)) {
    throw new DebianFormatError(field, `version ${shown}: the epoch must be digits`);
  }
  const epoch = Number(digits);
  if (epoch > MAX_EPOCH) throw new DebianFormatError(field, `version ${shown}: the epoch is too large`);
  return epoch;
}

/**
 * Orders two versions the way `dpkg --compare-versions` does: epoch numerically, then upstream, then
 * revision, each with dpkg's verrevcmp (`~` sorts before everything, even the end of the string;
 * letters before other characters; digit runs by numeric value). A missing revision equals "0".
 * Returns a negative number, zero or a positive number.
 */
export function compareDebianVersions(a: DebianVersion, b: DebianVersion): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  return compareVersionPart(a.upstream, b.upstream) || compareVersionPart(a.revision ?? '', b.revision ?? '');
}

/** dpkg's weight of one character in a non-digit run; the end of the string weighs 0. */
function characterOrder(text: string, index: number): number {
  if (index >= text.length) return 0;
  const char = text[index] as string;
  if (char === '~') return -1;
  if (/[A-Za-z]/.test(char)) return char.charCodeAt(0);
  return char.charCodeAt(0) + 256;
}

function isDigitAt(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code >= 48 && code <= 57;
}

/** dpkg's verrevcmp: alternate non-digit runs (by characterOrder) and digit runs (by value). */
function compareVersionPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigitAt(a, i)) || (j < b.length && !isDigitAt(b, j))) {
      const difference = characterOrder(a, i) - characterOrder(b, j);
      if (difference !== 0) return Math.sign(difference);
      i += 1;
      j += 1;
    }
    const startA = i;
    const startB = j;
    while (isDigitAt(a, i)) i += 1;
    while (isDigitAt(b, j)) j += 1;
    const order = compareDigitRuns(a.slice(startA, i), b.slice(startB, j));
    if (order !== 0) return order;
  }
  return 0;
}

/** Compares two runs of digits by numeric value without overflowing (an empty run is 0). */
function compareDigitRuns(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  if (x === y) return 0;
  return x < y ? -1 : 1;
}

/**
 * True for a valid package name (Policy §5.6.1): lowercase letters, digits, `+ . -`, starting with a
 * letter or digit, at least 2 and at most {@link MAX_DEBIAN_PACKAGE_NAME_LENGTH} characters.
 */
export function isDebianPackageName(name: string): boolean {
  return name.length <= MAX_DEBIAN_PACKAGE_NAME_LENGTH && PACKAGE_NAME.test(name);
}

/**
 * The N of a trailing `+bN` (a binary-only NMU, N ≥ 1 without leading zeros), or undefined when
 * the version does not end in one.
 */
export function binNmuSuffix(version: DebianVersion): number | undefined {
  const match = BIN_NMU.exec(version.text);
  if (!match) return undefined;
  const n = Number(match[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}
