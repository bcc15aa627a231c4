// A stored-build record of a minimal real rbnet.manifest/v1 (the scheduler and the sweep parse it),
// for tests and benches that need many builds without submitting them.
import { randomUUID } from 'node:crypto';
import { parseManifest } from '../../services/manifest/parse-manifest.ts';
import type { BuildPolicy, NewBuild } from '../../services/storage/build-store.ts';

/** A generic amd64 build named `name`, nothing claimed; policy defaults: k 2, 6 attempts, an hour. */
export function genericBuild(
  name: string,
  options: {
    readonly policy?: Partial<BuildPolicy>;
    readonly createdAt?: Date;
    readonly architecture?: string;
    readonly submittedBy?: string;
    /** Makes another manifest (another version) of the same name; default 1700000000. */
    readonly sourceDateEpoch?: number;
  } = {},
): NewBuild {
  const parsed = parseManifest(
    JSON.stringify({
      schema: 'rbnet.manifest/v1',
      name,
      architecture: options.architecture ?? 'amd64',
      backend: 'generic',
      environment: {
        image: { sha256: 'a'.repeat(64) },
        env: { PATH: '/bin' },
        locale: 'C.UTF-8',
        timezone: 'UTC',
        umask: '0022',
        uid: 1000,
        gid: 1000,
        hostname: 'rbnet-build',
        buildPath: '/build/generic',
        sourceDateEpoch: options.sourceDateEpoch ?? 1_700_000_000,
      },
      inputs: [],
      build: { argv: ['/bin/sh', '-c', 'true'], workingDir: '.', timeLimitSeconds: 60 },
      outputDir: 'out',
    }),
  );
  return {
    buildId: randomUUID(),
    manifestSha256: parsed.manifestSha256,
    manifestJson: parsed.canonicalJson,
    name: parsed.manifest.name,
    architecture: parsed.manifest.architecture,
    backend: 'generic',
    claimedOutputs: [],
    policy: { threshold: 2, maxAttempts: 6, decisionDeadlineMs: 3_600_000, ...options.policy },
    submittedBy: options.submittedBy ?? 'maint',
    createdAt: options.createdAt ?? new Date(),
  };
}
