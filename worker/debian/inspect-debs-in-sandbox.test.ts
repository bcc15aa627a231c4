// The divergence report against the real engine: Debian's hello .deb against a copy with one data
// member changed, a hostile .deb (traversal + bomb), and a container that runs out of time — all in
// the inspection environment built by infra/build-env-inspect.sh, leaving no container behind.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InspectionReport } from '../../services/debian/deb-inspection/inspection-report-format.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import { createDockerClient } from '../main.ts';
import { LABEL_WORKER } from '../sandbox/container-labels.ts';
import { DockerSandbox } from '../sandbox/docker-sandbox.ts';
import { readEngineFacts } from '../sandbox/engine-facts.ts';
import {
  type InspectDebsArgs,
  type InspectionOutcome,
  inspectDebsInSandbox,
} from './inspect-debs-in-sandbox.ts';
import { buildDeb, dirEntry, fileEntry, rewriteDebData, sampleData } from './inspection/deb-fixture.ts';
import { buildInspectorBundle, type InspectorBundle } from './inspector-bundle.ts';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '..', '..');
const ENGINE_HOST = process.env.RBNET_DOCKER_HOST ?? 'unix:///run/rbnet/docker.sock';
const STATE_DIR = process.env.RBNET_STATE_DIR ?? '/var/lib/rbnet';
const WORKER_ID = `test-inspect-${process.pid}`;

let root: string;
let docker: Docker;
let sandbox: DockerSandbox;
let bundle: InspectorBundle;
let imageSha256: string;
let helloDeb: string;
let patchedDeb: string;
let hostileDeb: string;
let counter = 0;

beforeAll(
  async () => {
    root = await mkdtemp(join(tmpdir(), 'rbnet-inspect-sandbox-'));
    // Reuses the registered environment when it exists; the first build takes about a minute.
    const { stdout } = await run('bash', [join(REPO, 'infra', 'build-env-inspect.sh')], {
      cwd: REPO,
      maxBuffer: 16 * 1024 * 1024,
      timeout: 20 * 60 * 1000,
    });
    imageSha256 = stdout.trimEnd().split('\n').pop()!;
    expect(imageSha256).toMatch(/^[0-9a-f]{64}$/);

    docker = createDockerClient(ENGINE_HOST);
    sandbox = new DockerSandbox(docker, await readEngineFacts(docker), pino({ level: 'silent' }));
    bundle = await buildInspectorBundle(join(root, 'cache'));

    const downloads = join(root, 'apt');
    await run('mkdir', ['-m', '0777', downloads]);
    await run('apt-get', ['download', '-q', 'hello'], { cwd: downloads });
    const [name] = (await readdir(downloads)).filter((f) => f.startsWith('hello_') && f.endsWith('.deb'));
    helloDeb = join(downloads, name!);

    const patched = await rewriteDebData(await readFile(helloDeb), (entries) =>
      entries.map((e) =>
        e.name === './usr/bin/hello'
          ? { ...e, content: Buffer.concat([Buffer.from(e.content!), Buffer.from('tampered')]) }
          : e,
      ),
    );
    patchedDeb = join(root, 'hello-patched.deb');
    await writeFile(patchedDeb, patched);

    hostileDeb = join(root, 'hostile.deb');
    await writeFile(
      hostileDeb,
      await buildDeb({
        data: [
          dirEntry('./'),
          fileEntry('../../etc/passwd', 'root::0:0::/:/bin/sh\n'),
          fileEntry('/etc/shadow', 'root::1::::::\n'),
          { name: './usr/x', type: 'link', linkname: '../x' },
          fileEntry('./zeros', Buffer.alloc(64 * 1024 ** 2)),
        ],
      }),
    );
  },
  25 * 60 * 1000,
);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

afterEach(async () => {
  const left = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_WORKER}=${WORKER_ID}`] },
  });
  expect(left).toHaveLength(0);
});

function inspectArgs(over: Partial<InspectDebsArgs>): InspectDebsArgs {
  counter += 1;
  return {
    sandbox,
    docker,
    stateDir: STATE_DIR,
    workerId: WORKER_ID,
    debs: [],
    compare: [],
    bundle,
    inspectionImageSha256: imageSha256,
    outDir: join(root, `run${counter}`),
    logger: pino({ level: 'silent' }),
    limits: {
      timeoutSeconds: 300,
      memoryBytes: 512 * 1024 ** 2,
      diskBytes: 1024 ** 3,
      maxDecompressedBytes: 16 * 1024 ** 2,
    },
    ...over,
  };
}

function inspected(outcome: InspectionOutcome): InspectionReport {
  if (outcome.kind !== 'inspected')
    throw new Error(`inspection failed: ${outcome.reason}: ${outcome.detail}`);
  return outcome.report;
}

describe('inspectDebsInSandbox', () => {
  it('names the one changed data member of Debian hello, and diffoscope writes HTML for the pair', async () => {
    const result = await inspectDebsInSandbox(
      inspectArgs({
        debs: [
          { label: 'official', path: helloDeb },
          { label: 'rebuilt', path: patchedDeb },
        ],
        compare: [{ left: 'official', right: 'rebuilt' }],
        diffoscope: { timeoutSeconds: 240, maxOutputBytes: 8 * 1024 ** 2 },
      }),
    );
    const report = inspected(result.report);
    expect(report.debs.map((d) => ('listing' in d ? d.listing.hazards : d.error))).toEqual([[], []]);
    const pair = report.comparisons[0]!;
    const comparison = pair.comparison!;
    expect(comparison.identical).toBe(false);
    expect(comparison.members.map((m) => [m.area, m.path, m.differences])).toEqual([
      ['data', 'usr/bin/hello', ['sha256', 'size']],
    ]);
    expect(pair.diffoscope).toMatchObject({ status: 'written', file: 'diffoscope-1.html', exitCode: 1 });
    expect(result.diffoscopeHtml).toHaveLength(1);
    expect(result.diffoscopeHtml[0]!.pair).toEqual({ left: 'official', right: 'rebuilt' });
    const html = await readFile(result.diffoscopeHtml[0]!.path, 'utf8');
    expect(html).toMatch(/<html/i);
    expect(html).toContain('usr/bin/hello');
  });

  it('reports a hostile .deb (traversal, bomb) as hazards and skips diffoscope for it', async () => {
    const result = await inspectDebsInSandbox(
      inspectArgs({
        debs: [
          { label: 'hostile', path: hostileDeb },
          { label: 'hello', path: helloDeb },
        ],
        compare: [{ left: 'hello', right: 'hostile' }],
        diffoscope: { timeoutSeconds: 60, maxOutputBytes: 1024 ** 2 },
      }),
    );
    const report = inspected(result.report);
    const entry = report.debs[0]!;
    if (!('listing' in entry)) throw new Error(entry.error.message);
    expect(entry.listing.hazards.map((h) => [h.kind, h.path ?? null])).toEqual([
      ['path-traversal', '../../etc/passwd'],
      ['path-traversal', '/etc/shadow'],
      ['path-traversal', 'usr/x'],
      ['decompression-bomb', null],
    ]);
    expect(entry.listing.data!.complete).toBe(false);
    expect(report.comparisons[0]!.diffoscope).toEqual({
      status: 'skipped',
      detail: 'a .deb has a decompression-bomb hazard',
    });
    expect(report.comparisons[0]!.comparison!.hints[0]).toMatch(/^The right \.deb has hazards/);
    expect(result.diffoscopeHtml).toEqual([]);
  });

  it('says the inspection failed when the container runs out of time, without throwing', async () => {
    // An inspector stuck on hostile input, played by a bundle that never ends.
    const code = 'setInterval(() => {}, 1000);\n';
    const stuck = join(root, 'stuck.mjs');
    await writeFile(stuck, code);
    const result = await inspectDebsInSandbox(
      inspectArgs({
        debs: [{ label: 'a', path: helloDeb }],
        bundle: { path: stuck, sha256: createHash('sha256').update(code).digest('hex') as Sha256Hex },
        limits: { timeoutSeconds: 2 },
      }),
    );
    expect(result.report).toMatchObject({ kind: 'failed', reason: 'timeout' });
    expect(result.report.kind === 'failed' && result.report.detail).toMatch(
      /^inspection failed: .*time limit of 2 s/,
    );
    expect(result.diffoscopeHtml).toEqual([]);
  });

  it('refuses a report that does not check out (the container read hostile bytes)', async () => {
    const forged = {
      schema: 'rbnet.deb-inspection-report/v1',
      debs: [{ label: 'a', error: { code: 'X', message: 'y' } }],
      comparisons: [],
      notes: [],
    };
    const deep = structuredClone(forged) as Record<string, unknown>;
    deep.debs = [
      {
        label: 'a',
        membersOmitted: false,
        listing: {
          sha256: 'a'.repeat(64),
          size: 1,
          debianBinary: null,
          arMembers: [],
          control: null,
          data: null,
          hazards: [{ kind: 'all-fine-trust-me', member: '(ar)', detail: '' }],
        },
      },
    ];
    for (const [report, message] of [
      [{ ...forged, schema: 'other' }, /\$\.schema/],
      [
        { ...forged, debs: [{ label: 'b', error: { code: 'X', message: 'y' } }] },
        /\$\.debs\[0\]\.label: must be "a"/,
      ],
      [deep, /\$\.debs\[0\]\.listing\.hazards\[0\]\.kind: must be one of/],
    ] as const) {
      const fake = join(root, `forged-${counter}.mjs`);
      const code = `import { mkdirSync, writeFileSync } from 'node:fs';\nmkdirSync('out');\nwriteFileSync('out/report.json', ${JSON.stringify(JSON.stringify(report))});\n`;
      await writeFile(fake, code);
      const result = await inspectDebsInSandbox(
        inspectArgs({
          debs: [{ label: 'a', path: helloDeb }],
          bundle: { path: fake, sha256: createHash('sha256').update(code).digest('hex') as Sha256Hex },
        }),
      );
      expect(result.report).toMatchObject({ kind: 'failed', reason: 'report-invalid' });
      expect(result.report.kind === 'failed' && result.report.detail).toMatch(message);
    }
  });

  it('inspects a crafted .deb with identical copies as identical', async () => {
    const deb = join(root, 'sample.deb');
    await writeFile(deb, await buildDeb({ data: sampleData() }));
    const result = await inspectDebsInSandbox(
      inspectArgs({
        debs: [
          { label: 'one', path: deb },
          { label: 'two', path: deb },
        ],
        compare: [{ left: 'one', right: 'two' }],
        diffoscope: { timeoutSeconds: 60, maxOutputBytes: 1024 ** 2 },
      }),
    );
    const report = inspected(result.report);
    expect(report.comparisons[0]).toMatchObject({ comparison: { identical: true, members: [], hints: [] } });
    expect(report.comparisons[0]!.diffoscope).toBeUndefined();
  });
});
