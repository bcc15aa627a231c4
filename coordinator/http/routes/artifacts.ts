// GET /v1/artifacts/sha256/:digest: every build that claimed or rebuilt a file, page by page.
import {
  type ArtifactBuildsPage,
  artifactBuildsPageSchema,
  maxArtifactPageBuilds,
} from '../../../services/api/artifact-builds-page.ts';
import { buildLinksFor } from '../../../services/api/build-links.ts';
import { buildIdRule, isBuildId } from '../../../services/identifiers.ts';
import { ApiError } from '../api-error.ts';
import { pageLimitOf } from '../query-params.ts';
import { JSON_CONTENT, type RouteDefinition } from '../route.ts';
import { digestOf, digestParam } from './cas.ts';

const findBuildsByArtifact: RouteDefinition = {
  method: 'GET',
  path: '/v1/artifacts/sha256/:digest',
  operationId: 'findBuildsByArtifact',
  tag: 'builds',
  summary: 'Every build that claimed or rebuilt a file with this sha256, page by page',
  description:
    'Newest first, keyset-paginated: pass the `nextCursor` of a page as `cursor` to get the next; ' +
    '`nextCursor` is null on the last page. Every match is on some page, however many there are.',
  auth: ['none'],
  pathParams: { digest: digestParam },
  query: {
    limit: {
      description: `builds per page, 1..${maxArtifactPageBuilds}, default 100`,
      schema: { type: 'integer', minimum: 1, maximum: maxArtifactPageBuilds },
      required: false,
    },
    cursor: {
      description: 'the `nextCursor` of the previous page (opaque)',
      schema: { type: 'string', pattern: buildIdRule.pattern.source },
      required: false,
    },
  },
  answers: [
    {
      status: 200,
      description: 'one page, newest first',
      contentType: JSON_CONTENT,
      schema: artifactBuildsPageSchema,
    },
  ],
  errors: ['DIGEST_INVALID', 'INVALID', 'NOT_FOUND'],
  handler:
    ({ deps }) =>
    async (c) => {
      const digest = digestOf(c.req.param('digest'));
      const limit = pageLimitOf(c.req.query('limit'), maxArtifactPageBuilds, 100);
      const cursor = c.req.query('cursor');
      if (cursor !== undefined && !isBuildId(cursor))
        throw new ApiError('INVALID', 'cursor: expected the nextCursor of a previous page');
      const builds = await deps.results.findBuildsByArtifact(digest, {
        limit,
        ...(cursor !== undefined && { after: cursor }),
      });
      // A full page says whether another follows, so the last page is never an empty one.
      const last = builds.length === limit ? builds.at(-1)?.buildId : undefined;
      const more =
        last !== undefined &&
        (await deps.results.findBuildsByArtifact(digest, { limit: 1, after: last })).length > 0;
      const page: ArtifactBuildsPage = {
        sha256: digest,
        builds: builds.map((b) => ({
          buildId: b.buildId,
          name: b.name,
          manifestSha256: b.manifestSha256,
          verdict: b.verdict,
          ...(b.verdictAt !== undefined && { verdictAt: b.verdictAt }),
          links: buildLinksFor(b.buildId),
        })),
        nextCursor: more ? last : null,
      };
      return c.json(page);
    },
};

export const artifactRoutes: readonly RouteDefinition[] = [findBuildsByArtifact];
