// The worker's HTTP client for the coordinator: every request carries a proof of possession of the
// worker's auth key; downloads are verified by digest before anything uses them.
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { readApiErrorBody } from '../../services/api/api-error-body.ts';
import { parseAttemptCheckAnswer, serializeAttemptCheckRequest } from '../../services/api/attempt-check.ts';
import {
  type HeartbeatAnswer,
  parseHeartbeatAnswer,
  serializeHeartbeatRequest,
} from '../../services/api/heartbeat.ts';
import {
  parseResultAnswer,
  type ResultAnswer,
  type ResultReport,
  serializeResultReport,
} from '../../services/api/result-report.ts';
import { signWorkerRequest } from '../../services/auth/worker-request-auth.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { InputError, RbnetError } from '../../services/errors.ts';

/** The length and sha256 of a request's body, which its proof declares. */
interface SignedBody {
  readonly bodySha256: string;
  readonly bodyLength: number;
}

export class CoordinatorRequestError extends RbnetError<'COORDINATOR_REFUSED' | 'COORDINATOR_UNREACHABLE'> {
  /** The coordinator's Retry-After, when it sent one. */
  retryAfterSeconds?: number;

  constructor(
    code: 'COORDINATOR_REFUSED' | 'COORDINATOR_UNREACHABLE',
    message: string,
    readonly status?: number,
    readonly remoteCode?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Refuses plain HTTP to anything but loopback: worker credentials and results travel on this link. */
export function checkCoordinatorUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CoordinatorRequestError('COORDINATOR_REFUSED', `--coordinator: not a URL: ${url}`);
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    throw new CoordinatorRequestError(
      'COORDINATOR_REFUSED',
      `--coordinator: use https:// (plain http only to loopback), got ${url}`,
    );
  }
  return parsed.origin;
}

export class CoordinatorClient {
  readonly origin: string;

  constructor(
    coordinatorUrl: string,
    private readonly workerId: string,
    private readonly authKey: KeyObject,
    /** How long to keep retrying while the coordinator does not answer, ms. */
    private readonly retryBudgetMs = 120_000,
  ) {
    this.origin = checkCoordinatorUrl(coordinatorUrl);
  }

  /**
   * Retries what a coordinator restart or a network blip breaks (no answer, 502/503/504), and a
   * request-rate refusal (429 `AUTH_RATE_LIMITED`, after its Retry-After), with backoff for up to
   * `retryBudgetMs`; other refusals (4xx) are final. Each retry signs anew (fresh nonce); a body given
   * as a function is recreated for each try (streams are single use).
   */
  private async request(method: string, path: string, init: RequestInit & SignedBody): Promise<Response> {
    const deadline = Date.now() + this.retryBudgetMs;
    let delayMs = 250;
    for (;;) {
      const body = typeof init.body === 'function' ? (init.body as () => BodyInit)() : init.body;
      try {
        return await this.requestOnce(method, path, { ...init, body });
      } catch (err) {
        const rateLimited = err instanceof CoordinatorRequestError && err.remoteCode === 'AUTH_RATE_LIMITED';
        const retriable =
          err instanceof CoordinatorRequestError &&
          (err.code === 'COORDINATOR_UNREACHABLE' ||
            rateLimited ||
            err.status === 502 ||
            err.status === 503 ||
            err.status === 504);
        const waitMs = rateLimited ? Math.max(delayMs, (err.retryAfterSeconds ?? 0) * 1000) : delayMs;
        if (!retriable || Date.now() + waitMs > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        delayMs = Math.min(delayMs * 2, 5_000);
      }
    }
  }

  private async requestOnce(method: string, path: string, init: RequestInit & SignedBody): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.origin}${path}`, {
        ...init,
        method,
        headers: {
          ...(init.headers as Record<string, string>),
          // The proof declares the body's length and digest: the coordinator reads no more than that.
          authorization: signWorkerRequest(this.authKey, {
            workerId: this.workerId,
            origin: this.origin,
            method,
            path,
            bodySha256: init.bodySha256,
            bodyLength: init.bodyLength,
          }),
        },
      });
    } catch (cause) {
      throw new CoordinatorRequestError(
        'COORDINATOR_UNREACHABLE',
        `${method} ${path}: ${(cause as Error).message}`,
        undefined,
        undefined,
        { cause },
      );
    }
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      // The coordinator's own code and message when it sent its error body; otherwise a bounded quote.
      const remote = readApiErrorBody(text) ?? {
        code: undefined,
        message: JSON.stringify(text.slice(0, 200)),
      };
      const retryAfter = Number(response.headers.get('retry-after') ?? 'NaN');
      const error = new CoordinatorRequestError(
        'COORDINATOR_REFUSED',
        `${method} ${path}: ${response.status} ${remote.code ?? ''} ${remote.message ?? ''}`.trim(),
        response.status,
        remote.code,
      );
      if (Number.isSafeInteger(retryAfter) && retryAfter > 0) error.retryAfterSeconds = retryAfter;
      throw error;
    }
    return response;
  }

  /** Streams a file into the content store; the coordinator checks the digest on write. */
  async uploadFile(sha256: Sha256Hex, path: string): Promise<void> {
    const { size } = await stat(path);
    await this.request('PUT', `/v1/cas/sha256/${sha256}`, {
      bodySha256: sha256,
      bodyLength: size,
      // A function, so each retry streams the file afresh.
      body: (() => Readable.toWeb(createReadStream(path)) as ReadableStream) as unknown as BodyInit,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      duplex: 'half',
    } as RequestInit & SignedBody);
  }

  async uploadBytes(bytes: Uint8Array): Promise<Sha256Hex> {
    const sha256 = sha256Hex(bytes);
    await this.request('PUT', `/v1/cas/sha256/${sha256}`, {
      bodySha256: sha256,
      bodyLength: bytes.byteLength,
      body: Buffer.from(bytes) as unknown as BodyInit,
      headers: { 'content-type': 'application/octet-stream' },
    });
    return sha256;
  }

  /** Downloads a blob to `destPath`, verifying its sha256 and size cap; nothing is left on mismatch. */
  async downloadFile(sha256: Sha256Hex, destPath: string, maxBytes: number): Promise<void> {
    const response = await fetch(`${this.origin}/v1/cas/sha256/${sha256}`).catch((cause: unknown) => {
      throw new CoordinatorRequestError(
        'COORDINATOR_UNREACHABLE',
        `GET blob ${sha256}: ${(cause as Error).message}`,
        undefined,
        undefined,
        { cause },
      );
    });
    if (!response.ok || !response.body)
      throw new InputError(
        'INPUT_MISSING',
        `input sha256:${sha256}: the coordinator answered ${response.status}`,
      );
    await mkdir(dirname(destPath), { recursive: true });
    const partial = `${destPath}.partial-${process.pid}`;
    const handle = await open(partial, 'w', 0o644);
    const hash = createHash('sha256');
    let total = 0;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        total += chunk.byteLength;
        if (total > maxBytes)
          throw new InputError('INPUT_TOO_LARGE', `input sha256:${sha256}: larger than ${maxBytes} bytes`);
        hash.update(chunk);
        await handle.write(chunk);
      }
      await handle.close();
      const actual = hash.digest('hex');
      if (actual !== sha256)
        throw new InputError(
          'INPUT_DIGEST_MISMATCH',
          `input sha256:${sha256}: the coordinator sent bytes hashing to ${actual}`,
        );
      await rename(partial, destPath);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await rm(partial, { force: true });
      throw err;
    }
  }

  /**
   * Names the jobs this worker runs now, signed; only their leases are renewed. The answer's `stale`
   * lists named jobs that are no longer this worker's to run.
   */
  async heartbeat(running: readonly string[]): Promise<HeartbeatAnswer> {
    const bytes = Buffer.from(serializeHeartbeatRequest(running));
    const response = await this.request('POST', '/v1/heartbeats', {
      bodySha256: sha256Hex(bytes),
      bodyLength: bytes.byteLength,
      body: bytes as unknown as BodyInit,
      headers: { 'content-type': 'application/json' },
    });
    return parseHeartbeatAnswer(await response.text());
  }

  /** Whether the attempt is still assigned to this worker and open (checked right before signing). */
  async attemptIsCurrent(jobId: string): Promise<boolean> {
    const bytes = Buffer.from(serializeAttemptCheckRequest({ jobId }));
    const response = await this.request('POST', '/v1/attempts/current', {
      bodySha256: sha256Hex(bytes),
      bodyLength: bytes.byteLength,
      body: bytes as unknown as BodyInit,
      headers: { 'content-type': 'application/json' },
    });
    return parseAttemptCheckAnswer(await response.text(), jobId).current;
  }

  /** Reports a signed result or a failure; the answer is read strictly (the coordinator is not trusted). */
  async postResult(report: ResultReport): Promise<ResultAnswer> {
    const bytes = Buffer.from(serializeResultReport(report));
    const response = await this.request('POST', '/v1/results', {
      bodySha256: sha256Hex(bytes),
      bodyLength: bytes.byteLength,
      body: bytes,
      headers: { 'content-type': 'application/json' },
    });
    return parseResultAnswer(await response.text());
  }
}
