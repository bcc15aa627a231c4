// The fields of a .buildinfo (deb-buildinfo(5)), each parsed and checked on its own: Source, Binary,
// Architecture, Binary-Only-Changes, the .debs of Checksums-Sha256, Build-*, Installed-Build-Depends
// and Environment. Every refusal is a DebianFormatError naming its field.
import { DebianFormatError } from '../errors.ts';
import { type ControlFile, checkBinaryNames, words } from './control-file.ts';
import { type DebianVersion, isDebianPackageName, parseDebianVersion } from './debian-version.ts';

/** Limits for one .buildinfo; counts are entries, sizes are bytes unless named otherwise. */
export const BUILDINFO_LIMITS = Object.freeze({
  /** Largest file accepted, checked before decoding. */
  maxBytes: 1024 * 1024,
  /** Longest line, in characters (an Environment value plus its name and quotes fits). */
  maxLineLength: 128 * 1024,
  maxFields: 64,
  maxBinaries: 1000,
  maxFiles: 10_000,
  maxInstalledBuildDepends: 10_000,
  maxEnvironmentEntries: 1000,
  maxEnvironmentValueBytes: 64 * 1024,
  maxBuildTaintedBy: 64,
  /** In characters. */
  maxBuildPathLength: 4096,
});

/** The document name used for refusals not about one field. */
export const BUILDINFO_DOCUMENT = 'buildinfo';

/** A `.deb` or `.udeb` of the buildinfo, with what its `package_version_arch.deb` name says. */
export interface BuildinfoDeb extends ControlFile {
  readonly package: string;
  /** The version from the file name, which never carries an epoch. */
  readonly version: DebianVersion;
  /** An architecture name or `all`; always one the Architecture field lists. */
  readonly architecture: string;
  readonly type: 'deb' | 'udeb';
  /** True for automatic debug symbol packages (`*-dbgsym`). */
  readonly isDbgsym: boolean;
}

/** One `name[:arch] (= version)` of Installed-Build-Depends. */
export interface InstalledBuildDepend {
  readonly name: string;
  readonly architecture: string | undefined;
  readonly version: DebianVersion;
}

const ARCHITECTURE_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const ENVIRONMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TAINT_TAG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export function parseSourceField(value: string, version: DebianVersion) {
  const match = /^([^ ()]+)(?: \(([^ ()]+)\))?$/.exec(value);
  if (!match) throw new DebianFormatError('Source', 'expected "name" or "name (version)"');
  const source = match[1] as string;
  if (!isDebianPackageName(source)) {
    throw new DebianFormatError('Source', `${JSON.stringify(source)} is not a package name`);
  }
  const sourceVersion = match[2] === undefined ? version : parseDebianVersion(match[2], 'Source');
  return { source, sourceVersion };
}

export function parseBinaryField(value: string): string[] {
  return checkBinaryNames(words(value), BUILDINFO_LIMITS.maxBinaries);
}

/** True for a concrete architecture name (`amd64`, `hurd-i386`), not a wildcard, `all` or `source`. */
export function isConcreteArchitecture(name: string): boolean {
  return (
    name.length <= 64 &&
    ARCHITECTURE_NAME.test(name) &&
    name !== 'all' &&
    name !== 'source' &&
    !name.split('-').some((part) => part === 'any' || part === 'native')
  );
}

export function parseArchitectureField(value: string) {
  const architectures = words(value);
  const seen = new Set<string>();
  for (const name of architectures) {
    if (name !== 'source' && name !== 'all' && !isConcreteArchitecture(name)) {
      throw new DebianFormatError(
        'Architecture',
        `${JSON.stringify(name.slice(0, 80))} is not an architecture`,
      );
    }
    if (seen.has(name)) throw new DebianFormatError('Architecture', `lists ${name} twice`);
    seen.add(name);
  }
  const hostArchitectures = architectures.filter(isConcreteArchitecture);
  const buildsArchAll = seen.has('all');
  if (!buildsArchAll && hostArchitectures.length === 0) {
    throw new DebianFormatError(
      'Architecture',
      'names no binary architecture: nothing to rebuild into .debs',
    );
  }
  return {
    architectures,
    hostArchitectures,
    includesSource: seen.has('source'),
    buildsArchAll,
    buildsArchAny: hostArchitectures.length > 0,
  };
}

export function parseBinaryOnlyChanges(
  value: string | undefined,
  source: string,
  version: DebianVersion,
  binNmu: number | undefined,
): string | undefined {
  const field = 'Binary-Only-Changes';
  if (value === undefined) {
    if (binNmu !== undefined) {
      throw new DebianFormatError(field, `missing, but Version ${version.text} is a binNMU (+b${binNmu})`);
    }
    return undefined;
  }
  const lines = value
    .split('\n')
    .filter((line, index) => !(index === 0 && line === ''))
    .map((line) => (line === '.' ? '' : line));
  checkChangelogHeader(lines[0] ?? '', source, version);
  return lines.join('\n');
}

/** A changelog header `name (version) suite[ suite...]; key=value[, key=value...]` with urgency. */
export function checkChangelogHeader(header: string, source: string, version: DebianVersion): void {
  const field = 'Binary-Only-Changes';
  const match = /^(\S+) \((\S+)\) ([^;]+); (.+)$/.exec(header);
  if (!match) throw new DebianFormatError(field, 'the first line is not a changelog header');
  const [, name, headerVersion, suites, options] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (name !== source) throw new DebianFormatError(field, `the header names ${name}, not ${source}`);
  if (headerVersion !== version.text) {
    throw new DebianFormatError(field, `the header names version ${headerVersion}, not ${version.text}`);
  }
  if (!words(suites).every((suite) => /^[A-Za-z0-9][A-Za-z0-9+./-]*$/.test(suite))) {
    throw new DebianFormatError(field, 'the header names a malformed suite');
  }
  const keys = options.split(',').map((option) => /^\s*([A-Za-z][A-Za-z0-9-]*)=\S+\s*$/.exec(option)?.[1]);
  if (keys.some((key) => key === undefined) || !keys.some((key) => key?.toLowerCase() === 'urgency')) {
    throw new DebianFormatError(field, 'the header needs "key=value" options including urgency');
  }
}

/** Parses `package_version_arch.(u)deb` names of the file list; other files are not debs. */
export function debsOf(files: readonly ControlFile[], architectures: readonly string[]): BuildinfoDeb[] {
  const field = 'Checksums-Sha256';
  const debs: BuildinfoDeb[] = [];
  for (const file of files) {
    const type = file.name.endsWith('.deb') ? 'deb' : file.name.endsWith('.udeb') ? 'udeb' : undefined;
    if (type === undefined) continue;
    const parts = file.name.slice(0, -(type.length + 1)).split('_');
    const [pkg, versionText, architecture] = parts as [string, string, string];
    const shown = JSON.stringify(file.name);
    if (parts.length !== 3 || !isDebianPackageName(pkg)) {
      throw new DebianFormatError(field, `${shown} is not named package_version_architecture.${type}`);
    }
    if (versionText.includes(':')) throw new DebianFormatError(field, `${shown}: file names carry no epoch`);
    const version = parseDebianVersion(versionText, field);
    if (!architectures.includes(architecture) || architecture === 'source') {
      throw new DebianFormatError(
        field,
        `${shown} is for an architecture the Architecture field does not list`,
      );
    }
    debs.push({ ...file, package: pkg, version, architecture, type, isDbgsym: pkg.endsWith('-dbgsym') });
  }
  if (debs.length === 0) throw new DebianFormatError(field, 'lists no .deb or .udeb');
  return debs;
}

export function parseBuildArchitecture(value: string): string {
  if (!isConcreteArchitecture(value)) {
    throw new DebianFormatError(
      'Build-Architecture',
      `${JSON.stringify(value.slice(0, 80))} is not an architecture`,
    );
  }
  return value;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const RFC2822_DATE =
  /^(?:([A-Z][a-z]{2}), )?([0-9]{1,2}) ([A-Z][a-z]{2}) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})$/;

/** Build-Date as dpkg writes it (`%a, %d %b %Y %T %z`), checked field by field, as epoch seconds. */
export function parseBuildDate(text: string): { buildDate: string; buildDateEpochSeconds: number } {
  const refuse = (why: string) => new DebianFormatError('Build-Date', `${JSON.stringify(text)} ${why}`);
  const match = RFC2822_DATE.exec(text);
  if (!match) throw refuse('is not an RFC 2822 date like "Sun, 02 Oct 2022 12:20:35 +0000"');
  const part = (index: number) => Number(match[index]);
  const [day, year, hour, minute, second] = [part(2), part(4), part(5), part(6), part(7)];
  const [zoneHours, zoneMinutes] = [part(9), part(10)];
  const month = MONTHS.indexOf(match[3] as string);
  const local = new Date(Date.UTC(year, month, day, hour, minute, second));
  if (hour > 23 || minute > 59 || second > 59 || zoneHours > 23 || zoneMinutes > 59) {
    throw refuse('has a time or zone offset out of range');
  }
  if (month < 0 || year < 1970 || local.getUTCDate() !== day || local.getUTCMonth() !== month) {
    throw refuse('names no such day');
  }
  if (match[1] !== undefined && WEEKDAYS[local.getUTCDay()] !== match[1]) {
    throw refuse('has the wrong day of the week');
  }
  const offsetSeconds = (match[8] === '-' ? -1 : 1) * (zoneHours * 3600 + zoneMinutes * 60);
  return { buildDate: text, buildDateEpochSeconds: local.getTime() / 1000 - offsetSeconds };
}

export function parseBuildPath(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const refuse = (why: string) => new DebianFormatError('Build-Path', why);
  if (path.length > BUILDINFO_LIMITS.maxBuildPathLength) {
    throw refuse(`longer than ${BUILDINFO_LIMITS.maxBuildPathLength} characters`);
  }
  if (!path.startsWith('/')) throw refuse(`${JSON.stringify(path)} is not absolute`);
  if (/\s/.test(path)) throw refuse('holds whitespace');
  const segments = path.slice(1).split('/');
  if (segments.includes('..')) throw refuse(`${JSON.stringify(path)} holds '..'`);
  if (segments.some((segment) => segment === '' || segment === '.')) {
    throw refuse(`${JSON.stringify(path)} is not normalised (empty or '.' segments, or a trailing '/')`);
  }
  return path;
}

export function parseBuildTaintedBy(value: string | undefined): string[] {
  if (value === undefined) return [];
  const tags = words(value);
  if (tags.length > BUILDINFO_LIMITS.maxBuildTaintedBy) {
    throw new DebianFormatError(
      'Build-Tainted-By',
      `lists more than ${BUILDINFO_LIMITS.maxBuildTaintedBy} tags`,
    );
  }
  if (new Set(tags).size !== tags.length)
    throw new DebianFormatError('Build-Tainted-By', 'lists a tag twice');
  const bad = tags.find((tag) => !TAINT_TAG.test(tag));
  if (bad !== undefined) {
    throw new DebianFormatError('Build-Tainted-By', `${JSON.stringify(bad.slice(0, 80))} is not a tag`);
  }
  return tags;
}

const DEPENDENCY = /^([^\s:(),]+)(?::([^\s(),]+))? \((\S+) ([^\s()]+)\)$/;

export function parseInstalledBuildDepends(value: string): InstalledBuildDepend[] {
  const field = 'Installed-Build-Depends';
  const entries = value.split(',').map((entry) => entry.replace(/^[ \t\n]+|[ \t\n]+$/g, ''));
  if (entries.length > BUILDINFO_LIMITS.maxInstalledBuildDepends) {
    throw new DebianFormatError(
      field,
      `lists more than ${BUILDINFO_LIMITS.maxInstalledBuildDepends} packages`,
    );
  }
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const dependency = parseDependency(entry, index + 1);
    const key = `${dependency.name}:${dependency.architecture ?? ''}`;
    if (seen.has(key)) throw new DebianFormatError(field, `lists ${entry} twice`);
    seen.add(key);
    return dependency;
  });
}

export function parseDependency(entry: string, position: number): InstalledBuildDepend {
  const field = 'Installed-Build-Depends';
  const shown = `entry ${position} ${JSON.stringify(entry.slice(0, 120))}`;
  if (entry === '')
    throw new DebianFormatError(field, `entry ${position} is empty (two commas or a trailing comma)`);
  const match = DEPENDENCY.exec(entry);
  if (!match)
    throw new DebianFormatError(field, `${shown} is not "name (= version)" or "name:arch (= version)"`);
  const [, name, architecture, relation, versionText] = match as unknown as [
    string,
    string,
    string | undefined,
    string,
    string,
  ];
  if (relation !== '=') throw new DebianFormatError(field, `${shown} must pin an exact version with "="`);
  if (!isDebianPackageName(name)) throw new DebianFormatError(field, `${shown} does not name a package`);
  if (architecture !== undefined && architecture !== 'all' && !isConcreteArchitecture(architecture)) {
    throw new DebianFormatError(field, `${shown} has an architecture qualifier that is not an architecture`);
  }
  return { name, architecture, version: parseDebianVersion(versionText, field) };
}

export function parseEnvironment(value: string | undefined): (readonly [string, string])[] {
  if (value === undefined) return [];
  const field = 'Environment';
  const lines = value.split('\n').filter((line, index) => !(index === 0 && line === ''));
  if (lines.length > BUILDINFO_LIMITS.maxEnvironmentEntries) {
    throw new DebianFormatError(field, `has more than ${BUILDINFO_LIMITS.maxEnvironmentEntries} variables`);
  }
  const seen = new Set<string>();
  return lines.map((line, index) => {
    const entry = parseEnvironmentLine(line.replace(/^[ \t]+|[ \t]+$/g, ''), index + 1);
    if (seen.has(entry[0])) throw new DebianFormatError(field, `sets ${entry[0]} twice`);
    seen.add(entry[0]);
    return entry;
  });
}

/** `NAME="value"` with `\"` and `\\` the only escapes inside the quotes. */
export function parseEnvironmentLine(line: string, position: number): readonly [string, string] {
  const field = 'Environment';
  const equals = line.indexOf('=');
  const name = equals < 0 ? line : line.slice(0, equals);
  if (equals < 0 || !ENVIRONMENT_NAME.test(name)) {
    throw new DebianFormatError(field, `line ${position} is not NAME="value"`);
  }
  if (line[equals + 1] !== '"')
    throw new DebianFormatError(field, `${name}: the value must be double-quoted`);
  let value = '';
  let index = equals + 2;
  for (; index < line.length && line[index] !== '"'; index += 1) {
    if (line[index] === '\\') {
      index += 1;
      if (line[index] !== '"' && line[index] !== '\\') {
        throw new DebianFormatError(field, `${name}: only \\" and \\\\ may be escaped`);
      }
    }
    value += line[index];
  }
  if (index >= line.length) throw new DebianFormatError(field, `${name}: the quoted value is not terminated`);
  if (index !== line.length - 1) throw new DebianFormatError(field, `${name}: text after the closing quote`);
  if (Buffer.byteLength(value) > BUILDINFO_LIMITS.maxEnvironmentValueBytes) {
    throw new DebianFormatError(
      field,
      `${name}: value longer than ${BUILDINFO_LIMITS.maxEnvironmentValueBytes} bytes`,
    );
  }
  return [name, value];
}

export function environmentRecord(entries: readonly (readonly [string, string])[]): Record<string, string> {
  const record: Record<string, string> = Object.create(null);
  for (const [name, value] of entries) record[name] = value;
  return record;
}
