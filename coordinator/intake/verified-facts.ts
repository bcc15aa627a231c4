// Verify once, then trust the row: what intake records about a built result after its envelope
// verified, and the one path that verifies a stored envelope again (results recorded before facts
// were, verified once more and then recorded).
import { createPublicKey } from 'node:crypto';
import { BUILD_LOG_BYPRODUCT_NAME } from '../../services/attestation/rebuild-statement.ts';
import {
  type VerifiedRebuildAttestation,
  verifyRebuildAttestation,
} from '../../services/attestation/verify-rebuild-attestation.ts';
import type { BuildRecord } from '../../services/storage/build-store.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import type { RegistryStore } from '../../services/storage/registry-store.ts';
import type {
  ResultByproduct,
  ResultFacts,
  ResultRecord,
  ResultStore,
} from '../../services/storage/result-store.ts';
import { readBlobText } from '../storage/read-blob.ts';

const MAX_STORED_ENVELOPE_BYTES = 16 * 1024 * 1024;

/** The facts a verified attestation proves beyond a result row's own columns. */
export function factsOf(verified: VerifiedRebuildAttestation): ResultFacts {
  return {
    keyid: verified.keyid,
    inputs: verified.inputs,
    logSizeBytes: verified.log.sizeBytes,
    ...(verified.debianSource !== undefined && { debianSource: verified.debianSource }),
  };
}

/** Every byproduct a verified attestation signs, the build log first. */
export function signedByproductsOf(verified: VerifiedRebuildAttestation): ResultByproduct[] {
  return [{ name: BUILD_LOG_BYPRODUCT_NAME, sha256: verified.log.sha256 }, ...verified.byproducts];
}

/**
 * A built result's stored envelope, verified against its worker's enrolled signing key and the
 * build's manifest. Undefined when the worker or the envelope is not found.
 * @throws AttestationError when the envelope does not verify.
 */
export async function readVerifiedResult(
  deps: { readonly registry: Pick<RegistryStore, 'getWorker'>; readonly content: ContentStore },
  build: Pick<BuildRecord, 'manifestSha256'>,
  row: Pick<ResultRecord, 'workerId' | 'envelopeSha256'>,
): Promise<{ readonly text: string; readonly verified: VerifiedRebuildAttestation } | undefined> {
  const worker = await deps.registry.getWorker(row.workerId);
  const text = await readBlobText(deps.content, row.envelopeSha256, MAX_STORED_ENVELOPE_BYTES);
  if (!worker || !text) return undefined;
  const verified = verifyRebuildAttestation(text, [createPublicKey(worker.signingKeyPem)], {
    manifestSha256: build.manifestSha256,
  });
  return { text, verified };
}

/**
 * The facts of a built result recorded without them (before intake recorded facts): its envelope is
 * verified this once and the facts recorded, so no later decision verifies it again. Undefined when
 * its worker or envelope is gone (such a result is left out of decisions, as it always was).
 * @throws AttestationError when the stored envelope does not verify.
 */
export async function recordMissingFacts(
  deps: {
    readonly registry: Pick<RegistryStore, 'getWorker'>;
    readonly results: Pick<ResultStore, 'recordResultFacts'>;
    readonly content: ContentStore;
  },
  build: Pick<BuildRecord, 'manifestSha256'>,
  row: ResultRecord,
): Promise<ResultFacts | undefined> {
  const read = await readVerifiedResult(deps, build, row);
  if (read === undefined) return undefined;
  const facts = factsOf(read.verified);
  await deps.results.recordResultFacts(row.envelopeSha256, facts, signedByproductsOf(read.verified));
  return facts;
}
