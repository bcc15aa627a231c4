// The periodic sweep's build step: every build still waiting for a verdict is topped up and decided
// again, so deadlines pass and backoffs end without any request arriving.
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { progressBuild } from './progress-build.ts';

/** Pending builds read per page; each page is one indexed query. */
const PAGE_SIZE = 1000;

/**
 * Progresses every pending build, oldest first, page by page through the store's index of pending
 * builds: the cost follows the pending work, never the number of builds stored, and no pending
 * build is out of reach however many came after it. A build that fails to progress is logged and
 * the sweep goes on. @returns how many builds it progressed.
 */
export async function sweepPendingBuilds(deps: CoordinatorDeps): Promise<number> {
  let progressed = 0;
  let after: string | undefined;
  for (;;) {
    const page = await deps.builds.listPendingBuildIds({ limit: PAGE_SIZE, ...(after ? { after } : {}) });
    for (const buildId of page) {
      try {
        await progressBuild(deps, buildId);
        progressed += 1;
      } catch (err) {
        deps.logger.warn({ err, buildId }, 'sweep could not progress a build');
      }
    }
    if (page.length < PAGE_SIZE) return progressed;
    after = page.at(-1);
  }
}
