// The rbnet.manifest/v1 boundary: untrusted bytes in, a deeply frozen ParsedManifest out, or a ManifestError naming the field.
import { type Sha256Hex, sha256Hex } from '../digest.ts';
import { canonicalizeJcs } from '../jcs.ts';
import { parseStrictJson } from '../strict-json.ts';
import {
  type ClaimedOutput,
  type InputLocation,
  MANIFEST_SCHEMA_V1,
  type Manifest,
  type ManifestBuild,
  type ManifestInput,
  type ManifestResources,
  type ParsedManifest,
} from './manifest.ts';
import {
  checkFields,
  decodeWithinLimit,
  deepFreeze,
  invalid,
  isJsonObject,
  preview,
  readArray,
  readInteger,
  readOctal,
  readPattern,
  readRelativePath,
  readSha256,
} from './manifest-fields.ts';
import { checkAgainstInputs, checkClaimedOutputs, checkInputLayout } from './manifest-file-layout.ts';
import { readEnvironment } from './read-manifest-environment.ts';

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
