// The consensus rule's inputs, from rows: each result with the facts intake recorded when it
// verified the envelope. No envelope is read or verified here (except, once, for a result recorded
// before facts were; see recordMissingFacts).
import type { EnvironmentOrigin } from '../../services/attestation/rebuild-statement.ts';
import { compareCodePoints } from '../../services/attestation/securesystemslib-canonical-json.ts';
import type { ConsensusFailureReason, ConsensusResult } from '../../services/consensus/decide-verdict.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import type { BuildRecord } from '../../services/storage/build-store.ts';
import { type ContentStore, ContentStoreError } from '../../services/storage/content-store.ts';
import type { RegistryStore } from '../../services/storage/registry-store.ts';
import type { ResultFacts, ResultStore, VerifiedResultRecord } from '../../services/storage/result-store.ts';
import { recordMissingFacts } from '../intake/verified-facts.ts';
import { readBlobText } from '../storage/read-blob.ts';
import { type RevokedResult, standingOfResults } from './revoked-results.ts';

const MAX_STORED_ENVELOPE_BYTES = 16 * 1024 * 1024;

/**
 * Each result row as the rule takes it. Rows and their facts never change once written, so the
 * result is kept for as long as the store keeps the row object (see VerifiedResultsCache).
 */
const asConsensusResult = new WeakMap<VerifiedResultRecord, ConsensusResult>();

export interface ConsensusInputs {
  /** The results that still count, as the consensus rule takes them, in the order received. */
  readonly results: readonly ConsensusResult[];
  /** The verified facts of each built result among them, by envelope digest. */
  readonly facts: ReadonlyMap<Sha256Hex, ResultFacts>;
  /** Counted results a worker's compromise took out. */
  readonly revoked: readonly RevokedResult[];
}

export interface ConsensusInputsDeps {
  readonly registry: Pick<RegistryStore, 'getWorker'>;
  readonly results: Pick<ResultStore, 'recordResultFacts'>;
  readonly content: ContentStore;
}

/** The consensus rule's inputs for `build` from its result rows (see {@link ConsensusInputs}). */
export async function consensusInputsOf(
  deps: ConsensusInputsDeps,
  build: Pick<BuildRecord, 'manifestSha256'>,
  rows: readonly VerifiedResultRecord[],
): Promise<ConsensusInputs> {
  const standing = await standingOfResults(deps.registry, rows);
  const results: ConsensusResult[] = [];
  const facts = new Map<Sha256Hex, ResultFacts>();
  for (const row of standing.counting) {
    const known = asConsensusResult.get(row);
    if (known !== undefined) {
      if (known.kind === 'built') facts.set(row.envelopeSha256, row.facts!);
      results.push(known);
      continue;
    }
    const base = {
      operator: row.operator,
      workerId: row.workerId,
      jobId: row.jobId,
      attempt: row.attempt,
      // Intake verified the envelope against this build's manifest before it recorded the row.
      manifestSha256: build.manifestSha256,
      log: { sha256: row.logSha256 },
    };
    if (row.kind === 'failed') {
      const worker = standing.workers.get(row.workerId);
      const failed: ConsensusResult = {
        ...base,
        kind: 'failed',
        keyid: worker?.signingKeyid ?? '',
        failureReason: row.failureReason as ConsensusFailureReason,
      };
      if (worker !== undefined) asConsensusResult.set(row, failed);
      results.push(failed);
      continue;
    }
    const proved = row.facts ?? (await recordMissingFacts(deps, build, row));
    if (proved === undefined) continue;
    facts.set(row.envelopeSha256, proved);
    const built: ConsensusResult = {
      ...base,
      kind: 'built',
      keyid: proved.keyid,
      environment: { sha256: row.environmentSha256, origin: row.environmentOrigin as EnvironmentOrigin },
      inputs: proved.inputs,
      // In the order the statement signs them (by path), as the envelope would give them.
      outputs: [...row.outputs].sort((a, b) => compareCodePoints(a.path, b.path)),
      envelopeSha256: row.envelopeSha256,
      log: { sha256: row.logSha256, sizeBytes: proved.logSizeBytes },
    };
    if (row.facts !== undefined) asConsensusResult.set(row, built);
    results.push(built);
  }
  return { results, facts, revoked: standing.revoked };
}

/**
 * The exact text of every built result's envelope, in order: what a consensus attestation embeds.
 * The only time a decision reads envelopes, and it never verifies them (intake did).
 * @throws ContentStoreError `IO` when a referenced envelope is missing from the content store.
 */
export async function envelopeTextsOf(
  content: ContentStore,
  results: readonly ConsensusResult[],
): Promise<string[]> {
  const texts: string[] = [];
  for (const result of results) {
    if (result.kind !== 'built') continue;
    const text = await readBlobText(content, result.envelopeSha256, MAX_STORED_ENVELOPE_BYTES);
    if (text === undefined) {
      throw new ContentStoreError(
        'IO',
        `sha256:${result.envelopeSha256}, the envelope of job ${result.jobId}, is missing from the content store`,
      );
    }
    texts.push(text);
  }
  return texts;
}
