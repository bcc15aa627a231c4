// The sweep against real SQLite and the real decision path: every pending build is progressed,
// however many builds are stored and however many are pending, oldest included.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewBuild } from '../../services/storage/build-store.ts';
import { createTestCoordinatorDeps } from '../../test/support/coordinator-deps-fixture.ts';
import { genericBuild } from '../../test/support/generic-build.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import type { SqliteStores } from '../storage/sqlite/open-sqlite-stores.ts';
import { sweepPendingBuilds } from './sweep-pending-builds.ts';

const T0 = new Date('2024-05-01T12:00:00.000Z');

let root: string;
let store: SqliteStores;
let deps: CoordinatorDeps;

/** `count` generic builds, oldest first, each its own manifest. */
function newBuilds(count: number, label: string): NewBuild[] {
  return Array.from({ length: count }, (_, i) => genericBuild(`${label}-${i}`, { createdAt: T0 }));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-sweep-'));
  // No worker is enrolled: progressing a build means deciding it `insufficient-operators`.
  const fixture = await createTestCoordinatorDeps(root, { now: () => T0 });
  deps = fixture.deps;
  store = fixture.store;
});

afterAll(async () => {
  await store?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('sweepPendingBuilds', () => {
  it('progresses every one of 1,001 pending builds: the oldest and the 1,001st-oldest included', async () => {
    const builds = newBuilds(1001, 'pending');
    await store.builds.createBuilds(builds);
    expect(await sweepPendingBuilds(deps)).toBe(1001);
    for (const index of [0, 1, 999, 1000]) {
      const build = await store.builds.getBuild(builds[index]!.buildId);
      expect(build?.verdict, `build ${index + 1} of 1,001 (oldest first)`).toBe('insufficient-operators');
    }
    const stillPending = [];
    for (const build of builds)
      if ((await store.builds.getBuild(build.buildId))?.verdict === 'pending')
        stillPending.push(build.buildId);
    expect(stillPending).toEqual([]);
  });

  it('progresses the oldest of 1,500 stored builds when only it is pending', async () => {
    const [old] = newBuilds(1, 'old');
    await store.builds.createBuild(old!);
    const newer = newBuilds(1499, 'newer');
    await store.builds.createBuilds(newer);
    for (const build of newer) {
      await store.builds.recordVerdict({
        buildId: build.buildId,
        verdict: 'failed',
        decisionJson: '{}',
        decidedAt: T0,
      });
    }
    expect(await sweepPendingBuilds(deps)).toBe(1);
    expect((await store.builds.getBuild(old!.buildId))?.verdict).toBe('insufficient-operators');
  });
});
