// A rogue maintainer with a valid submit token tries to exhaust the content store: large uploads,
// hidden lengths, many small blobs, parallel uploads, junk it never references, and tricks to make
// the garbage collector take what a build needs. Each test is one named attack and the refusal or
// outcome it must meet, against the real coordinator over real SQLite and the real content store.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/rbnet.ts';
import { type Sha256Hex, sha256Hex } from '../../../services/digest.ts';
import { parseManifest } from '../../../services/manifest/parse-manifest.ts';
import { AuthTestCoordinator, countingBody } from '../../support/auth-test-coordinator.ts';
import { REPO_ROOT } from '../../support/runner-harness.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const DAY_MS = 86_400_000;

describe('a rogue maintainer exhausts the content store', () => {
  let coordinator: AuthTestCoordinator;
  let nowMs = Date.now();

  beforeAll(async () => {
    coordinator = await AuthTestCoordinator.start({
      env: {
        RBNET_QUOTA_MAINTAINER_BYTES: String(MiB),
        RBNET_QUOTA_MAINTAINER_BLOBS: '5',
        RBNET_GC_GRACE_MS: String(DAY_MS),
      },
      now: () => new Date(nowMs),
    });
    for (const operator of ['alpha', 'beta']) {
      await coordinator.addOperator(operator);
      await coordinator.enrol(operator, `${operator}-1`);
    }
  });
  afterAll(async () => coordinator?.close());

  function put(token: string, bytes: Buffer | ReadableStream<Uint8Array>, digest: string, length?: number) {
    return coordinator.request('PUT', `/v1/cas/sha256/${digest}`, {
      body: bytes,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        ...(length !== undefined ? { 'content-length': String(length) } : {}),
      },
    });
  }

  const upload = (token: string, bytes: Buffer) => put(token, bytes, sha256Hex(bytes), bytes.length);

  it('uploads past its byte quota: QUOTA_BYTES_EXCEEDED naming the maintainer and the setting, before the body is read; another maintainer is unaffected', async () => {
    const mallory = await coordinator.maintainer('mallory-bytes');
    expect((await upload(mallory, Buffer.alloc(700 * KiB, 1))).status).toBe(201);
    const body = countingBody(700 * KiB);
    const answer = await put(mallory, body.stream, 'f'.repeat(64), 700 * KiB);
    expect([answer.status, answer.json.error?.code]).toEqual([413, 'QUOTA_BYTES_EXCEEDED']);
    expect(answer.json.error?.message).toMatch(/maintainer:mallory-bytes .*RBNET_QUOTA_MAINTAINER_BYTES/);
    expect(body.pulledBytes()).toBe(0);
    const honest = await coordinator.maintainer('honest-bytes');
    expect((await upload(honest, Buffer.alloc(700 * KiB, 2))).status).toBe(201);
  });

  it('hides the length (no Content-Length) to slip past the quota: stopped at the room left, QUOTA_BYTES_EXCEEDED, nothing stored', async () => {
    const mallory = await coordinator.maintainer('mallory-hidden');
    expect((await upload(mallory, Buffer.alloc(512 * KiB, 3))).status).toBe(201);
    const body = countingBody(8 * MiB);
    const answer = await put(mallory, body.stream, 'e'.repeat(64));
    expect([answer.status, answer.json.error?.code]).toEqual([413, 'QUOTA_BYTES_EXCEEDED']);
    expect(answer.json.error?.message).toMatch(/maintainer:mallory-hidden/);
    // The room left, and at most the two chunks the stream adapter reads ahead.
    expect(body.pulledBytes()).toBeLessThanOrEqual(512 * KiB + 128 * KiB);
    expect(await coordinator.fixture.blobs.usage({ kind: 'maintainer', name: 'mallory-hidden' })).toEqual({
      bytes: 512 * KiB,
      blobs: 1,
    });
  });

  it('uploads many tiny blobs: QUOTA_BLOBS_EXCEEDED (429) at the count quota', async () => {
    const mallory = await coordinator.maintainer('mallory-count');
    for (let i = 0; i < 5; i++) expect((await upload(mallory, Buffer.from(`tiny ${i}`))).status).toBe(201);
    const answer = await upload(mallory, Buffer.from('tiny 5'));
    expect([answer.status, answer.json.error?.code]).toEqual([429, 'QUOTA_BLOBS_EXCEEDED']);
    expect(answer.json.error?.message).toMatch(/maintainer:mallory-count .*RBNET_QUOTA_MAINTAINER_BLOBS/);
  });

  it('opens parallel uploads that each fit but together exceed the quota: the first holds the room, the others are refused unread', async () => {
    const mallory = await coordinator.maintainer('mallory-parallel');
    const bytes = Buffer.alloc(600 * KiB, 4);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let pulled!: () => void;
    const started = new Promise<void>((resolve) => {
      pulled = resolve;
    });
    const held = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          pulled();
          await gate;
          controller.enqueue(new Uint8Array(bytes));
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    const first = put(mallory, held, sha256Hex(bytes), bytes.length);
    await started;
    const others = [countingBody(600 * KiB), countingBody(600 * KiB)];
    const refused = await Promise.all(
      others.map((body, i) => put(mallory, body.stream, String(i).repeat(64), 600 * KiB)),
    );
    for (const answer of refused) expect(answer.json.error?.code).toBe('QUOTA_BYTES_EXCEEDED');
    for (const body of others) expect(body.pulledBytes()).toBe(0);
    release();
    expect((await first).status).toBe(201);
    expect(
      (await coordinator.fixture.blobs.usage({ kind: 'maintainer', name: 'mallory-parallel' })).bytes,
    ).toBe(600 * KiB);
  });

  it('leaves junk nobody references, to keep it forever: `rbnet admin gc` removes it after the grace period and gives its quota back', async () => {
    const mallory = await coordinator.maintainer('mallory-junk');
    const junk = Buffer.alloc(900 * KiB, 5);
    const digest = sha256Hex(junk) as Sha256Hex;
    expect((await upload(mallory, junk)).status).toBe(201);
    expect((await upload(mallory, Buffer.alloc(200 * KiB, 6))).json.error?.code).toBe('QUOTA_BYTES_EXCEEDED');

    // Within the grace period nothing is collected.
    nowMs += DAY_MS - 60_000;
    expect((await coordinator.admin('/v1/admin/gc', {})).json.removed).toEqual([]);

    nowMs += 120_000;
    const served = await coordinator.listen();
    try {
      let stdout = '';
      const out = new PassThrough().on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      const code = await main(
        [
          'admin',
          'gc',
          '--dry-run',
          '--json',
          '--coordinator',
          served.url,
          '--token',
          coordinator.adminToken,
        ],
        { stdout: out, stderr: new PassThrough(), env: {}, cwd: REPO_ROOT },
      );
      expect(code).toBe(0);
      const dryRun = JSON.parse(stdout) as {
        dryRun: boolean;
        removed: { sha256: string; owners: string[] }[];
      };
      expect(dryRun.dryRun).toBe(true);
      expect(dryRun.removed).toContainEqual(
        expect.objectContaining({ sha256: digest, owners: ['maintainer:mallory-junk'] }),
      );
      expect(await coordinator.fixture.deps.content.has(digest)).toBe(true);
    } finally {
      await served.close();
    }

    const report = await coordinator.admin('/v1/admin/gc', {});
    expect(report.json.removed).toContainEqual(
      expect.objectContaining({ sha256: digest, sizeBytes: 900 * KiB }),
    );
    expect(await coordinator.fixture.deps.content.has(digest)).toBe(false);
    expect(await coordinator.fixture.blobs.usage({ kind: 'maintainer', name: 'mallory-junk' })).toEqual({
      bytes: 0,
      blobs: 0,
    });
    expect((await upload(mallory, Buffer.alloc(200 * KiB, 6))).status).toBe(201);
  });

  it('uploads early what a build will name, hoping the collector takes it from under the build: a referenced blob is kept forever', async () => {
    const maintainer = await coordinator.maintainer('maint-build');
    const hello = parseManifest(await readFile(join(REPO_ROOT, 'samples', 'hello', 'manifest.json')));
    const inputs: Sha256Hex[] = [];
    for (const file of ['build.sh', 'message.txt']) {
      const bytes = await readFile(join(REPO_ROOT, 'samples', 'hello', file));
      expect([200, 201]).toContain((await upload(maintainer, bytes)).status);
      inputs.push(sha256Hex(bytes) as Sha256Hex);
    }
    nowMs += DAY_MS / 2;
    const submitted = await coordinator.request('POST', '/v1/builds', {
      body: hello.canonicalJson,
      headers: { authorization: `Bearer ${maintainer}`, 'content-type': 'application/json' },
    });
    expect(submitted.status, JSON.stringify(submitted.json)).toBe(201);
    nowMs += 365 * DAY_MS;
    const report = await coordinator.admin('/v1/admin/gc', {});
    for (const digest of inputs) {
      expect(report.json.removed).not.toContainEqual(expect.objectContaining({ sha256: digest }));
      expect(await coordinator.fixture.deps.content.has(digest)).toBe(true);
      expect(await coordinator.fixture.blobs.referencesOf(digest)).toContain(
        `build:${submitted.json.buildId}`,
      );
    }
  });

  it("re-uploads another maintainer's stored input to have it charged or collected: accepted free of charge, and kept", async () => {
    const honest = await coordinator.maintainer('honest-input');
    const mallory = await coordinator.maintainer('mallory-reupload');
    const bytes = Buffer.alloc(300 * KiB, 7);
    expect((await upload(honest, bytes)).status).toBe(201);
    const again = await upload(mallory, bytes);
    expect([again.status, again.json.created]).toEqual([200, false]);
    expect(await coordinator.fixture.blobs.usage({ kind: 'maintainer', name: 'mallory-reupload' })).toEqual({
      bytes: 0,
      blobs: 0,
    });
    expect(await coordinator.fixture.blobs.usage({ kind: 'maintainer', name: 'honest-input' })).toEqual({
      bytes: 300 * KiB,
      blobs: 1,
    });
  });
});
