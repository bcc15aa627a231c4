// The worker's client against a real loopback HTTP server standing in for the coordinator: what its
// proofs declare, and how it meets a request-rate refusal.
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAuthHeader } from '../../services/auth/worker-request-auth.ts';
import { sha256Hex } from '../../services/digest.ts';
import { CoordinatorClient } from './coordinator-client.ts';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Serves `answers` in turn, recording each request's proof and body. */
async function coordinator(
  answers: readonly { status: number; body: unknown; headers?: Record<string, string> }[],
) {
  const seen: { authorization: string; body: Buffer }[] = [];
  server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    seen.push({ authorization: request.headers.authorization ?? '', body: Buffer.concat(chunks) });
    const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
    response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    response.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

describe('CoordinatorClient', () => {
  it('declares in each proof the exact length and sha256 of the body it sends', async () => {
    const { url, seen } = await coordinator([
      { status: 200, body: { jobId: 'job-1', current: true, state: 'open' } },
    ]);
    const client = new CoordinatorClient(url, 'w1', generateKeyPairSync('ed25519').privateKey);
    expect(await client.attemptIsCurrent('job-1')).toBe(true);
    const proof = parseAuthHeader(seen[0]!.authorization);
    expect(proof).toMatchObject({
      workerId: 'w1',
      bodyLength: seen[0]!.body.length,
      bodySha256: sha256Hex(seen[0]!.body),
    });
  });

  it('waits out AUTH_RATE_LIMITED (its Retry-After) and sends again with a fresh proof', async () => {
    const { url, seen } = await coordinator([
      {
        status: 429,
        body: { error: { code: 'AUTH_RATE_LIMITED', message: 'slow down' } },
        headers: { 'retry-after': '1' },
      },
      { status: 200, body: { jobId: 'job-1', current: true, state: 'open' } },
    ]);
    const client = new CoordinatorClient(url, 'w1', generateKeyPairSync('ed25519').privateKey);
    expect(await client.attemptIsCurrent('job-1')).toBe(true);
    expect(seen).toHaveLength(2);
    expect(parseAuthHeader(seen[0]!.authorization).nonce).not.toBe(
      parseAuthHeader(seen[1]!.authorization).nonce,
    );
  });

  it('does not retry a quota refusal: it is final', async () => {
    const { url, seen } = await coordinator([
      { status: 429, body: { error: { code: 'QUOTA_BLOBS_EXCEEDED', message: 'full' } } },
    ]);
    const client = new CoordinatorClient(url, 'w1', generateKeyPairSync('ed25519').privateKey);
    await expect(client.uploadBytes(Buffer.from('x'))).rejects.toMatchObject({
      remoteCode: 'QUOTA_BLOBS_EXCEEDED',
    });
    expect(seen).toHaveLength(1);
  });
});
