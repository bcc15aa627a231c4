// The consensus statement: an in-toto Statement v1 with a SLSA VSA v1 predicate carrying rbnet's
// consensus extension. Its constants, its types, the values derived from a verdict, and its strict
// parser (what every reader, the coordinator's own composer included, accepts).
import {
  type DsseEnvelope,
  decodeDssePayload,
  IN_TOTO_PAYLOAD_TYPE,
  parseDsseEnvelope,
} from '../attestation/dsse.ts';
import { deepFreeze, IN_TOTO_STATEMENT_V1, isSafeRelativePath } from '../attestation/rebuild-statement.ts';
import { isSha256Hex, type Sha256Hex, sha256Hex } from '../digest.ts';
import { canonicalizeJcs } from '../jcs.ts';
import { parseStrictJson } from '../strict-json.ts';
import { describeValue as describe, isAbsoluteUri } from '../untrusted-value-text.ts';
import { ConsensusError } from './consensus-errors.ts';
import type { ConsensusPolicy, OutputDigest } from './consensus-types.ts';
import { parseVerdict, type Verdict } from './verdict.ts';

export const SLSA_VSA_V1 = 'https://slsa.dev/verification_summary/v1';
/** The consensus rule of decide-verdict.ts, version 1; `policy.digest` pins its parameters. */
export const CONSENSUS_POLICY_URI = 'https://rbnet.dev/consensus-policy/v1';
/**
 * Name of the predicate field carrying rbnet's consensus data. VSA v1 lets producers add extension
 * fields "using field names that are URIs"; a URI cannot collide with a field a later VSA minor adds.
 */
export const RBNET_CONSENSUS_EXTENSION = 'https://rbnet.dev/consensus/v1';
export const ENVELOPE_URI_PREFIX = 'rbnet:envelope/';
export const BUILD_RESOURCE_URI_PREFIX = 'rbnet:build/';
/** The subject of a FAILED attestation when nothing was published: the manifest itself. */
export const MANIFEST_SUBJECT_NAME = 'rbnet:manifest';

/** Default cap on a consensus envelope, bytes (64 MiB: several worker envelopes embedded). */
export const maxConsensusEnvelopeBytesDefault = 64 * 1024 * 1024;
/** More embedded envelopes than this is not a build but an attempt to make verifiers burn CPU. */
export const maxEmbeddedEnvelopes = 256;

export interface ConsensusExtension {
  readonly verdict: Verdict;
  readonly threshold: number;
  readonly allowFetchedEnvironments: boolean;
  readonly manifestSha256: Sha256Hex;
  /** The coordinator's operator names; a consumer recounts with its own policy's names. */
  readonly countedOperators: readonly string[];
  readonly claimedOutputs: readonly OutputDigest[];
  readonly explanation: string;
  /**
   * Worker envelopes as strings, not objects: `inputAttestations[].digest` is then over exactly the
   * bytes the worker uploaded and the content store holds, with no re-serialisation in between.
   */
  readonly envelopes: readonly string[];
}

export interface ResourceDigest {
  readonly uri: string;
  readonly digest: { readonly sha256: Sha256Hex };
}

export interface ConsensusPredicate {
  readonly verifier: { readonly id: string; readonly version: { readonly rbnet: string } };
  readonly timeVerified: string;
  readonly resourceUri: string;
  readonly policy: {
    readonly uri: typeof CONSENSUS_POLICY_URI;
    readonly digest: { readonly sha256: Sha256Hex };
  };
  readonly inputAttestations: readonly ResourceDigest[];
  readonly verificationResult: 'PASSED' | 'FAILED';
  readonly verifiedLevels: readonly string[];
  readonly [RBNET_CONSENSUS_EXTENSION]: ConsensusExtension;
}

/** A consensus attestation statement; always deeply frozen. */
export interface ConsensusStatement {
  readonly _type: typeof IN_TOTO_STATEMENT_V1;
  readonly subject: readonly { readonly name: string; readonly digest: { readonly sha256: Sha256Hex } }[];
  readonly predicateType: typeof SLSA_VSA_V1;
  readonly predicate: ConsensusPredicate;
}

/** sha256 of the RFC 8785 form of the rule's parameters: `policy.digest` of every consensus attestation. */
export function consensusPolicyDigest(policy: ConsensusPolicy): Sha256Hex {
  return sha256Hex(
    canonicalizeJcs({
      allowFetchedEnvironments: policy.allowFetchedEnvironments,
      threshold: policy.threshold,
    }),
  );
}

/** PASSED only when k operators agree and the claim (if any) matched: `reproducible` or `agreed`. */
export function verificationResultFor(verdict: Verdict): 'PASSED' | 'FAILED' {
  return verdict === 'reproducible' || verdict === 'agreed' ? 'PASSED' : 'FAILED';
}

/**
 * VSA `verifiedLevels`: one custom level (VSA v1 forbids custom values starting with `SLSA_`), or
 * `FAILED`. `RBNET_REPRODUCIBLE_K<k>`: k operators agree and match the published artifact;
 * `RBNET_REBUILD_AGREED_K<k>`: k operators agree, nothing published to compare.
 */
export function verifiedLevelsFor(verdict: Verdict, threshold: number): string[] {
  if (verdict === 'reproducible') return [`RBNET_REPRODUCIBLE_K${threshold}`];
  if (verdict === 'agreed') return [`RBNET_REBUILD_AGREED_K${threshold}`];
  return ['FAILED'];
}

/**
 * Reads the statement inside a parsed consensus envelope, without checking any signature (the
 * caller decides whether the coordinator's signature matters). Strict JSON: duplicate keys and
 * non-integer numbers are refused, since a consumer must read exactly what every other reader reads.
 *
 * @throws ConsensusError CONSENSUS_INVALID.
 */
export function readConsensusStatement(envelope: DsseEnvelope): ConsensusStatement {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    invalid(
      `consensus envelope payloadType is ${JSON.stringify(envelope.payloadType)}, expected "${IN_TOTO_PAYLOAD_TYPE}"`,
    );
  }
  let json: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(
      decodeDssePayload(envelope),
    );
    json = parseStrictJson(text, { maxDepth: 16 });
  } catch (cause) {
    invalid(`consensus payload is not strict UTF-8 JSON (${(cause as Error).message})`, cause);
  }
  return parseConsensusStatement(json);
}

/**
 * Checks an untrusted, JSON-parsed consensus statement field by field and returns a typed, deeply
 * frozen copy. Unknown fields are ignored (in-toto parsing rules). Beyond shape it checks internal
 * consistency: `inputAttestations` lists exactly the embedded envelopes' digests, `policy.digest`
 * matches the extension's threshold and allowFetchedEnvironments, and `verificationResult` and
 * `verifiedLevels` match the verdict.
 *
 * @throws ConsensusError CONSENSUS_INVALID naming the field.
 */
export function parseConsensusStatement(value: unknown): ConsensusStatement {
  const root = record(value, 'statement');
  if (root._type !== IN_TOTO_STATEMENT_V1)
    invalid(`statement._type is ${describe(root._type)}, expected "${IN_TOTO_STATEMENT_V1}"`);
  if (root.predicateType !== SLSA_VSA_V1) {
    invalid(`statement.predicateType is ${describe(root.predicateType)}, expected "${SLSA_VSA_V1}"`);
  }
  const subjects = array(root.subject, 'subject');
  if (subjects.length === 0) invalid('subject is empty');
  const subject = subjects.map((entry, index) => {
    const item = record(entry, `subject[${index}]`);
    return {
      name: string(item.name, `subject[${index}].name`),
      digest: digestSet(item.digest, `subject[${index}].digest`),
    };
  });

  const predicate = record(root.predicate, 'predicate');
  const verifier = record(predicate.verifier, 'predicate.verifier');
  const verifierId = string(verifier.id, 'predicate.verifier.id');
  if (!isAbsoluteUri(verifierId))
    invalid(`predicate.verifier.id ${describe(verifierId)} is not an absolute URI`);
  const version = record(verifier.version, 'predicate.verifier.version');
  const timeVerified = string(predicate.timeVerified, 'predicate.timeVerified');
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(timeVerified) ||
    Number.isNaN(Date.parse(timeVerified))
  ) {
    invalid(
      `predicate.timeVerified ${describe(timeVerified)} is not a UTC timestamp like 2025-01-31T12:00:00.000Z`,
    );
  }
  const resourceUri = string(predicate.resourceUri, 'predicate.resourceUri');
  if (
    !resourceUri.startsWith(BUILD_RESOURCE_URI_PREFIX) ||
    resourceUri.length === BUILD_RESOURCE_URI_PREFIX.length
  ) {
    invalid(`predicate.resourceUri ${describe(resourceUri)} is not "${BUILD_RESOURCE_URI_PREFIX}<buildId>"`);
  }
  const policy = record(predicate.policy, 'predicate.policy');
  if (policy.uri !== CONSENSUS_POLICY_URI)
    invalid(`predicate.policy.uri is ${describe(policy.uri)}, expected "${CONSENSUS_POLICY_URI}"`);
  const policyDigest = digestSet(policy.digest, 'predicate.policy.digest');

  const ext = parseExtension(predicate[RBNET_CONSENSUS_EXTENSION]);
  const where = 'predicate.inputAttestations';
  const inputAttestations = array(predicate.inputAttestations, where).map((entry, index) => {
    const item = record(entry, `${where}[${index}]`);
    const digest = digestSet(item.digest, `${where}[${index}].digest`);
    const uri = string(item.uri, `${where}[${index}].uri`);
    if (uri !== ENVELOPE_URI_PREFIX + digest.sha256) {
      invalid(
        `${where}[${index}].uri is ${describe(uri)}, expected "${ENVELOPE_URI_PREFIX}${digest.sha256}"`,
      );
    }
    return { uri, digest };
  });
  const listed = inputAttestations.map((a) => a.digest.sha256).sort();
  const carried = ext.envelopes.map((text) => sha256Hex(Buffer.from(text, 'utf8'))).sort();
  if (listed.length !== carried.length || listed.some((digest, i) => digest !== carried[i])) {
    invalid(`${where} does not list exactly the digests of the ${carried.length} embedded envelope(s)`);
  }
  const threshold = ext.threshold;
  if (policyDigest.sha256 !== consensusPolicyDigest(ext)) {
    invalid('predicate.policy.digest does not match the threshold and allowFetchedEnvironments it carries');
  }
  const verificationResult = predicate.verificationResult;
  if (verificationResult !== verificationResultFor(ext.verdict)) {
    invalid(
      `predicate.verificationResult is ${describe(verificationResult)}, but verdict ${ext.verdict} means ${verificationResultFor(ext.verdict)}`,
    );
  }
  const levels = array(predicate.verifiedLevels, 'predicate.verifiedLevels');
  const expectedLevels = verifiedLevelsFor(ext.verdict, threshold);
  if (levels.length !== expectedLevels.length || levels.some((level, i) => level !== expectedLevels[i])) {
    invalid(`predicate.verifiedLevels is ${describe(levels)}, expected ${describe(expectedLevels)}`);
  }

  return deepFreeze({
    _type: IN_TOTO_STATEMENT_V1,
    subject,
    predicateType: SLSA_VSA_V1,
    predicate: {
      verifier: {
        id: verifierId,
        version: { rbnet: string(version.rbnet, 'predicate.verifier.version.rbnet') },
      },
      timeVerified,
      resourceUri,
      policy: { uri: CONSENSUS_POLICY_URI, digest: policyDigest },
      inputAttestations,
      verificationResult: verificationResultFor(ext.verdict),
      verifiedLevels: expectedLevels,
      [RBNET_CONSENSUS_EXTENSION]: ext,
    },
  });
}

/** Parses an untrusted consensus envelope's outer DSSE shape (64 MiB cap by default). */
export function parseConsensusEnvelope(
  input: string | Uint8Array,
  maxBytes = maxConsensusEnvelopeBytesDefault,
): DsseEnvelope {
  try {
    return parseDsseEnvelope(input, maxBytes);
  } catch (cause) {
    return invalid(`consensus envelope: ${(cause as Error).message}`, cause);
  }
}

function parseExtension(value: unknown): ConsensusExtension {
  const where = `predicate[${JSON.stringify(RBNET_CONSENSUS_EXTENSION)}]`;
  const ext = record(value, where);
  const verdict = parseVerdict(ext.verdict, `${where}.verdict`);
  if (verdict === 'pending') invalid(`${where}.verdict is "pending"; a pending decision is never attested`);
  const threshold = ext.threshold;
  if (!Number.isSafeInteger(threshold) || (threshold as number) < 1) {
    invalid(`${where}.threshold is ${describe(threshold)}, expected an integer >= 1`);
  }
  if (typeof ext.allowFetchedEnvironments !== 'boolean')
    invalid(`${where}.allowFetchedEnvironments must be a boolean`);
  const manifestSha256 = ext.manifestSha256;
  if (!isSha256Hex(manifestSha256)) invalid(`${where}.manifestSha256 must be 64 lowercase hex characters`);
  const countedOperators = array(ext.countedOperators, `${where}.countedOperators`).map((name, index) =>
    string(name, `${where}.countedOperators[${index}]`),
  );
  const claimedOutputs = array(ext.claimedOutputs, `${where}.claimedOutputs`).map((entry, index) => {
    const field = `${where}.claimedOutputs[${index}]`;
    const item = record(entry, field);
    const path = string(item.path, `${field}.path`);
    if (!isSafeRelativePath(path)) invalid(`${field}.path ${describe(path)} is not a safe relative path`);
    if (!isSha256Hex(item.sha256)) invalid(`${field}.sha256 must be 64 lowercase hex characters`);
    return { path, sha256: item.sha256 };
  });
  const envelopes = array(ext.envelopes, `${where}.envelopes`);
  if (envelopes.length > maxEmbeddedEnvelopes) {
    invalid(`${where}.envelopes has ${envelopes.length} entries, over the limit of ${maxEmbeddedEnvelopes}`);
  }
  return {
    verdict,
    threshold: threshold as number,
    allowFetchedEnvironments: ext.allowFetchedEnvironments as boolean,
    manifestSha256: manifestSha256 as Sha256Hex,
    countedOperators,
    claimedOutputs,
    explanation: typeof ext.explanation === 'string' ? ext.explanation : '',
    envelopes: envelopes.map((text, index) => string(text, `${where}.envelopes[${index}]`)),
  };
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    invalid(`${field} must be an object`);
  return value as Record<string, unknown>;
}

function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) invalid(`${field} must be an array`);
  return value as unknown[];
}

function string(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '')
    invalid(`${field} must be a non-empty string, got ${describe(value)}`);
  return value as string;
}

function digestSet(value: unknown, field: string): { sha256: Sha256Hex } {
  const sha256 = record(value, field).sha256;
  if (!isSha256Hex(sha256))
    invalid(`${field}.sha256 must be 64 lowercase hex characters, got ${describe(sha256)}`);
  return { sha256: sha256 as Sha256Hex };
}

/** Throws ConsensusError CONSENSUS_INVALID with `message`. */
export function invalid(message: string, cause?: unknown): never {
  throw new ConsensusError('CONSENSUS_INVALID', message, cause === undefined ? undefined : { cause });
}
