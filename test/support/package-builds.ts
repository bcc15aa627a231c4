// Builds of package versions, and the decisions recorded for them, as the store holds them: for the
// consensus feed and package-query tests and bench (each build gets a fresh UUID; nothing is shared).
import { randomUUID } from 'node:crypto';
import type { Verdict } from '../../services/consensus/verdict.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { canonicalizeJcs } from '../../services/jcs.ts';
import type { NewBuild, NewVerdict } from '../../services/storage/build-store.ts';

export interface PackageBuildSpec {
  readonly source: string;
  /** Absent: a generic build named `source`. */
  readonly version?: string;
  readonly architecture?: string;
  readonly createdAt?: Date;
}

/** The .deb a Debian build of `source` `version` claims (its digest derives from the names). */
export function debOf(source: string, version: string, architecture = 'amd64') {
  const path = `${source}_${version.replace(/^[0-9]+:/, '')}_${architecture}.deb`;
  return { path, sha256: sha256Hex(`published ${path}`) as Sha256Hex };
}

/** A build record of a Debian source version (or a generic build): what createBuild(s) takes. */
export function packageBuild(spec: PackageBuildSpec): NewBuild {
  const architecture = spec.architecture ?? 'amd64';
  const buildId = randomUUID();
  const debian = spec.version !== undefined;
  const manifestJson = canonicalizeJcs(
    debian
      ? { schema: 'rbnet.debian/v1', name: spec.source, version: spec.version, architecture, buildId }
      : { schema: 'rbnet.manifest/v1', name: spec.source, architecture, buildId },
  );
  return {
    buildId,
    manifestSha256: sha256Hex(manifestJson),
    manifestJson,
    name: spec.source,
    architecture,
    backend: debian ? 'debian' : 'generic',
    claimedOutputs: debian ? [debOf(spec.source, spec.version!, architecture)] : [],
    policy: { threshold: 2, maxAttempts: 3, decisionDeadlineMs: 3_600_000 },
    submittedBy: 'maint',
    createdAt: spec.createdAt ?? new Date('2026-12-01T00:00:00Z'),
  };
}

/** A decision of `verdict` as the coordinator records one: agreeing operators, dissent, agreed outputs. */
export function decisionOf(
  build: NewBuild,
  verdict: Verdict,
  agreeing: readonly string[],
  dissenting: readonly string[] = [],
  decidedAt = new Date('2026-12-01T01:00:00Z'),
): NewVerdict {
  const agreed = ['reproducible', 'agreed', 'mismatch-upstream'].includes(verdict);
  const decision = {
    verdict,
    countedOperators: [...agreeing, ...dissenting].sort(),
    agreeingOperators: [...agreeing].sort(),
    ...(agreed && { agreeingOutputs: build.claimedOutputs }),
    ...(dissenting.length > 0 && {
      dissent: dissenting.map((operator, i) => ({
        operator,
        workerId: `${operator}-w`,
        jobId: `job-${i}`,
        attempt: 1,
        envelopeSha256: sha256Hex(`${build.buildId} ${operator}`),
        differingPaths: build.claimedOutputs.map((o) => o.path),
      })),
    }),
    notCounted: [],
    explanation: `${verdict} (test)`,
  };
  return { buildId: build.buildId, verdict, decisionJson: JSON.stringify(decision), decidedAt };
}
