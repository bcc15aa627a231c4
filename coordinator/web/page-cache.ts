// Rendered pages kept while nothing they show can have changed: an entry is valid for one data
// version of the database (any commit makes a new one) and at most `maxAgeMs` (pages that show
// windows of time move on without a write). Bounded in entries and bytes; least recently used go first.
import { createHash } from 'node:crypto';

export interface CachedPage {
  readonly status: number;
  /**
   * The page as UTF-8 bytes: encoded once when rendered, not per response (a page with any
   * non-ASCII character costs a string body about twice the time of the bytes to send).
   */
  readonly body: Uint8Array<ArrayBuffer>;
  /** A strong validator of `body`, quoted as HTTP wants it. */
  readonly etag: string;
  readonly headers: Readonly<Record<string, string>>;
}

interface Entry {
  readonly page: CachedPage;
  readonly version: number;
  readonly storedAtMs: number;
  readonly sizeBytes: number;
}

export interface PageCacheOptions {
  /** Default 512. */
  readonly maxEntries?: number;
  /** Sum of the bodies kept, default 64 MiB; a page over an eighth of it is never kept. */
  readonly maxBytes?: number;
  /** Default 60 s. */
  readonly maxAgeMs?: number;
  readonly nowMs?: () => number;
}

export const pageCacheDefaults = Object.freeze({
  maxEntries: 512,
  maxBytes: 64 * 1024 ** 2,
  maxAgeMs: 60_000,
});

export function etagOf(body: Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

export class PageCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number;
  readonly #nowMs: () => number;
  #bytes = 0;

  constructor(options: PageCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? pageCacheDefaults.maxEntries;
    this.#maxBytes = options.maxBytes ?? pageCacheDefaults.maxBytes;
    this.#maxAgeMs = options.maxAgeMs ?? pageCacheDefaults.maxAgeMs;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** The page kept for `key`, when it was rendered at data version `version` and is young enough. */
  get(key: string, version: number): CachedPage | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.version !== version || this.#nowMs() - entry.storedAtMs > this.#maxAgeMs) {
      this.#bytes -= entry.sizeBytes;
      return undefined;
    }
    this.#entries.set(key, entry);
    return entry.page;
  }

  set(key: string, version: number, page: CachedPage): void {
    const sizeBytes = page.body.byteLength + key.length;
    const old = this.#entries.get(key);
    if (old) {
      this.#entries.delete(key);
      this.#bytes -= old.sizeBytes;
    }
    if (sizeBytes > this.#maxBytes / 8) return;
    this.#entries.set(key, { page, version, storedAtMs: this.#nowMs(), sizeBytes });
    this.#bytes += sizeBytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.sizeBytes;
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
