// Builds and verdicts for alert tests, recorded through the real build store (so the verdict
// trigger queues them exactly as a decision does), and a webhook receiver on loopback that checks
// every signature and records what it saw.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  verifyWebhookSignature,
  WEBHOOK_ATTEMPT_HEADER,
  WEBHOOK_EVENT_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
} from '../../services/alerts/webhook-signature.ts';
import type { Verdict } from '../../services/consensus/verdict.ts';
import { parseManifest } from '../../services/manifest/parse-manifest.ts';
import type { BuildStore } from '../../services/storage/build-store.ts';

/** Creates a generic build of `name` whose manifest differs per `version` (its identity is its version). */
export async function createAlertBuild(
  builds: BuildStore,
  options: { name: string; version: number; maintainer?: string; architecture?: string; createdAt?: Date },
): Promise<string> {
  const buildId = randomUUID();
  const architecture = options.architecture ?? 'amd64';
  const parsed = parseManifest(
    JSON.stringify({
      schema: 'rbnet.manifest/v1',
      name: options.name,
      architecture,
      backend: 'generic',
      environment: {
        image: { sha256: 'a'.repeat(64) },
        env: { PATH: '/bin' },
        locale: 'C.UTF-8',
        timezone: 'UTC',
        umask: '0022',
        uid: 1000,
        gid: 1000,
        hostname: 'rbnet-build',
        buildPath: '/build/alert',
        sourceDateEpoch: 1_700_000_000 + options.version,
      },
      inputs: [],
      build: { argv: ['/bin/sh', '-c', 'true'], workingDir: '.', timeLimitSeconds: 60 },
      outputDir: 'out',
    }),
  );
  await builds.createBuild({
    buildId,
    manifestSha256: parsed.manifestSha256,
    manifestJson: parsed.canonicalJson,
    name: options.name,
    architecture,
    backend: 'generic',
    claimedOutputs: [],
    policy: { threshold: 2, maxAttempts: 3, decisionDeadlineMs: 3_600_000 },
    submittedBy: options.maintainer ?? 'maint',
    createdAt: options.createdAt ?? new Date(),
  });
  return buildId;
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

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedDelivery[];
  /** Statuses to answer, in order; after the script ends, 200. `'hold'` never answers. */
  script(...answers: (number | 'hold')[]): void;
  /** Resolves when `count` deliveries have arrived. */
  waitFor(count: number): Promise<void>;
  close(): Promise<void>;
}

/** A receiver on 127.0.0.1 that verifies each request's signature under `secret`. */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: ReceivedDelivery[] = [];
  let answers: (number | 'hold')[] = [];
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
