// The coordinator's record contract: operators, tokens, workers, builds, attempts, results, verdicts and the transparency log.
import { VERDICTS, type Verdict } from '../consensus/verdict.ts';
import type { Sha256Hex } from '../digest.ts';
import { RbnetError } from '../errors.ts';
import type { ClaimedOutput } from '../manifest/manifest.ts';

/**
 * A build store refused or failed an operation.
 * - `INVALID`: an argument was malformed; the message starts with the field's name.
 * - `NOT_FOUND`: a record the operation needs (operator, worker, build, attempt) does not exist.
 * - `CONFLICT`: the operation contradicts what is stored (a duplicate name, a different envelope for
 *   the same result key, a revoked worker, a finished attempt finished differently).
 * - `DIGEST_MISMATCH`: a digest given alongside its document does not match it.
 * - `SCHEMA`: the database was written by a newer rbnet, or a migration failed.
 */
export class BuildStoreError extends RbnetError<
  'INVALID' | 'NOT_FOUND' | 'CONFLICT' | 'DIGEST_MISMATCH' | 'SCHEMA'
> {}

/**
 * Every time a store returns is an ISO 8601 UTC string with milliseconds
 * (`2024-05-01T12:00:00.000Z`, what `Date.prototype.toISOString` prints): it sorts as text, is
 * unambiguous in JSON, and converts back with `new Date(s)`. Times go in as `Date`.
 */
export type IsoTimestamp = string;

// ---------------------------------------------------------------- operators, maintainers, tokens

export interface OperatorRecord {
  readonly name: string;
  readonly createdAt: IsoTimestamp;
}

export interface MaintainerRecord {
  readonly name: string;
  readonly createdAt: IsoTimestamp;
}

export type TokenKind = 'admin' | 'maintainer' | 'enrolment';

export interface NewToken {
  readonly kind: TokenKind;
  /** The operator (enrolment), maintainer (maintainer) or administrator (admin) the token acts for. */
  readonly subject: string;
  /** What the token may do, e.g. `submit`, `admin`, `enrol`; at least one, each `^[a-z][a-z0-9:_-]{0,31}$`. */
  readonly scopes: readonly string[];
  /** After this instant the token no longer authenticates; none means it never expires. */
  readonly expiresAt?: Date;
  /** A single-use token authenticates exactly once. */
  readonly singleUse: boolean;
  /** Defaults to now. */
  readonly createdAt?: Date;
}

/** A stored token. The secret is never stored, only its sha256, and is not part of the record. */
export interface TokenRecord {
  readonly tokenId: string;
  readonly kind: TokenKind;
  readonly subject: string;
  readonly scopes: readonly string[];
  readonly singleUse: boolean;
  readonly createdAt: IsoTimestamp;
  readonly expiresAt?: IsoTimestamp;
  /** When a single-use token was spent. */
  readonly usedAt?: IsoTimestamp;
  readonly revokedAt?: IsoTimestamp;
}

// ---------------------------------------------------------------- workers

export interface WorkerCapacity {
  readonly cores: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
}

export interface WorkerEnrolment {
  readonly workerId: string;
  readonly operator: string;
  /** SPKI PEM (`-----BEGIN PUBLIC KEY-----`) of the key the worker signs attestations with. */
  readonly signingKeyPem: string;
  /** Unique across every worker ever enrolled, revoked ones included: a key never counts twice. */
  readonly signingKeyid: string;
  /** SPKI PEM of the key the worker proves possession of when it talks to the coordinator. */
  readonly authKeyPem?: string;
  readonly authKeyid?: string;
  readonly architectures: readonly string[];
  readonly backends: readonly string[];
  readonly capacity: WorkerCapacity;
  /** The worker's own BullMQ queue. */
  readonly queueName: string;
  /** The Redis ACL user that may touch only that queue's keys. */
  readonly redisUser: string;
  /** sha256 of that user's password, so the user can be re-created after Redis loses its data. */
  readonly redisPasswordSha256?: string;
  /** Defaults to now. */
  readonly enrolledAt?: Date;
}

export interface WorkerRecord {
  readonly workerId: string;
  readonly operator: string;
  readonly signingKeyPem: string;
  readonly signingKeyid: string;
  readonly authKeyPem?: string;
  readonly authKeyid?: string;
  readonly architectures: readonly string[];
  readonly backends: readonly string[];
  readonly capacity: WorkerCapacity;
  readonly queueName: string;
  readonly redisUser: string;
  readonly redisPasswordSha256?: string;
  readonly enrolledAt: IsoTimestamp;
  readonly lastSeenAt?: IsoTimestamp;
  /**
   * When the worker was first revoked (retired or marked compromised). A revoked worker never
   * authenticates, is never assigned work, and its results count only as {@link revocation} says.
   */
  readonly revokedAt?: IsoTimestamp;
  /** Present once revoked: how, and so which of its results still count. */
  readonly revocation?: WorkerRevocation;
}

/**
 * How a worker was revoked.
 * - `retired`: taken out of service; every result the coordinator received before `revokedAt`
 *   still counts (its past signatures stand).
 * - `compromised`: its signing key is assumed in someone else's hands from `since` on; every result
 *   the coordinator *received* at or after `since` stops counting, and the builds it touched are
 *   decided again. Receipt time is used because it is the only time the coordinator observed
 *   itself: a stolen key can sign any `startedOn`/`finishedOn` it likes.
 */
export type WorkerRevocation =
  | { readonly kind: 'retired' }
  | { readonly kind: 'compromised'; readonly since: IsoTimestamp };

/** What an administrator asks for; see {@link WorkerRevocation}. `since` must not be after now. */
export type WorkerRevocationRequest =
  | { readonly kind: 'retired' }
  | { readonly kind: 'compromised'; readonly since: Date };

/**
 * The instant from which a worker's results stop counting: results received at or after it never
 * count. Undefined while the worker is active. A compromise dated after the worker was retired
 * changes nothing (nothing was accepted after retirement), so the earlier instant wins.
 */
export function resultsCountBefore(
  worker: Pick<WorkerRecord, 'revokedAt' | 'revocation'>,
): number | undefined {
  if (worker.revokedAt === undefined) return undefined;
  const revokedAtMs = Date.parse(worker.revokedAt);
  if (worker.revocation?.kind !== 'compromised') return revokedAtMs;
  return Math.min(revokedAtMs, Date.parse(worker.revocation.since));
}

/** Whether a result of `worker` received at `receivedAt` still counts (see {@link resultsCountBefore}). */
export function resultStillCounts(
  worker: Pick<WorkerRecord, 'revokedAt' | 'revocation'>,
  receivedAt: IsoTimestamp,
): boolean {
  const cutoffMs = resultsCountBefore(worker);
  return cutoffMs === undefined || Date.parse(receivedAt) < cutoffMs;
}

// ---------------------------------------------------------------- builds

export interface BuildPolicy {
  /** Agreeing successes from distinct operators needed for agreement (k). */
  readonly threshold: number;
  /** Most attempts per worker before the build is given up on. */
  readonly maxAttempts: number;
  /** How long after submission a verdict must be reached, in milliseconds. */
  readonly decisionDeadlineMs: number;
}

/** Every verdict the network can reach: the one closed set in services/consensus/verdict.ts. */
export type BuildVerdict = Verdict;

export const buildVerdicts: readonly BuildVerdict[] = VERDICTS;

export interface NewBuild {
  /** A UUID the coordinator chose. */
  readonly buildId: string;
  /** sha256 of `manifestJson`; checked. */
  readonly manifestSha256: Sha256Hex;
  /** The manifest's RFC 8785 canonical JSON, exactly the bytes `manifestSha256` was taken over. */
  readonly manifestJson: string;
  /** Package name and version as the maintainer gave them, for people and search. */
  readonly name: string;
  readonly architecture: string;
  readonly backend: string;
  /** The digests the publisher claimed for its artifacts (indexed as `claimed` artifacts). */
  readonly claimedOutputs: readonly ClaimedOutput[];
  readonly policy: BuildPolicy;
  /** The maintainer (or admin) who submitted it. */
  readonly submittedBy: string;
  readonly createdAt: Date;
}

export interface BuildRecord {
  readonly buildId: string;
  readonly manifestSha256: Sha256Hex;
  readonly manifestJson: string;
  readonly name: string;
  readonly architecture: string;
  readonly backend: string;
  readonly claimedOutputs: readonly ClaimedOutput[];
  readonly policy: BuildPolicy;
  readonly submittedBy: string;
  readonly createdAt: IsoTimestamp;
  /** The latest recorded verdict; `pending` until one is recorded. */
  readonly verdict: BuildVerdict;
  readonly verdictAt?: IsoTimestamp;
}

export interface ListPendingBuildsOptions {
  /** 1..1000, default 1000. */
  readonly limit?: number;
  /** A buildId from a previous page: return pending builds submitted after it. */
  readonly after?: string;
}

export interface ListBuildsOptions {
  /** 1..1000, default 100. */
  readonly limit?: number;
  /** A buildId from a previous page: return builds submitted before it. */
  readonly after?: string;
}

// ---------------------------------------------------------------- attempts

export type AttemptState = 'open' | 'reported' | 'failed' | 'expired' | 'cancelled';
export type FinishedAttemptState = Exclude<AttemptState, 'open'>;

export interface NewAttempt {
  readonly buildId: string;
  readonly workerId: string;
  /** Must be the worker's operator. */
  readonly operator: string;
  /** 1-based, per (build, worker). */
  readonly attempt: number;
  /** The queue job id; unique. */
  readonly jobId: string;
  /** Random value the worker must sign back, so a result cannot be replayed into another attempt. */
  readonly nonce: string;
  readonly assignedAt: Date;
  /** Until the worker names it as running: its pickup deadline. */
  readonly leaseExpiresAt?: Date;
  /**
   * Longest the attempt may run once its worker first names it, ms (the manifest's time limit plus
   * an allowance); heartbeats never renew it past `startedAt + runLimitMs`. Unlimited when undefined.
   */
  readonly runLimitMs?: number;
}

export interface AttemptRecord {
  readonly buildId: string;
  readonly workerId: string;
  readonly operator: string;
  readonly attempt: number;
  readonly jobId: string;
  readonly nonce: string;
  readonly state: AttemptState;
  readonly assignedAt: IsoTimestamp;
  readonly leaseExpiresAt?: IsoTimestamp;
  /** When a heartbeat of its worker first named it as running; undefined while it waits in the queue. */
  readonly startedAt?: IsoTimestamp;
  readonly runLimitMs?: number;
  readonly finishedAt?: IsoTimestamp;
  /**
   * Why an attempt closed without a report (`failed`): the worker queue's failure reason, e.g.
   * `interrupted: the build container was killed ...`. An infrastructure fact, never a build result.
   */
  readonly failureReason?: string;
}

/** What one heartbeat may renew, as absolute times. */
export interface HeartbeatLeases {
  readonly now: Date;
  /** New lease end for each named running attempt (capped by its run limit). */
  readonly runningUntil: Date;
  /** New pickup deadline for the worker's not-yet-started attempts, when it runs something. */
  readonly queuedUntil: Date;
}

// ---------------------------------------------------------------- results

export interface StoredOutput {
  /** Relative to the build's output directory. */
  readonly path: string;
  readonly sha256: Sha256Hex;
  readonly sizeBytes: number;
}

export interface NewResult {
  readonly buildId: string;
  readonly workerId: string;
  readonly operator: string;
  readonly attempt: number;
  /** Must name the attempt (build, worker, attempt) this result answers. */
  readonly jobId: string;
  /** sha256 of the signed DSSE envelope, which sits in the content store. */
  readonly envelopeSha256: Sha256Hex;
  readonly kind: 'built' | 'failed';
  /** Required when `kind` is `failed`, absent otherwise. */
  readonly failureReason?: string;
  /** Empty when `kind` is `failed`. Paths are unique. */
  readonly outputs: readonly StoredOutput[];
  /**
   * The byproducts the verified envelope signs, build log included, indexed so a lookup by digest
   * reads one row instead of re-verifying envelopes (at most 10,000; only for `built`).
   */
  readonly byproducts?: readonly ResultByproduct[];
  readonly environmentSha256: Sha256Hex;
  /** Where the environment came from, e.g. `worker-built` or `supplied`. */
  readonly environmentOrigin: string;
  /** Identity of everything the build consumed; results with different keys are never compared. */
  readonly inputsKey: string;
  readonly logSha256: Sha256Hex;
  /** Whether the result counts towards consensus (signature verified, key enrolled, origin trusted). */
  readonly counted: boolean;
  /** Why a result does not count; only when `counted` is false. */
  readonly refusedReason?: string;
  readonly receivedAt: Date;
  /**
   * Further blobs the signed envelope names (its byproducts: diffoscope reports, inspections, apt
   * links), referenced in the same transaction so content-store garbage collection keeps them.
   * The envelope, log and outputs are referenced without being listed here.
   */
  readonly referencedBlobs?: readonly Sha256Hex[];
}

/** A file a result's envelope signs as a byproduct, by name and digest. */
export interface ResultByproduct {
  readonly name: string;
  readonly sha256: Sha256Hex;
}

/** A byproduct found by digest, and the result (by envelope) that signed it. */
export interface ResultByproductRecord extends ResultByproduct {
  readonly buildId: string;
  readonly envelopeSha256: Sha256Hex;
}

export interface ResultRecord {
  readonly buildId: string;
  readonly workerId: string;
  readonly operator: string;
  readonly attempt: number;
  readonly jobId: string;
  readonly envelopeSha256: Sha256Hex;
  readonly kind: 'built' | 'failed';
  readonly failureReason?: string;
  readonly outputs: readonly StoredOutput[];
  readonly environmentSha256: Sha256Hex;
  readonly environmentOrigin: string;
  readonly inputsKey: string;
  readonly logSha256: Sha256Hex;
  readonly counted: boolean;
  readonly refusedReason?: string;
  readonly receivedAt: IsoTimestamp;
}

// ---------------------------------------------------------------- verdicts

export interface NewVerdict {
  readonly buildId: string;
  readonly verdict: BuildVerdict;
  /** The decision's inputs and reasoning as JSON text (at most 1 MiB). */
  readonly decisionJson: string;
  readonly consensusEnvelopeSha256?: Sha256Hex;
  readonly divergenceReportSha256?: Sha256Hex;
  readonly decidedAt: Date;
}

export interface VerdictRecord {
  /** Position in the build's history, from 1. */
  readonly sequence: number;
  readonly buildId: string;
  readonly verdict: BuildVerdict;
  /** The verdict this one replaced; `pending` for the first. */
  readonly previousVerdict: BuildVerdict;
  readonly decisionJson: string;
  readonly consensusEnvelopeSha256?: Sha256Hex;
  readonly divergenceReportSha256?: Sha256Hex;
  readonly decidedAt: IsoTimestamp;
}

// ---------------------------------------------------------------- transparency log

export type LogEntryKind = 'verdict';

export interface NewLogEntry {
  readonly kind: LogEntryKind;
  readonly buildId: string;
  /** sha256 of the RFC 8785 canonical JSON of `body`; checked. */
  readonly bodySha256: Sha256Hex;
  /** A JSON value (plain objects, arrays, strings, safe numbers, booleans, null). */
  readonly body: unknown;
}

export interface LogEntryRecord {
  /** 0-based position in the log; gap-free. */
  readonly index: number;
  readonly kind: LogEntryKind;
  readonly buildId: string;
  readonly bodySha256: Sha256Hex;
  /** The canonical JSON the hashes were taken over. */
  readonly bodyJson: string;
  /** The previous entry's hash; 64 zeros for entry 0. */
  readonly prevEntryHash: Sha256Hex;
  /** sha256(prevEntryHash bytes ‖ UTF-8 of JCS({ body, buildId, kind })); see docs/storage.md. */
  readonly entryHash: Sha256Hex;
}

// ---------------------------------------------------------------- the store

/**
 * The coordinator's source of truth. Every method validates its arguments (throwing
 * {@link BuildStoreError} `INVALID` naming the field) and returns frozen plain data.
 * Every method is asynchronous, although the embedded SQLite implementation answers at once, so
 * that a networked implementation (PostgreSQL) fills the same contract; see docs/storage.md.
 * Each method is atomic: it applies all of its changes or none.
 */
export interface BuildStore {
  /** @throws BuildStoreError `CONFLICT` when the name is taken. */
  addOperator(name: string, now?: Date): Promise<OperatorRecord>;
  /** Operators by name. */
  listOperators(): Promise<readonly OperatorRecord[]>;
  /** @throws BuildStoreError `CONFLICT` when the name is taken. */
  addMaintainer(name: string, now?: Date): Promise<MaintainerRecord>;
  listMaintainers(): Promise<readonly MaintainerRecord[]>;

  /**
   * Creates a token and returns its secret, `rbnet_<kind>_<base64url of 32 random bytes>`, this once:
   * only its sha256 is stored. Enrolment tokens must name an existing operator, maintainer tokens an
   * existing maintainer.
   * @throws BuildStoreError `NOT_FOUND` for an unknown subject, `INVALID` for bad scopes or expiry.
   */
  createToken(input: NewToken): Promise<{ readonly tokenId: string; readonly secret: string }>;
  /**
   * The token `secret` belongs to, when it is unexpired at `now`, unrevoked, not used up and carries
   * `requiredScope`; otherwise undefined (never a hint why). Authenticating a single-use token spends
   * it, atomically: of two concurrent calls exactly one succeeds.
   */
  authenticateToken(secret: string, requiredScope: string, now: Date): Promise<TokenRecord | undefined>;
  /**
   * Authenticates an enrolment token (kind `enrolment`, scope `enrol`) and, if single-use, spends it
   * atomically. @returns the operator name it enrols for, or undefined if unusable.
   */
  consumeEnrolmentToken(secret: string, now: Date): Promise<string | undefined>;
  /**
   * The operator an enrolment token enrols for when it is usable at `now` (as
   * {@link BuildStore.consumeEnrolmentToken}), without spending it; otherwise undefined.
   */
  peekEnrolmentToken(secret: string, now: Date): Promise<string | undefined>;
  /** Revokes a token; idempotent (keeps the first time). @throws BuildStoreError `NOT_FOUND`. */
  revokeToken(tokenId: string, now: Date): Promise<TokenRecord>;

  /**
   * @throws BuildStoreError `NOT_FOUND` for an unknown operator, `CONFLICT` when the worker id,
   *   signing keyid, auth keyid, queue name or Redis user was ever used before.
   */
  enrolWorker(input: WorkerEnrolment): Promise<WorkerRecord>;
  getWorker(workerId: string): Promise<WorkerRecord | undefined>;
  /** Finds the worker (revoked or not) that enrolled a signing keyid. */
  findWorkerBySigningKeyid(keyid: string): Promise<WorkerRecord | undefined>;
  /** Workers by id; `activeOnly` leaves out revoked ones. */
  listWorkers(options?: { readonly activeOnly?: boolean }): Promise<readonly WorkerRecord[]>;
  /**
   * Revokes a worker for good (default `retired`); `revokedAt` keeps the first time. A retired worker
   * can later be marked compromised; a compromise can be dated earlier, never later; a compromised
   * worker is never downgraded to retired. Marking it compromised also withdraws, in the same
   * transaction, its apt links of every build it reported to at or after the cut-off.
   * @throws BuildStoreError `NOT_FOUND`, or `INVALID` for a compromise dated after `now`.
   */
  revokeWorker(workerId: string, now: Date, revocation?: WorkerRevocationRequest): Promise<WorkerRecord>;
  /** Builds that hold a result of `workerId` received at or after `since`, oldest result first. */
  listBuildIdsWithResultsFrom(workerId: string, since: Date): Promise<readonly string[]>;
  /** Records that the worker was seen at `now` (never moves backwards). @throws BuildStoreError `NOT_FOUND`. */
  touchWorker(workerId: string, now: Date): Promise<void>;

  /**
   * Records a submitted build and indexes its claimed outputs.
   * @throws BuildStoreError `DIGEST_MISMATCH` when `manifestSha256` is not the sha256 of `manifestJson`,
   *   `CONFLICT` for a used buildId.
   */
  createBuild(input: NewBuild): Promise<BuildRecord>;
  /**
   * Records many builds in one transaction: all of them or, on any error, none.
   * @throws BuildStoreError as {@link BuildStore.createBuild}; the message names the failing index.
   */
  createBuilds(inputs: readonly NewBuild[]): Promise<readonly BuildRecord[]>;
  getBuild(buildId: string): Promise<BuildRecord | undefined>;
  /** Newest first, keyset-paginated by `after`. @throws BuildStoreError `NOT_FOUND` for an unknown `after`. */
  listBuilds(options?: ListBuildsOptions): Promise<readonly BuildRecord[]>;
  /**
   * Ids of builds whose verdict is `pending`, oldest first, keyset-paginated by `after`; read
   * through an index of pending builds, so the cost follows the pending work, not the history.
   * @throws BuildStoreError `NOT_FOUND` for an unknown `after`.
   */
  listPendingBuildIds(options?: ListPendingBuildsOptions): Promise<readonly string[]>;
  /** Builds per current verdict, every verdict present (0 included); counters kept on write. */
  countBuildsByVerdict(): Promise<Readonly<Record<BuildVerdict, number>>>;
  /**
   * Builds that claimed a file with this digest or had a result that rebuilt one, newest first, at
   * most `limit` (1..1000, default 100), keyset-paginated by `after` (a buildId from the previous
   * page): every match is reachable, however many there are. Verdicts name no outputs of their own:
   * the outputs a verdict agrees on are the rebuilt ones already indexed.
   * @throws BuildStoreError `NOT_FOUND` for an unknown `after`.
   */
  findBuildsByArtifact(sha256: Sha256Hex, options?: ListBuildsOptions): Promise<readonly BuildRecord[]>;

  /**
   * @throws BuildStoreError `NOT_FOUND` for an unknown build or worker, `CONFLICT` for a revoked worker,
   *   an operator that is not the worker's, or a used jobId or (build, worker, attempt).
   */
  createAttempt(input: NewAttempt): Promise<AttemptRecord>;
  getAttemptByJobId(jobId: string): Promise<AttemptRecord | undefined>;
  /** A build's attempts in assignment order. */
  listAttempts(buildId: string): Promise<readonly AttemptRecord[]>;
  /**
   * Closes an open attempt. Idempotent: finishing it again with the same state returns it unchanged.
   * @throws BuildStoreError `NOT_FOUND`, or `CONFLICT` when it already finished in another state.
   */
  finishAttempt(
    jobId: string,
    outcome: {
      readonly state: FinishedAttemptState;
      readonly finishedAt: Date;
      /** Kept (at most 500 characters); see {@link AttemptRecord.failureReason}. */
      readonly reason?: string;
    },
  ): Promise<AttemptRecord>;
  /** Attempts still open, oldest first: what to re-enqueue or expire after a restart. */
  listOpenAttempts(): Promise<readonly AttemptRecord[]>;
  /** How many attempts each worker has open (workers with none are absent): its load, counted in the store. */
  countOpenAttemptsByWorker(): Promise<ReadonlyMap<string, number>>;
  /**
   * Moves the lease of every open attempt of `workerId` (of every worker, when undefined): a started
   * attempt to `until`, but never past `startedAt + runLimitMs`; one not yet started to `queuedUntil`
   * (default `until`).
   * @returns how many attempts were renewed.
   */
  renewLeases(workerId: string | undefined, until: Date, queuedUntil?: Date): Promise<number>;
  /**
   * Applies one signed heartbeat of `workerId` naming the jobs it runs, in one transaction. Each named
   * job that is this worker's open attempt, and still within its run limit, is marked started (first
   * time) and its lease moved to `runningUntil` (never past `startedAt + runLimitMs`). Nothing else of
   * the worker is renewed, except that when at least one job was renewed, the worker's attempts not yet
   * started (queued behind it) get their pickup deadline moved to at least `queuedUntil`.
   * @returns the job ids renewed, in the order named.
   */
  renewRunningLeases(
    workerId: string,
    running: readonly string[],
    leases: HeartbeatLeases,
  ): Promise<readonly string[]>;
  /** Open attempts whose lease ended before `now`, oldest lease first. */
  listExpiredAttempts(now: Date): Promise<readonly AttemptRecord[]>;

  /**
   * Records a worker's result, idempotently per (buildId, workerId, attempt): the same envelope again
   * returns the stored row with `duplicate: true` and changes nothing. In the same transaction it
   * indexes the outputs as `rebuilt` artifacts and marks the attempt `reported` if it was open.
   * @throws BuildStoreError `CONFLICT` for a different envelope under the same key or a jobId that
   *   does not belong to this (build, worker, attempt); `NOT_FOUND` for an unknown attempt.
   */
  recordResult(input: NewResult): Promise<ResultRecord & { readonly duplicate: boolean }>;
  /** A build's results in the order received. */
  listResults(buildId: string): Promise<readonly ResultRecord[]>;
  /** The byproducts with digest `sha256` that results of `buildId` signed (from the intake index). */
  findResultByproducts(buildId: string, sha256: Sha256Hex): Promise<readonly ResultByproductRecord[]>;
  /** Built results of `buildId` recorded without a byproduct index (written before it existed). */
  listUnindexedBuiltResults(buildId: string): Promise<readonly ResultRecord[]>;

  /**
   * Appends to the build's verdict history and makes `verdict` the build's current one. Recording
   * exactly the latest decision again (same verdict, decision and digests) appends nothing and
   * returns the latest row with `duplicate: true`.
   * @throws BuildStoreError `NOT_FOUND` for an unknown build.
   */
  recordVerdict(input: NewVerdict): Promise<VerdictRecord & { readonly duplicate: boolean }>;
  /** Oldest first; rows are never changed or removed. */
  getVerdictHistory(buildId: string): Promise<readonly VerdictRecord[]>;

  /**
   * Appends an entry to the hash-chained transparency log.
   * @throws BuildStoreError `DIGEST_MISMATCH` when `bodySha256` is not the digest of `body`'s canonical
   *   JSON, `NOT_FOUND` for an unknown build, `INVALID` when `body` is not JSON data.
   */
  appendLogEntry(input: NewLogEntry): Promise<{ readonly index: number; readonly entryHash: Sha256Hex }>;
  /** Up to `limit` (1..1000) entries from `fromIndex` on, in order. */
  getLogEntries(fromIndex: number, limit: number): Promise<readonly LogEntryRecord[]>;
  /** Recomputes every digest and link in the log. @returns the first index that fails, or undefined. */
  verifyLogChain(): Promise<number | undefined>;

  /**
   * Makes `links` the apt links of `buildId`, replacing any it had (none removes them all). A link
   * never replaces another build's: where another build already serves links for the same
   * (architecture, package, version), a link with the same `productsSha256` is left out (the
   * published one stays), and one with different products is a conflict: it is recorded (once per
   * pair and products) and then *none* of `links` is published. Atomic.
   * @returns how many links were stored, and every conflict that blocked them.
   */
  replaceAptLinks(buildId: string, links: readonly NewAptLink[], now?: Date): Promise<AptLinkPublication>;
  /** Conflicts `buildId` is part of, on either side, oldest first. */
  listAptLinkConflicts(buildId: string): Promise<readonly AptLinkConflictRecord[]>;
  /** How many conflicts were ever recorded (they are never removed). */
  countAptLinkConflicts(): Promise<number>;
  /**
   * Calls `listener` after every committed change to the apt links, so a reader that remembers links
   * can forget them: with the build id when one build's links were replaced (a publication or a
   * withdrawal), without one when links of any build may have changed (a revocation).
   * @returns a function that stops the calls.
   */
  watchAptLinks(listener: (buildId?: string) => void): () => void;
  /** The link an operator serves for one binary package version on one architecture. */
  getAptLink(
    architecture: string,
    operator: string,
    pkg: string,
    version: string,
  ): Promise<AptLinkRecord | undefined>;

  /** Closes the database; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** One operator's signed in-toto link for one binary package version (docs/apt-in-toto.md). */
export interface NewAptLink {
  readonly architecture: string;
  readonly operator: string;
  /** Binary package name. */
  readonly package: string;
  /** Binary version, epoch included. */
  readonly version: string;
  /** The link JSON in the content store. */
  readonly linkSha256: Sha256Hex;
  /**
   * sha256 of the link's products (see `rebuildLinkProductsSha256`): what apt compares. Two links
   * for one package version with different products can never both be served.
   */
  readonly productsSha256: Sha256Hex;
  readonly workerId: string;
}

/** What {@link BuildStore.replaceAptLinks} did. */
export interface AptLinkPublication {
  readonly published: number;
  readonly conflicts: readonly AptLinkConflictRecord[];
}

/**
 * Two builds of one binary package version whose rebuilt products differ: the first build's links
 * stay served, the later one's are not, and this record is the alarm (docs/apt-in-toto.md).
 */
export interface AptLinkConflictRecord {
  readonly architecture: string;
  readonly package: string;
  readonly version: string;
  /** The build whose links are served for this version. */
  readonly publishedBuildId: string;
  readonly publishedProductsSha256: Sha256Hex;
  /** The build whose links were refused because its products differ. */
  readonly contestingBuildId: string;
  readonly contestingProductsSha256: Sha256Hex;
  readonly detectedAt: IsoTimestamp;
}

export interface AptLinkRecord {
  readonly linkSha256: Sha256Hex;
  readonly buildId: string;
  readonly workerId: string;
}
