// Trust policy v1: the consumer's pinned operator keys, threshold and expiry, parsed strictly at the boundary.
import type { KeyObject } from 'node:crypto';
import { ed25519PublicKeyFromPem, securesystemslibKeyid } from '../attestation/ed25519-key.ts';
import { type Sha256Hex, sha256Hex } from '../digest.ts';
import { accountNameRule, isAccountName, isKeyid } from '../identifiers.ts';
import { parseStrictJson } from '../strict-json.ts';
import { parseTlogPolicy, type TlogPolicy } from '../tlog/tlog-policy.ts';
import { parseUtcTimestamp } from '../utc-timestamp.ts';
import { PolicyError } from './consensus-errors.ts';

export const TRUST_POLICY_SCHEMA_V1 = 'rbnet.trust-policy/v1';

/** A policy file larger than this is refused before it is parsed (1 MiB). */
export const maxTrustPolicyBytes = 1024 * 1024;

/** One pinned ed25519 key. */
export interface PinnedKey {
  /** securesystemslib keyid; the parser checked it equals the keyid of `publicKey`. */
  readonly keyid: string;
  readonly publicKeyPem: string;
  readonly publicKey: KeyObject;
}

export interface TrustedOperator {
  readonly name: string;
  /** At least one. No key appears under two operators, nor among the coordinator keys. */
  readonly keys: readonly PinnedKey[];
}

/** A parsed, frozen trust policy. */
export interface TrustPolicy {
  readonly schema: typeof TRUST_POLICY_SCHEMA_V1;
  /** At least one; names unique. */
  readonly operators: readonly TrustedOperator[];
  /** Distinct operators that must agree; 1..operators.length. */
  readonly threshold: number;
  /** Default false: only environments a worker built itself count. */
  readonly allowFetchedEnvironments: boolean;
  /** Empty when the policy lists none; then the coordinator's signature is not checked at all. */
  readonly coordinatorKeys: readonly PinnedKey[];
  /** As written in the policy. */
  readonly expires: string;
  /** `expires` in milliseconds since the epoch. */
  readonly expiresAtMs: number;
  /** sha256 of the policy bytes as given: which policy a verification used. */
  readonly policySha256: Sha256Hex;
  /**
   * The transparency log the consumer trusts (log key, witnesses, quorum, maximum checkpoint age),
   * written in the C2SP tlog-policy grammar (docs/transparency-log.md); needed to verify a bundle.
   */
  readonly transparencyLog?: TlogPolicy;
}

/**
 * Parses an untrusted trust policy document (see docs/trust-policy.md): size first, then strict
 * JSON (no duplicate keys, integers only), then shape (unknown fields refused), then meaning: every
 * keyid must equal the securesystemslib keyid of its PEM, no key may be listed twice (under two
 * operators, or as both an operator's and the coordinator's), `threshold` is 1..operators, and the
 * policy must not have expired at `now`.
 *
 * @param bytes the policy file's bytes (UTF-8) or text; at most 1 MiB.
 * @param now the time the policy is used at; expired when `now >= expires`.
 * @throws PolicyError POLICY_TOO_LARGE, POLICY_INVALID (the message names the field), POLICY_EXPIRED.
 */
export function parseTrustPolicy(bytes: string | Uint8Array, now: Date): TrustPolicy {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.byteLength;
  if (size > maxTrustPolicyBytes) {
    throw new PolicyError(
      'POLICY_TOO_LARGE',
      `trust policy is ${size} bytes, over the ${maxTrustPolicyBytes}-byte limit`,
    );
  }
  let text: string;
  if (typeof bytes === 'string') {
    text = bytes;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch (cause) {
      throw invalid('trust policy is not valid UTF-8', cause);
    }
  }
  let value: unknown;
  try {
    value = parseStrictJson(text, { maxDepth: 8 });
  } catch (cause) {
    throw invalid(`trust policy is not strict JSON: ${(cause as Error).message}`, cause);
  }

  const root = record(value, '$');
  onlyKeys(root, '$', [
    'schema',
    'operators',
    'threshold',
    'allowFetchedEnvironments',
    'coordinatorKeys',
    'expires',
    'transparencyLog',
  ]);
  if (root.schema !== TRUST_POLICY_SCHEMA_V1) {
    throw invalid(`$.schema is ${describe(root.schema)}, expected "${TRUST_POLICY_SCHEMA_V1}"`);
  }

  const seenKeyids = new Map<string, string>();
  const claimKey = (key: PinnedKey, owner: string, field: string) => {
    const previous = seenKeyids.get(key.keyid);
    if (previous !== undefined) {
      throw invalid(
        `${field}: key ${key.keyid} is already listed for ${previous}; one key belongs to one party`,
      );
    }
    seenKeyids.set(key.keyid, owner);
  };

  const operatorList = array(root.operators, '$.operators');
  if (operatorList.length === 0) throw invalid('$.operators is empty; pin at least one operator');
  const names = new Set<string>();
  const operators = operatorList.map((entry, index): TrustedOperator => {
    const field = `$.operators[${index}]`;
    const operator = record(entry, field);
    onlyKeys(operator, field, ['name', 'keys']);
    const name = operator.name;
    if (!isAccountName(name)) {
      throw invalid(`${field}.name is ${describe(name)}, expected ${accountNameRule.expected}`);
    }
    if (names.has(name)) throw invalid(`${field}.name ${describe(name)} appears more than once`);
    names.add(name);
    const keyList = array(operator.keys, `${field}.keys`);
    if (keyList.length === 0)
      throw invalid(`${field}.keys is empty; an operator without a key can never count`);
    const keys = keyList.map((k, keyIndex) => {
      const keyField = `${field}.keys[${keyIndex}]`;
      const key = pinnedKey(k, keyField);
      claimKey(key, `operator ${describe(name)}`, keyField);
      return key;
    });
    return Object.freeze({ name, keys: Object.freeze(keys) });
  });

  const threshold = root.threshold;
  if (!Number.isSafeInteger(threshold) || (threshold as number) < 1) {
    throw invalid(`$.threshold is ${describe(threshold)}, expected an integer >= 1`);
  }
  if ((threshold as number) > operators.length) {
    throw invalid(
      `$.threshold is ${threshold} but only ${operators.length} operator(s) are pinned; agreement could never be reached`,
    );
  }

  const allowFetched = root.allowFetchedEnvironments ?? false;
  if (typeof allowFetched !== 'boolean') {
    throw invalid(`$.allowFetchedEnvironments is ${describe(allowFetched)}, expected true or false`);
  }

  let coordinatorKeys: PinnedKey[] = [];
  if (root.coordinatorKeys !== undefined) {
    const list = array(root.coordinatorKeys, '$.coordinatorKeys');
    // An empty list would read as "check the coordinator" yet make every check fail; omit the field instead.
    if (list.length === 0)
      throw invalid('$.coordinatorKeys is empty; omit the field to not check the coordinator');
    coordinatorKeys = list.map((k, index) => {
      const field = `$.coordinatorKeys[${index}]`;
      const key = pinnedKey(k, field);
      // Keys come from operators, never from the coordinator: a coordinator key must not count as an operator.
      claimKey(key, 'the coordinator', field);
      return key;
    });
  }

  const expires = root.expires;
  const expiresAtMs = typeof expires === 'string' ? parseUtcTimestamp(expires) : undefined;
  if (expiresAtMs === undefined) {
    throw invalid(
      `$.expires is ${describe(expires)}, expected an RFC 3339 UTC time like "2027-01-01T00:00:00Z"`,
    );
  }

  let transparencyLog: TlogPolicy | undefined;
  if (root.transparencyLog !== undefined) {
    if (typeof root.transparencyLog !== 'string')
      throw invalid(
        '$.transparencyLog must be the text of a tlog policy (lines: log, witness, group, quorum)',
      );
    try {
      transparencyLog = parseTlogPolicy(root.transparencyLog);
    } catch (cause) {
      throw invalid(`$.transparencyLog: ${(cause as Error).message}`, cause);
    }
  }

  const policy: TrustPolicy = Object.freeze({
    schema: TRUST_POLICY_SCHEMA_V1,
    operators: Object.freeze(operators),
    threshold: threshold as number,
    allowFetchedEnvironments: allowFetched,
    coordinatorKeys: Object.freeze(coordinatorKeys),
    expires: expires as string,
    expiresAtMs,
    policySha256: sha256Hex(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes),
    ...(transparencyLog !== undefined && { transparencyLog }),
  });
  assertTrustPolicyCurrent(policy, now);
  return policy;
}

/**
 * Refuses a policy used at or after its expiry. Call it wherever a policy parsed earlier is used
 * again: a long-running process must not keep trusting keys past the date their owner chose.
 * @throws PolicyError POLICY_EXPIRED.
 */
export function assertTrustPolicyCurrent(policy: TrustPolicy, now: Date): void {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new PolicyError(
      'POLICY_INVALID',
      'the current time given to check the trust policy is not a valid Date',
    );
  }
  if (now.getTime() >= policy.expiresAtMs) {
    throw new PolicyError(
      'POLICY_EXPIRED',
      `trust policy expired at ${policy.expires} (now ${now.toISOString()}); obtain a fresh policy from its publisher`,
    );
  }
}

/** The operator a pinned keyid belongs to, or undefined when the policy does not pin it (coordinator keys never match). */
export function operatorForKeyid(policy: TrustPolicy, keyid: string): string | undefined {
  for (const operator of policy.operators) {
    if (operator.keys.some((key) => key.keyid === keyid)) return operator.name;
  }
  return undefined;
}

/** Every operator key the policy pins, flattened (coordinator keys excluded). */
export function operatorKeys(policy: TrustPolicy): KeyObject[] {
  return policy.operators.flatMap((operator) => operator.keys.map((key) => key.publicKey));
}

function pinnedKey(value: unknown, field: string): PinnedKey {
  const entry = record(value, field);
  onlyKeys(entry, field, ['keyid', 'publicKeyPem']);
  const { keyid, publicKeyPem } = entry;
  if (!isKeyid(keyid)) {
    throw invalid(`${field}.keyid is ${describe(keyid)}, expected 64 lowercase hex characters`);
  }
  if (typeof publicKeyPem !== 'string') throw invalid(`${field}.publicKeyPem must be a string`);
  let publicKey: KeyObject;
  try {
    publicKey = ed25519PublicKeyFromPem(publicKeyPem, `${field}.publicKeyPem`);
  } catch (cause) {
    throw invalid((cause as Error).message, cause);
  }
  const actual = securesystemslibKeyid(publicKey);
  if (actual !== keyid) {
    throw invalid(`${field}.keyid is ${keyid}, but the key in publicKeyPem has keyid ${actual}`);
  }
  return Object.freeze({ keyid, publicKeyPem, publicKey });
}

/** Milliseconds since the epoch, or undefined unless `text` is a real UTC instant (no 30 February). */
function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${field} must be an object`);
  return value as Record<string, unknown>;
}

function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(`${field} must be an array, got ${describe(value)}`);
  return value;
}

function onlyKeys(value: Record<string, unknown>, field: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw invalid(`${field} has unknown field ${JSON.stringify(key)} (allowed: ${allowed.join(', ')})`);
    }
  }
}

function describe(value: unknown): string {
  const text = String(JSON.stringify(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function invalid(message: string, cause?: unknown): PolicyError {
  return new PolicyError('POLICY_INVALID', message, cause === undefined ? undefined : { cause });
}
