// The Debian backend (rbnet.debian/v1): a submission must agree with its .buildinfo; each worker
// resolves the environment from it, so results are compared with each other only; a divergence
// report looks inside the .debs; a reproducible verdict publishes the operators' apt links.

import { BUILD_LOG_BYPRODUCT_NAME } from '../../services/attestation/rebuild-statement.ts';
import type { DivergenceReport } from '../../services/consensus/divergence-report.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import type { ParsedDebianManifest } from '../../services/manifest/debian-manifest.ts';
import type { AnyParsedManifest } from '../../services/manifest/parse-any-manifest.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import type { ResultByproduct } from '../../services/storage/result-store.ts';
import type { BackendDeps, BuildBackend, CoordinatorBackend, DecidedBuild } from './coordinator-backend.ts';
import { publishAptLinks } from './debian-apt-links.ts';
import { nestedDebDivergenceOf } from './debian-divergence.ts';
import { checkDebianSubmission } from './debian-submission.ts';

type DebianManifest = Extract<AnyParsedManifest, { kind: 'debian' }>;

/**
 * The byproducts each result's envelope signs (the build log left out), read from the index intake
 * wrote when it verified the envelope, in the order the statement signs them (by name).
 */
async function byproductsOf(
  deps: BackendDeps,
  decided: DecidedBuild,
): Promise<ReadonlyMap<Sha256Hex, readonly ResultByproduct[]>> {
  const byEnvelope = new Map<Sha256Hex, ResultByproduct[]>();
  for (const row of await deps.results.listResultByproducts(decided.build.buildId)) {
    if (row.name === BUILD_LOG_BYPRODUCT_NAME) continue;
    const list = byEnvelope.get(row.envelopeSha256) ?? [];
    list.push({ name: row.name, sha256: row.sha256 });
    byEnvelope.set(row.envelopeSha256, list);
  }
  return byEnvelope;
}

export const debianBackend: CoordinatorBackend<DebianManifest> = Object.freeze({
  name: 'debian' as const,
  bind: (parsed: ParsedDebianManifest): BuildBackend =>
    Object.freeze({
      name: 'debian' as const,
      needs: Object.freeze({
        resources: parsed.manifest.resources,
        timeLimitSeconds: parsed.manifest.timeLimitSeconds,
      }),
      // The environment is resolved by each worker from the .buildinfo: compared between results.
      expectedInputs: undefined,
      // A failure names the record the environment is resolved from.
      failureEnvironmentSha256: parsed.manifest.buildinfoSha256,
      packageVersion: parsed.manifest.version,
      checkSubmission: (content: ContentStore) => checkDebianSubmission(content, parsed.manifest),
      divergenceExtras: async (deps: BackendDeps, decided: DecidedBuild, report: DivergenceReport) => {
        try {
          const debian = await nestedDebDivergenceOf(
            deps.content,
            report,
            decided.results,
            await byproductsOf(deps, decided),
            decided.build.claimedOutputs,
          );
          return { debian };
        } catch (err) {
          // The nested section explains; the verdict and the file-level report stand without it.
          deps.logger.error({ err, buildId: decided.build.buildId }, 'nested .deb divergence failed');
          return {};
        }
      },
      afterVerdict: async (deps: BackendDeps, decided: DecidedBuild) => {
        const publication = await publishAptLinks(deps, parsed, decided, await byproductsOf(deps, decided));
        return publication.conflicts.length > 0 ? { aptLinkConflicts: publication.conflicts } : {};
      },
    }),
});
