// One parsed build context per manifest: the stored manifest is parsed once (kept in a small LRU
// keyed by its digest) and its backend bound once, for every step that needs it (scheduling,
// intake, decision, publication).
import type { Sha256Hex } from '../../services/digest.ts';
import { type AnyParsedManifest, parseAnyManifest } from '../../services/manifest/parse-any-manifest.ts';
import { defaultManifestLimits } from '../../services/manifest/parse-manifest.ts';
import type { BuildRecord } from '../../services/storage/build-store.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import type { BuildBackend, CoordinatorBackend } from './coordinator-backend.ts';
import { debianBackend } from './debian.ts';
import { genericBackend } from './generic.ts';

export interface BuildContext {
  readonly manifestSha256: Sha256Hex;
  readonly manifest: AnyParsedManifest;
  readonly backend: BuildBackend;
}

/** Every backend by the manifest kind it serves: the one place a kind picks code. */
const BACKENDS: {
  readonly [K in AnyParsedManifest['kind']]: CoordinatorBackend<Extract<AnyParsedManifest, { kind: K }>>;
} = Object.freeze({ generic: genericBackend, debian: debianBackend });

/** Contexts kept; a context is the parsed manifest (a few KiB) and closures over it. */
const MAX_CONTEXTS = 512;
const contexts = new Map<Sha256Hex, BuildContext>();

function remember(context: BuildContext): BuildContext {
  contexts.delete(context.manifestSha256);
  contexts.set(context.manifestSha256, context);
  if (contexts.size > MAX_CONTEXTS) contexts.delete(contexts.keys().next().value!);
  return context;
}

/** The context of a manifest parsed at the boundary (a submission): its backend bound once. */
export function buildContextOfParsed(manifest: AnyParsedManifest): BuildContext {
  const known = contexts.get(manifest.manifestSha256);
  if (known !== undefined) return remember(known);
  const backend = (BACKENDS[manifest.kind] as CoordinatorBackend<AnyParsedManifest>).bind(manifest);
  return remember(Object.freeze({ manifestSha256: manifest.manifestSha256, manifest, backend }));
}

/**
 * The context of a stored build, parsing its manifest only the first time its digest is seen. The
 * store checked the digest against the JSON when the build was recorded, so the digest names the
 * parse. @throws ManifestError when a stored manifest no longer parses (a corrupt or foreign record).
 */
export function buildContextOf(build: Pick<BuildRecord, 'manifestSha256' | 'manifestJson'>): BuildContext {
  const known = contexts.get(build.manifestSha256);
  if (known !== undefined) return remember(known);
  // The record was accepted at submission, possibly under a larger maxManifestBytes than the
  // default; its size is not what is being checked here.
  const maxManifestBytes = Math.max(
    defaultManifestLimits.maxManifestBytes,
    Buffer.byteLength(build.manifestJson, 'utf8'),
  );
  return buildContextOfParsed(parseAnyManifest(build.manifestJson, { maxManifestBytes }));
}

/**
 * What a submission must satisfy beyond its manifest's parse, by its backend (Debian: the
 * .buildinfo and a supplied .dsc in the content store agree with the manifest).
 * @throws ApiError 422 naming the field.
 */
export function checkSubmission(content: ContentStore, manifest: AnyParsedManifest): Promise<void> {
  return buildContextOfParsed(manifest).backend.checkSubmission(content);
}
