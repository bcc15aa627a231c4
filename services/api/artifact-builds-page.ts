// The wire contract of GET /v1/artifacts/sha256/:digest: one page of the builds that claimed or
// rebuilt a file, and the strict parser a consumer reads it with (the coordinator may lie).
import { isVerdict, VERDICTS, type Verdict } from '../consensus/verdict.ts';
import { isSha256Hex, type Sha256Hex } from '../digest.ts';
import { RbnetError } from '../errors.ts';
import { buildIdRule, isBuildId } from '../identifiers.ts';
import { parseStrictJson } from '../strict-json.ts';
import { describeValue as describe } from '../untrusted-value-text.ts';
import { type BuildLinks, buildLinksType } from './build-links.ts';
import {
  arrayOf,
  identifier,
  type JsonSchema,
  nullable,
  object,
  oneOf,
  sha256,
  text,
  timestamp,
} from './wire-type.ts';

/** Most builds one page may hold (and the largest `limit` a client may ask for). */
export const maxArtifactPageBuilds = 1000;
/** Longest cursor a client accepts: cursors are opaque, but must fit in a URL. */
export const maxArtifactCursorLength = 256;

/** A cursor as the coordinator makes them (a build id); a client accepts any short URL-safe text. */
const CURSOR = /^[A-Za-z0-9._~-]+$/;

/** One listed build. Unsigned: a consumer uses it only to find attestations, never to decide. */
export interface ArtifactBuildEntry {
  readonly buildId: string;
  readonly name: string;
  readonly manifestSha256: Sha256Hex;
  readonly verdict: string;
  readonly verdictAt?: string;
  readonly links: BuildLinks;
}

export interface ArtifactBuildsPage {
  readonly sha256: Sha256Hex;
  /** Newest first. */
  readonly builds: readonly ArtifactBuildEntry[];
  /** Pass as `?cursor=` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

/** The page as the coordinator writes it (its JSON Schema, for the OpenAPI document). */
export const artifactBuildsPageSchema: JsonSchema = object({
  sha256: sha256(),
  builds: arrayOf(
    object(
      {
        buildId: identifier(buildIdRule),
        name: text({ maxLength: 4096 }),
        manifestSha256: sha256(),
        verdict: oneOf(VERDICTS),
        links: buildLinksType,
      },
      { verdictAt: timestamp() },
    ),
    { maxItems: maxArtifactPageBuilds },
  ),
  nextCursor: nullable(
    text({ maxLength: maxArtifactCursorLength, description: 'pass as `cursor` for the next page' }),
  ),
}).schema;

/**
 * What a consumer keeps of a listed build: its id (checked) and, when it is one of the verdicts,
 * the unsigned verdict it shows for comparison. Nothing else the coordinator wrote is kept, so
 * nothing it wrote can reach the consumer's screen as text of its own.
 */
export interface ListedBuild {
  readonly buildId: string;
  readonly verdict?: Verdict;
}

/** A page the consumer refuses; the message names the field. */
export class ArtifactPageError extends RbnetError<'LISTING_INVALID'> {}

/**
 * Parses one untrusted page: strict JSON, an object whose `sha256` is the digest asked about, at
 * most {@link maxArtifactPageBuilds} builds each with a build id in the coordinator's form, and a
 * `nextCursor` that is null or a short URL-safe string. Other fields are ignored.
 *
 * @throws ArtifactPageError LISTING_INVALID naming the field.
 */
export function parseArtifactBuildsPage(
  text: string,
  expectedSha256: Sha256Hex,
): { readonly builds: readonly ListedBuild[]; readonly nextCursor: string | null } {
  let json: unknown;
  try {
    json = parseStrictJson(text, { maxDepth: 8 });
  } catch (cause) {
    throw invalid(`not strict JSON (${(cause as Error).message})`, cause);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('not a JSON object');
  const page = json as Record<string, unknown>;
  if (!isSha256Hex(page.sha256) || page.sha256 !== expectedSha256) {
    throw invalid(`sha256 is ${describe(page.sha256)}, but the question was about ${expectedSha256}`);
  }
  if (!Array.isArray(page.builds)) throw invalid('builds must be an array');
  if (page.builds.length > maxArtifactPageBuilds)
    throw invalid(
      `builds has ${page.builds.length} entries, over the page limit of ${maxArtifactPageBuilds}`,
    );
  const builds = page.builds.map((entry, index): ListedBuild => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw invalid(`builds[${index}] must be an object`);
    const build = entry as Record<string, unknown>;
    if (!isBuildId(build.buildId))
      throw invalid(`builds[${index}].buildId is ${describe(build.buildId)}, not a build id (a UUID)`);
    return Object.freeze({
      buildId: build.buildId,
      ...(isVerdict(build.verdict) && { verdict: build.verdict }),
    });
  });
  const next = page.nextCursor ?? null;
  if (
    next !== null &&
    (typeof next !== 'string' || !CURSOR.test(next) || next.length > maxArtifactCursorLength)
  ) {
    throw invalid(
      `nextCursor is ${describe(next)}: expected null or up to ${maxArtifactCursorLength} URL-safe characters`,
    );
  }
  return Object.freeze({ builds: Object.freeze(builds), nextCursor: next });
}

function invalid(message: string, cause?: unknown): ArtifactPageError {
  return new ArtifactPageError(
    'LISTING_INVALID',
    `the list of builds: ${message}`,
    cause ? { cause } : undefined,
  );
}
