// The `generic` backend: an rbnet.manifest/v1 rebuilt in the environment image it names
// (rebuild-manifest.ts). It makes no byproducts and its outputs stay in <outDir>/outputs.
import { join } from 'node:path';
import { type RebuildContext, rebuildManifest } from '../rebuild-manifest.ts';
import type { RebuildBackend } from './rebuild-backend.ts';

export function createGenericBackend(context: RebuildContext): RebuildBackend<'generic'> {
  return Object.freeze({
    name: 'generic' as const,
    async rebuild(parsed, job) {
      const result = await rebuildManifest(context, { ...job, parsed });
      return { kind: 'rebuilt', result, byproductFiles: [], outputsDir: join(job.outDir, 'outputs') };
    },
  } satisfies RebuildBackend<'generic'>);
}
