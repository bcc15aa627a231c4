// The generic backend (rbnet.manifest/v1): the manifest pins the environment image and every input,
// so each result is compared with them; nothing beyond the manifest to check, nothing to publish.
import type { AnyParsedManifest } from '../../services/manifest/parse-any-manifest.ts';
import type { BuildBackend, CoordinatorBackend } from './coordinator-backend.ts';

type GenericManifest = Extract<AnyParsedManifest, { kind: 'generic' }>;

export const genericBackend: CoordinatorBackend<GenericManifest> = Object.freeze({
  name: 'generic' as const,
  bind: ({ manifest, manifestSha256 }: GenericManifest): BuildBackend =>
    Object.freeze({
      name: 'generic' as const,
      needs: Object.freeze({
        resources: manifest.resources,
        timeLimitSeconds: manifest.build.timeLimitSeconds,
      }),
      // A result resolved from anything but what the manifest records is `inputs-differ`.
      expectedInputs: Object.freeze({
        environmentSha256: manifest.environment.imageSha256,
        inputs: manifest.inputs.map((input) => ({ path: input.path, sha256: input.sha256 })),
      }),
      failureEnvironmentSha256: manifest.environment.imageSha256,
      packageVersion: `manifest-${manifestSha256.slice(0, 12)}`,
      checkSubmission: async () => undefined,
      divergenceExtras: async () => ({}),
      afterVerdict: async () => ({}),
    }),
});
