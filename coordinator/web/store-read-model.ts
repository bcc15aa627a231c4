// size: the one place the web pages' facts are read from the stores (registry, builds, results, apt
// links, the content store, and the aggregates of migration 9); moving the stores means changing
// this file only.
import { VERDICTS, type Verdict } from '../../services/consensus/verdict.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import type { AptLinkStore } from '../../services/storage/apt-link-store.ts';
import type { AttemptRecord, BuildRecord, BuildStore } from '../../services/storage/build-store.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import type { RegistryStore } from '../../services/storage/registry-store.ts';
import type { ResultRecord, ResultStore } from '../../services/storage/result-store.ts';
import { BuildStoreError } from '../../services/storage/store-error.ts';
import { standingOfResults } from '../consensus/revoked-results.ts';
import { readBlobText } from '../storage/read-blob.ts';
import { divergenceView } from './divergence-view.ts';
import { readLogTail } from './log-tail.ts';
import {
  type AlarmPage,
  type AttemptFacts,
  type AttemptOutcome,
  type BadgeFacts,
  type BuildFacts,
  type BuildSummary,
  type DecisionFacts,
  type FamilyCounts,
  type FamilyTrend,
  OUTCOME_CLASSES,
  type OutcomeClass,
  type PackageFamily,
  type QueueFacts,
  type WebReadModel,
  type WorkerFacts,
} from './read-model.ts';
import { zeroCounts } from './verdict-style.ts';
import type { DailyChangeRow, PackageRow, WebAggregates } from './web-aggregates.ts';

/** The stores the pages read, each only through its reading methods. */
export interface StoreReadModelDeps {
  readonly registry: Pick<RegistryStore, 'listWorkers' | 'getWorker'>;
  readonly builds: Pick<
    BuildStore,
    | 'getBuild'
    | 'listBuilds'
    | 'listPendingBuildIds'
    | 'countBuildsByVerdict'
    | 'listAttempts'
    | 'listOpenAttempts'
    | 'getVerdictHistory'
  >;
  readonly results: Pick<ResultStore, 'listResults' | 'findBuildsByArtifact'>;
  readonly aptLinks: Pick<AptLinkStore, 'listAptLinkConflicts'>;
  readonly content: ContentStore;
  readonly aggregates: WebAggregates;
  readonly publicUrl: string;
  readonly threshold: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Days the overview's trend covers. */
const TREND_DAYS = 90;
/** Hours the queue page's chart covers; worker figures cover the last 24 of them. */
const HOURLY_HOURS = 48;
const OVERVIEW_ALARMS = 20;
const OVERVIEW_LATEST = 10;
const PENDING_PAGE = 50;
const OPEN_ATTEMPTS_SHOWN = 100;
const TIMELINE_BUILDS = 100;
/** Logs read for one build page; further attempts link to their log by digest. */
const LOGS_PER_PAGE = 10;
const MAX_REPORT_BYTES = 16 * 1024 * 1024;

type Json = Record<string, unknown>;

function parseObject(text: string | undefined): Json {
  if (text === undefined) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
  } catch {
    return {};
  }
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function records(value: unknown): Json[] {
  return Array.isArray(value)
    ? value.filter((v): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v))
    : [];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The facts a decision's JSON gives a page (the coordinator wrote it; read defensively all the same). */
function decisionFacts(decisionJson: string | undefined): DecisionFacts | undefined {
  if (decisionJson === undefined) return undefined;
  const d = parseObject(decisionJson);
  return {
    explanation: typeof d.explanation === 'string' ? d.explanation : '',
    countedOperators: strings(d.countedOperators),
    agreeingOperators: strings(d.agreeingOperators),
    agreeingOutputs: records(d.agreeingOutputs).flatMap((o) =>
      typeof o.path === 'string' && typeof o.sha256 === 'string'
        ? [{ path: o.path, sha256: o.sha256 as Sha256Hex }]
        : [],
    ),
    dissent: records(d.dissent).map((x) => ({
      operator: String(x.operator ?? '?'),
      workerId: String(x.workerId ?? '?'),
      differingPaths: strings(x.differingPaths),
    })),
    notCounted: records(d.notCounted).map((x) => ({
      operator: String(x.operator ?? '?'),
      workerId: String(x.workerId ?? '?'),
      reason: String(x.reason ?? '?'),
    })),
  };
}

function manifestFacts(build: BuildRecord): { version?: string; debianSource?: 'archive' | 'files' } {
  const manifest = parseObject(build.manifestJson);
  const source =
    typeof manifest.source === 'object' && manifest.source !== null
      ? (manifest.source as Json).from
      : undefined;
  return {
    ...(typeof manifest.version === 'string' && { version: manifest.version }),
    ...(manifest.schema === 'rbnet.debian/v1' &&
      (source === 'archive' || source === 'files') && { debianSource: source }),
  };
}

function summaryOf(build: BuildRecord, decision: DecisionFacts | undefined): BuildSummary {
  const { version } = manifestFacts(build);
  return {
    buildId: build.buildId,
    name: build.name,
    ...(version !== undefined && { version }),
    backend: build.backend,
    architecture: build.architecture,
    manifestSha256: build.manifestSha256,
    verdict: build.verdict,
    createdAt: build.createdAt,
    ...(build.verdictAt !== undefined && { verdictAt: build.verdictAt }),
    agreeing: [...(decision?.agreeingOperators ?? [])].sort(),
    dissenting: [...new Set(decision?.dissent.map((d) => d.operator) ?? [])].sort(),
  };
}

function familyOf(row: PackageRow): PackageFamily {
  return {
    backend: row.backend,
    architecture: row.architecture,
    latestBuildId: row.latestBuildId,
    latestVerdict: row.latestVerdict,
    builds: row.builds,
    changedAt: iso(row.changedAtMs),
  };
}

function outcomeClass(outcome: string): OutcomeClass {
  if (outcome === 'built') return 'built';
  if (outcome === 'cancelled') return 'cancelled';
  return outcome.startsWith('build-failure:') ? 'build-failure' : 'infrastructure';
}

function zeroOutcomes(): Record<OutcomeClass, number> {
  return { built: 0, 'build-failure': 0, infrastructure: 0, cancelled: 0 };
}

function attemptOutcome(
  attempt: AttemptRecord,
  result: ResultRecord | undefined,
  revoked?: string,
): AttemptOutcome {
  if (result?.kind === 'built') {
    const refusedReason = revoked ?? result.refusedReason;
    return { kind: 'built', counted: result.counted && !revoked, ...(refusedReason && { refusedReason }) };
  }
  if (result) return { kind: 'build-failure', reason: result.failureReason ?? 'unknown' };
  switch (attempt.state) {
    case 'open':
      return attempt.startedAt === undefined ? { kind: 'queued' } : { kind: 'running' };
    case 'cancelled':
      return { kind: 'cancelled' };
    case 'failed':
    case 'expired':
      return {
        kind: 'infrastructure',
        state: attempt.state,
        ...(attempt.failureReason !== undefined && { reason: attempt.failureReason }),
      };
    default:
      // `reported` without a stored result cannot happen; show it as what the row says.
      return { kind: 'infrastructure', state: 'failed', reason: `attempt ${attempt.state} without a result` };
  }
}

/** The web pages' read model over the coordinator's stores, content store and web aggregates. */
export function createStoreReadModel(deps: StoreReadModelDeps): WebReadModel {
  const { registry, builds: buildStore, results: resultStore, aptLinks, aggregates } = deps;

  async function summary(build: BuildRecord): Promise<BuildSummary> {
    const latest = (await buildStore.getVerdictHistory(build.buildId)).at(-1);
    return summaryOf(build, decisionFacts(latest?.decisionJson));
  }

  async function summaries(ids: readonly string[]): Promise<BuildSummary[]> {
    const out: BuildSummary[] = [];
    for (const id of ids) {
      const build = await buildStore.getBuild(id);
      if (build) out.push(await summary(build));
    }
    return out;
  }

  async function trend(now: Date, families: readonly FamilyCounts[]): Promise<FamilyTrend[]> {
    const today = Math.floor(now.getTime() / DAY_MS);
    const firstDay = today - TREND_DAYS + 1;
    const changes = await aggregates.dailyChangesAfter(firstDay - 1);
    return families.map((family) => {
      const state = { ...family.counts };
      const byDay = new Map<number, DailyChangeRow[]>();
      for (const c of changes) {
        if (c.backend !== family.backend || c.architecture !== family.architecture) continue;
        // Changes dated after today (a clock ahead of ours) are undone first.
        if (c.day > today) state[c.verdict] -= c.delta;
        else byDay.set(c.day, [...(byDay.get(c.day) ?? []), c]);
      }
      const days: { day: string; counts: Record<Verdict, number> }[] = [];
      for (let day = today; day >= firstDay; day--) {
        days.push({ day: iso(day * DAY_MS).slice(0, 10), counts: { ...state } });
        for (const c of byDay.get(day) ?? []) state[c.verdict] -= c.delta;
      }
      days.reverse();
      // Days before the family's first package say nothing.
      const first = days.findIndex((d) => VERDICTS.some((v) => d.counts[v] > 0));
      return {
        backend: family.backend,
        architecture: family.architecture,
        days: days.slice(Math.max(0, first)),
      };
    });
  }

  /** The badge of the newest latest build among these families of one package. */
  async function badgeOf(name: string, families: readonly PackageRow[]): Promise<BadgeFacts | undefined> {
    let newest: BuildRecord | undefined;
    for (const family of families) {
      const build = await buildStore.getBuild(family.latestBuildId);
      if (build && (!newest || build.createdAt > newest.createdAt)) newest = build;
    }
    if (!newest) return undefined;
    const facts = await summary(newest);
    return { name, verdict: facts.verdict, agreeingOperators: facts.agreeing.length };
  }

  const model: WebReadModel = {
    dataVersion: () => aggregates.dataVersion(),

    async overview(now) {
      const byFamily = new Map<
        string,
        { backend: string; architecture: string; counts: Record<Verdict, number> }
      >();
      for (const row of await aggregates.familyCounts()) {
        const key = `${row.backend}/${row.architecture}`;
        const entry = byFamily.get(key) ?? {
          backend: row.backend,
          architecture: row.architecture,
          counts: zeroCounts(),
        };
        entry.counts[row.verdict] += row.packages;
        byFamily.set(key, entry);
      }
      const families: FamilyCounts[] = [...byFamily.values()]
        .map((f) => ({ ...f, packages: VERDICTS.reduce((sum, v) => sum + f.counts[v], 0) }))
        .sort((a, b) => a.backend.localeCompare(b.backend) || a.architecture.localeCompare(b.architecture));
      return {
        families,
        buildTotals: await buildStore.countBuildsByVerdict(),
        trend: await trend(now, families),
        alarms: await model.alarms({ limit: OVERVIEW_ALARMS }),
        latest: await Promise.all((await buildStore.listBuilds({ limit: OVERVIEW_LATEST })).map(summary)),
        threshold: deps.threshold,
      };
    },

    async alarms(page): Promise<AlarmPage> {
      const rows = await aggregates.alarms(
        page.limit + 1,
        page.after && { ...page.after, changedAtMs: page.after.sinceMs },
      );
      const shown = rows.slice(0, page.limit);
      const last = shown.at(-1);
      return {
        alarms: shown.map((row) => ({
          kind: row.latestVerdict === 'mismatch-upstream' ? 'mismatch-upstream' : 'regression',
          name: row.name,
          backend: row.backend,
          architecture: row.architecture,
          verdict: row.latestVerdict,
          since: iso(row.changedAtMs),
          buildId: row.latestBuildId,
          ...(row.version !== undefined && { version: row.version }),
          ...(row.lastGoodBuildId !== undefined && { lastGoodBuildId: row.lastGoodBuildId }),
        })),
        total: await aggregates.countAlarms(),
        ...(rows.length > page.limit &&
          last && {
            next: {
              sinceMs: last.changedAtMs,
              name: last.name,
              backend: last.backend,
              architecture: last.architecture,
            },
          }),
      };
    },

    async queue(now, page): Promise<QueueFacts | undefined> {
      let pendingIds: readonly string[];
      try {
        pendingIds = await buildStore.listPendingBuildIds({
          limit: PENDING_PAGE + 1,
          ...(page.pendingAfter !== undefined && { after: page.pendingAfter }),
        });
      } catch (err) {
        if (err instanceof BuildStoreError && (err.code === 'NOT_FOUND' || err.code === 'INVALID'))
          return undefined;
        throw err;
      }
      const open = await buildStore.listOpenAttempts();
      const names = new Map<string, string>();
      for (const a of open.slice(0, OPEN_ATTEMPTS_SHOWN))
        if (!names.has(a.buildId)) names.set(a.buildId, (await buildStore.getBuild(a.buildId))?.name ?? '?');
      const nowHour = Math.floor(now.getTime() / HOUR_MS);
      const firstHour = nowHour - HOURLY_HOURS + 1;
      const hourly = Object.fromEntries(
        OUTCOME_CLASSES.map((c) => [c, new Array<number>(HOURLY_HOURS).fill(0)]),
      ) as Record<OutcomeClass, number[]>;
      const recent = new Map<
        string,
        { classes: Record<OutcomeClass, number>; reasons: Map<string, number> }
      >();
      for (const row of await aggregates.hourlyOutcomesFrom(firstHour)) {
        if (row.hour > nowHour) continue;
        const cls = outcomeClass(row.outcome);
        hourly[cls][row.hour - firstHour]! += row.count;
        if (row.hour <= nowHour - 24) continue;
        const mine = recent.get(row.workerId) ?? { classes: zeroOutcomes(), reasons: new Map() };
        mine.classes[cls] += row.count;
        if (cls === 'build-failure' || cls === 'infrastructure') {
          const reason = row.outcome.replace(/^build-failure:/, '');
          mine.reasons.set(reason, (mine.reasons.get(reason) ?? 0) + row.count);
        }
        recent.set(row.workerId, mine);
      }
      const workers: WorkerFacts[] = (await registry.listWorkers()).map((w) => {
        const mine = recent.get(w.workerId);
        const attempts = open.filter((a) => a.workerId === w.workerId);
        return {
          workerId: w.workerId,
          operator: w.operator,
          architectures: w.architectures,
          backends: w.backends,
          capacity: w.capacity,
          enrolledAt: w.enrolledAt,
          ...(w.lastSeenAt !== undefined && { lastSeenAt: w.lastSeenAt }),
          state:
            w.revokedAt === undefined
              ? 'active'
              : w.revocation?.kind === 'compromised'
                ? 'compromised'
                : 'retired',
          running: attempts.filter((a) => a.startedAt !== undefined).length,
          queued: attempts.filter((a) => a.startedAt === undefined).length,
          recent: mine?.classes ?? zeroOutcomes(),
          failureReasons: [...(mine?.reasons ?? new Map<string, number>())]
            .map(([reason, count]) => ({ reason, count }))
            .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
        };
      });
      workers.sort((a, b) => a.operator.localeCompare(b.operator) || a.workerId.localeCompare(b.workerId));
      return {
        pendingTotal: (await buildStore.countBuildsByVerdict()).pending,
        pending: await summaries(pendingIds.slice(0, PENDING_PAGE)),
        ...(pendingIds.length > PENDING_PAGE && { pendingNext: pendingIds[PENDING_PAGE - 1]! }),
        open: open.slice(0, OPEN_ATTEMPTS_SHOWN).map((a) => ({
          buildId: a.buildId,
          name: names.get(a.buildId) ?? '?',
          workerId: a.workerId,
          operator: a.operator,
          attempt: a.attempt,
          assignedAt: a.assignedAt,
          ...(a.startedAt !== undefined && { startedAt: a.startedAt }),
          ...(a.leaseExpiresAt !== undefined && { leaseExpiresAt: a.leaseExpiresAt }),
        })),
        openTotal: open.length,
        workers,
        hourly: {
          hours: Array.from({ length: HOURLY_HOURS }, (_, i) => iso((firstHour + i) * HOUR_MS)),
          counts: hourly,
        },
      };
    },

    async searchPackages(prefix, page) {
      const rows = await aggregates.packagesByPrefix(prefix.toLowerCase(), page.limit + 1, page.after);
      const shown = rows.slice(0, page.limit);
      const last = shown.at(-1);
      return {
        hits: shown.map((row) => ({ name: row.name, ...familyOf(row) })),
        ...(rows.length > page.limit &&
          last && { next: { name: last.name, backend: last.backend, architecture: last.architecture } }),
      };
    },

    async buildsWithArtifact(sha256, limit) {
      return Promise.all((await resultStore.findBuildsByArtifact(sha256, { limit })).map(summary));
    },

    async packageFacts(name, page) {
      const families = await aggregates.packageFamilies(name);
      if (families.length === 0) return undefined;
      const ids = await aggregates.buildIdsOfName(name, page.limit + 1, page.before);
      if (ids === undefined) return undefined;
      return {
        name,
        families: families.map(familyOf),
        builds: await summaries(ids.slice(0, page.limit)),
        ...(ids.length > page.limit && { nextBefore: ids[page.limit - 1]! }),
        history: (await aggregates.timeline(name, TIMELINE_BUILDS)).map((t) => ({
          buildId: t.buildId,
          backend: t.backend,
          architecture: t.architecture,
          verdict: t.verdict,
          createdAt: iso(t.createdAtMs),
          ...(t.version !== undefined && { version: t.version }),
        })),
        badge: await badgeOf(name, families),
      };
    },

    async build(buildId) {
      const build = await buildStore.getBuild(buildId);
      if (!build) return undefined;
      const [attempts, results, history, conflicts] = await Promise.all([
        buildStore.listAttempts(buildId),
        resultStore.listResults(buildId),
        buildStore.getVerdictHistory(buildId),
        aptLinks.listAptLinkConflicts(buildId),
      ]);
      const latest = history.at(-1);
      const decision = decisionFacts(latest?.decisionJson);
      const revoked = new Map(
        (await standingOfResults(registry, results)).revoked.map((r) => [
          r.envelopeSha256,
          `worker ${r.workerId} was marked compromised since ${r.compromisedSince}; its results from then on do not count`,
        ]),
      );
      const resultByJob = new Map(results.map((r) => [r.jobId, r]));
      let logsRead = 0;
      const attemptFacts: AttemptFacts[] = [];
      for (const attempt of attempts) {
        const result = resultByJob.get(attempt.jobId);
        const log =
          result && logsRead++ < LOGS_PER_PAGE
            ? await readLogTail(deps.content, result.logSha256)
            : undefined;
        attemptFacts.push({
          jobId: attempt.jobId,
          workerId: attempt.workerId,
          operator: attempt.operator,
          attempt: attempt.attempt,
          assignedAt: attempt.assignedAt,
          ...(attempt.startedAt !== undefined && { startedAt: attempt.startedAt }),
          ...(attempt.finishedAt !== undefined && { finishedAt: attempt.finishedAt }),
          ...(result !== undefined && { receivedAt: result.receivedAt }),
          outcome: attemptOutcome(attempt, result, result && revoked.get(result.envelopeSha256)),
          ...(result !== undefined && {
            envelopeSha256: result.envelopeSha256,
            environmentSha256: result.environmentSha256,
          }),
          outputs: result?.outputs ?? [],
          ...(log !== undefined && { log }),
        });
      }
      let divergence: BuildFacts['divergence'];
      let divergenceUnavailable: string | undefined;
      if (latest?.divergenceReportSha256 !== undefined) {
        try {
          const text = await readBlobText(deps.content, latest.divergenceReportSha256, MAX_REPORT_BYTES);
          if (text === undefined) divergenceUnavailable = 'the report is not in the content store';
          else divergence = divergenceView(JSON.parse(text));
        } catch (err) {
          divergenceUnavailable = `the stored report could not be read: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      const { debianSource } = manifestFacts(build);
      return {
        ...summaryOf(build, decision),
        threshold: build.policy.threshold,
        submittedBy: build.submittedBy,
        claimedOutputs: build.claimedOutputs,
        ...(debianSource !== undefined && { debianSource }),
        attempts: attemptFacts,
        ...(decision !== undefined && { decision }),
        history: history.map((h) => ({
          sequence: h.sequence,
          verdict: h.verdict,
          previousVerdict: h.previousVerdict,
          decidedAt: h.decidedAt,
        })),
        hasAttestation: latest?.consensusEnvelopeSha256 !== undefined,
        ...(divergence !== undefined && { divergence }),
        ...(divergenceUnavailable !== undefined && { divergenceUnavailable }),
        conflicts: conflicts.map((c) => ({
          package: c.package,
          version: c.version,
          publishedBuildId: c.publishedBuildId,
          contestingBuildId: c.contestingBuildId,
        })),
        coordinatorUrl: deps.publicUrl,
      };
    },

    async badge(name, architecture) {
      return badgeOf(
        name,
        (await aggregates.packageFamilies(name)).filter(
          (f) => architecture === undefined || f.architecture === architecture,
        ),
      );
    },
  };
  return model;
}
