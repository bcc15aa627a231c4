// The real coordinator app (createCoordinatorApp over real SQLite and the real content store) with
// the accounts an authentication or quota test needs: an admin, operators, maintainers and enrolled
// workers, each speaking the same wire format as the real CLI and worker.
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { expect } from 'vitest';
import { createCoordinatorApp } from '../../coordinator/http/create-app.ts';
import { createTestCoordinatorDeps, type TestCoordinatorDeps } from './coordinator-deps-fixture.ts';
import {
  enrolmentRequestFor,
  newTestWorkerKeys,
  type TestWorkerKeys,
  workerProof,
} from './test-worker-keys.ts';

/** What loopback enrolment needs to see: the socket address the Node adapter would pass. */
export const LOOPBACK_ENV = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: { error?: { code: string; message: string }; [key: string]: unknown };
}

/**
 * A request body that counts what the server pulls from it: `highWaterMark: 0` means nothing is read
 * ahead, so `pulledBytes()` is exactly what the coordinator consumed.
 */
export function countingBody(totalBytes: number, chunkBytes = 64 * 1024) {
  let pulled = 0;
  const chunk = new Uint8Array(chunkBytes);
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled >= totalBytes) {
          controller.close();
          return;
        }
        const size = Math.min(chunkBytes, totalBytes - pulled);
        pulled += size;
        controller.enqueue(size === chunkBytes ? chunk.slice() : chunk.slice(0, size));
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulledBytes: () => pulled };
}

export class AuthTestCoordinator {
  readonly origin = 'http://127.0.0.1:8470';
  app!: ReturnType<typeof createCoordinatorApp>;
  fixture!: TestCoordinatorDeps;
  root!: string;
  adminToken = '';

  /** @param env settings as the coordinator reads them (quotas, limits), e.g. `RBNET_QUOTA_…`. */
  static async start(
    options: { readonly env?: Readonly<Record<string, string>>; readonly now?: () => Date } = {},
  ): Promise<AuthTestCoordinator> {
    const coordinator = new AuthTestCoordinator();
    coordinator.root = await mkdtemp(join(tmpdir(), 'rbnet-auth-'));
    coordinator.fixture = await createTestCoordinatorDeps(coordinator.root, {
      ...(options.env ? { env: options.env } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    coordinator.app = createCoordinatorApp(coordinator.fixture.deps);
    coordinator.adminToken = (
      await coordinator.fixture.store.registry.createToken({
        kind: 'admin',
        subject: 'admin',
        scopes: ['admin', 'submit'],
        singleUse: false,
      })
    ).secret;
    return coordinator;
  }

  async request(
    method: string,
    path: string,
    options: {
      readonly body?: string | Uint8Array | ReadableStream<Uint8Array>;
      readonly headers?: Readonly<Record<string, string>>;
      readonly env?: unknown;
    } = {},
  ): Promise<Answer> {
    const response = await this.app.request(
      path,
      {
        method,
        headers: { ...options.headers },
        ...(options.body !== undefined ? { body: options.body as BodyInit, duplex: 'half' } : {}),
      } as RequestInit,
      options.env ?? LOOPBACK_ENV,
    );
    const text = await response.text();
    let json: Answer['json'];
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { text };
    }
    return { status: response.status, headers: response.headers, json };
  }

  admin(path: string, body: Record<string, unknown>): Promise<Answer> {
    return this.request('POST', path, {
      body: JSON.stringify(body),
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
    });
  }

  async addOperator(name: string): Promise<void> {
    expect((await this.admin('/v1/admin/operators', { name })).status).toBe(201);
  }

  async enrolmentToken(operator: string, ttlSeconds?: number): Promise<string> {
    const answer = await this.admin('/v1/admin/enrolment-tokens', {
      operator,
      ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
    });
    expect(answer.status).toBe(201);
    return answer.json.token as string;
  }

  /** A maintainer and its API token. */
  async maintainer(name: string): Promise<string> {
    const answer = await this.admin('/v1/admin/maintainers', { name });
    expect(answer.status).toBe(201);
    return answer.json.token as string;
  }

  /** Enrols a worker of `operator` through the real route, as `rbnet worker enrol` does. */
  async enrol(operator: string, id: string): Promise<TestWorkerKeys> {
    const keys = newTestWorkerKeys(id);
    const { body, headers } = await enrolmentRequestFor(keys, {
      origin: this.origin,
      token: await this.enrolmentToken(operator),
      now: this.fixture.deps.now().getTime(),
    });
    const answer = await this.request('POST', '/v1/workers/enrol', { body, headers });
    expect(answer.status, JSON.stringify(answer.json)).toBe(201);
    return keys;
  }

  /** A request with the worker's proof over `body` (JSON routes). */
  asWorker(keys: TestWorkerKeys, method: string, path: string, body = ''): Promise<Answer> {
    return this.request(method, path, {
      body,
      headers: {
        'content-type': 'application/json',
        ...workerProof(keys, {
          origin: this.origin,
          method,
          path,
          body,
          now: this.fixture.deps.now().getTime(),
        }),
      },
    });
  }

  /**
   * Serves the same app on a real loopback socket, as coordinator/main.ts does (the public URL the
   * workers sign stays `origin`). @returns its URL and how to stop it.
   */
  async listen(): Promise<{ readonly url: string; close(): Promise<void> }> {
    const server = serve({ fetch: this.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', reject);
    });
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve) => {
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          server.close(() => resolve());
        }),
    };
  }

  async close(): Promise<void> {
    await this.fixture.close();
    await rm(this.root, { recursive: true, force: true });
  }
}
