// The transparency log as C2SP tlog-tiles under /log: the checkpoint (with the witnesses'
// cosignatures), hash tiles and entry bundles, and the log's vkey. Static-file semantics on purpose
// (plain GETs, immutable tiles), so any file server or cache can mirror the log.
import { Hono } from 'hono';
import { parseTilePath, tileAtSize } from '../../services/tlog/tile-path.ts';
import { tilesUpTo } from '../../services/tlog/tile-storage.ts';
import { TlogError } from '../../services/tlog/tlog-errors.ts';
import type { CoordinatorLog } from '../tlog/coordinator-log.ts';

const TEXT = 'text/plain; charset=utf-8';
/** A tile at a given width never changes, partial ones included. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

export function createTlogTilesApp(log: CoordinatorLog): Hono {
  const app = new Hono();
  const notFound = (message: string) =>
    new Response(`${message}\n`, {
      status: 404,
      headers: { 'content-type': TEXT, 'cache-control': 'no-store' },
    });

  app.get(
    '/checkpoint',
    async () =>
      new Response(await log.checkpoint(), {
        headers: { 'content-type': TEXT, 'cache-control': 'no-cache' },
      }),
  );
  app.get(
    '/vkey',
    () => new Response(`${log.vkey}\n`, { headers: { 'content-type': TEXT, 'cache-control': 'no-cache' } }),
  );
  app.get('/tile/*', async (c) => {
    const path = c.req.path.slice(c.req.path.indexOf('/tile/') + 1);
    try {
      const tile = parseTilePath(path);
      const size = log.size;
      const atHead = tileAtSize(tile.level, tile.index, size);
      if (!atHead || atHead.width < tile.width) return notFound(`${path} is beyond the log size ${size}`);
      const [bytes] = await tilesUpTo(log.store, size).readTiles([tile]);
      return new Response(bytes as Uint8Array<ArrayBuffer>, {
        headers: { 'content-type': 'application/octet-stream', 'cache-control': IMMUTABLE },
      });
    } catch (error) {
      if (error instanceof TlogError && error.code === 'TILE_INVALID') return notFound(error.message);
      throw error;
    }
  });
  return app;
}
