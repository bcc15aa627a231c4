// One entry for every manifest kind the network carries: the `schema` field picks the parser.
import type { Sha256Hex } from '../digest.ts';
import { ManifestError } from '../errors.ts';
import { parseStrictJson } from '../strict-json.ts';
import { DEBIAN_MANIFEST_SCHEMA_V1, type ParsedDebianManifest } from './debian-manifest.ts';
import { MANIFEST_SCHEMA_V1, type ParsedManifest } from './manifest.ts';
import { decodeWithinLimit, isJsonObject } from './manifest-fields.ts';
import { parsedDebianManifestFromDocument } from './parse-debian-manifest.ts';
import { defaultManifestLimits, type ManifestLimits, parseManifest } from './parse-manifest.ts';

export type AnyParsedManifest =
  | (ParsedManifest & { readonly kind: 'generic' })
  | (ParsedDebianManifest & { readonly kind: 'debian' });

/** Parses a generic (rbnet.manifest/v1) or Debian (rbnet.debian/v1) manifest, chosen by `schema`. */
export function parseAnyManifest(
  bytes: Uint8Array | string,
  limits: Partial<ManifestLimits> = {},
): AnyParsedManifest {
  const bounds: ManifestLimits = { ...defaultManifestLimits, ...limits };
  const text = decodeWithinLimit(bytes, bounds.maxManifestBytes);
  const document = parseStrictJson(text, { maxDepth: bounds.maxJsonDepth });
  if (isJsonObject(document) && document.schema === DEBIAN_MANIFEST_SCHEMA_V1) {
    return Object.freeze({ kind: 'debian', ...parsedDebianManifestFromDocument(document, bounds) });
  }
  if (
    isJsonObject(document) &&
    document.schema !== MANIFEST_SCHEMA_V1 &&
    typeof document.schema === 'string'
  ) {
    throw new ManifestError(
      'MANIFEST_INVALID',
      `schema: unsupported manifest schema ${JSON.stringify(document.schema.slice(0, 80))}; supported: "${MANIFEST_SCHEMA_V1}", "${DEBIAN_MANIFEST_SCHEMA_V1}"`,
    );
  }
  return Object.freeze({ kind: 'generic', ...parseManifest(text, bounds) });
}

/** Files a manifest pins by digest that must be in the content store before it is accepted. */
export function manifestStoredInputs(
  parsed: AnyParsedManifest,
): readonly { path: string; sha256: Sha256Hex }[] {
  if (parsed.kind === 'generic') {
    // The network fetches every input from the content store by digest, whatever its location says.
    return parsed.manifest.inputs.map((input) => ({ path: input.path, sha256: input.sha256 }));
  }
  const { manifest } = parsed;
  const sourceFiles =
    manifest.source.from === 'files'
      ? manifest.source.files.map((f) => ({ path: f.name, sha256: f.sha256 }))
      : [];
  return [{ path: `${manifest.name}.buildinfo`, sha256: manifest.buildinfoSha256 }, ...sourceFiles];
}
