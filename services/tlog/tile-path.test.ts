// Tile coordinates and paths exactly as C2SP tlog-tiles spells them.
import { describe, expect, it } from 'vitest';
import { parseTilePath, tileAtSize, tileIndexPath, tilePath, tilesOfTree } from './tile-path.ts';
import { TlogError } from './tlog-errors.ts';

describe('tile paths', () => {
  it('encode indexes in x-prefixed groups of three digits', () => {
    expect(tileIndexPath(0)).toBe('000');
    expect(tileIndexPath(7)).toBe('007');
    expect(tileIndexPath(999)).toBe('999');
    expect(tileIndexPath(1000)).toBe('x001/000');
    expect(tileIndexPath(1234067)).toBe('x001/x234/067');
    expect(tileIndexPath(Number.MAX_SAFE_INTEGER)).toBe('x009/x007/x199/x254/x740/991');
  });

  it('write hash tiles, partial tiles and entry bundles', () => {
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(tilePath({ level: 2, index: 0, width: 1 })).toBe('tile/2/000.p/1');
    expect(tilePath({ level: 'entries', index: 5, width: 112 })).toBe('tile/entries/005.p/112');
  });

  it('parse back exactly what they write, and nothing else', () => {
    for (const tile of [
      { level: 0, index: 1234067, width: 256 },
      { level: 63, index: 0, width: 255 },
      { level: 'entries' as const, index: 1000, width: 17 },
    ])
      expect(parseTilePath(tilePath(tile))).toEqual(tile);
    for (const bad of [
      'tile/0/x000/001',
      'tile/0/1',
      'tile/00/000',
      'tile/64/000',
      'tile/0/000.p/256',
      'tile/0/000.p/0',
      'tile/0/000.p/017',
      'tile/data/000',
      '/tile/0/000',
      'tile/0/000/',
      'tile/0/x001/x002/x003/x004/x005/x006/007',
    ]) {
      expect(() => parseTilePath(bad), bad).toThrow(TlogError);
    }
  });
});

describe('tiles of a tree', () => {
  it('match the tlog-tiles example: a tree of 70,000 entries', () => {
    const tiles = tilesOfTree(70_000).filter((t) => t.level !== 'entries');
    const level = (l: number) => tiles.filter((t) => t.level === l);
    expect(level(0).filter((t) => t.width === 256)).toHaveLength(273);
    expect(
      level(0)
        .filter((t) => t.width < 256)
        .map((t) => t.width),
    ).toEqual([112]);
    expect(level(1).map((t) => t.width)).toEqual([256, 17]);
    expect(level(2).map((t) => t.width)).toEqual([1]);
    expect(tilesOfTree(70_000).filter((t) => t.level === 'entries')).toHaveLength(274);
  });

  it('a tree of 256 entries: one full level-0 tile and a level-1 tile of width 1', () => {
    expect(tilesOfTree(256).map(tilePath)).toEqual(['tile/0/000', 'tile/1/000.p/1', 'tile/entries/000']);
    expect(tileAtSize(0, 1, 256)).toBeUndefined();
  });
});
