// Reads every page of GET /v1/artifacts/sha256/:digest: spam builds claiming a file must not push
// the real one out of sight, and a coordinator that pages forever or in circles is refused by name.
import {
  type ListedBuild,
  maxArtifactPageBuilds,
  parseArtifactBuildsPage,
} from '../services/api/artifact-builds-page.ts';
import type { Sha256Hex } from '../services/digest.ts';
import { RbnetError } from '../services/errors.ts';
import { type ApiOptions, ApiRequestError, apiFetch } from './coordinator-api.ts';

/** Default bound on the builds `rbnet verify` reads for one file. */
export const maxListedBuildsDefault = 1000;
/** A page of the list is small: at most 1000 short entries. */
const MAX_PAGE_BYTES = 4 * 1024 * 1024;

/**
 * Every build the coordinator lists for `sha256`, newest first, each build id once.
 *
 * @throws ApiRequestError TOO_MANY_BUILDS when more than `maxBuilds` entries are listed,
 *   LISTING_INVALID for a page that breaks the contract (wrong digest, a malformed build id, a
 *   cursor seen before, an empty page that says more follow), or the request's own errors, each
 *   naming the page.
 */
export async function listArtifactBuilds(
  api: ApiOptions,
  sha256: Sha256Hex,
  maxBuilds: number = maxListedBuildsDefault,
): Promise<readonly ListedBuild[]> {
  const pageSize = Math.min(maxArtifactPageBuilds, maxBuilds);
  const builds = new Map<string, ListedBuild>();
  const cursors = new Set<string>();
  let listed = 0;
  let cursor: string | null = null;
  for (let page = 1; ; page++) {
    const path = `/v1/artifacts/sha256/${sha256}?limit=${pageSize}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const answer = await apiFetch({ ...api, maxResponseBytes: MAX_PAGE_BYTES }, 'GET', path).catch(
      (cause: unknown) => {
        throw onPage(page, cause);
      },
    );
    if (answer.status !== 200) {
      throw new ApiRequestError(
        'LISTING_INVALID',
        `page ${page} of the builds listing ${sha256}: HTTP ${answer.status}; the list is incomplete, so nothing can be concluded`,
      );
    }
    let parsed: ReturnType<typeof parseArtifactBuildsPage>;
    try {
      parsed = parseArtifactBuildsPage(answer.text, sha256);
    } catch (cause) {
      throw onPage(page, cause);
    }
    listed += parsed.builds.length;
    if (listed > maxBuilds) {
      throw new ApiRequestError(
        'TOO_MANY_BUILDS',
        `the coordinator lists more than ${maxBuilds} builds for sha256:${sha256}; raise --max-builds to read them all (each is checked)`,
      );
    }
    for (const build of parsed.builds) if (!builds.has(build.buildId)) builds.set(build.buildId, build);
    if (parsed.nextCursor === null) return Object.freeze([...builds.values()]);
    if (parsed.builds.length === 0 || cursors.has(parsed.nextCursor)) {
      throw new ApiRequestError(
        'LISTING_INVALID',
        `page ${page} of the builds listing ${sha256}: ${parsed.builds.length === 0 ? 'an empty page says more follow' : `cursor ${parsed.nextCursor} was already given`}; the coordinator is paging in circles`,
      );
    }
    cursors.add(parsed.nextCursor);
    cursor = parsed.nextCursor;
  }
}

function onPage(page: number, cause: unknown): ApiRequestError {
  return new ApiRequestError(
    cause instanceof RbnetError ? cause.code : 'LISTING_INVALID',
    `page ${page} of the builds listing: ${(cause as Error).message}`,
    { cause },
  );
}
