// GET /v1/builds/:id/diffoscope/:digest: a diffoscope HTML report, served as an inert page only when
// a verified result of this build signed it as a byproduct.
import { Readable } from 'node:stream';
import { DIFFOSCOPE_BYPRODUCT_PATTERN } from '../../../services/debian/deb-inspection/inspection-report.ts';
import { readVerifiedResult } from '../../intake/verified-facts.ts';
import { ApiError } from '../api-error.ts';
import { INERT_HTML_HEADERS } from '../inert-content-headers.ts';
import type { RouteDefinition } from '../route.ts';
import { buildIdOf, buildIdParam } from './builds.ts';
import { digestOf, digestParam } from './cas.ts';

/** Largest diffoscope HTML served as a page; workers cut theirs at 8 MiB. */
const MAX_DIFFOSCOPE_HTML_BYTES = 16 * 1024 ** 2;

const getDiffoscopeReport: RouteDefinition = {
  method: 'GET',
  path: '/v1/builds/:id/diffoscope/:digest',
  operationId: 'getDiffoscopeReport',
  tag: 'builds',
  summary: "A diffoscope HTML report a Debian build's verified result signs as a byproduct",
  description:
    'Served only when the digest is a `rbnet/diffoscope-<n>.html` byproduct of a verified result of this build; ' +
    "with `Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; sandbox`, " +
    '`nosniff` and `Referrer-Policy: no-referrer`; 16 MiB cap (larger ones: /v1/cas/sha256/:digest).',
  auth: ['none'],
  pathParams: { id: buildIdParam, digest: digestParam },
  answers: [
    {
      status: 200,
      description: 'the HTML, as the worker uploaded it',
      contentType: 'text/html; charset=utf-8',
      schema: { type: 'string' },
    },
  ],
  errors: ['INVALID', 'DIGEST_INVALID', 'NOT_FOUND', 'TOO_LARGE'],
  handler:
    ({ deps }) =>
    async (c) => {
      const buildId = buildIdOf(c.req.param('id'));
      const digest = digestOf(c.req.param('digest'));
      const build = await deps.builds.getBuild(buildId);
      if (!build) throw new ApiError('NOT_FOUND', `build ${buildId} not found`);
      // Only HTML a verified result of this build signs as its diffoscope report is served as a page:
      // intake verified each envelope once and indexed what it signs, so this reads the rows for this
      // one digest. Results recorded before that index existed are verified here, and only those.
      let signed = (await deps.results.findResultByproducts(buildId, digest)).some((b) =>
        DIFFOSCOPE_BYPRODUCT_PATTERN.test(b.name),
      );
      for (const row of signed ? [] : await deps.results.listUnindexedBuiltResults(buildId)) {
        const read = await readVerifiedResult(deps, build, row).catch((err: unknown) => {
          deps.logger.warn({ err, buildId, workerId: row.workerId }, 'stored result does not verify');
          return undefined;
        });
        signed = !!read?.verified.byproducts.some(
          (b) => b.sha256 === digest && DIFFOSCOPE_BYPRODUCT_PATTERN.test(b.name),
        );
        if (signed) break;
      }
      if (!signed)
        throw new ApiError('NOT_FOUND', `sha256:${digest} is not a diffoscope report of build ${buildId}`);
      const stat = await deps.content.stat(digest);
      if (stat && stat.sizeBytes > MAX_DIFFOSCOPE_HTML_BYTES) {
        throw new ApiError(
          'TOO_LARGE',
          `diffoscope report: ${stat.sizeBytes} bytes, over the limit of ${MAX_DIFFOSCOPE_HTML_BYTES}; fetch it from /v1/cas/sha256/${digest}`,
        );
      }
      const stream = stat ? await deps.content.open(digest) : undefined;
      if (!stat || !stream) throw new ApiError('NOT_FOUND', `sha256:${digest} is not in the store`);
      return new Response(Readable.toWeb(stream) as ReadableStream, {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'content-length': String(stat.sizeBytes),
          // No scripts, no loads, no same origin, no forms: the HTML came out of a container that read hostile bytes.
          ...INERT_HTML_HEADERS,
          'cache-control': 'public, max-age=31536000, immutable',
        },
      });
    },
};

export const diffoscopeRoutes: readonly RouteDefinition[] = [getDiffoscopeReport];
