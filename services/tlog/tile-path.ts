// C2SP tlog-tiles coordinates: which tile holds a hash, how wide it is at a tree size, and its path
// (`tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`, N as x-prefixed 3-digit groups).
import { assertTreeSize } from './merkle-hash.ts';
import { TlogError } from './tlog-errors.ts';

/** Hashes per full tile, entries per full bundle: 2^TILE_HEIGHT. */
export const TILE_WIDTH = 256;
/** Tree levels one tile spans. */
export const TILE_HEIGHT = 8;
/** Highest tile level C2SP allows. */
export const MAX_TILE_LEVEL = 63;

/** A hash tile (`level` 0…63) or an entry bundle (`level` 'entries'), `width` 1…256 (256 = full). */
export interface TileRef {
  readonly level: number | 'entries';
  readonly index: number;
  readonly width: number;
}

/** Hashes stored at tile level t in a tree of `size` leaves: floor(size / 256^t). */
export function hashCountAtTileLevel(size: number, tileLevel: number): number {
  return Math.floor(size / TILE_WIDTH ** tileLevel);
}

/**
 * The tile of level `level` (or the entry bundle) with number `index` as it exists for a tree of
 * `size` leaves: full, or partial with the width that size gives it; undefined when that size has
 * no such tile (it would be empty).
 */
export function tileAtSize(level: number | 'entries', index: number, size: number): TileRef | undefined {
  assertTreeSize(size, 'tree size');
  const count = hashCountAtTileLevel(size, level === 'entries' ? 0 : level);
  const width = Math.min(TILE_WIDTH, count - index * TILE_WIDTH);
  return width > 0 ? { level, index, width } : undefined;
}

/** Every tile (hash tiles of all levels, then entry bundles) a tree of `size` leaves is served as. */
export function tilesOfTree(size: number): TileRef[] {
  const tiles: TileRef[] = [];
  for (let level = 0; hashCountAtTileLevel(size, level) > 0; level++) {
    const count = hashCountAtTileLevel(size, level);
    for (let index = 0; index * TILE_WIDTH < count; index++) tiles.push(tileAtSize(level, index, size)!);
  }
  for (let index = 0; index * TILE_WIDTH < size; index++) tiles.push(tileAtSize('entries', index, size)!);
  return tiles;
}

/** `x001/x234/067` for 1234067: groups of three digits, all but the last prefixed with x. */
export function tileIndexPath(index: number): string {
  assertTreeSize(index, 'tile index');
  let rest = index;
  let path = String(rest % 1000).padStart(3, '0');
  while (rest >= 1000) {
    rest = Math.floor(rest / 1000);
    path = `x${String(rest % 1000).padStart(3, '0')}/${path}`;
  }
  return path;
}

/** The path of a tile below the log's prefix, e.g. `tile/0/x001/234.p/17` or `tile/entries/000`. */
export function tilePath(tile: TileRef): string {
  if (tile.width < 1 || tile.width > TILE_WIDTH || !Number.isInteger(tile.width))
    throw new TlogError('TILE_INVALID', `tile width ${tile.width}: expected 1 to ${TILE_WIDTH}`);
  if (
    tile.level !== 'entries' &&
    !(Number.isInteger(tile.level) && tile.level >= 0 && tile.level <= MAX_TILE_LEVEL)
  )
    throw new TlogError(
      'TILE_INVALID',
      `tile level ${tile.level}: expected 0 to ${MAX_TILE_LEVEL} or "entries"`,
    );
  const partial = tile.width < TILE_WIDTH ? `.p/${tile.width}` : '';
  return `tile/${tile.level}/${tileIndexPath(tile.index)}${partial}`;
}

const TILE_PATH = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/**
 * Parses a tile path exactly as tilePath writes it (one spelling per tile: no leading zero groups,
 * no `.p/256`). @throws TlogError TILE_INVALID.
 */
export function parseTilePath(path: string): TileRef {
  const match = TILE_PATH.exec(path);
  const bad = () => new TlogError('TILE_INVALID', `not a tile path: ${JSON.stringify(path.slice(0, 120))}`);
  if (!match) throw bad();
  const level: number | 'entries' = match[1] === 'entries' ? 'entries' : Number(match[1]);
  if (level !== 'entries' && level > MAX_TILE_LEVEL) throw bad();
  const groups = [
    ...(match[2] ?? '')
      .split('/')
      .filter(Boolean)
      .map((g) => g.slice(1)),
    match[3]!,
  ];
  if (groups.length > 6) throw bad();
  const index = groups.reduce((n, group) => n * 1000 + Number(group), 0);
  const width = match[4] === undefined ? TILE_WIDTH : Number(match[4]);
  if (!Number.isSafeInteger(index) || width > TILE_WIDTH) throw bad();
  const tile = { level, index, width };
  if (tilePath(tile) !== path) throw bad();
  return tile;
}
