// The registry aggregate: operators, maintainers, their tokens, and the workers operators enrol
// (with their revocation). Who may act, and with which keys.
import { createPublicKey } from 'node:crypto';
import { BuildStoreError, type IsoTimestamp } from './store-error.ts';

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

/**
 * The one check of an enrolment that SQL cannot make: each PEM the table's shape accepts must also
 * parse as a public key. Every implementation calls it before it writes the worker.
 * @throws BuildStoreError `INVALID` naming the field.
 */
export function assertEnrolmentKeysReadable(
  input: Pick<WorkerEnrolment, 'signingKeyPem' | 'authKeyPem'>,
): void {
  for (const [field, pem] of [
    ['signingKeyPem', input.signingKeyPem],
    ['authKeyPem', input.authKeyPem],
  ] as const) {
    if (typeof pem !== 'string' || !pem.startsWith('-----BEGIN PUBLIC KEY-----')) continue; // SQL says why
    try {
      if (createPublicKey(pem).type !== 'public') throw new Error('not a public key');
    } catch (cause) {
      throw new BuildStoreError('INVALID', `${field}: not a readable public key`, { cause });
    }
  }
}

/**
 * Who may act: operators, maintainers, their tokens and the workers operators enrol. Methods return
 * frozen plain data and are atomic. Rows are checked by the database (docs/storage.md).
 */
export interface RegistryStore {
  /** @throws BuildStoreError `CONFLICT` when the name is taken, `INVALID` for a malformed one. */
  addOperator(name: string, now?: Date): Promise<OperatorRecord>;
  /** Operators by name. */
  listOperators(): Promise<readonly OperatorRecord[]>;
  /** @throws BuildStoreError `CONFLICT` when the name is taken, `INVALID` for a malformed one. */
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
   * {@link RegistryStore.consumeEnrolmentToken}), without spending it; otherwise undefined.
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
  /** Records that the worker was seen at `now` (never moves backwards). @throws BuildStoreError `NOT_FOUND`. */
  touchWorker(workerId: string, now: Date): Promise<void>;
}
