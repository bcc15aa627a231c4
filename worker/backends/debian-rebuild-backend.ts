// The `debian` backend: an rbnet.debian/v1 manifest rebuilt from its .buildinfo (rebuild-debian.ts) with
// this worker's signed archive, environment cache and .deb inspector. Loaded only by workers that run
// it (load-rebuild-backends.ts), so a generic rebuild never loads the Debian code.
import { join } from 'node:path';
import { createDebianBackend } from '../debian/create-debian-backend.ts';
import { rebuildDebian } from '../debian/rebuild-debian.ts';
import type { RebuildContext } from '../rebuild-manifest.ts';
import type { WorkerDebianConfig } from '../worker-config.ts';
import type { RebuildBackend } from './rebuild-backend.ts';

export function createDebianRebuildBackend(
  context: RebuildContext,
  config: WorkerDebianConfig,
): RebuildBackend<'debian'> {
  const debian = createDebianBackend({
    config,
    stateDir: context.stateDir,
    docker: context.docker,
    sandbox: context.sandbox,
    workerId: context.identity.id,
    logger: context.logger,
  });
  return Object.freeze({
    name: 'debian' as const,
    async rebuild(parsed, job) {
      const outcome = await rebuildDebian(context, debian, { ...job, parsed });
      if (outcome.kind === 'unavailable') return outcome;
      return {
        kind: 'rebuilt',
        result: outcome,
        byproductFiles: outcome.byproductFiles,
        outputsDir: outcome.subjectsLocalDir ?? join(job.outDir, 'outputs'),
      };
    },
  } satisfies RebuildBackend<'debian'>);
}
