// GET /apt/:arch/:operator/sources/:name/:version/metadata — what Debian's apt-transport-in-toto
// asks each configured rebuilder for: the operator's own signed link for that binary version, or
// 404. Answers come from memory once a version has been asked for (apt-link-cache.ts), kept in step
// with the store's apt links, so they are fast: the client has no timeout.
import { identifier } from '../../../services/api/wire-type.ts';
import { parseAptMetadataPath } from '../../../services/apt/apt-file-name.ts';
import { DebianFormatError } from '../../../services/errors.ts';
import {
  accountNameRule,
  architectureRule,
  isAccountName,
  isArchitecture,
} from '../../../services/identifiers.ts';
import type { AptLinkStore } from '../../../services/storage/apt-link-store.ts';
import type { ContentStore } from '../../../services/storage/content-store.ts';
import { ApiError } from '../api-error.ts';
import { AptLinkCache } from '../apt-link-cache.ts';
import { JSON_CONTENT, type RouteDefinition, type RouteHandler } from '../route.ts';

/**
 * A plain object, not Headers: @hono/node-server then writes the response without building a
 * Headers object, which is most of what a remembered answer costs.
 */
const LINK_RESPONSE = Object.freeze({
  status: 200,
  headers: Object.freeze({
    'content-type': 'application/json',
    // A verdict can change (a late dissent withdraws the link): never let a cache keep it.
    'cache-control': 'no-store',
  }),
});

function aptLinkHandler(deps: { aptLinks: AptLinkStore; content: ContentStore }): RouteHandler {
  const cache = new AptLinkCache(deps.aptLinks, deps.content);
  // Not async: a remembered answer goes back without waiting a turn of the event loop.
  return (c) => {
    const { arch = '', operator = '', name = '', version = '' } = c.req.param();
    // No field that passes the checks below holds a '/', so a key with a '/' inside a field has more
    // than three and never equals a remembered one: only requests that passed the checks are answered
    // from memory.
    const key = `${arch}/${operator}/${name}/${version}`;
    const remembered = cache.remembered(key);
    if (remembered !== undefined) return new Response(remembered, LINK_RESPONSE);
    return lookUp(cache, key, arch, operator, name, version);
  };
}

/** Checks the request and looks its link up; remembered from then on when it is served. */
async function lookUp(
  cache: AptLinkCache,
  key: string,
  arch: string,
  operator: string,
  name: string,
  version: string,
): Promise<Response> {
  if (!isArchitecture(arch)) throw new ApiError('INVALID', 'arch: expected a Debian architecture name');
  if (!isAccountName(operator)) throw new ApiError('INVALID', 'operator: expected an operator name');
  let requested: ReturnType<typeof parseAptMetadataPath>;
  try {
    requested = parseAptMetadataPath(name, version);
  } catch (error) {
    if (error instanceof DebianFormatError) throw new ApiError('INVALID', error.message);
    throw error;
  }
  const answer = await cache.lookUp(key, arch, operator, requested.name, requested.version.text);
  if (answer.kind === 'none') {
    throw new ApiError(
      'NOT_FOUND',
      `operator ${operator} has no reproducible rebuild of ${requested.name} ${requested.version.text} on ${arch}`,
    );
  }
  if (answer.kind === 'missing-blob')
    throw new ApiError('NOT_FOUND', `link sha256:${answer.linkSha256} is not in the store`);
  return new Response(answer.text, LINK_RESPONSE);
}

export const aptRoutes: readonly RouteDefinition[] = [
  {
    method: 'GET',
    path: '/apt/:arch/:operator/sources/:name/:version/metadata',
    operationId: 'getAptRebuildLink',
    tag: 'apt',
    summary: "An operator's own signed in-toto link for a binary package version, for apt-transport-in-toto",
    description:
      'Each operator is its own rebuilder URL (`/apt/<arch>/<operator>/`). 200 only when that operator ' +
      'rebuilt the version reproducibly (verdict `reproducible`); a dissent is never served. ' +
      'See docs/apt-in-toto.md.',
    auth: ['none'],
    pathParams: {
      arch: {
        description: 'Debian architecture of the consumer, e.g. amd64',
        schema: identifier(architectureRule).schema,
      },
      operator: { description: 'operator name', schema: identifier(accountNameRule).schema },
      name: { description: 'binary package name', schema: { type: 'string' } },
      version: { description: 'binary version; an epoch arrives as %3a', schema: { type: 'string' } },
    },
    answers: [
      {
        status: 200,
        description: "the link: `{signed, signatures}`, signed by the operator's worker key",
        contentType: JSON_CONTENT,
        schema: {
          type: 'object',
          required: ['signed', 'signatures'],
          properties: { signed: { type: 'object' }, signatures: { type: 'array' } },
        },
      },
    ],
    errors: ['INVALID', 'NOT_FOUND'],
    handler: ({ deps }) => aptLinkHandler(deps),
  },
];
