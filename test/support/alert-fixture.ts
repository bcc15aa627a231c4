// Builds and verdicts for alert tests, recorded through the real build store (so the verdict
// trigger queues them exactly as a decision does), and a webhook receiver on loopback that checks
// every signature and records what it saw.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  verifyWebhookSignature,
  WEBHOOK_ATTEMPT_HEADER,
  WEBHOOK_EVENT_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
} from '../../services/alerts/webhook-signature.ts';
import type { Verdict } from '../../services/consensus/verdict.ts';
import type { BuildStore } from '../../services/storage/build-store.ts';
import { genericBuild } from './generic-build.ts';

/** Creates a generic build of `name` whose manifest differs per `version` (its identity is its version). */
export async function createAlertBuild(
  builds: BuildStore,
  options: { name: string; version: number; maintainer?: string; architecture?: string },
): Promise<string> {
  const build = genericBuild(options.name, {
    policy: { maxAttempts: 3 },
    sourceDateEpoch: 1_700_000_000 + options.version,
    ...(options.architecture !== undefined && { architecture: options.architecture }),
    ...(options.maintainer !== undefined && { submittedBy: options.maintainer }),
  });
  await builds.createBuild(build);
  return build.buildId;
}

/** Records `verdicts` in order, as decisions would. */
export async function recordVerdicts(
  builds: BuildStore,
  buildId: string,
  ...verdicts: Verdict[]
): Promise<void> {
  for (const verdict of verdicts)
    await builds.recordVerdict({ buildId, verdict, decisionJson: '{}', decidedAt: new Date() });
}

export interface ReceivedDelivery {
  readonly eventId: string;
  readonly attempt: number;
  readonly body: string;
  readonly signatureValid: boolean;
}

type Answer = number | 'hold' | 'flood';

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedDelivery[];
  /**
   * Statuses to answer, in order; after the script ends, 200. `'hold'` never answers; `'flood'`
   * answers 200 with a body that never ends.
   */
  script(...answers: Answer[]): void;
  /** Resolves when `count` deliveries have arrived. */
  waitFor(count: number): Promise<void>;
  close(): Promise<void>;
}

/** A receiver on 127.0.0.1 that verifies each request's signature under `secret`. */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: ReceivedDelivery[] = [];
  let answers: Answer[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    response.on('error', () => undefined);
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({
        eventId: String(request.headers[WEBHOOK_EVENT_ID_HEADER]),
        attempt: Number(request.headers[WEBHOOK_ATTEMPT_HEADER]),
        body: body.toString('utf8'),
        signatureValid: verifyWebhookSignature({
          secret,
          header: request.headers[WEBHOOK_SIGNATURE_HEADER] as string | undefined,
          body,
          nowSeconds: Math.floor(Date.now() / 1000),
        }),
      });
      for (const waiter of waiters.filter((w) => received.length >= w.count)) waiter.resolve();
      const answer = answers.shift() ?? 200;
      if (answer === 'hold') return;
      if (answer === 'flood') {
        response.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(64 * 1024, 'x');
        const flood = () => {
          while (!response.destroyed && response.write(chunk));
          if (!response.destroyed) response.once('drain', flood);
        };
        return flood();
      }
      response.writeHead(answer, { 'content-type': 'text/plain' });
      response.end(answer === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    script(...next) {
      answers = next;
    },
    waitFor(count) {
      if (received.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
