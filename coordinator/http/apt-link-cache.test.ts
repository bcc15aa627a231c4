// The apt link cache against a real content store and a store stand-in we own: answers from memory
// once looked up, forgets every lookup when the links change (even one under way), stays bounded,
// and never remembers a link whose bytes are missing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import type { AptLinkRecord } from '../../services/storage/apt-link-store.ts';
import { FsContentStore } from '../storage/fs-content-store.ts';
import { AptLinkCache, type AptLinkSource } from './apt-link-cache.ts';

let root: string;
let content: FsContentStore;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-apt-link-cache-'));
  content = new FsContentStore(join(root, 'cas'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function storedLink(text: string): Promise<Sha256Hex> {
  const sha256 = sha256Hex(text) as Sha256Hex;
  await content.put(Readable.from([Buffer.from(text)]), { sha256, maxBytes: Buffer.byteLength(text) });
  return sha256;
}

/** The store's apt links as a map we change by hand, telling the watchers as the store does. */
class LinkTable implements AptLinkSource {
  readonly rows = new Map<string, AptLinkRecord>();
  lookups = 0;
  #listeners = new Set<(buildId?: string) => void>();
  /** Runs before a lookup answers, to change the table while the lookup is under way. */
  duringLookup: (() => void) | undefined;

  async getAptLink(architecture: string, operator: string, pkg: string, version: string) {
    this.lookups += 1;
    this.duringLookup?.();
    return this.rows.get(`${architecture} ${operator} ${pkg} ${version}`);
  }

  watchAptLinks(listener: (buildId?: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Publishes (or withdraws) the link of package `pkg`, whose build is `build-<pkg>`. */
  set(pkg: string, linkSha256: Sha256Hex | undefined): void {
    const buildId = `build-${pkg}`;
    if (linkSha256) this.rows.set(`amd64 alpha ${pkg} 1.0-1`, { linkSha256, buildId, workerId: 'w' });
    else this.rows.delete(`amd64 alpha ${pkg} 1.0-1`);
    for (const listener of this.#listeners) listener(buildId);
  }

  /** A revocation: links of any build may have gone. */
  revoke(pkg: string): void {
    this.rows.delete(`amd64 alpha ${pkg} 1.0-1`);
    for (const listener of this.#listeners) listener(undefined);
  }
}

const lookUp = (cache: AptLinkCache, pkg: string) =>
  cache.lookUp(`amd64/alpha/${pkg}/1.0-1`, 'amd64', 'alpha', pkg, '1.0-1');

describe('the apt link cache', () => {
  it('answers a link from memory once it was looked up', async () => {
    const table = new LinkTable();
    table.set('hello', await storedLink('{"link":"hello"}'));
    const cache = new AptLinkCache(table, content);
    expect(cache.remembered('amd64/alpha/hello/1.0-1')).toBeUndefined();
    expect(await lookUp(cache, 'hello')).toEqual({ kind: 'link', text: '{"link":"hello"}' });
    expect(cache.remembered('amd64/alpha/hello/1.0-1')).toBe('{"link":"hello"}');
    expect(table.lookups).toBe(1);
  });

  it("forgets a build's lookups when its links change, and does not remember a link no longer served", async () => {
    const table = new LinkTable();
    table.set('hello', await storedLink('{"link":"hello"}'));
    table.set('other', await storedLink('{"link":"other"}'));
    const cache = new AptLinkCache(table, content);
    await lookUp(cache, 'hello');
    await lookUp(cache, 'other');
    table.set('hello', undefined);
    expect(cache.remembered('amd64/alpha/hello/1.0-1')).toBeUndefined();
    expect(cache.remembered('amd64/alpha/other/1.0-1')).toBe('{"link":"other"}');
    expect(await lookUp(cache, 'hello')).toEqual({ kind: 'none' });
    expect(cache.remembered('amd64/alpha/hello/1.0-1')).toBeUndefined();
    // Published again under another link: looked up afresh.
    table.set('hello', await storedLink('{"link":"hello, again"}'));
    expect(await lookUp(cache, 'hello')).toEqual({ kind: 'link', text: '{"link":"hello, again"}' });
  });

  it('forgets every lookup after a revocation', async () => {
    const table = new LinkTable();
    table.set('hello', await storedLink('{"link":"hello"}'));
    table.set('other', await storedLink('{"link":"other"}'));
    const cache = new AptLinkCache(table, content);
    await lookUp(cache, 'hello');
    await lookUp(cache, 'other');
    table.revoke('hello');
    expect(cache.remembered('amd64/alpha/hello/1.0-1')).toBeUndefined();
    expect(cache.remembered('amd64/alpha/other/1.0-1')).toBeUndefined();
    expect(await lookUp(cache, 'hello')).toEqual({ kind: 'none' });
  });

  it('does not remember a lookup the links changed under', async () => {
    const table = new LinkTable();
    table.set('hello', await storedLink('{"link":"hello"}'));
    const cache = new AptLinkCache(table, content);
    // The link is withdrawn after the store answered this lookup but before the lookup finished.
    table.duringLookup = () => {
      table.duringLookup = undefined;
      queueMicrotask(() => table.set('hello', undefined));
    };
    expect(await lookUp(cache, 'hello')).toEqual({ kind: 'link', text: '{"link":"hello"}' });
    expect(cache.remembered('amd64/alpha/hello/1.0-1')).toBeUndefined();
  });

  it('never remembers a link whose bytes are missing from the content store', async () => {
    const table = new LinkTable();
    const absent = sha256Hex('never stored') as Sha256Hex;
    table.set('ghost', absent);
    const cache = new AptLinkCache(table, content);
    expect(await lookUp(cache, 'ghost')).toEqual({ kind: 'missing-blob', linkSha256: absent });
    expect(cache.remembered('amd64/alpha/ghost/1.0-1')).toBeUndefined();
  });

  it('keeps at most maxLookups lookups and maxLinkBytes of link text, the oldest going first', async () => {
    const table = new LinkTable();
    for (const pkg of ['a', 'b', 'c'])
      table.set(pkg, await storedLink(`{"link":"${pkg}-${'x'.repeat(90)}"}`));
    const remembered = (cache: AptLinkCache) =>
      ['a', 'b', 'c'].map((pkg) => cache.remembered(`amd64/alpha/${pkg}/1.0-1`) !== undefined);

    const fewLookups = new AptLinkCache(table, content, { maxLookups: 2 });
    for (const pkg of ['a', 'b', 'c']) await lookUp(fewLookups, pkg);
    expect(remembered(fewLookups)).toEqual([false, true, true]);

    // Each text is about 100 bytes: 250 bytes hold two.
    const fewBytes = new AptLinkCache(table, content, { maxLinkBytes: 250 });
    for (const pkg of ['a', 'b', 'c']) await lookUp(fewBytes, pkg);
    expect(remembered(fewBytes)).toEqual([false, true, true]);
    expect(await lookUp(fewBytes, 'a')).toEqual({ kind: 'link', text: `{"link":"a-${'x'.repeat(90)}"}` });
    expect(remembered(fewBytes)).toEqual([true, false, true]);
  });
});
