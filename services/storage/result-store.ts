// The results aggregate: what workers reported, the facts intake proved by verifying each signed
// envelope once, the byproducts those envelopes sign, and the index of artifacts by digest.
import type { DebianSourceFact } from '../attestation/rebuild-statement.ts';
import type { Sha256Hex } from '../digest.ts';
import type { BuildRecord, ListBuildsOptions } from './build-store.ts';
import type { IsoTimestamp } from './store-error.ts';

export interface StoredOutput {
  /** Relative to the build's output directory. */
  readonly path: string;
  readonly sha256: Sha256Hex;
  readonly sizeBytes: number;
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

/**
 * What verifying a built result's signed envelope proved, beyond the columns every result has
 * (outputs, environment, log digest): recorded once, at intake, so a decision reads rows and never
 * verifies the envelope again.
 */
export interface ResultFacts {
  /** securesystemslib keyid of the worker key whose signature verified. */
  readonly keyid: string;
  /** The resolved inputs the statement signs, sorted by path as signed (the environment excluded). */
  readonly inputs: readonly { readonly path: string; readonly sha256: Sha256Hex }[];
  /** Size of the build log the statement signs. */
  readonly logSizeBytes: number;
  /** The Debian source the worker built and where it came from, when the statement says so. */
  readonly debianSource?: DebianSourceFact;
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
  /** What verifying the envelope proved (only for `built`); see {@link ResultFacts}. */
  readonly facts?: ResultFacts;
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

/** A result with the facts its verification recorded; `facts` is absent for failures and for built
 * results recorded before facts were (verify those once and {@link ResultStore.recordResultFacts}). */
export interface VerifiedResultRecord extends ResultRecord {
  readonly facts?: ResultFacts;
}

/**
 * Worker results, the facts their verification proved and the indexes over them. Methods return
 * frozen plain data and are atomic; rows are checked by the database (docs/storage.md).
 */
export interface ResultStore {
  /**
   * Records a worker's result, idempotently per (buildId, workerId, attempt): the same envelope again
   * returns the stored row with `duplicate: true` and changes nothing. In the same transaction it
   * records its facts and byproducts, indexes the outputs as `rebuilt` artifacts and marks the
   * attempt `reported` if it was open.
   * @throws BuildStoreError `CONFLICT` for a different envelope under the same key or a jobId that
   *   does not belong to this (build, worker, attempt); `NOT_FOUND` for an unknown attempt.
   */
  recordResult(input: NewResult): Promise<ResultRecord & { readonly duplicate: boolean }>;
  /**
   * Records, once, the facts (and byproducts) of a built result recorded without them, after the
   * caller verified its envelope. Recording the same facts again changes nothing.
   * @throws BuildStoreError `NOT_FOUND` for an unknown envelope, `CONFLICT` for other facts.
   */
  recordResultFacts(
    envelopeSha256: Sha256Hex,
    facts: ResultFacts,
    byproducts: readonly ResultByproduct[],
  ): Promise<void>;
  /** A build's results in the order received. */
  listResults(buildId: string): Promise<readonly ResultRecord[]>;
  /** A build's results in the order received, each with its recorded facts: what a decision reads. */
  listVerifiedResults(buildId: string): Promise<readonly VerifiedResultRecord[]>;
  /** The byproducts with digest `sha256` that results of `buildId` signed (from the intake index). */
  findResultByproducts(buildId: string, sha256: Sha256Hex): Promise<readonly ResultByproductRecord[]>;
  /** Every byproduct results of `buildId` signed, by envelope then name (code point order). */
  listResultByproducts(buildId: string): Promise<readonly ResultByproductRecord[]>;
  /** Built results of `buildId` recorded without a byproduct index (written before it existed). */
  listUnindexedBuiltResults(buildId: string): Promise<readonly ResultRecord[]>;
  /** Builds that hold a result of `workerId` received at or after `since`, oldest result first. */
  listBuildIdsWithResultsFrom(workerId: string, since: Date): Promise<readonly string[]>;
  /**
   * Builds that claimed a file with this digest or had a result that rebuilt one, newest first, at
   * most `limit` (1..1000, default 100), keyset-paginated by `after` (a buildId from the previous
   * page): every match is reachable, however many there are. Verdicts name no outputs of their own:
   * the outputs a verdict agrees on are the rebuilt ones already indexed.
   * @throws BuildStoreError `NOT_FOUND` for an unknown `after`, `INVALID` for a malformed digest.
   */
  findBuildsByArtifact(sha256: Sha256Hex, options?: ListBuildsOptions): Promise<readonly BuildRecord[]>;
}
