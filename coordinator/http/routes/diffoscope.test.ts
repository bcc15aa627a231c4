// GET /v1/builds/:id/diffoscope/:digest and the nested .deb section of a Debian build's divergence
// report, through the real app (app.request), SQLite and content store, with really signed results.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKey } from '../../../services/consensus/consensus-test-fixtures.ts';
import {
  debListing,
  fileMember,
  inspectionResult,
} from '../../../services/debian/deb-inspection/inspection-result-fixture.ts';
import { type Sha256Hex, sha256Hex } from '../../../services/digest.ts';
import { createTestCoordinatorDeps } from '../../../test/support/coordinator-deps-fixture.ts';
import { DebianBuildRecords } from '../../../test/support/debian-build-records.ts';
import { expectInertHeaders } from '../../../test/support/expect-inert-headers.ts';
import { decideBuild } from '../../consensus/decide-build.ts';
import type { CoordinatorDeps } from '../../coordinator-deps.ts';
import type { SqliteStores } from '../../storage/sqlite/open-sqlite-stores.ts';
import { createCoordinatorApp } from '../create-app.ts';

const LOOPBACK_ENV = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
const NOW = new Date('2026-11-25T12:00:00.000Z');
const DEB = 'hello_2.10-3_amd64.deb';
const PUBLISHED = sha256Hex('published hello') as Sha256Hex;
const ALPHA_DEB = sha256Hex('alpha hello') as Sha256Hex;
const BETA_DEB = sha256Hex('beta hello') as Sha256Hex;
const HTML = '<!DOCTYPE html><html><body><script>alert(1)</script>usr/bin/hello</body></html>\n';
const HTML_SHA = sha256Hex(HTML) as Sha256Hex;

let root: string;
let store: SqliteStores;
let deps: CoordinatorDeps;
let app: ReturnType<typeof createCoordinatorApp>;
let records: DebianBuildRecords;

function get(path: string) {
  return app.request(path, { method: 'GET' }, LOOPBACK_ENV);
}

function createHelloBuild(): Promise<string> {
  return records.createBuild({
    name: 'hello',
    version: '2.10-3',
    claimedOutputs: [{ path: DEB, sha256: PUBLISHED }],
  });
}

/** alpha's inspection: its rebuilt hello against the published one, with a hazard and diffoscope HTML. */
function alphaInspection(): string {
  return JSON.stringify(
    inspectionResult({
      debs: [
        {
          role: 'rebuilt',
          file: DEB,
          listing: debListing(ALPHA_DEB, {
            control: [fileMember('control', 'Package: hello\n'), fileMember('md5sums', 'md5sumz')],
            data: [fileMember('usr/bin/hello', 'hello binarz')],
            hazards: [
              {
                kind: 'path-traversal',
                member: 'data.tar.xz',
                path: '../../etc/evil',
                detail: 'escapes the root',
              },
            ],
          }),
        },
        { role: 'published', file: DEB, listing: debListing(PUBLISHED) },
      ],
      diffoscopeFor: [DEB],
    }),
  );
}

let buildId: string;
let forgedBuildId: string;
const FORGED_HTML = '<html>forged</html>';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-diffoscope-'));
  const fixture = await createTestCoordinatorDeps(root, { now: () => NOW });
  deps = fixture.deps;
  store = fixture.store;
  app = createCoordinatorApp(deps);
  records = new DebianBuildRecords(deps, NOW);
  await records.enrol('alpha', 'alpha-1');
  await records.enrol('beta', 'beta-1');
  await records.enrol('mallory', 'mallory-1');

  buildId = await createHelloBuild();
  await records.recordBuilt(buildId, 'alpha-1', {
    outputs: [{ path: DEB, sha256: ALPHA_DEB }],
    byproducts: [
      { name: 'rbnet/deb-inspection.json', bytes: alphaInspection() },
      { name: 'rbnet/diffoscope-1.html', bytes: HTML },
    ],
  });
  // beta's worker uploaded an inspection document the coordinator must refuse, not trip over.
  await records.recordBuilt(buildId, 'beta-1', {
    outputs: [{ path: DEB, sha256: BETA_DEB }],
    byproducts: [{ name: 'rbnet/deb-inspection.json', bytes: '{"schema":"rbnet.deb-inspection-result/v9"}' }],
  });

  // A result whose envelope is not signed by its worker's enrolled key names other HTML.
  forgedBuildId = await createHelloBuild();
  await records.recordBuilt(forgedBuildId, 'mallory-1', {
    outputs: [{ path: DEB, sha256: ALPHA_DEB }],
    byproducts: [{ name: 'rbnet/diffoscope-1.html', bytes: FORGED_HTML }],
    signer: newKey(),
  });
});

afterAll(async () => {
  await store?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('GET /v1/builds/:id/diffoscope/:digest', () => {
  it("serves a verified result's diffoscope byproduct as sandboxed HTML", async () => {
    const response = await get(`/v1/builds/${buildId}/diffoscope/${HTML_SHA}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expectInertHeaders(response.headers);
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(HTML)));
    expect(await response.text()).toBe(HTML);
  });

  it('answers 404 for a digest that is not a diffoscope byproduct of this build', async () => {
    const inspectionSha = sha256Hex(alphaInspection());
    const results = await store.results.listResults(buildId);
    for (const digest of [
      inspectionSha, // a byproduct of this build, but not a diffoscope report
      results[0]!.envelopeSha256, // in the store, not a byproduct
      results[0]!.logSha256,
      'f'.repeat(64), // nowhere
    ]) {
      const response = await get(`/v1/builds/${buildId}/diffoscope/${digest}`);
      expect(response.status, digest).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    }
    // Another build's report, even though the blob is in the store.
    expect((await get(`/v1/builds/${forgedBuildId}/diffoscope/${HTML_SHA}`)).status).toBe(404);
    expect((await get(`/v1/builds/${crypto.randomUUID()}/diffoscope/${HTML_SHA}`)).status).toBe(404);
  });

  it('never serves HTML named only by an envelope that does not verify against the enrolled key', async () => {
    const forged = sha256Hex(FORGED_HTML);
    expect(await deps.content.has(forged as Sha256Hex)).toBe(true);
    expect((await get(`/v1/builds/${forgedBuildId}/diffoscope/${forged}`)).status).toBe(404);
  });

  it('refuses malformed parameters with 400', async () => {
    expect((await get(`/v1/builds/${buildId}/diffoscope/${HTML_SHA.toUpperCase()}`)).status).toBe(400);
    expect((await get(`/v1/builds/not-a-uuid/diffoscope/${HTML_SHA}`)).status).toBe(400);
  });
});

describe('the divergence report of a Debian build', () => {
  it('carries the nested .deb section: differences, hazards, diffoscope, and the inspection it refused', async () => {
    const decision = await decideBuild(deps, buildId, { maxAttemptsReached: true });
    expect(decision.verdict).toBe('diverged');
    const response = await get(`/v1/builds/${buildId}/divergence`);
    expect(response.status).toBe(200);
    const report = (await response.json()) as {
      debian?: {
        debs: {
          path: string;
          publishedVsRebuilt: { reportedBy: { workerId: string }[]; members: { path: string }[] }[];
          hazards: { kind: string; path: string }[];
          diffoscope: { workerId: string; byproduct: string; sha256: string }[];
        }[];
        uninspected: { workerId: string; reason: string }[];
      };
    };
    expect(report.debian).toBeDefined();
    const deb = report.debian!.debs[0]!;
    expect(deb.path).toBe(DEB);
    expect(deb.publishedVsRebuilt[0]!.reportedBy.map((b) => b.workerId)).toEqual(['alpha-1']);
    expect(deb.publishedVsRebuilt[0]!.members.map((m) => m.path)).toEqual(['md5sums', 'usr/bin/hello']);
    expect(deb.hazards).toMatchObject([{ kind: 'path-traversal', path: '../../etc/evil' }]);
    expect(deb.diffoscope).toMatchObject([
      { workerId: 'alpha-1', byproduct: 'rbnet/diffoscope-1.html', sha256: HTML_SHA },
    ]);
    expect(report.debian!.uninspected).toEqual([
      expect.objectContaining({
        workerId: 'beta-1',
        reason: expect.stringMatching(/^rbnet\/deb-inspection\.json refused: \$\.schema: must be/),
      }),
    ]);

    const text = await (await get(`/v1/builds/${buildId}/divergence?format=text`)).text();
    expect(text).toContain('Inside the .debs');
    expect(text).toContain('  HAZARD path-traversal in data.tar.xz: ../../etc/evil');
    expect(text).toContain(
      `  ${DEB}: published vs rebuilt (alpha/alpha-1): control.tar md5sums differs (sha256); data.tar usr/bin/hello differs (sha256)`,
    );
    expect(text).toContain(
      `  ${DEB}: diffoscope by alpha/alpha-1: rbnet/diffoscope-1.html sha256:${HTML_SHA}`,
    );
  });
});
