// The one path every change to a build goes through: top up its assignments, then decide again,
// one caller at a time per build.
import { decideBuild } from '../consensus/decide-build.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { withBuildLock } from './build-lock.ts';
import { type AssignmentState, fillAssignments } from './build-scheduler.ts';

export async function progressBuild(deps: CoordinatorDeps, buildId: string): Promise<AssignmentState> {
  return withBuildLock(buildId, async () => {
    const scheduling = await fillAssignments(deps, buildId);
    await decideBuild(deps, buildId, scheduling);
    return scheduling;
  });
}
