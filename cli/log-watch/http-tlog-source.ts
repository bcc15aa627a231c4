// Reads a tiled log and witnesses' checkpoints over HTTP for `rbnet log watch`: the same bounded,
// redirect-refusing client the CLI uses for the coordinator, pointed at any tlog-tiles prefix.
import { decodeEntryBundle, encodeEntryBundle } from '../../services/tlog/entry-bundle.ts';
import { HASH_BYTES } from '../../services/tlog/merkle-hash.ts';
import type { TlogSource, WitnessCheckpointReader } from '../../services/tlog/monitor/log-monitor.ts';
import { TILE_WIDTH, type TileRef, tilePath } from '../../services/tlog/tile-path.ts';
import { ApiRequestError, apiFetch } from '../coordinator-api.ts';

/** Largest checkpoint read: 1 MiB. A full entry bundle is at most 256 entries of 64 KiB. */
const maxCheckpointBytes = 1024 * 1024;
const maxBundleBytes = TILE_WIDTH * (2 + 0xffff);

/** `base` is the log's prefix URL (`https://log.example/rbnet`), no trailing slash needed. */
export function httpTlogSource(base: string, timeoutMs: number): TlogSource {
  const prefix = base.replace(/\/+$/, '');
  const get = async (path: string, maxResponseBytes: number) => {
    const answer = await apiFetch({ coordinator: prefix, timeoutMs, maxResponseBytes }, 'GET', `/${path}`);
    if (answer.status !== 200)
      throw new ApiRequestError(`HTTP_${answer.status}`, `GET ${prefix}/${path}: HTTP ${answer.status}`);
    return answer;
  };
  const readTile = async (tile: TileRef): Promise<Uint8Array> => {
    const maxBytes = tile.level === 'entries' ? maxBundleBytes : TILE_WIDTH * HASH_BYTES;
    try {
      return (await get(tilePath(tile), maxBytes)).bytes;
    } catch (error) {
      // A partial tile may be gone once its full tile exists (tlog-tiles): cut it from the full one.
      if (tile.width === TILE_WIDTH || !(error instanceof ApiRequestError) || error.code !== 'HTTP_404')
        throw error;
      const full = (await get(tilePath({ ...tile, width: TILE_WIDTH }), maxBytes)).bytes;
      if (tile.level !== 'entries') return full.subarray(0, tile.width * HASH_BYTES);
      return encodeEntryBundle(decodeEntryBundle(full, TILE_WIDTH).slice(0, tile.width));
    }
  };
  return {
    readCheckpoint: async () => (await get('checkpoint', maxCheckpointBytes)).text,
    readTiles: (tiles) => Promise.all(tiles.map(readTile)),
  };
}

/** Reads `<witness url>/<origin sha256>/checkpoint`; undefined on 404. */
export function httpWitnessReader(timeoutMs: number): WitnessCheckpointReader {
  return async (witness, originSha256) => {
    const prefix = witness.url!.replace(/\/+$/, '');
    const answer = await apiFetch(
      { coordinator: prefix, timeoutMs, maxResponseBytes: maxCheckpointBytes },
      'GET',
      `/${originSha256}/checkpoint`,
    );
    if (answer.status === 404) return undefined;
    if (answer.status !== 200)
      throw new ApiRequestError(
        `HTTP_${answer.status}`,
        `GET ${prefix}/${originSha256}/checkpoint: HTTP ${answer.status}`,
      );
    return answer.text;
  };
}
