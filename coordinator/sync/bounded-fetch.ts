// One GET from an archive or a .buildinfo source the coordinator follows: a size cap checked while
// reading, a whole-request deadline (a stalling server cannot hold a poll), and redirects followed
// only within the same origin, a few times at most.
import { ArchiveError } from '../../services/errors.ts';

export interface BoundedFetchOptions {
  /** Refused (`ARCHIVE_TOO_LARGE`) past this many bytes. */
  readonly maxBytes: number;
  /** The whole request, headers and body, is aborted after this many milliseconds. */
  readonly timeoutMs: number;
  /** Names the document in refusals, e.g. `bookworm InRelease`. */
  readonly what: string;
}

/** The body, or that the server has no such document (404/410), a value the caller decides on. */
export type BoundedFetchOutcome =
  | { readonly kind: 'ok'; readonly bytes: Buffer }
  | { readonly kind: 'not-found'; readonly status: number };

/** Like {@link BoundedFetchOutcome}, the body as it arrives (capped and under the same deadline). */
export type BoundedStreamOutcome =
  | { readonly kind: 'ok'; readonly body: AsyncIterable<Buffer> }
  | { readonly kind: 'not-found'; readonly status: number };

const MAX_REDIRECTS = 3;

/** Network failures and timeouts as ARCHIVE_UNREACHABLE; an ArchiveError as it is. */
function unreachable(err: unknown, signal: AbortSignal, options: BoundedFetchOptions): ArchiveError {
  if (err instanceof ArchiveError) return err;
  return new ArchiveError(
    'ARCHIVE_UNREACHABLE',
    `${options.what}: ${signal.aborted ? `no complete answer within ${options.timeoutMs} ms` : (err as Error).message}`,
    { cause: err },
  );
}

async function* cappedBody(
  response: Response,
  signal: AbortSignal,
  options: BoundedFetchOptions,
): AsyncGenerator<Buffer> {
  let total = 0;
  try {
    for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > options.maxBytes)
        throw new ArchiveError(
          'ARCHIVE_TOO_LARGE',
          `${options.what}: over the limit of ${options.maxBytes} bytes`,
        );
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  } catch (err) {
    throw unreachable(err, signal, options);
  } finally {
    // A consumer that stops early (a refusal downstream) must not leave the connection open.
    await response.body?.cancel().catch(() => undefined);
  }
}

/**
 * GETs `url` and hands its body over as it arrives: the size cap and the deadline hold until the
 * last byte. @throws ArchiveError as {@link boundedFetch}, the body's own refusals while it is read.
 */
export async function boundedStream(
  url: string,
  options: BoundedFetchOptions,
): Promise<BoundedStreamOutcome> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  const origin = new URL(url).origin;
  let current = url;
  try {
    for (let hop = 0; ; hop++) {
      const response = await fetch(current, { redirect: 'manual', signal });
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        const location = response.headers.get('location');
        const next = location === null ? undefined : new URL(location, current);
        if (next === undefined || next.origin !== origin || hop >= MAX_REDIRECTS)
          throw new ArchiveError(
            'ARCHIVE_UNREACHABLE',
            `${options.what}: redirect refused (${next === undefined ? 'no location' : next.origin !== origin ? 'to another origin' : 'too many'})`,
          );
        current = next.href;
        continue;
      }
      if (response.status === 404 || response.status === 410) {
        await response.body?.cancel();
        return { kind: 'not-found', status: response.status };
      }
      if (response.status < 200 || response.status > 299) {
        await response.body?.cancel();
        throw new ArchiveError('ARCHIVE_UNREACHABLE', `${options.what}: HTTP ${response.status}`);
      }
      const declared = Number(response.headers.get('content-length') ?? Number.NaN);
      if (declared > options.maxBytes) {
        await response.body?.cancel();
        throw new ArchiveError(
          'ARCHIVE_TOO_LARGE',
          `${options.what}: ${declared} bytes, over the limit of ${options.maxBytes}`,
        );
      }
      return { kind: 'ok', body: cappedBody(response, signal, options) };
    }
  } catch (err) {
    throw unreachable(err, signal, options);
  }
}

/**
 * GETs `url`. @throws ArchiveError ARCHIVE_UNREACHABLE (network, timeout, a status other than 2xx,
 *   404 or 410, a redirect off the origin), ARCHIVE_TOO_LARGE.
 */
export async function boundedFetch(url: string, options: BoundedFetchOptions): Promise<BoundedFetchOutcome> {
  const opened = await boundedStream(url, options);
  if (opened.kind === 'not-found') return opened;
  const chunks: Buffer[] = [];
  for await (const chunk of opened.body) chunks.push(chunk);
  return { kind: 'ok', bytes: Buffer.concat(chunks) };
}
