// GET /apt/:arch/:operator/sources/:name/:version/metadata — what Debian's apt-transport-in-toto
// asks each configured rebuilder for: the operator's own signed link for that binary version, or
// 404. One indexed lookup and an in-memory cache of link bytes (links are immutable by digest), so
// answers are fast: the client has no timeout.
import type { Env, Hono } from 'hono';
import { parseAptMetadataPath } from '../../services/apt/apt-file-name.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import { DebianFormatError } from '../../services/errors.ts';
import type { AptLinkStore } from '../../services/storage/apt-link-store.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import { readBlobText } from '../storage/read-blob.ts';
import { ApiError } from './api-error.ts';

const ARCHITECTURE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const OPERATOR = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const MAX_LINK_BYTES = 1024 * 1024;
/** Link bytes kept in memory; a link is a few hundred bytes, so 10,000 are a few MiB. */
const MAX_CACHED_LINKS = 10_000;

export function registerAptLinkRoute<E extends Env>(
  app: Hono<E>,
  deps: { aptLinks: AptLinkStore; content: ContentStore },
): void {
  const cache = new Map<Sha256Hex, string>();
  app.get('/apt/:arch/:operator/sources/:name/:version/metadata', async (c) => {
    const arch = c.req.param('arch');
    const operator = c.req.param('operator');
    if (!ARCHITECTURE.test(arch))
      throw new ApiError(400, 'INVALID', 'arch: expected a Debian architecture name');
    if (!OPERATOR.test(operator)) throw new ApiError(400, 'INVALID', 'operator: expected an operator name');
    let requested: ReturnType<typeof parseAptMetadataPath>;
    try {
      requested = parseAptMetadataPath(c.req.param('name'), c.req.param('version'));
    } catch (error) {
      if (error instanceof DebianFormatError) throw new ApiError(400, 'INVALID', error.message);
      throw error;
    }
    const row = await deps.aptLinks.getAptLink(arch, operator, requested.name, requested.version.text);
    if (!row) {
      throw new ApiError(
        404,
        'NOT_FOUND',
        `operator ${operator} has no reproducible rebuild of ${requested.name} ${requested.version.text} on ${arch}`,
      );
    }
    let text = cache.get(row.linkSha256);
    if (text === undefined) {
      text = await readBlobText(deps.content, row.linkSha256, MAX_LINK_BYTES);
      if (text === undefined)
        throw new ApiError(404, 'NOT_FOUND', `link sha256:${row.linkSha256} is not in the store`);
      if (cache.size >= MAX_CACHED_LINKS) cache.delete(cache.keys().next().value as Sha256Hex);
      cache.set(row.linkSha256, text);
    }
    return c.body(text, 200, {
      'content-type': 'application/json',
      // A verdict can change (a late dissent withdraws the link): never let a cache keep it.
      'cache-control': 'no-store',
    });
  });
}
