// The network end to end: a real coordinator, real Redis with per-worker ACL users, three workers of
// three operators on the real engine; verdicts, the consensus attestation and local verification.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseFeed } from '@rowanmanning/feed-parser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  loadEd25519PublicKey,
  publicKeyToSecuresystemslibJson,
} from '../services/attestation/ed25519-key.ts';
import { parseTrustPolicy } from '../services/consensus/trust-policy.ts';
import { verifyConsensus } from '../services/consensus/verify-consensus.ts';
import { type NetworkHarness, startNetworkHarness } from './support/network-harness.ts';
import { runScopedId } from './support/run-scoped-id.ts';
import { REPO_ROOT } from './support/runner-harness.ts';

const ALPHA = runScopedId('alpha-1');
const BETA = runScopedId('beta-1');
const GAMMA = runScopedId('gamma-1');

let net: NetworkHarness;
let maintainer: string;

async function policyFor(
  workerIds: string[],
  threshold: number,
  expires = '2099-01-01T00:00:00Z',
): Promise<string> {
  const operators = [];
  for (const workerId of workerIds) {
    const dir = net.workerDirs.get(workerId)!;
    const identity = JSON.parse(await readFile(join(dir, 'worker.json'), 'utf8')) as { operator: string };
    const key = await loadEd25519PublicKey(join(dir, 'worker-signing.key.pub'));
    const pem = await readFile(join(dir, 'worker-signing.key.pub'), 'utf8');
    operators.push({
      name: identity.operator,
      keys: [{ keyid: publicKeyToSecuresystemslibJson(key).keyid, publicKeyPem: pem }],
    });
  }
  return JSON.stringify({
    schema: 'rbnet.trust-policy/v1',
    operators,
    threshold,
    allowFetchedEnvironments: false,
    expires,
  });
}

beforeAll(async () => {
  net = await startNetworkHarness({ threshold: 3, prefix: 'net' });
  await net.addWorker('alpha', ALPHA);
  await net.addWorker('beta', BETA);
  await net.addWorker('gamma', GAMMA);
  maintainer = await net.maintainerToken();
});
afterAll(async () => {
  await net?.close();
});

describe('three operators', () => {
  it('agree on the deterministic sample: reproducible, and rbnet verify accepts under k=3', async () => {
    const buildId = await net.submit(join(REPO_ROOT, 'samples', 'hello', 'manifest.json'), maintainer);
    const status = await net.waitForVerdict(buildId);
    expect(status.verdict).toBe('reproducible');
    expect(status.decision.countedOperators).toEqual(['alpha', 'beta', 'gamma']);

    const attestation = await net.api('GET', `/v1/builds/${buildId}/attestation`);
    expect(attestation.status).toBe(200);
    const policy = parseTrustPolicy(await policyFor([ALPHA, BETA, GAMMA], 3), new Date());
    const hello = status.results[0].outputs.find((o: { path: string }) => o.path === 'hello.txt');
    const pin = { manifestSha256: status.manifestSha256 };
    const verified = verifyConsensus({
      consensusEnvelope: attestation.text,
      policy,
      artifactSha256: hello.sha256,
      now: new Date(),
      pin,
    });
    expect(verified.ok).toBe(true);
    expect(verified.countedOperators).toEqual(['alpha', 'beta', 'gamma']);

    // The same attestation, checked against other pinned keys, another file, or an expired policy.
    const { generateKeyPairSync } = await import('node:crypto');
    const strangerPem = generateKeyPairSync('ed25519').publicKey.export({
      format: 'pem',
      type: 'spki',
    }) as string;
    const { ed25519PublicKeyFromPem, securesystemslibKeyid } = await import(
      '../services/attestation/ed25519-key.ts'
    );
    const stranger = JSON.parse(await policyFor([ALPHA, BETA, GAMMA], 3)) as {
      operators: { keys: unknown[] }[];
    };
    stranger.operators[0]!.keys = [
      { keyid: securesystemslibKeyid(ed25519PublicKeyFromPem(strangerPem)), publicKeyPem: strangerPem },
    ];
    const withStranger = verifyConsensus({
      consensusEnvelope: attestation.text,
      policy: parseTrustPolicy(JSON.stringify(stranger), new Date()),
      artifactSha256: hello.sha256,
      now: new Date(),
      pin,
    });
    expect(withStranger.ok).toBe(false);
    expect(withStranger.countedOperators).toEqual(['beta', 'gamma']);
    const otherFile = verifyConsensus({
      consensusEnvelope: attestation.text,
      policy,
      artifactSha256: 'f'.repeat(64),
      now: new Date(),
      pin,
    });
    expect(otherFile.ok).toBe(false);
    expect(() =>
      verifyConsensus({
        consensusEnvelope: attestation.text,
        policy,
        artifactSha256: hello.sha256,
        now: new Date('2100-01-01T00:00:00Z'),
        pin,
      }),
    ).toThrow(/expired/i);

    const byArtifact = await net.api('GET', `/v1/artifacts/sha256/${hello.sha256}`);
    expect(byArtifact.json.builds.map((b: { buildId: string }) => b.buildId)).toContain(buildId);
    const log = await net.api('GET', '/v1/log?from=0&limit=100');
    expect(log.json.entries.some((e: { buildId: string }) => e.buildId === buildId)).toBe(true);
  });

  it('the random sample diverges and the report names random.bin', async () => {
    const buildId = await net.submit(join(REPO_ROOT, 'samples', 'random', 'manifest.json'), maintainer);
    const status = await net.waitForVerdict(buildId);
    expect(status.verdict).toBe('diverged');
    const report = await net.api('GET', `/v1/builds/${buildId}/divergence`);
    expect(report.json.differingPaths).toEqual(['random.bin']);
    expect(report.json.agreeingPaths).toEqual(['stable.txt']);
  });

  it('a wrong claim is mismatch-upstream, and the coordinator’s alert loop publishes the alarm', async () => {
    const buildId = await net.submit(join(REPO_ROOT, 'samples', 'wrong-claim', 'manifest.json'), maintainer);
    const status = await net.waitForVerdict(buildId);
    expect(status.verdict).toBe('mismatch-upstream');
    // The running coordinator derives the event in the background: the public Atom feed names it.
    await vi.waitFor(
      async () => {
        const xml = await (await fetch(`${net.coordinator.url}/v1/alerts/atom?package=wrong-claim`)).text();
        const entries = parseFeed(xml).items.filter((item) => item.url?.endsWith(`/v1/builds/${buildId}`));
        expect(entries.map((item) => item.title?.split(':')[0])).toEqual(['mismatch-upstream']);
      },
      { timeout: 60_000, interval: 250 },
    );
  });
});

describe('the coordinator’s HTTP server', () => {
  it('keeps an idle keep-alive connection open past a client’s idle timeout, so a client whose event loop stalled never writes into a socket the server is closing', async () => {
    const { connect } = await import('node:net');
    const { port } = new URL(net.coordinator.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    let closed = false;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => undefined);
    const request = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n';
    const answered = async (count: number) => {
      for (let i = 0; i < 100 && received.split('HTTP/1.1 200').length - 1 < count; i += 1)
        await new Promise((resolve) => setTimeout(resolve, 50));
      return received.split('HTTP/1.1 200').length - 1;
    };
    socket.write(request);
    expect(await answered(1)).toBe(1);
    // Longer than Node's default 5 s keep-alive and undici's 4 s: the server must not have closed it.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(closed).toBe(false);
    socket.write(request);
    expect(await answered(2)).toBe(2);
    socket.destroy();
  });
});
