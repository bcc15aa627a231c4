// Turns the verdict changes the store queued (in the verdict's own transaction) into alert events:
// reads the build and the previous version of its package, applies the rule in
// services/alerts/alert-event.ts, and records the event with its deliveries in one transaction.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  type AlertKind,
  alertKindOf,
  alertSummaryOf,
  type PreviousVersion,
} from '../../services/alerts/alert-event.ts';
import type { AlertEventBody } from '../../services/api/alerts.ts';
import { ManifestError } from '../../services/errors.ts';
import type { AlertStore, PendingAlertVerdict } from '../../services/storage/alert-store.ts';
import type { BuildRecord, BuildStore } from '../../services/storage/build-store.ts';
import { buildContextOf } from '../backends/build-context.ts';

/** Earlier builds of a package read to find its previous version (resubmissions of one version are skipped). */
const MAX_EARLIER_BUILDS = 32;

export interface DeriveAlertDeps {
  readonly builds: Pick<BuildStore, 'getBuild'>;
  readonly alerts: AlertStore;
  readonly logger: Logger;
  /** The coordinator's public origin, for links in event bodies. */
  readonly publicUrl: string;
}

/** The version of its package a build is, as its backend says (coordinator/backends/). */
function versionOf(build: Pick<BuildRecord, 'manifestSha256' | 'manifestJson'>): string {
  return buildContextOf(build).backend.packageVersion;
}

async function previousVersionOf(
  deps: DeriveAlertDeps,
  build: BuildRecord,
  version: string,
): Promise<PreviousVersion | undefined> {
  for (const earlier of await deps.alerts.listEarlierBuilds(build.buildId, MAX_EARLIER_BUILDS)) {
    const earlierVersion = versionOf(earlier);
    if (earlierVersion !== version)
      return { buildId: earlier.buildId, version: earlierVersion, verdict: earlier.verdict };
  }
  return undefined;
}

function eventBody(
  deps: DeriveAlertDeps,
  fields: {
    readonly eventId: string;
    readonly kind: AlertKind;
    readonly summary: string;
    readonly build: BuildRecord;
    readonly version: string;
    readonly pending: PendingAlertVerdict;
    readonly previousVersion: PreviousVersion | undefined;
    readonly suites: readonly string[];
  },
): AlertEventBody {
  const { build, pending, previousVersion } = fields;
  return {
    eventId: fields.eventId,
    kind: fields.kind,
    occurredAt: pending.decidedAt,
    summary: fields.summary,
    build: {
      buildId: build.buildId,
      url: `${deps.publicUrl}/v1/builds/${build.buildId}`,
      package: build.name,
      version: fields.version,
      architecture: build.architecture,
      maintainer: build.submittedBy,
      verdict: pending.verdict,
      previousVerdict: pending.previousVerdict,
      suites: fields.suites,
    },
    previousVersion: previousVersion ?? null,
  };
}

/** Derives one pending verdict change: records its event (if it raises one) and settles it. */
async function deriveOne(
  deps: DeriveAlertDeps,
  pending: PendingAlertVerdict,
): Promise<AlertKind | undefined> {
  const build = await deps.builds.getBuild(pending.buildId);
  if (build === undefined) {
    await deps.alerts.settlePendingVerdict(pending);
    return undefined;
  }
  const version = versionOf(build);
  const previousVersion = await previousVersionOf(deps, build, version);
  const change = {
    verdict: pending.verdict,
    previousVerdict: pending.previousVerdict,
    ...(previousVersion !== undefined && { previousVersion }),
  };
  const kind = alertKindOf(change);
  if (kind === undefined) {
    await deps.alerts.settlePendingVerdict(pending);
    return undefined;
  }
  const subject = { package: build.name, version, architecture: build.architecture };
  const summary = alertSummaryOf(kind, subject, change);
  const eventId = randomUUID();
  const suites = await deps.alerts.listBuildSuites(build.buildId);
  const body = eventBody(deps, { eventId, kind, summary, build, version, pending, previousVersion, suites });
  await deps.alerts.settlePendingVerdict(pending, {
    eventId,
    kind,
    buildId: build.buildId,
    verdictSequence: pending.sequence,
    package: build.name,
    version,
    architecture: build.architecture,
    maintainer: build.submittedBy,
    verdict: pending.verdict,
    summary,
    bodyJson: JSON.stringify(body),
    occurredAt: new Date(pending.decidedAt),
  });
  return kind;
}

/**
 * Derives up to `limit` pending verdict changes, oldest first; returns how many were settled. A
 * change the store could not settle (a busy database) is logged and left for the next pass.
 */
export async function deriveAlertEvents(deps: DeriveAlertDeps, limit = 100): Promise<number> {
  let settled = 0;
  for (const pending of await deps.alerts.listPendingVerdicts(limit)) {
    try {
      const kind = await deriveOne(deps, pending);
      if (kind !== undefined)
        deps.logger.info(
          { buildId: pending.buildId, kind, verdict: pending.verdict },
          'alert event recorded',
        );
      settled += 1;
    } catch (err) {
      if (!(err instanceof ManifestError)) {
        deps.logger.warn({ err, buildId: pending.buildId }, 'alert event derivation failed');
        continue;
      }
      // A stored manifest that no longer parses will not parse on the next pass either: settled
      // without an event, once, rather than retried on every pass.
      deps.logger.error(
        { err, buildId: pending.buildId },
        'alert event not derived: stored manifest unreadable',
      );
      await deps.alerts.settlePendingVerdict(pending);
      settled += 1;
    }
  }
  return settled;
}
