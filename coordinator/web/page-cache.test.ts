// The page cache: a page is kept for one data version and a bounded time, within bounded entries
// and bytes, least recently used out first.
import { describe, expect, it } from 'vitest';
import { type CachedPage, etagOf, PageCache } from './page-cache.ts';

function pageOf(text: string): CachedPage {
  const body = new Uint8Array(Buffer.from(text));
  return { status: 200, body, etag: etagOf(body), headers: {} };
}

describe('PageCache', () => {
  it('keeps a page for its data version only', () => {
    const cache = new PageCache();
    cache.set('/', 1, pageOf('one'));
    expect(cache.get('/', 1)?.body).toEqual(pageOf('one').body);
    expect(cache.get('/', 2)).toBeUndefined();
    expect(cache.get('/', 1)).toBeUndefined();
  });

  it('keeps a page at most maxAgeMs', () => {
    let now = 0;
    const cache = new PageCache({ maxAgeMs: 1000, nowMs: () => now });
    cache.set('/', 1, pageOf('one'));
    now = 1000;
    expect(cache.get('/', 1)).toBeDefined();
    now = 1001;
    expect(cache.get('/', 1)).toBeUndefined();
  });

  it('drops the least recently used pages past its entry and byte bounds, and never keeps a huge page', () => {
    const cache = new PageCache({ maxEntries: 2, maxBytes: 8000 });
    cache.set('/a', 1, pageOf('a'));
    cache.set('/b', 1, pageOf('b'));
    cache.get('/a', 1);
    cache.set('/c', 1, pageOf('c'));
    expect(cache.get('/b', 1)).toBeUndefined();
    expect(cache.get('/a', 1)).toBeDefined();
    cache.set('/huge', 1, pageOf('x'.repeat(1001)));
    expect(cache.get('/huge', 1)).toBeUndefined();
    const bytes = new PageCache({ maxEntries: 100, maxBytes: 8000 });
    for (const key of ['/1', '/2', '/3']) bytes.set(key, 1, pageOf('y'.repeat(900)));
    expect(bytes.size).toBe(3);
    for (const key of ['/4', '/5', '/6', '/7', '/8', '/9']) bytes.set(key, 1, pageOf('y'.repeat(900)));
    expect(bytes.size).toBeLessThanOrEqual(8);
    expect(bytes.get('/1', 1)).toBeUndefined();
  });

  it('names a body by a strong validator that changes with any byte', () => {
    expect(etagOf(pageOf('a').body)).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(etagOf(pageOf('a').body)).not.toBe(etagOf(pageOf('b').body));
  });
});
