// GET /apt/:arch/:operator/sources/:name/:version/metadata — what Debian's apt-transport-in-toto
// asks each configured rebuilder for: the operator's own signed link for that binary version, or
// 404. One indexed lookup and an in-memory cache of link bytes (links are immutable by digest), so
// answers are fast: the client has no timeout.
import { identifier } from '../../../services/api/wire-type.ts';
import { parseAptMetadataPath } from '../../../services/apt/apt-file-name.ts';
import type { Sha256Hex } from '../../../services/digest.ts';
import { DebianFormatError } from '../../../services/errors.ts';
import {
  accountNameRule,
  architectureRule,
  isAccountName,
  isArchitecture,
} from '../../../services/identifiers.ts';
import type { BuildStore } from '../../../services/storage/build-store.ts';
import type { ContentStore } from '../../../services/storage/content-store.ts';
import { readBlobText } from '../../storage/read-blob.ts';
import { ApiError } from '../api-error.ts';
import { JSON_CONTENT, type RouteDefinition, type RouteHandler } from '../route.ts';

const MAX_LINK_BYTES = 1024 * 1024;
/** Link bytes kept in memory; a link is a few hundred bytes, so 10,000 are a few MiB. */
const MAX_CACHED_LINKS = 10_000;

function aptLinkHandler(deps: { store: BuildStore; content: ContentStore }): RouteHandler {
  const cache = new Map<Sha256Hex, string>();
  return async (c) => {
    const arch = c.req.param('arch') ?? '';
    const operator = c.req.param('operator') ?? '';
    if (!isArchitecture(arch)) throw new ApiError('INVALID', 'arch: expected a Debian architecture name');
    if (!isAccountName(operator)) throw new ApiError('INVALID', 'operator: expected an operator name');
    let requested: ReturnType<typeof parseAptMetadataPath>;
    try {
      requested = parseAptMetadataPath(c.req.param('name') ?? '', c.req.param('version') ?? '');
    } catch (error) {
      if (error instanceof DebianFormatError) throw new ApiError('INVALID', error.message);
      throw error;
    }
    const row = await deps.store.getAptLink(arch, operator, requested.name, requested.version.text);
    if (!row) {
      throw new ApiError(
        'NOT_FOUND',
        `operator ${operator} has no reproducible rebuild of ${requested.name} ${requested.version.text} on ${arch}`,
      );
    }
    let text = cache.get(row.linkSha256);
    if (text === undefined) {
      text = await readBlobText(deps.content, row.linkSha256, MAX_LINK_BYTES);
      if (text === undefined)
        throw new ApiError('NOT_FOUND', `link sha256:${row.linkSha256} is not in the store`);
      if (cache.size >= MAX_CACHED_LINKS) cache.delete(cache.keys().next().value as Sha256Hex);
      cache.set(row.linkSha256, text);
    }
    return c.body(text, 200, {
      'content-type': 'application/json',
      // A verdict can change (a late dissent withdraws the link): never let a cache keep it.
      'cache-control': 'no-store',
    });
  };
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
