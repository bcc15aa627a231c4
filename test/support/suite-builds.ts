// Builds a sync profile found in archive suites, recorded the way the poller records them (an index
// read per suite, a claimed upload, its build), and verdicts logged the way decide-build logs them:
// for the suite, feed and package-query tests.

import { expect } from 'vitest';
import type { SqliteStores } from '../../coordinator/storage/sqlite/open-sqlite-stores.ts';
import type { Verdict } from '../../services/consensus/verdict.ts';
import { sha256Hex } from '../../services/digest.ts';
import { canonicalizeJcs } from '../../services/jcs.ts';
import type { NewBuild } from '../../services/storage/build-store.ts';
import type { NewSyncProfile } from '../../services/storage/sync-profile-store.ts';
import type { ArchiveUpload } from '../../services/sync/archive-uploads.ts';
import { decisionOf, packageBuild } from './package-builds.ts';

export const SUITES_T0 = new Date('2026-12-01T00:00:00Z');

/** A profile following bookworm and bookworm-proposed-updates, submitting as `bot`. */
export function suitesProfile(name: string, suites: readonly string[]): NewSyncProfile {
  return {
    name,
    archive: {
      url: 'http://127.0.0.1:9/debian',
      suites,
      components: ['main'],
      architectures: ['amd64'],
      keyring: { path: '/usr/share/keyrings/debian-archive-keyring.gpg' },
    },
    buildinfo: { urlTemplate: 'http://127.0.0.1:9/{source}_{version}_{arch}.buildinfo' },
    include: {},
    exclude: {},
    priority: 100,
    rateLimitPerHour: 600,
    initialDelaySeconds: 0,
    maintainer: 'bot',
  };
}

export const upload = (source: string, version: string) => ({
  source,
  version,
  binaryVersion: version,
  architecture: 'amd64',
  binaries: [source],
});

/** `profile` reads `suite`'s index listing these uploads, as the poller records it. */
export async function readSuiteIndex(
  stores: SqliteStores,
  profile: string,
  suite: string,
  uploads: readonly ArchiveUpload[],
): Promise<void> {
  await stores.syncProgress.recordIndex(
    profile,
    `${suite}/main/binary-amd64/Packages`,
    sha256Hex(`${suite} ${JSON.stringify(uploads)}`),
    uploads,
    'new',
    SUITES_T0,
    suite,
  );
}

/** Claims the upload and creates its build, as the poller submits it. */
export async function submitUpload(
  stores: SqliteStores,
  profile: string,
  source: string,
  version: string,
): Promise<NewBuild> {
  const build = packageBuild({ source, version });
  const [record] = (await stores.syncProgress.listUploads(profile)).filter(
    (u) => u.source === source && u.version === version,
  );
  expect(await stores.syncProgress.claimUpload(record!, build.buildId)).toBe(true);
  await stores.builds.createBuilds([build]);
  await stores.syncProgress.markSubmitted(record!, SUITES_T0);
  return build;
}

/** Logs a recorded verdict as decide-build does: a tiled entry naming the build and sequence. */
export async function logVerdict(
  stores: SqliteStores,
  build: NewBuild,
  verdict: Verdict,
  sequence: number,
): Promise<void> {
  const body = { buildId: build.buildId, verdict, sequence };
  await stores.log.appendLogEntry({
    kind: 'verdict',
    buildId: build.buildId,
    bodySha256: sha256Hex(canonicalizeJcs(body)),
    body,
    tiledEntryJson: canonicalizeJcs({ type: 'test-verdict', ...body }),
  });
}

/** Records a verdict and logs it. @returns its sequence. */
export async function decideAndLog(stores: SqliteStores, build: NewBuild, verdict: Verdict): Promise<number> {
  const recorded = await stores.builds.recordVerdict(decisionOf(build, verdict, ['acme', 'globex']));
  await logVerdict(stores, build, verdict, recorded.sequence);
  return recorded.sequence;
}

/** What the tiled log's entry at `index` names. */
export function loggedAt(stores: SqliteStores, index: number | null): unknown {
  if (index === null) return null;
  const [entry] = stores.tiledLog.sequencedFrom(index, 1);
  const facts = JSON.parse(entry!.factsJson) as { buildId: string; sequence: number; verdict: string };
  return { buildId: facts.buildId, sequence: facts.sequence, verdict: facts.verdict };
}
