// The rbnet.debian/v1 boundary: untrusted bytes in, a frozen ParsedDebianManifest out, or a
// ManifestError naming the field. It checks shape only; the .buildinfo itself is parsed by whoever
// holds its bytes (coordinator at intake, every worker again before it builds).
import { sha256Hex } from '../digest.ts';
import { canonicalizeJcs } from '../jcs.ts';
import { parseStrictJson } from '../strict-json.ts';
import {
  DEBIAN_MANIFEST_SCHEMA_V1,
  type DebianManifest,
  type DebianSourceFiles,
  type DebianSourceFromArchive,
  type ParsedDebianManifest,
} from './debian-manifest.ts';
import {
  checkFields,
  decodeWithinLimit,
  deepFreeze,
  invalid,
  preview,
  readArray,
  readInteger,
  readPattern,
  readSha256,
} from './manifest-fields.ts';
import {
  defaultManifestLimits,
  type ManifestLimits,
  readClaimedOutputs,
  readResources,
} from './parse-manifest.ts';

const SOURCE_NAME = /^[a-z0-9][a-z0-9+.-]{1,127}$/;
// Policy §5.6.12 characters; the full grammar is checked where the .buildinfo is parsed.
const DEBIAN_VERSION = /^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~:-]{0,254}$/;
const ARCHITECTURE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const FILE_NAME = /^[A-Za-z0-9+_~][A-Za-z0-9+.~_%:-]{0,254}$/;
const MAX_SOURCE_FILES = 64;
const MAX_TIME_LIMIT_SECONDS = 86_400;

/**
 * Parses and checks an rbnet.debian/v1 document (docs/debian.md). Same order and limits as
 * parseManifest: size first, strict JSON, then fields; unknown fields are refused.
 */
export function parseDebianManifest(
  bytes: Uint8Array | string,
  limits: Partial<ManifestLimits> = {},
): ParsedDebianManifest {
  const bounds: ManifestLimits = { ...defaultManifestLimits, ...limits };
  const text = decodeWithinLimit(bytes, bounds.maxManifestBytes);
  const document = parseStrictJson(text, { maxDepth: bounds.maxJsonDepth });
  return parsedDebianManifestFromDocument(document, bounds);
}

/** For callers that already decoded strict JSON (the dispatcher in parse-any-manifest.ts). */
export function parsedDebianManifestFromDocument(
  document: unknown,
  bounds: ManifestLimits,
): ParsedDebianManifest {
  const manifest = deepFreeze(readDebianManifest(document, bounds));
  const canonicalJson = canonicalizeJcs(document);
  return Object.freeze({ manifest, manifestSha256: sha256Hex(canonicalJson), canonicalJson });
}

function readDebianManifest(document: unknown, limits: ManifestLimits): DebianManifest {
  const fields = checkFields(document, '', {
    required: [
      'schema',
      'name',
      'version',
      'architecture',
      'backend',
      'buildinfoSha256',
      'source',
      'timeLimitSeconds',
    ],
    optional: ['claimedOutputs', 'resources'],
  });
  if (fields.schema !== DEBIAN_MANIFEST_SCHEMA_V1)
    invalid('schema', `expected "${DEBIAN_MANIFEST_SCHEMA_V1}", got ${preview(fields.schema)}`);
  if (fields.backend !== 'debian') invalid('backend', `expected "debian", got ${preview(fields.backend)}`);
  const claimedOutputs =
    fields.claimedOutputs === undefined ? [] : readClaimedOutputs(fields.claimedOutputs, limits);
  for (const [index, claim] of claimedOutputs.entries()) {
    if (claim.path.includes('/') || !claim.path.endsWith('.deb'))
      invalid(`claimedOutputs[${index}].path`, `expected a .deb file name, got ${preview(claim.path)}`);
  }
  return {
    schema: DEBIAN_MANIFEST_SCHEMA_V1,
    name: readPattern(fields.name, 'name', SOURCE_NAME, 'a Debian source package name'),
    version: readPattern(fields.version, 'version', DEBIAN_VERSION, 'a Debian version like "1:2.10-3"'),
    architecture: readPattern(
      fields.architecture,
      'architecture',
      ARCHITECTURE,
      'a Debian architecture name',
    ),
    backend: 'debian',
    buildinfoSha256: readSha256(fields.buildinfoSha256, 'buildinfoSha256'),
    source: readSource(fields.source),
    claimedOutputs,
    timeLimitSeconds: readInteger(fields.timeLimitSeconds, 'timeLimitSeconds', 1, MAX_TIME_LIMIT_SECONDS),
    resources: fields.resources === undefined ? {} : readResources(fields.resources),
  };
}

function readSource(value: unknown): DebianSourceFiles | DebianSourceFromArchive {
  const from = checkFields(value, 'source', { required: ['from'], optional: ['dsc', 'files'] }).from;
  if (from === 'archive') {
    checkFields(value, 'source', { required: ['from'] });
    return { from: 'archive' };
  }
  if (from !== 'files') invalid('source.from', `expected "archive" or "files", got ${preview(from)}`);
  const source = checkFields(value, 'source', { required: ['from', 'dsc', 'files'] });
  const files = readArray(source.files, 'source.files', 1, MAX_SOURCE_FILES).map((item, index) => {
    const path = `source.files[${index}]`;
    const file = checkFields(item, path, { required: ['name', 'sha256'] });
    return {
      name: readPattern(file.name, `${path}.name`, FILE_NAME, 'a plain file name'),
      sha256: readSha256(file.sha256, `${path}.sha256`),
    };
  });
  const names = new Set<string>();
  for (const [index, file] of files.entries()) {
    if (names.has(file.name)) invalid(`source.files[${index}].name`, `${preview(file.name)} is listed twice`);
    names.add(file.name);
  }
  const dsc = readPattern(source.dsc, 'source.dsc', FILE_NAME, 'the .dsc file name');
  if (!dsc.endsWith('.dsc') || !names.has(dsc))
    invalid('source.dsc', `must name a .dsc listed in source.files, got ${preview(dsc)}`);
  return { from: 'files', dsc, files };
}
