// The wire contract of GET /v1/builds/:id: the coordinator builds it with this type, `rbnet status`,
// `rbnet submit --wait` and the tests read it with this parser (a coordinator may lie, so it is read
// strictly; a client shows it and follows its links, and decides nothing from it).
import { VERDICTS, type Verdict } from '../consensus/verdict.ts';
import type { Sha256Hex } from '../digest.ts';
import {
  accountNameRule,
  architectureRule,
  backendNameRule,
  buildIdRule,
  jobIdRule,
  workerIdRule,
} from '../identifiers.ts';
import { type BuildLinks, buildLinksType } from './build-links.ts';
import {
  arrayOf,
  boolean,
  identifier,
  integer,
  type JsonValue,
  object,
  oneOf,
  parseWire,
  sha256,
  text,
  timestamp,
  type WireFail,
  type WireType,
} from './wire-type.ts';

/** Largest build view a client reads: a build's rows are bounded by its attempts and decisions. */
export const maxBuildViewBytes = 64 * 1024 * 1024;

const ATTEMPT_STATES = ['open', 'reported', 'failed', 'expired', 'cancelled'] as const;
const MAX_ROWS = 10_000;
const MAX_TEXT = 4096;

export interface ClaimedOutputView {
  readonly path: string;
  readonly sha256: Sha256Hex;
}

export interface OutputView {
  readonly path: string;
  readonly sha256: Sha256Hex;
  readonly sizeBytes: number;
}

export interface BuildPolicyView {
  readonly threshold: number;
  readonly maxAttempts: number;
  readonly decisionDeadlineMs: number;
}

export interface RetryPolicyView {
  readonly leaseTimeoutMs: number;
  readonly buildFailureRetries: number;
  readonly infrastructureRetries: number;
  readonly retryBackoffMs: number;
}

/**
 * The latest recorded decision: its verdict, counted operators and explanation, and the rest of
 * what the consensus rule recorded (agreeingOperators, agreeingOutputs, dissent, notCounted,
 * claims, revokedResults; docs/api.md), kept as JSON.
 */
export interface BuildDecisionView {
  readonly verdict: Verdict;
  readonly countedOperators: readonly string[];
  readonly explanation: string;
  readonly [detail: string]: JsonValue;
}

/** An attempt as anyone may see it: everything but its nonce. */
export interface AttemptView {
  readonly buildId: string;
  readonly workerId: string;
  readonly operator: string;
  readonly attempt: number;
  readonly jobId: string;
  readonly state: (typeof ATTEMPT_STATES)[number];
  readonly assignedAt: string;
  readonly leaseExpiresAt?: string;
  readonly startedAt?: string;
  readonly runLimitMs?: number;
  readonly finishedAt?: string;
  readonly failureReason?: string;
}

/** A result as it stands now (a compromise since it arrived shows as `counted: false`). */
export interface ResultView {
  readonly workerId: string;
  readonly operator: string;
  readonly attempt: number;
  readonly kind: 'built' | 'failed';
  readonly failureReason?: string;
  readonly outputs: readonly OutputView[];
  readonly environmentSha256: Sha256Hex;
  readonly environmentOrigin: string;
  readonly envelopeSha256: Sha256Hex;
  readonly logSha256: Sha256Hex;
  readonly counted: boolean;
  readonly refusedReason?: string;
  readonly receivedAt: string;
}

/** One row of the build's verdict history (append-only). */
export interface HistoryEntryView {
  readonly sequence: number;
  readonly buildId: string;
  readonly verdict: Verdict;
  readonly previousVerdict: Verdict;
  readonly consensusEnvelopeSha256?: Sha256Hex;
  readonly divergenceReportSha256?: Sha256Hex;
  readonly decidedAt: string;
}

/** An apt link conflict this build is part of, on either side: an alarm (docs/apt-in-toto.md). */
export interface AptLinkConflictView {
  readonly architecture: string;
  readonly package: string;
  readonly version: string;
  readonly publishedBuildId: string;
  readonly publishedProductsSha256: Sha256Hex;
  readonly contestingBuildId: string;
  readonly contestingProductsSha256: Sha256Hex;
  readonly detectedAt: string;
}

export interface BuildView {
  readonly buildId: string;
  readonly name: string;
  readonly manifestSha256: Sha256Hex;
  readonly architecture: string;
  readonly backend: string;
  readonly claimedOutputs: readonly ClaimedOutputView[];
  readonly policy: BuildPolicyView;
  readonly retryPolicy: RetryPolicyView;
  readonly createdAt: string;
  readonly verdict: Verdict;
  /** Absent until the first decision is recorded. */
  readonly decision?: BuildDecisionView;
  readonly attempts: readonly AttemptView[];
  readonly results: readonly ResultView[];
  readonly history: readonly HistoryEntryView[];
  readonly conflicts: readonly AptLinkConflictView[];
  readonly links: BuildLinks;
}

/** Fields of answers: clients ignore fields a newer coordinator adds. */
const answer = { unknown: 'ignore' } as const;
/** Names and paths: shown on terminals, so no control characters at all. */
const printable = text({ maxLength: MAX_TEXT, characters: 'printable' });
/** Reasons people read: tabs and line breaks, no other control character. */
const reason = text({ maxLength: MAX_TEXT, characters: 'text' });
const verdict = oneOf(VERDICTS);
const ms = integer({ minimum: 0 });
const count = integer({ minimum: 0 });

const decisionDetails = new Set(['verdict', 'countedOperators', 'explanation']);
const decisionCore = object(
  {
    verdict,
    countedOperators: arrayOf(identifier(accountNameRule), { maxItems: MAX_ROWS }),
    explanation: text({ maxLength: 64 * 1024, characters: 'text' }),
  },
  {},
  answer,
);

const decisionType: WireType<BuildDecisionView> = {
  schema: {
    ...decisionCore.schema,
    description: 'the latest decision; docs/api.md lists its other fields',
    additionalProperties: true,
  },
  read(value: unknown, field: string, fail: WireFail) {
    const core = decisionCore.read(value, field, fail);
    // Strict JSON already bounded the rest; it is kept as parsed, for people to read.
    const details: Record<string, JsonValue> = {};
    for (const [key, detail] of Object.entries(value as Record<string, JsonValue>))
      if (!decisionDetails.has(key)) details[key] = detail;
    return Object.freeze({ ...details, ...core });
  },
};

const attemptType: WireType<AttemptView> = object(
  {
    buildId: identifier(buildIdRule),
    workerId: identifier(workerIdRule),
    operator: identifier(accountNameRule),
    attempt: integer({ minimum: 1 }),
    jobId: identifier(jobIdRule),
    state: oneOf(ATTEMPT_STATES),
    assignedAt: timestamp(),
  },
  {
    leaseExpiresAt: timestamp('until then the lease (or, before startedAt, the pickup deadline) holds'),
    startedAt: timestamp('when its worker first named it in a heartbeat'),
    runLimitMs: ms,
    finishedAt: timestamp(),
    failureReason: reason,
  },
  answer,
);

const outputType: WireType<OutputView> = object(
  { path: printable, sha256: sha256(), sizeBytes: count },
  {},
  answer,
);

const resultType: WireType<ResultView> = object(
  {
    workerId: identifier(workerIdRule),
    operator: identifier(accountNameRule),
    attempt: integer({ minimum: 1 }),
    kind: oneOf(['built', 'failed'] as const),
    outputs: arrayOf(outputType, { maxItems: MAX_ROWS }),
    environmentSha256: sha256(),
    environmentOrigin: text({ maxLength: 64, characters: 'printable' }),
    envelopeSha256: sha256(),
    logSha256: sha256(),
    counted: boolean(),
    receivedAt: timestamp(),
  },
  { failureReason: reason, refusedReason: reason },
  answer,
);

const historyType: WireType<HistoryEntryView> = object(
  {
    sequence: integer({ minimum: 1 }),
    buildId: identifier(buildIdRule),
    verdict,
    previousVerdict: verdict,
    decidedAt: timestamp(),
  },
  { consensusEnvelopeSha256: sha256(), divergenceReportSha256: sha256() },
  answer,
);

export const aptLinkConflictType: WireType<AptLinkConflictView> = object(
  {
    architecture: identifier(architectureRule),
    package: printable,
    version: printable,
    publishedBuildId: identifier(buildIdRule),
    publishedProductsSha256: sha256(),
    contestingBuildId: identifier(buildIdRule),
    contestingProductsSha256: sha256(),
    detectedAt: timestamp(),
  },
  {},
  answer,
);

export const buildPolicyType: WireType<BuildPolicyView> = object(
  {
    threshold: integer({ minimum: 1 }),
    maxAttempts: integer({ minimum: 1 }),
    decisionDeadlineMs: ms,
  },
  {},
  answer,
);

export const buildViewType: WireType<BuildView> = object(
  {
    buildId: identifier(buildIdRule),
    name: printable,
    manifestSha256: sha256(),
    architecture: identifier(architectureRule),
    backend: identifier(backendNameRule),
    claimedOutputs: arrayOf(object({ path: printable, sha256: sha256() }, {}, answer), {
      maxItems: MAX_ROWS,
    }),
    policy: buildPolicyType,
    retryPolicy: object(
      { leaseTimeoutMs: ms, buildFailureRetries: count, infrastructureRetries: count, retryBackoffMs: ms },
      {},
      answer,
    ),
    createdAt: timestamp(),
    verdict,
    attempts: arrayOf(attemptType, { maxItems: MAX_ROWS }),
    results: arrayOf(resultType, { maxItems: MAX_ROWS }),
    history: arrayOf(historyType, { maxItems: MAX_ROWS }),
    conflicts: arrayOf(aptLinkConflictType, {
      maxItems: MAX_ROWS,
      description: 'apt link conflicts this build is part of (published or contesting side): an alarm',
    }),
    links: buildLinksType,
  },
  { decision: decisionType },
  answer,
);

/** The build view of `buildId`: the one asked about, or the answer is refused. */
export function buildViewOf(buildId: string): WireType<BuildView> {
  return {
    schema: buildViewType.schema,
    read(value: unknown, field: string, fail: WireFail) {
      const view = buildViewType.read(value, field, fail);
      if (view.buildId !== buildId) fail('buildId', `the answer is about ${view.buildId}, not ${buildId}`);
      return view;
    },
  };
}

/**
 * Reads a build view answer (or `rbnet status --json` output). `expectedBuildId`, when given, must
 * be the build asked about.
 * @throws WireFormatError ANSWER_INVALID naming the field.
 */
export function parseBuildView(answerText: string, expectedBuildId?: string): BuildView {
  return parseWire(expectedBuildId === undefined ? buildViewType : buildViewOf(expectedBuildId), answerText, {
    maxBytes: maxBuildViewBytes,
    what: 'build',
    side: 'answer',
    maxDepth: 32,
  });
}
