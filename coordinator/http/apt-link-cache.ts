// What the apt metadata endpoint serves, kept in memory so a lookup costs no database read and no file
// read: which link each (architecture, operator, package, version) is served, and the link bytes by
// digest. Both are bounded. The store says when its apt links change: the lookups of that build (of
// every build, after a revocation) are forgotten, so a withdrawn or replaced link is never answered
// from memory while the others stay.
import type { Sha256Hex } from '../../services/digest.ts';
import type { AptLinkStore } from '../../services/storage/apt-link-store.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import { readBlobText } from '../storage/read-blob.ts';

/** What the cache reads through: the store's lookup, and its word on every change to the links. */
export type AptLinkSource = Pick<AptLinkStore, 'getAptLink' | 'watchAptLinks'>;

export interface AptLinkCacheLimits {
  readonly maxLookups: number;
  readonly maxLinkBytes: number;
  readonly maxLinkFileBytes: number;
}

export const APT_LINK_CACHE_DEFAULTS: AptLinkCacheLimits = Object.freeze({
  /** Lookups remembered; the oldest go first. About 200 bytes each. */
  maxLookups: 262_144,
  /** Bytes of link text kept; a link is a few hundred bytes, so 64 MiB holds about 100,000. */
  maxLinkBytes: 64 * 1024 ** 2,
  /** Largest link read from the content store. */
  maxLinkFileBytes: 1024 * 1024,
});

/** The answer for one lookup: the link's text, no link served, or a link whose bytes are gone. */
export type AptLinkAnswer =
  | { readonly kind: 'link'; readonly text: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'missing-blob'; readonly linkSha256: Sha256Hex };

/** A link looked up once, then answered from memory until the store's apt links change. */
export class AptLinkCache {
  readonly #source: AptLinkSource;
  readonly #content: ContentStore;
  readonly #limits: AptLinkCacheLimits;
  /** Lookup key → the link served for it (only links that are served) and the build it is of. */
  readonly #lookups = new Map<string, { readonly sha256: Sha256Hex; readonly buildId: string }>();
  /** Build id → its keys in #lookups, to forget them when that build's links change. */
  readonly #keysOfBuild = new Map<string, Set<string>>();
  /** Link digest → its text; immutable by digest, so never stale. */
  readonly #texts = new Map<Sha256Hex, string>();
  #textBytes = 0;
  /** Bumped on every change, so a lookup that started before it is not remembered after it. */
  #generation = 0;

  constructor(source: AptLinkSource, content: ContentStore, limits: Partial<AptLinkCacheLimits> = {}) {
    this.#source = source;
    this.#content = content;
    this.#limits = { ...APT_LINK_CACHE_DEFAULTS, ...limits };
    source.watchAptLinks((buildId) => this.#forget(buildId));
  }

  /**
   * The remembered text for a lookup `key` made of the request's own fields, or undefined when it
   * must be looked up. Only a request that passed validation and found a link put the key here.
   */
  remembered(key: string): string | undefined {
    const link = this.#lookups.get(key);
    return link === undefined ? undefined : this.#texts.get(link.sha256);
  }

  /**
   * Looks the link up in the store (and its bytes in the content store) and remembers it under `key`
   * unless the links changed meanwhile.
   */
  async lookUp(
    key: string,
    architecture: string,
    operator: string,
    pkg: string,
    version: string,
  ): Promise<AptLinkAnswer> {
    const generation = this.#generation;
    const row = await this.#source.getAptLink(architecture, operator, pkg, version);
    if (!row) return { kind: 'none' };
    let text = this.#texts.get(row.linkSha256);
    if (text === undefined) {
      text = await readBlobText(this.#content, row.linkSha256, this.#limits.maxLinkFileBytes);
      if (text === undefined) return { kind: 'missing-blob', linkSha256: row.linkSha256 };
      this.#keepText(row.linkSha256, text);
    }
    if (generation === this.#generation) this.#remember(key, row.linkSha256, row.buildId);
    return { kind: 'link', text };
  }

  /** Forgets the lookups of `buildId`, or every lookup when undefined. */
  #forget(buildId: string | undefined): void {
    this.#generation += 1;
    if (buildId === undefined) {
      this.#lookups.clear();
      this.#keysOfBuild.clear();
      return;
    }
    for (const key of this.#keysOfBuild.get(buildId) ?? []) this.#lookups.delete(key);
    this.#keysOfBuild.delete(buildId);
  }

  #remember(key: string, sha256: Sha256Hex, buildId: string): void {
    if (!this.#lookups.has(key) && this.#lookups.size >= this.#limits.maxLookups) {
      const [oldestKey, oldest] = this.#lookups.entries().next().value!;
      this.#lookups.delete(oldestKey);
      const keys = this.#keysOfBuild.get(oldest.buildId);
      keys?.delete(oldestKey);
      if (keys?.size === 0) this.#keysOfBuild.delete(oldest.buildId);
    }
    this.#lookups.set(key, { sha256, buildId });
    const keys = this.#keysOfBuild.get(buildId) ?? new Set<string>();
    keys.add(key);
    this.#keysOfBuild.set(buildId, keys);
  }

  #keepText(sha256: Sha256Hex, text: string): void {
    const bytes = Buffer.byteLength(text);
    if (bytes > this.#limits.maxLinkBytes) return;
    while (this.#textBytes + bytes > this.#limits.maxLinkBytes) {
      const [oldest, oldText] = this.#texts.entries().next().value!;
      this.#texts.delete(oldest);
      this.#textBytes -= Buffer.byteLength(oldText);
    }
    this.#texts.set(sha256, text);
    this.#textBytes += bytes;
  }
}
