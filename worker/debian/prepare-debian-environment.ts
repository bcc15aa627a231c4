// One exact Debian build environment made ready on this host: reused from the cache by identity,
// or made from host-verified .debs with mmdebstrap (unshare) and imported; one preparation per
// identity at a time.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { Sha256Hex } from '../../services/digest.ts';
import { buildDebianEnvironmentImage } from './build-debian-environment-image.ts';
import type { DebianEnvironmentCache } from './debian-environment-cache.ts';
import type { EnvironmentPackageSources, ResolvedEnvironment } from './environment-package-sources.ts';
import { writeLocalRepository } from './local-repository.ts';

/** One environment preparation, timed by phase. */
export interface TimedPreparation {
  readonly cached: boolean;
  readonly imageSha256: Sha256Hex;
  readonly totalMs: number;
  /** Cold only: .debs made ready (from the worker's evidence store, the mirror or a snapshot). */
  readonly downloadMs?: number;
  readonly repositoryMs?: number;
  /** Cold only: mmdebstrap (unshare) plus the image import. */
  readonly imageMs?: number;
  /** Cold only: bytes of .debs installed, and how many of them were downloaded this time. */
  readonly debBytes?: number;
  readonly networkBytes?: number;
  readonly imageSizeBytes?: number;
}

/**
 * Prepares (or finds) the exact environment for `resolution`: under the per-identity lock, a cache
 * lookup, else the .debs (each verified against the signed index its origin names, and kept as
 * evidence), a flat repository of exactly them, mmdebstrap in unshare mode, the import, the cache
 * record and LRU eviction of both caches. The .debs are protected from evidence eviction until the
 * repository holds them. Timed by phase, so jobs report their preparation time and the benchmark its
 * phases.
 */
export async function prepareDebianEnvironment(args: {
  readonly docker: Docker;
  readonly stateDir: string;
  readonly logger: Logger;
  readonly cache: DebianEnvironmentCache;
  readonly sources: EnvironmentPackageSources;
  readonly resolution: ResolvedEnvironment;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}): Promise<TimedPreparation> {
  const { cache, sources, resolution, timeoutMs } = args;
  const started = performance.now();
  const since = (from: number) => Math.round(performance.now() - from);
  return sources.withPinned(resolution, () =>
    cache.withLock(resolution.identitySha256, timeoutMs, async () => {
      const hit = await cache.lookup(resolution.identitySha256);
      if (hit) {
        return {
          cached: true,
          imageSha256: hit.imageSha256,
          totalMs: Number((performance.now() - started).toFixed(1)),
        };
      }
      const all = [...resolution.packages, ...resolution.extras];
      let networkBytes = 0;
      const downloadStarted = performance.now();
      const debPaths = await sources.fetchDebs(resolution, (progress) => {
        if (!progress.cached) networkBytes += progress.package.size;
      });
      const downloadMs = since(downloadStarted);
      const scratch = await mkdtemp(join(tmpdir(), 'rbnet-debrepo-'));
      try {
        const repositoryStarted = performance.now();
        const repository = await writeLocalRepository(all, debPaths, join(scratch, 'repo'));
        const repositoryMs = since(repositoryStarted);
        const imageStarted = performance.now();
        const image = await buildDebianEnvironmentImage({
          docker: args.docker,
          stateDir: args.stateDir,
          repositoryDir: repository.directory,
          packageNames: [...new Set(all.map((p) => p.name))],
          architecture: sources.architecture,
          identitySha256: resolution.identitySha256,
          timeoutMs,
          logger: args.logger,
          ...(args.signal ? { signal: args.signal } : {}),
        });
        const imageMs = since(imageStarted);
        const now = new Date().toISOString();
        await cache.record({
          identitySha256: resolution.identitySha256,
          imageSha256: image.imageSha256,
          sizeBytes: image.sizeBytes,
          createdAt: now,
          lastUsedAt: now,
        });
        await cache.evict(resolution.identitySha256);
        await sources.evictEvidence();
        return {
          cached: false,
          imageSha256: image.imageSha256,
          totalMs: since(started),
          downloadMs,
          repositoryMs,
          imageMs,
          debBytes: [...new Map(all.map((p) => [p.sha256, p.size])).values()].reduce((a, b) => a + b, 0),
          networkBytes,
          imageSizeBytes: image.sizeBytes,
        };
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    }),
  );
}
