// GET /apt/:arch/:operator/sources/:name/:version/metadata — what Debian's apt-transport-in-toto
// asks each configured rebuilder for: the operator's own signed link for that binary version, or
// 404. Answers come from memory once a version has been asked for (apt-link-cache.ts), kept in step
// with the store's apt links, so they are fast: the client has no timeout.
import type { Env, Hono } from 'hono';
import { parseAptMetadataPath } from '../../services/apt/apt-file-name.ts';
import { DebianFormatError } from '../../services/errors.ts';
import type { BuildStore } from '../../services/storage/build-store.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import { ApiError } from './api-error.ts';
import { AptLinkCache } from './apt-link-cache.ts';

const ARCHITECTURE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const OPERATOR = /^[a-z0-9][a-z0-9._-]{0,62}$/;
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

export function registerAptLinkRoute<E extends Env>(
  app: Hono<E>,
  deps: { store: BuildStore; content: ContentStore },
): void {
  const cache = new AptLinkCache(deps.store, deps.content);
  // Not async: a remembered answer goes back without waiting a turn of the event loop.
  app.get('/apt/:arch/:operator/sources/:name/:version/metadata', (c) => {
    const { arch, operator, name, version } = c.req.param();
    // No field that passes the checks below holds a '/', so a key with a '/' inside a field has more
    // than three and never equals a remembered one: only requests that passed the checks are answered
    // from memory.
    const key = `${arch}/${operator}/${name}/${version}`;
    const remembered = cache.remembered(key);
    if (remembered !== undefined) return new Response(remembered, LINK_RESPONSE);
    return lookUp(cache, key, arch, operator, name, version);
  });
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
  if (!ARCHITECTURE.test(arch))
    throw new ApiError(400, 'INVALID', 'arch: expected a Debian architecture name');
  if (!OPERATOR.test(operator)) throw new ApiError(400, 'INVALID', 'operator: expected an operator name');
  let requested: ReturnType<typeof parseAptMetadataPath>;
  try {
    requested = parseAptMetadataPath(name, version);
  } catch (error) {
    if (error instanceof DebianFormatError) throw new ApiError(400, 'INVALID', error.message);
    throw error;
  }
  const answer = await cache.lookUp(key, arch, operator, requested.name, requested.version.text);
  if (answer.kind === 'none') {
    throw new ApiError(
      404,
      'NOT_FOUND',
      `operator ${operator} has no reproducible rebuild of ${requested.name} ${requested.version.text} on ${arch}`,
    );
  }
  if (answer.kind === 'missing-blob')
    throw new ApiError(404, 'NOT_FOUND', `link sha256:${answer.linkSha256} is not in the store`);
  return new Response(answer.text, LINK_RESPONSE);
}
