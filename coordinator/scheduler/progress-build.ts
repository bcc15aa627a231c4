// The one path every change to a build goes through: top up its assignments, then decide again.
import { decideBuild } from '../consensus/decide-build.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { fillAssignments } from './build-scheduler.ts';

export async function progressBuild(deps: CoordinatorDeps, buildId: string): Promise<void> {
  const scheduling = await fillAssignments(deps, buildId);
  await decideBuild(deps, buildId, scheduling);
}
