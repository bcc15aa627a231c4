// The `environment` of an rbnet.manifest/v1: the image by digest and every determinism input the
// runner sets (env, locale, time zone, umask, uid/gid, hostname, build path, SOURCE_DATE_EPOCH).

import { segmentProblem } from '../relative-path.ts';
import type { ManifestEnvironment } from './manifest.ts';
import {
  checkFields,
  invalid,
  isJsonObject,
  preview,
  readInteger,
  readOctal,
  readPattern,
  readSha256,
} from './manifest-fields.ts';

// Format rules, fixed by rbnet.manifest/v1 itself (changing one is a new schema version).
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_ENV_ENTRIES = 256;
const MAX_ENV_VALUE_CHARS = 4096;
/** The runner derives these from the dedicated fields; a second source for them would be ambiguous. */
const RESERVED_ENV_KEYS: ReadonlyMap<string, string> = new Map([
  ['SOURCE_DATE_EPOCH', 'environment.sourceDateEpoch'],
  ['TZ', 'environment.timezone'],
  ['LANG', 'environment.locale'],
  ['LC_ALL', 'environment.locale'],
]);
const LOCALE = /^[A-Za-z0-9._@-]{1,64}$/;
// No leading or trailing "/", no "//": TZ must name a zone, never a file path glibc would open.
const TIMEZONE = /^(?!.*\/\/)(?!.*\/$)[A-Za-z0-9_+-][A-Za-z0-9_+/-]{0,63}$/;
const HOSTNAME_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** Linux HOST_NAME_MAX: sethostname(2) refuses longer names, so a longer one could never be built. */
const MAX_HOSTNAME_CHARS = 64;
const MAX_UID = 65_535;
const BUILD_PATH_CHARS = /^[A-Za-z0-9._+/-]+$/;
const MAX_BUILD_PATH_CHARS = 255;
/** Host-owned trees a build must never be placed in, even inside its own container. */
const FORBIDDEN_BUILD_PATH_ROOTS: readonly string[] = [
  '/proc',
  '/sys',
  '/dev',
  '/etc',
  '/bin',
  '/sbin',
  '/usr',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/var/run',
  '/run',
];
/** 9999-12-31T23:59:59Z, the last second a four-digit year can show. */
const MAX_SOURCE_DATE_EPOCH = 253_402_300_799;

/** The checked `environment` object. */
export function readEnvironment(value: unknown): ManifestEnvironment {
  const path = 'environment';
  const env = checkFields(value, path, {
    required: [
      'image',
      'env',
      'locale',
      'timezone',
      'umask',
      'uid',
      'gid',
      'hostname',
      'buildPath',
      'sourceDateEpoch',
    ],
  });
  const image = checkFields(env.image, 'environment.image', { required: ['sha256'] });
  return {
    imageSha256: readSha256(image.sha256, 'environment.image.sha256'),
    env: readEnvMap(env.env, 'environment.env'),
    locale: readPattern(
      env.locale,
      'environment.locale',
      LOCALE,
      'a locale like "C.UTF-8" matching ^[A-Za-z0-9._@-]{1,64}$',
    ),
    timezone: readPattern(
      env.timezone,
      'environment.timezone',
      TIMEZONE,
      'a time zone name like "UTC" or "Europe/Berlin" (1-64 of [A-Za-z0-9_+-/], no leading, trailing or doubled "/")',
    ),
    umask: readOctal(env.umask, 'environment.umask', 'a string of 3-4 octal digits like "0022"'),
    uid: readInteger(env.uid, 'environment.uid', 0, MAX_UID),
    gid: readInteger(env.gid, 'environment.gid', 0, MAX_UID),
    hostname: readHostname(env.hostname, 'environment.hostname'),
    buildPath: readBuildPath(env.buildPath, 'environment.buildPath'),
    sourceDateEpoch: readInteger(
      env.sourceDateEpoch,
      'environment.sourceDateEpoch',
      0,
      MAX_SOURCE_DATE_EPOCH,
    ),
  };
}

function readEnvMap(value: unknown, path: string): Readonly<Record<string, string>> {
  if (!isJsonObject(value))
    invalid(path, `expected an object of environment variables, got ${preview(value)}`);
  // Sorted like JCS, so manifests with one digest hand the build one environment block in one order.
  const keys = Object.keys(value).sort();
  if (keys.length > MAX_ENV_ENTRIES)
    invalid(path, `has ${keys.length} entries, more than ${MAX_ENV_ENTRIES}`);
  // Null prototype: a variable may be called __proto__ or constructor and stays plain data.
  const out: Record<string, string> = Object.create(null);
  for (const key of keys) {
    const keyPath = `${path}.${key}`;
    if (!ENV_KEY.test(key)) {
      invalid(
        `${path}[${JSON.stringify(key)}]`,
        'expected a variable name matching ^[A-Za-z_][A-Za-z0-9_]{0,127}$',
      );
    }
    const owner = RESERVED_ENV_KEYS.get(key);
    if (owner !== undefined) {
      invalid(keyPath, `${key} is reserved: the runner sets it from ${owner}, so it must not appear in env`);
    }
    const v = value[key];
    if (typeof v !== 'string' || v.length > MAX_ENV_VALUE_CHARS || v.includes('\u0000')) {
      invalid(
        keyPath,
        `expected a string of at most ${MAX_ENV_VALUE_CHARS} characters without NUL, got ${preview(v)}`,
      );
    }
    out[key] = v;
  }
  return out;
}

function readHostname(value: unknown, path: string): string {
  const expect = `a hostname of RFC 1123 labels (1-63 of [A-Za-z0-9-], no leading or trailing "-") joined by ".", at most ${MAX_HOSTNAME_CHARS} characters`;
  if (typeof value !== 'string' || value.length > MAX_HOSTNAME_CHARS)
    invalid(path, `expected ${expect}, got ${preview(value)}`);
  if (!value.split('.').every((label) => HOSTNAME_LABEL.test(label)))
    invalid(path, `expected ${expect}, got ${preview(value)}`);
  return value;
}

function readBuildPath(value: unknown, path: string): string {
  const expect =
    `an absolute normalised POSIX path of [A-Za-z0-9._+/-], at most ${MAX_BUILD_PATH_CHARS} characters, ` +
    'like "/build/hello"';
  if (typeof value !== 'string') invalid(path, `expected ${expect}, got ${preview(value)}`);
  if (!value.startsWith('/'))
    invalid(path, `expected ${expect}, got ${preview(value)} which is not absolute`);
  if (value === '/') invalid(path, 'must not be "/": the build needs its own directory');
  if (value.length > MAX_BUILD_PATH_CHARS || !BUILD_PATH_CHARS.test(value)) {
    invalid(path, `expected ${expect}, got ${preview(value)}`);
  }
  const problem = segmentProblem(value.slice(1).split('/'));
  if (problem !== undefined) invalid(path, `expected ${expect}, got ${preview(value)} which ${problem}`);
  const root = FORBIDDEN_BUILD_PATH_ROOTS.find((r) => value === r || value.startsWith(`${r}/`));
  if (root !== undefined) {
    invalid(
      path,
      `must not be ${root} or under it (${FORBIDDEN_BUILD_PATH_ROOTS.join(', ')} belong to the system)`,
    );
  }
  return value;
}
