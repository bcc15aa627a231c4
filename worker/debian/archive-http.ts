// HTTP transfers from a Debian mirror with size caps, an inactivity timeout, digest checks and retries on network errors.
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Sha256Hex } from '../../services/digest.ts';
import { ArchiveError } from '../../services/errors.ts';

/** The fetch function used for every request (the global one unless a test injects another). */
export type FetchFunction = typeof fetch;

export interface TransferOptions {
  readonly fetch: FetchFunction;
  /** The request is aborted when no byte arrives for this many milliseconds (headers included). */
  readonly inactivityTimeoutMs: number;
  /** Extra attempts after a network error, a timeout or an HTTP 502/503/504; never after a digest or size refusal. */
  readonly retries: number;
  /** Names the file in messages, e.g. `hello_2.10-3_amd64.deb`. */
  readonly what: string;
}

/** A GET either answered with the body, or answered 404/410 (an outcome the caller may report as a value). */
export type FetchOutcome<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'not-found'; readonly status: number };

/** A failure worth another attempt: the network, a timeout or a gateway. */
class TransientFailure extends Error {}

const RETRY_STATUSES = new Set([502, 503, 504]);
const RETRY_DELAY_MS = 500;

async function withRetries<T>(url: string, options: TransferOptions, attempt: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries += 1) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof TransientFailure)) throw err;
      if (tries >= options.retries) {
        throw new ArchiveError(
          'ARCHIVE_UNREACHABLE',
          `${options.what}: ${err.message} from ${url} (after ${tries + 1} attempts)`,
          { cause: err.cause ?? err },
        );
      }
      await new Promise((wake) => setTimeout(wake, RETRY_DELAY_MS * (tries + 1)));
    }
  }
}

/** Response body chunks, aborting the request whenever `inactivityTimeoutMs` pass without data. */
async function* bodyChunks(
  url: string,
  options: TransferOptions,
  maxBytes: number,
  onResponse: (response: Response) => void,
): AsyncGenerator<Uint8Array> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), options.inactivityTimeoutMs);
  };
  arm();
  try {
    let response: Response;
    try {
      response = await options.fetch(url, { signal: controller.signal, redirect: 'follow' });
    } catch (cause) {
      const why = controller.signal.aborted
        ? `no answer within ${options.inactivityTimeoutMs} ms`
        : 'network error';
      throw new TransientFailure(why, { cause });
    }
    onResponse(response);
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return;
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new ArchiveError(
        'ARCHIVE_TOO_LARGE',
        `${options.what}: ${url} declares ${declared} bytes, over the limit of ${maxBytes}`,
      );
    }
    if (!response.body) return;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        arm();
        yield chunk;
      }
    } catch (cause) {
      const why = controller.signal.aborted
        ? `transfer stalled for ${options.inactivityTimeoutMs} ms`
        : 'connection lost during transfer';
      throw new TransientFailure(why, { cause });
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** Classifies a response: ok, an outcome (404/410), a transient failure, or an error. */
function checkStatus(response: Response, url: string, what: string): 'ok' | 'not-found' {
  if (response.ok) return 'ok';
  if (response.status === 404 || response.status === 410) return 'not-found';
  if (RETRY_STATUSES.has(response.status)) throw new TransientFailure(`HTTP ${response.status}`);
  throw new ArchiveError('ARCHIVE_UNREACHABLE', `${what}: HTTP ${response.status} from ${url}`);
}

/**
 * GETs `url` into memory, refusing (ARCHIVE_TOO_LARGE) a body over `maxBytes` bytes — checked
 * against Content-Length first and again while reading. 404/410 are returned as `not-found`.
 * @throws ArchiveError ARCHIVE_UNREACHABLE after the retries, ARCHIVE_TOO_LARGE.
 */
export async function fetchBytes(
  url: string,
  maxBytes: number,
  options: TransferOptions,
): Promise<FetchOutcome<Buffer>> {
  return withRetries(url, options, async () => {
    const answer = { status: 'ok' as 'ok' | 'not-found', code: 0 };
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of bodyChunks(url, options, maxBytes, (response) => {
      answer.code = response.status;
      answer.status = checkStatus(response, url, options.what);
    })) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        throw new ArchiveError(
          'ARCHIVE_TOO_LARGE',
          `${options.what}: ${url} sent more than ${maxBytes} bytes`,
        );
      }
      chunks.push(chunk);
    }
    if (answer.status === 'not-found') return { kind: 'not-found', status: answer.code };
    return { kind: 'ok', value: Buffer.concat(chunks) };
  });
}

/** What a downloaded file must be, from a signed index. */
export interface ExpectedFile {
  /** Exact size in bytes; also the cap while downloading. */
  readonly size: number;
  readonly sha256: Sha256Hex;
}

/**
 * Streams `url` into a temporary file beside `destPath`, hashing as it goes, and renames it to
 * `destPath` only when size and sha256 equal `expected`. Nothing is left behind on failure.
 * 404/410 are returned as `not-found`.
 * @throws ArchiveError ARCHIVE_DIGEST (wrong size or sha256), ARCHIVE_TOO_LARGE (more bytes than
 * expected), ARCHIVE_UNREACHABLE (network, after the retries).
 */
export async function downloadVerifiedFile(
  url: string,
  destPath: string,
  expected: ExpectedFile,
  options: TransferOptions,
): Promise<FetchOutcome<string>> {
  return withRetries(url, options, async () => {
    const temporary = join(
      dirname(destPath),
      `.${basename(destPath)}.${randomBytes(6).toString('hex')}.part`,
    );
    const handle = await open(temporary, 'wx', 0o644);
    let renamed = false;
    try {
      const hash = createHash('sha256');
      let size = 0;
      const answer = { status: 'ok' as 'ok' | 'not-found', code: 0 };
      for await (const chunk of bodyChunks(url, options, expected.size, (response) => {
        answer.code = response.status;
        answer.status = checkStatus(response, url, options.what);
      })) {
        size += chunk.byteLength;
        if (size > expected.size) {
          throw new ArchiveError(
            'ARCHIVE_TOO_LARGE',
            `${options.what}: ${url} sent more than the ${expected.size} bytes the signed index lists`,
          );
        }
        hash.update(chunk);
        await handle.write(chunk);
      }
      if (answer.status === 'not-found') return { kind: 'not-found', status: answer.code };
      const digest = hash.digest('hex');
      if (size !== expected.size || digest !== expected.sha256) {
        throw new ArchiveError(
          'ARCHIVE_DIGEST',
          `${options.what}: ${url} sent ${size} bytes with sha256 ${digest}; the signed index lists ${expected.size} bytes with sha256 ${expected.sha256}`,
        );
      }
      // No fsync: every reuse of a cached file re-hashes it, so a torn write is caught there.
      await handle.close();
      await rename(temporary, destPath);
      renamed = true;
      return { kind: 'ok', value: destPath };
    } finally {
      await handle.close().catch(() => undefined);
      if (!renamed) await rm(temporary, { force: true });
    }
  });
}
