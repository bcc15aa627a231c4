// Builds typed Manifest values for unit tests without going through the parser.
import type { Sha256Hex } from '../../services/digest.ts';
import type { Manifest } from '../../services/manifest/manifest.ts';

export const FAKE_IMAGE_SHA256 = 'a'.repeat(64) as Sha256Hex;

export function manifestFixture(overrides: Partial<Manifest> = {}): Manifest {
  return {
    schema: 'rbnet.manifest/v1',
    name: 'fixture',
    architecture: 'amd64',
    backend: 'generic',
    environment: {
      imageSha256: FAKE_IMAGE_SHA256,
      env: { PATH: '/bin', HOME: '/build' },
      locale: 'C.UTF-8',
      timezone: 'UTC',
      umask: 0o022,
      uid: 1000,
      gid: 1000,
      hostname: 'rbnet-build',
      buildPath: '/build/fixture',
      sourceDateEpoch: 1_700_000_000,
    },
    inputs: [],
    build: { argv: ['/bin/sh', 'build.sh'], workingDir: '.', timeLimitSeconds: 60 },
    outputDir: 'out',
    claimedOutputs: [],
    resources: {},
    ...overrides,
  };
}
