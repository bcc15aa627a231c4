// Verifying a worker's signed rebuild attestation: envelope, signature, then statement, in that order.
import type { KeyObject } from 'node:crypto';
import type { Sha256Hex } from '../digest.ts';
import { AttestationError } from '../errors.ts';
import {
  decodeDssePayload,
  IN_TOTO_PAYLOAD_TYPE,
  maxEnvelopeBytesDefault,
  parseDsseEnvelope,
  verifyDsseEnvelope,
} from './dsse.ts';
import { parseRebuildStatement } from './parse-rebuild-statement.ts';
import {
  type DebianSourceFact,
  deepFreeze,
  type EnvironmentOrigin,
  inputPathFromUri,
  type RebuildJob,
  type RebuildStatement,
} from './rebuild-statement.ts';

/** Default cap on the decoded statement, bytes (8 MiB: tens of thousands of outputs). */
export const maxStatementBytesDefault = 8 * 1024 * 1024;

/** What the caller requires beyond a valid signature by a trusted key. */
export interface RebuildAttestationExpectations {
  /** The manifest the caller asked to be rebuilt; a statement about any other is refused. */
  readonly manifestSha256?: Sha256Hex;
}

export interface VerifyRebuildAttestationOptions {
  /** Default 16 MiB. */
  readonly maxEnvelopeBytes?: number;
  /** Default 8 MiB. */
  readonly maxStatementBytes?: number;
}

/** A verified attestation; everything in it is deeply frozen. */
export interface VerifiedRebuildAttestation {
  /** securesystemslib keyid of the trusted key whose signature verified. */
  readonly keyid: string;
  readonly statement: RebuildStatement;
  /** Sorted by path, as signed. */
  readonly outputs: readonly {
    readonly path: string;
    readonly sha256: Sha256Hex;
    readonly sizeBytes: number;
  }[];
  readonly manifestSha256: Sha256Hex;
  readonly environment: {
    readonly sha256: Sha256Hex;
    readonly origin: EnvironmentOrigin;
    readonly recipe?: string;
  };
  /** Sorted by path as signed; compare these before comparing outputs (`inputs-differ`). */
  readonly inputs: readonly { readonly path: string; readonly sha256: Sha256Hex }[];
  readonly log: { readonly sha256: Sha256Hex; readonly sizeBytes: number; readonly truncated: boolean };
  /** The signed file byproducts (the build log excluded), sorted by name as signed. */
  readonly byproducts: readonly { readonly name: string; readonly sha256: Sha256Hex }[];
  readonly worker: { readonly id: string; readonly operator: string };
  readonly job?: RebuildJob;
  /** The Debian source the worker built and where it came from, when the statement says so. */
  readonly debianSource?: DebianSourceFact;
}

/**
 * Verifies an untrusted rebuild attestation (a DSSE envelope as JSON text or bytes).
 *
 * Checks, in order, stopping at the first failure:
 * 1. envelope size and shape, base64 fields (ENVELOPE_INVALID);
 * 2. payloadType is `application/vnd.in-toto+json` (PAYLOAD_TYPE);
 * 3. some signature verifies against one of `trustedKeys` (SIGNATURE_INVALID; KEY_INVALID if the
 *    key list is empty or not ed25519 public keys);
 * 4. payload size, UTF-8 and JSON (STATEMENT_INVALID);
 * 5. `_type`, `predicateType`, `buildType`, subjects, manifest digest, environment dependency and
 *    the remaining fields (STATEMENT_INVALID, see `parseRebuildStatement`);
 * 6. `expect.manifestSha256`, when given (STATEMENT_INVALID).
 *
 * Nothing in the payload is read before its signature is verified.
 */
export function verifyRebuildAttestation(
  envelopeText: string | Uint8Array,
  trustedKeys: readonly KeyObject[],
  expect: RebuildAttestationExpectations = {},
  options: VerifyRebuildAttestationOptions = {},
): VerifiedRebuildAttestation {
  const { maxEnvelopeBytes = maxEnvelopeBytesDefault, maxStatementBytes = maxStatementBytesDefault } =
    options;
  const envelope = parseDsseEnvelope(envelopeText, maxEnvelopeBytes);
  const { keyid } = verifyDsseEnvelope(envelope, trustedKeys, IN_TOTO_PAYLOAD_TYPE);

  const payload = decodeDssePayload(envelope);
  if (payload.length > maxStatementBytes) {
    throw invalid(`payload is ${payload.length} bytes, over the ${maxStatementBytes}-byte statement limit`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(payload));
  } catch (error) {
    throw new AttestationError(
      'STATEMENT_INVALID',
      `payload is not UTF-8 JSON (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  const statement = parseRebuildStatement(json);

  const { buildDefinition, runDetails } = statement.predicate;
  const manifestSha256 = buildDefinition.externalParameters.manifest.digest.sha256;
  if (expect.manifestSha256 !== undefined && manifestSha256 !== expect.manifestSha256) {
    throw invalid(
      `statement is for manifest sha256:${manifestSha256}, expected sha256:${expect.manifestSha256}`,
    );
  }

  const [environment, ...inputs] = buildDefinition.resolvedDependencies;
  const { outputSizes, worker, debian } = buildDefinition.internalParameters;
  const { jobId, attempt, nonce } = buildDefinition.externalParameters;
  const [log, ...files] = runDetails.byproducts;
  return deepFreeze({
    keyid,
    statement,
    outputs: statement.subject.map((s) => ({
      path: s.name,
      sha256: s.digest.sha256,
      sizeBytes: outputSizes[s.name]!,
    })),
    manifestSha256,
    environment: { sha256: environment.digest.sha256, ...environment.annotations },
    // parseRebuildStatement accepted only URIs that decode to a safe path.
    inputs: inputs.map((input) => ({ path: inputPathFromUri(input.uri)!, sha256: input.digest.sha256 })),
    log: { sha256: log.digest.sha256, ...log.annotations },
    byproducts: files.map((file) => ({ name: file.name, sha256: file.digest.sha256 })),
    worker: { id: worker.id, operator: worker.operator },
    ...(jobId !== undefined &&
      attempt !== undefined &&
      nonce !== undefined && { job: { jobId, attempt, nonce } }),
    ...(debian?.source !== undefined && { debianSource: debian.source }),
  });
}

function invalid(message: string): AttestationError {
  return new AttestationError('STATEMENT_INVALID', message);
}
