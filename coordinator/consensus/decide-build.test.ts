// Verify once, decide from rows: a decision over results intake recorded reads no stored envelope
// (it reads each one only to embed it when it signs a consensus), and a result recorded before
// intake recorded facts is verified once more, its facts recorded, and never again. Real SQLite,
// content store and signatures; the content store is wrapped only to count what is read.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import {
  createTestCoordinatorDeps,
  type TestCoordinatorDeps,
} from '../../test/support/coordinator-deps-fixture.ts';
import { DebianBuildRecords } from '../../test/support/debian-build-records.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { acceptResult } from '../intake/accept-result.ts';
import { decideBuild } from './decide-build.ts';

const NOW = new Date('2026-11-25T12:00:00.000Z');
const DEB = 'hello_2.10-3_amd64.deb';

let root: string;
let fixture: TestCoordinatorDeps;
let records: DebianBuildRecords;
/** Every blob the decision opened, in order. */
let opened: Sha256Hex[];
let deps: CoordinatorDeps;

/** The real content store, with every `open` written down. */
function countingReads(content: ContentStore): ContentStore {
  return new Proxy(content, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === 'open') {
        return (sha256: Sha256Hex) => {
          opened.push(sha256);
          return target.open(sha256);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-decide-'));
  fixture = await createTestCoordinatorDeps(root, { now: () => NOW });
  opened = [];
  deps = { ...fixture.deps, content: countingReads(fixture.deps.content) };
  records = new DebianBuildRecords(fixture.deps, NOW);
  for (const operator of ['alpha', 'beta', 'gamma']) await records.enrol(operator, `${operator}-1`);
});

afterEach(async () => {
  await fixture.close();
  await rm(root, { recursive: true, force: true });
});

/** A build of hello that needs three agreeing operators. */
function helloBuild(): Promise<string> {
  return records.createBuild({
    name: 'hello',
    version: '2.10-3',
    claimedOutputs: [{ path: DEB, sha256: sha256Hex('hello deb') as Sha256Hex }],
    threshold: 3,
    policy: { maxAttempts: 3, decisionDeadlineMs: 86_400_000 },
  });
}

/** `workerId`'s result for `buildId`, signed and posted through intake. @returns its envelope digest. */
async function postResult(buildId: string, workerId: string): Promise<Sha256Hex> {
  const deb = await records.putBlob('hello deb');
  const signed = await records.signBuilt(buildId, workerId, { outputs: [{ path: DEB, sha256: deb }] });
  const worker = (await fixture.deps.registry.getWorker(workerId))!;
  await acceptResult(fixture.deps, worker, { jobId: signed.jobId, envelope: signed.envelopeJson });
  return signed.envelopeSha256;
}

describe('decideBuild reads rows, not envelopes', () => {
  it('reads no stored envelope while the verdict is pending, and each once when it signs', async () => {
    const buildId = await helloBuild();
    const envelopes = [await postResult(buildId, 'alpha-1'), await postResult(buildId, 'beta-1')];
    for (let i = 0; i < 3; i++) {
      expect((await decideBuild(deps, buildId, { maxAttemptsReached: false })).verdict).toBe('pending');
    }
    expect(opened).toEqual([]);

    envelopes.push(await postResult(buildId, 'gamma-1'));
    expect((await decideBuild(deps, buildId, { maxAttemptsReached: false })).verdict).toBe('reproducible');
    // Embedded in the consensus attestation, in the order received; nothing read to decide.
    expect(opened).toEqual(envelopes);
  });

  it('verifies a result recorded before facts were once, records its facts, and then only reads rows', async () => {
    const buildId = await helloBuild();
    const deb = await records.putBlob('hello deb');
    // Written the way a coordinator before migration 8 wrote it: the row and byproducts, no facts.
    const legacy = await records.recordBuilt(buildId, 'alpha-1', { outputs: [{ path: DEB, sha256: deb }] });
    expect((await fixture.store.results.listVerifiedResults(buildId))[0]?.facts).toBeUndefined();

    await decideBuild(deps, buildId, { maxAttemptsReached: false });
    expect(opened).toEqual([legacy]);
    const [row] = await fixture.store.results.listVerifiedResults(buildId);
    expect(row?.facts).toMatchObject({
      keyid: records.keyOf('alpha-1').keyid,
      logSizeBytes: expect.any(Number),
    });
    expect(row?.facts?.debianSource).toMatchObject({ name: 'hello', origin: 'archive' });

    opened.length = 0;
    await decideBuild(deps, buildId, { maxAttemptsReached: false });
    expect(opened).toEqual([]);
  });
});
