// The rbnet.manifest/v1 boundary: untrusted bytes in, a deeply frozen ParsedManifest out, or a ManifestError naming the field.
import { isSha256Hex, type Sha256Hex, sha256Hex } from '../digest.ts';
import { ManifestError } from '../errors.ts';
import { canonicalizeJcs } from '../jcs.ts';
import { EXPECT_RELATIVE_PATH, relativePathProblem, segmentProblem } from '../relative-path.ts';
import { parseStrictJson } from '../strict-json.ts';
import {
  type ClaimedOutput,
  type InputLocation,
  MANIFEST_SCHEMA_V1,
  type Manifest,
  type ManifestBuild,
  type ManifestEnvironment,
  type ManifestInput,
  type ManifestResources,
  type ParsedManifest,
} from './manifest.ts';

/** Deployment-tunable bounds on a manifest. The JSON Schema (manifest.schema.json) states the defaults. */
export interface ManifestLimits {
  /** Largest manifest accepted, in bytes of UTF-8; checked before anything is decoded. */
  readonly maxManifestBytes: number;
  /** Deepest nesting of arrays/objects; a valid v1 manifest needs 4. */
  readonly maxJsonDepth: number;
  /** Most entries in `inputs`. */
  readonly maxInputs: number;
  /** Most entries in `claimedOutputs`. */
  readonly maxClaimedOutputs: number;
}

/** 256 KiB, depth 16, 10,000 inputs, 100,000 claimed outputs. */
export const defaultManifestLimits: ManifestLimits = Object.freeze({
  maxManifestBytes: 256 * 1024,
  maxJsonDepth: 16,
  maxInputs: 10_000,
  maxClaimedOutputs: 100_000,
});

// Format rules, fixed by rbnet.manifest/v1 itself (changing one is a new schema version).
const SUPPORTED_SCHEMAS: readonly string[] = [MANIFEST_SCHEMA_V1];
const NAME = /^[a-z0-9][a-z0-9._+-]{0,127}$/;
const ARCHITECTURE = /^[a-z0-9][a-z0-9-]{0,31}$/;
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
const OCTAL_MODE = /^[0-7]{3,4}$/;
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
const CAS_LOCATION = /^cas:sha256:([0-9a-f]{64})$/;
const URL_LIKE = /^(?:[A-Za-z][A-Za-z0-9+.-]*:|\/\/|\\\\)/;
const MAX_ARGV_ENTRIES = 1024;
const MAX_ARG_CHARS = 4096;
const MAX_TIME_LIMIT_SECONDS = 86_400;
const DEFAULT_INPUT_MODE = 0o644;
// Generous ceilings that still catch unit mistakes (a size in bits, a count of threads in millis):
// 1024 cores and 1 PiB are beyond any worker rbnet expects, and 2^50 stays far below 2^53.
const MAX_MIN_CORES = 1024;
const MAX_MIN_BYTES = 2 ** 50;
/** sha256 of zero bytes: any build can emit an empty file, so an empty input proves nothing was copied. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const EXPECT_SHA256 = 'a sha256 digest as 64 lowercase hex characters';

type JsonObject = Record<string, unknown>;

/**
 * Parses and checks an rbnet.manifest/v1 document (see docs/manifest.md).
 *
 * Order: size (`maxManifestBytes`, default 256 KiB, before any decoding), UTF-8 validity, strict JSON
 * (no duplicate keys, integers only, depth `maxJsonDepth`), then shape and meaning field by field, then
 * the rules that relate fields (unique paths, outputs vs inputs). Unknown fields are refused anywhere.
 *
 * @param bytes the manifest as received: UTF-8 bytes, or a string already decoded.
 * @param limits overrides for `defaultManifestLimits`.
 * @returns a deeply frozen manifest, its JCS (RFC 8785) canonical JSON and the sha256 of that JSON.
 *   The digest covers the document as written: omitting a defaulted field and writing its default
 *   give different digests.
 * @throws ManifestError `MANIFEST_TOO_LARGE`, `MANIFEST_JSON` (not UTF-8 or not strict JSON), or
 *   `MANIFEST_INVALID`; the message starts with the field's JSON path, e.g. `environment.umask: ...`.
 */
export function parseManifest(
  bytes: Uint8Array | string,
  limits: Partial<ManifestLimits> = {},
): ParsedManifest {
  const bounds: ManifestLimits = { ...defaultManifestLimits, ...limits };
  const text = decodeWithinLimit(bytes, bounds.maxManifestBytes);
  const document = parseStrictJson(text, { maxDepth: bounds.maxJsonDepth });
  const manifest = deepFreeze(readManifest(document, bounds));
  const canonicalJson = canonicalizeJcs(document);
  return Object.freeze({ manifest, manifestSha256: sha256Hex(canonicalJson), canonicalJson });
}

export function decodeWithinLimit(bytes: Uint8Array | string, maxBytes: number): string {
  if (typeof bytes === 'string') {
    // Every UTF-16 code unit takes at least one UTF-8 byte, so a long string is refused without encoding it.
    const size = bytes.length > maxBytes ? bytes.length : Buffer.byteLength(bytes, 'utf8');
    if (size > maxBytes) throw tooLarge(size, maxBytes);
    return bytes;
  }
  if (bytes.byteLength > maxBytes) throw tooLarge(bytes.byteLength, maxBytes);
  try {
    // ignoreBOM keeps a BOM in the text so strict JSON refuses it instead of it vanishing silently.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw new ManifestError(
      'MANIFEST_JSON',
      `$: manifest is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8Offset(bytes)})`,
      { cause },
    );
  }
}

function tooLarge(size: number, maxBytes: number): ManifestError {
  return new ManifestError(
    'MANIFEST_TOO_LARGE',
    `$: manifest is ${size} bytes, more than the limit of ${maxBytes} bytes (maxManifestBytes)`,
  );
}

function readManifest(document: unknown, limits: ManifestLimits): Manifest {
  if (!isJsonObject(document))
    invalid('$', `expected the manifest to be a JSON object, got ${preview(document)}`);
  // The version decides which fields exist, so a newer manifest hears about its version, not its fields.
  const schema = document.schema;
  if (typeof schema === 'string' && !SUPPORTED_SCHEMAS.includes(schema)) {
    invalid(
      'schema',
      `unsupported manifest schema ${preview(schema)}; this parser supports ${SUPPORTED_SCHEMAS.map((s) => `"${s}"`).join(', ')}`,
    );
  }
  checkFields(document, '', {
    required: ['schema', 'name', 'architecture', 'backend', 'environment', 'inputs', 'build', 'outputDir'],
    optional: ['claimedOutputs', 'resources'],
  });
  if (schema !== MANIFEST_SCHEMA_V1)
    invalid('schema', `expected "${MANIFEST_SCHEMA_V1}", got ${preview(schema)}`);
  const name = readPattern(document.name, 'name', NAME, 'a name matching ^[a-z0-9][a-z0-9._+-]{0,127}$');
  const architecture = readPattern(
    document.architecture,
    'architecture',
    ARCHITECTURE,
    'a Debian architecture name like "amd64" matching ^[a-z0-9][a-z0-9-]{0,31}$',
  );
  if (document.backend !== 'generic') {
    invalid(
      'backend',
      `expected "generic" (the only backend of ${MANIFEST_SCHEMA_V1}), got ${preview(document.backend)}`,
    );
  }
  const environment = readEnvironment(document.environment);
  const inputs = readInputs(document.inputs, limits);
  const build = readBuild(document.build);
  if (document.outputDir === '.') {
    invalid('outputDir', 'must not be "." (outputs are kept apart from inputs, in a directory of their own)');
  }
  const outputDir = readRelativePath(document.outputDir, 'outputDir');
  const claimedOutputs =
    document.claimedOutputs === undefined ? [] : readClaimedOutputs(document.claimedOutputs, limits);
  const resources = document.resources === undefined ? {} : readResources(document.resources);

  checkInputLayout(inputs);
  checkAgainstInputs(build.workingDir, 'build.workingDir', inputs, false);
  checkAgainstInputs(outputDir, 'outputDir', inputs, true);
  checkClaimedOutputs(claimedOutputs, inputs);

  return {
    schema: MANIFEST_SCHEMA_V1,
    name,
    architecture,
    backend: 'generic',
    environment,
    inputs,
    build,
    outputDir,
    claimedOutputs,
    resources,
  };
}

function readEnvironment(value: unknown): ManifestEnvironment {
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

function readInputs(value: unknown, limits: ManifestLimits): ManifestInput[] {
  const items = readArray(value, 'inputs', 0, limits.maxInputs);
  return items.map((item, i) => {
    const path = `inputs[${i}]`;
    const input = checkFields(item, path, { required: ['path', 'sha256', 'location'], optional: ['mode'] });
    const destination = readRelativePath(input.path, `${path}.path`);
    const sha256 = readSha256(input.sha256, `${path}.sha256`);
    const location = readLocation(input.location, `${path}.location`, sha256, `${path}.sha256`);
    const mode =
      input.mode === undefined
        ? DEFAULT_INPUT_MODE
        : readOctal(
            input.mode,
            `${path}.mode`,
            'a string of 3-4 octal digits of permission bits like "0644" or "0755"',
          );
    return { path: destination, sha256, location, mode };
  });
}

function readLocation(value: unknown, path: string, sha256: Sha256Hex, sha256Path: string): InputLocation {
  if (typeof value !== 'string') {
    invalid(path, `expected "cas:sha256:<64 hex>" or a path relative to the manifest, got ${preview(value)}`);
  }
  if (value.startsWith('cas:')) {
    const match = CAS_LOCATION.exec(value);
    if (match === null) invalid(path, `expected "cas:sha256:<64 lowercase hex>", got ${preview(value)}`);
    if (match[1] !== sha256) {
      invalid(
        path,
        `content-store digest ${match[1]} differs from ${sha256Path} ${sha256}; they must be the same`,
      );
    }
    return { kind: 'cas', sha256 };
  }
  if (URL_LIKE.test(value)) {
    invalid(
      path,
      `URLs are never allowed (got ${preview(value)}): a worker fetches nothing by name; ` +
        'give a path relative to the manifest or "cas:sha256:<hex>"',
    );
  }
  return { kind: 'path', relativePath: readRelativePath(value, path) };
}

function readBuild(value: unknown): ManifestBuild {
  const build = checkFields(value, 'build', { required: ['argv', 'workingDir', 'timeLimitSeconds'] });
  const argv = readArray(build.argv, 'build.argv', 1, MAX_ARGV_ENTRIES).map((arg, i) => {
    if (typeof arg !== 'string' || arg.length === 0 || arg.length > MAX_ARG_CHARS || arg.includes('\u0000')) {
      invalid(
        `build.argv[${i}]`,
        `expected a string of 1-${MAX_ARG_CHARS} characters without NUL, got ${preview(arg)}`,
      );
    }
    return arg;
  });
  const workingDir = build.workingDir === '.' ? '.' : readRelativePath(build.workingDir, 'build.workingDir');
  return {
    argv,
    workingDir,
    timeLimitSeconds: readInteger(
      build.timeLimitSeconds,
      'build.timeLimitSeconds',
      1,
      MAX_TIME_LIMIT_SECONDS,
    ),
  };
}

export function readClaimedOutputs(value: unknown, limits: ManifestLimits): ClaimedOutput[] {
  return readArray(value, 'claimedOutputs', 0, limits.maxClaimedOutputs).map((item, i) => {
    const path = `claimedOutputs[${i}]`;
    const output = checkFields(item, path, { required: ['path', 'sha256'] });
    return {
      path: readRelativePath(output.path, `${path}.path`),
      sha256: readSha256(output.sha256, `${path}.sha256`),
    };
  });
}

/** Only the fields the document states appear, so `{}` and a missing `resources` read the same. */
export function readResources(value: unknown): ManifestResources {
  const resources = checkFields(value, 'resources', {
    required: [],
    optional: ['minCores', 'minMemoryBytes', 'minDiskBytes'],
  });
  return {
    ...(resources.minCores !== undefined && {
      minCores: readInteger(resources.minCores, 'resources.minCores', 1, MAX_MIN_CORES),
    }),
    ...(resources.minMemoryBytes !== undefined && {
      minMemoryBytes: readInteger(resources.minMemoryBytes, 'resources.minMemoryBytes', 1, MAX_MIN_BYTES),
    }),
    ...(resources.minDiskBytes !== undefined && {
      minDiskBytes: readInteger(resources.minDiskBytes, 'resources.minDiskBytes', 1, MAX_MIN_BYTES),
    }),
  };
}

/** Input paths are files: unique, and none may be a directory another input sits in. */
function checkInputLayout(inputs: readonly ManifestInput[]): void {
  checkFileLayout(
    inputs.map((input) => input.path),
    'inputs',
  );
}

function checkClaimedOutputs(outputs: readonly ClaimedOutput[], inputs: readonly ManifestInput[]): void {
  checkFileLayout(
    outputs.map((output) => output.path),
    'claimedOutputs',
  );
  const inputBySha = new Map<string, number>();
  inputs.forEach((input, i) => {
    if (input.sha256 !== EMPTY_SHA256 && !inputBySha.has(input.sha256)) inputBySha.set(input.sha256, i);
  });
  outputs.forEach((output, i) => {
    const j = inputBySha.get(output.sha256);
    if (j !== undefined) {
      invalid(
        `claimedOutputs[${i}].sha256 equals inputs[${j}].sha256`,
        'a published output handed in as an input could be copied out instead of rebuilt, so this is not a rebuild',
      );
    }
  });
}

function checkFileLayout(paths: readonly string[], field: string): void {
  const indexByPath = new Map<string, number>();
  paths.forEach((p, i) => {
    const earlier = indexByPath.get(p);
    if (earlier !== undefined)
      invalid(`${field}[${i}].path`, `duplicates ${field}[${earlier}].path ${preview(p)}`);
    indexByPath.set(p, i);
  });
  paths.forEach((p, i) => {
    for (const dir of ancestorsOf(p)) {
      const j = indexByPath.get(dir);
      if (j !== undefined) {
        invalid(
          `${field}[${i}].path`,
          `${preview(p)} lies inside ${field}[${j}].path ${preview(dir)}, which is a file`,
        );
      }
    }
  });
}

/**
 * A directory given relative to buildPath must not collide with an input file: not equal to one, not
 * inside one, and (when `mustNotContain`) not a directory that holds one.
 */
function checkAgainstInputs(
  dir: string,
  field: string,
  inputs: readonly ManifestInput[],
  mustNotContain: boolean,
): void {
  if (dir === '.') return;
  const dirAncestors = new Set([dir, ...ancestorsOf(dir)]);
  inputs.forEach((input, i) => {
    if (dirAncestors.has(input.path)) {
      invalid(
        field,
        `${preview(dir)} is or lies inside inputs[${i}].path ${preview(input.path)}, which is a file`,
      );
    }
    if (mustNotContain && input.path.startsWith(`${dir}/`)) {
      invalid(
        field,
        `${preview(dir)} contains inputs[${i}].path ${preview(input.path)}; outputs must be kept apart from inputs`,
      );
    }
  });
}

function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let at = path.indexOf('/'); at !== -1; at = path.indexOf('/', at + 1)) out.push(path.slice(0, at));
  return out;
}

export function readRelativePath(value: unknown, path: string): string {
  if (typeof value !== 'string') invalid(path, `expected ${EXPECT_RELATIVE_PATH}, got ${preview(value)}`);
  const problem = relativePathProblem(value);
  if (problem !== undefined)
    invalid(path, `expected ${EXPECT_RELATIVE_PATH}, got ${preview(value)} which ${problem}`);
  return value;
}

export function readSha256(value: unknown, path: string): Sha256Hex {
  if (!isSha256Hex(value)) invalid(path, `expected ${EXPECT_SHA256}, got ${preview(value)}`);
  return value;
}

export function readPattern(value: unknown, path: string, pattern: RegExp, expect: string): string {
  if (typeof value !== 'string' || !pattern.test(value))
    invalid(path, `expected ${expect}, got ${preview(value)}`);
  return value;
}

/** Octal strings only carry permission bits (at most 0o777): setuid/setgid/sticky never come from a manifest. */
function readOctal(value: unknown, path: string, expect: string): number {
  if (typeof value !== 'string' || !OCTAL_MODE.test(value))
    invalid(path, `expected ${expect}, got ${preview(value)}`);
  const bits = Number.parseInt(value, 8);
  if (bits > 0o777) invalid(path, `expected ${expect}, got ${preview(value)} which sets bits above 0777`);
  return bits;
}

export function readInteger(value: unknown, path: string, min: number, max: number): number {
  // parseStrictJson only yields safe integers, so a number here is already an integer.
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(path, `expected an integer ${min}..${max}, got ${preview(value)}`);
  }
  return value;
}

export function readArray(value: unknown, path: string, minItems: number, maxItems: number): unknown[] {
  if (!Array.isArray(value)) invalid(path, `expected an array, got ${preview(value)}`);
  if (value.length < minItems)
    invalid(path, `expected ${minItems} to ${maxItems} entries, got ${value.length}`);
  if (value.length > maxItems)
    invalid(path, `has ${value.length} entries, more than the limit of ${maxItems}`);
  return value;
}

/** Unknown fields first (a typo names itself), then missing ones. */
export function checkFields(
  value: unknown,
  path: string,
  fields: { readonly required: readonly string[]; readonly optional?: readonly string[] },
): JsonObject {
  const where = path === '' ? '$' : path;
  if (!isJsonObject(value)) invalid(where, `expected an object, got ${preview(value)}`);
  const allowed = [...fields.required, ...(fields.optional ?? [])];
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      invalid(
        childPath(path, key),
        `unknown field; ${where} allows only ${allowed.join(', ')} (a worker never ignores what the publisher wrote)`,
      );
    }
  }
  for (const key of fields.required) {
    if (!Object.hasOwn(value, key)) invalid(childPath(path, key), 'required field is missing');
  }
  return value;
}

function childPath(parent: string, key: string): string {
  const safe = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key);
  if (parent === '') return safe ? key : `$[${JSON.stringify(key)}]`;
  return safe ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function preview(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    return value.length > 80
      ? `${JSON.stringify(value.slice(0, 80))}... (${value.length} characters)`
      : JSON.stringify(value);
  }
  return `${typeof value} ${String(value)}`;
}

export function invalid(path: string, what: string): never {
  throw new ManifestError('MANIFEST_INVALID', `${path}: ${what}`);
}

function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // Binary search on prefixes would misfire on truncated sequences; a linear scan of lead bytes is exact.
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0) return i;
    try {
      decoder.decode(bytes.subarray(i, i + length));
    } catch {
      return i;
    }
    i += length;
  }
  return i;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}
