// A lying coordinator answers the maintainer's `rbnet status` and a worker's own requests: its
// answers are read with the wire contract's strict parsers, so a view about another build, a verdict
// outside the closed set or a name carrying terminal escape sequences is refused by name (never
// printed), and an error body cannot smuggle escape sequences onto the screen either.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../services/digest.ts';
import { CoordinatorClient } from '../../../worker/network/coordinator-client.ts';
import { runCli } from '../../support/run-cli.ts';
import {
  type ScriptedHttpServer,
  sendJson,
  startScriptedHttpServer,
} from '../../support/scripted-http-server.ts';

const SHA = 'a'.repeat(64);
const ESC = '\u001b';

function view(buildId: string, overrides: Record<string, unknown> = {}) {
  return {
    buildId,
    name: 'hello',
    manifestSha256: SHA,
    architecture: 'amd64',
    backend: 'generic',
    claimedOutputs: [],
    policy: { threshold: 2, maxAttempts: 3, decisionDeadlineMs: 60_000 },
    retryPolicy: {
      leaseTimeoutMs: 60_000,
      buildFailureRetries: 1,
      infrastructureRetries: 3,
      retryBackoffMs: 5000,
    },
    createdAt: '2026-11-25T12:00:00.000Z',
    verdict: 'pending',
    attempts: [],
    results: [],
    history: [],
    conflicts: [],
    links: {
      self: `/v1/builds/${buildId}`,
      attestation: `/v1/builds/${buildId}/attestation`,
      divergence: `/v1/builds/${buildId}/divergence`,
    },
    ...overrides,
  };
}

let server: ScriptedHttpServer;
beforeAll(async () => {
  server = await startScriptedHttpServer('127.0.0.1');
});
afterAll(async () => server?.close());

const status = (buildId: string) => runCli(['status', buildId, '--coordinator', server.url]);

describe('a lying coordinator answering `rbnet status`', () => {
  it('an honest view is shown (the script is a valid answer)', async () => {
    const buildId = randomUUID();
    server.handle((_request, response) => sendJson(response, 200, view(buildId)));
    const result = await status(buildId);
    expect([result.code, result.stdout]).toEqual([0, expect.stringContaining(`build ${buildId}  hello`)]);
  });

  it.each([
    [
      'a view of another build',
      (_id: string) => view(randomUUID()),
      /ANSWER_INVALID.*buildId: the answer is about/,
    ],
    [
      'a verdict outside the closed set',
      (id: string) => view(id, { verdict: 'trusted' }),
      /ANSWER_INVALID.*verdict: /,
    ],
    [
      'a name carrying terminal escape sequences',
      (id: string) => view(id, { name: `hello${ESC}[2J${ESC}]0;owned${ESC}\\` }),
      /ANSWER_INVALID.*name: .*control characters/,
    ],
    [
      'an explanation that rewrites the screen',
      (id: string) =>
        view(id, {
          decision: { verdict: 'pending', countedOperators: [], explanation: `ok${ESC}[1A${ESC}[2K` },
        }),
      /ANSWER_INVALID.*decision\.explanation: /,
    ],
    [
      'a link with a control character',
      (id: string) => view(id, { links: { ...view(id).links, attestation: '/x\r/evil' } }),
      /ANSWER_INVALID.*links\.attestation: /,
    ],
  ])('%s is refused by name and nothing of it is printed', async (_label, answer, reason) => {
    const buildId = randomUUID();
    server.handle((_request, response) => sendJson(response, 200, answer(buildId)));
    const result = await status(buildId);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(reason);
    expect(result.stdout).toBe('');
    expect(`${result.stdout}${result.stderr}`).not.toContain(ESC);
  });

  it('an error body with escape sequences is shown with them neutralised', async () => {
    server.handle((_request, response) =>
      sendJson(response, 404, { error: { code: 'NOT_FOUND', message: `no such build${ESC}[2J` } }),
    );
    const result = await status(randomUUID());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('NOT_FOUND');
    expect(result.stderr).not.toContain(ESC);
  });
});

describe("a lying coordinator answering a worker's own requests", () => {
  const client = () => new CoordinatorClient(server.url, 'w1', generateKeyPairSync('ed25519').privateKey, 0);

  it('an attempt check about another job does not let the worker sign', async () => {
    server.handle((_request, response) =>
      sendJson(response, 200, { jobId: 'other-job', current: true, state: 'open' }),
    );
    await expect(client().attemptIsCurrent('job-1')).rejects.toMatchObject({ code: 'ANSWER_INVALID' });
  });

  it('a result answer that breaks the contract is refused by name', async () => {
    server.handle((_request, response) => sendJson(response, 202, { accepted: 'yes' }));
    await expect(
      client().postResult({
        jobId: 'job-1',
        failure: { reason: 'oom', detail: '', logSha256: sha256Hex('log') },
      }),
    ).rejects.toMatchObject({ code: 'ANSWER_INVALID', message: expect.stringMatching(/^accepted: /) });
  });
});
