// The content store's ledger contract: who made the store keep which blob (quotas), which records
// name which blob (references), and which unreferenced blobs garbage collection may remove.
import type { Sha256Hex } from '../digest.ts';
import { RbnetError } from '../errors.ts';

/**
 * Who uploads: a maintainer (its token), a worker (its proof; its operator is charged as well), or
 * the coordinator's administrator (never limited).
 */
export type PrincipalKind = 'maintainer' | 'worker' | 'operator' | 'admin';

export interface Principal {
  readonly kind: PrincipalKind;
  readonly name: string;
}

/** `maintainer:alice`, `worker:alpha-1`, `operator:alpha`, `admin:admin`. */
export function principalKey(principal: Principal): string {
  return `${principal.kind}:${principal.name}`;
}

/** A principal's standing allowance: bytes and blobs it made the store keep. */
export interface Quota {
  readonly maxBytes: number;
  readonly maxBlobs: number;
}

export type QuotaLimits = Readonly<Record<Exclude<PrincipalKind, 'admin'>, Quota>>;

/** What a principal holds: blobs it created that are still stored. */
export interface Usage {
  readonly bytes: number;
  readonly blobs: number;
}

/**
 * An upload would take a principal past its quota; nothing was read or stored.
 * - `QUOTA_BYTES_EXCEEDED` (HTTP 413): bytes.
 * - `QUOTA_BLOBS_EXCEEDED` (HTTP 429): number of blobs.
 */
export class QuotaError extends RbnetError<'QUOTA_BYTES_EXCEEDED' | 'QUOTA_BLOBS_EXCEEDED'> {
  constructor(
    code: QuotaError['code'],
    message: string,
    readonly quota: {
      readonly principal: string;
      readonly limit: number;
      readonly used: number;
      readonly requested: number;
    },
  ) {
    super(code, message);
  }
}

/** Room held for one upload in progress; release it when the upload ends, however it ends. */
export interface QuotaReservation {
  /** The most bytes the upload may write. */
  readonly maxBytes: number;
  /**
   * The error to answer when the upload ran past `maxBytes`, if a quota (not the caller's own
   * limit) set it: an upload of undeclared length learns which quota stopped it.
   */
  overrun(): QuotaError | undefined;
  release(): void;
}

export interface CollectableBlob {
  readonly sha256: Sha256Hex;
  readonly sizeBytes: number;
  /** Principals charged for it, e.g. `maintainer:mallory`. */
  readonly owners: readonly string[];
  /** The last time it was uploaded or named by a submission or result. */
  readonly lastWantedAt: string;
}

/**
 * Records ownership and references of content-store blobs. A blob the ledger never saw created (one
 * stored before the ledger existed, or written by the coordinator itself) is never charged to anyone
 * and never collected. References come from the records themselves (the SQLite implementation
 * writes them with triggers in the same transaction as each build, result, verdict, log entry and
 * apt link) and are never removed: a referenced blob is kept forever.
 */
export interface BlobLedger {
  /**
   * Checks every principal's quota and holds room for one upload of `declaredBytes` (or, when the
   * length is not known yet, of as much as the tightest quota leaves, at most `maxBytes`).
   * @throws QuotaError naming the principal and the quota; nothing is held then.
   */
  reserve(
    chargeTo: readonly Principal[],
    declaredBytes: number | undefined,
    maxBytes: number,
  ): Promise<QuotaReservation>;
  /**
   * Records a finished upload. A blob this upload created is charged to every principal in
   * `chargeTo` and becomes collectable while nothing references it; in any case it is marked wanted
   * at `now`.
   */
  recordUpload(
    chargeTo: readonly Principal[],
    blob: { readonly sha256: Sha256Hex; readonly sizeBytes: number; readonly created: boolean },
    now: Date,
  ): Promise<void>;
  /**
   * Marks blobs about to be named by a record (a submission's inputs, a result's files) as wanted at
   * `now`, before the caller checks that they exist: a collection running meanwhile keeps them.
   */
  markWanted(digests: readonly Sha256Hex[], now: Date): Promise<void>;
  usage(principal: Principal): Promise<Usage>;
  /** Collectable blobs (created by an upload, never referenced) last wanted before `cutoff`, oldest first. */
  listCollectable(cutoff: Date, limit: number): Promise<readonly CollectableBlob[]>;
  /**
   * In one transaction: if the blob is still collectable and not wanted since `cutoff`, forgets it
   * (owners uncharged) and returns true; otherwise changes nothing and returns false.
   */
  forget(sha256: Sha256Hex, cutoff: Date): Promise<boolean>;
  /** The holders that reference a blob, e.g. `build:<id>`, `result:<jobId>`. */
  referencesOf(sha256: Sha256Hex): Promise<readonly string[]>;
}
