// Picks a worker's rebuild backends once, at start-up, from the names it enrolled with. Each backend's
// module is loaded only when the worker runs it: a generic-only worker (and `rbnet rebuild`) never
// loads the Debian backend and what it imports.
import type { RebuildContext } from '../rebuild-manifest.ts';
import type { WorkerDebianConfig } from '../worker-config.ts';
import { createGenericBackend } from './generic-backend.ts';
import {
  type AnyRebuildBackend,
  type BackendName,
  checkBackendNames,
  type RebuildBackend,
  type RebuildBackends,
  rebuildBackendsOf,
} from './rebuild-backend.ts';

/** What any backend may need: the worker's rebuild context and its configuration sections. */
export interface BackendDeps {
  readonly context: RebuildContext;
  readonly debian: WorkerDebianConfig;
}

const LOADERS: { readonly [K in BackendName]: (deps: BackendDeps) => Promise<RebuildBackend<K>> } = {
  generic: async (deps) => createGenericBackend(deps.context),
  debian: async (deps) =>
    (await import('./debian-rebuild-backend.ts')).createDebianRebuildBackend(deps.context, deps.debian),
};

/**
 * Loads the backends named in `names` (each once, in order).
 * @throws ConfigError CONFIG_INVALID for a name this worker has no backend for.
 */
export async function loadRebuildBackends(
  names: readonly string[],
  deps: BackendDeps,
): Promise<RebuildBackends> {
  const backends: AnyRebuildBackend[] = [];
  for (const name of checkBackendNames(names)) backends.push(await LOADERS[name](deps));
  return rebuildBackendsOf(backends);
}
