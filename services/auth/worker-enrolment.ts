// The enrolment wire contract, one parser and one builder for both sides: a worker registers the
// public halves of its signing and auth keys and proves possession of both, the auth key by a
// request proof over the body, the signing key by a domain-separated message bound to this
// enrolment (coordinator origin, worker id, both keyids, the enrolment token). Nobody can enrol a
// signing key they do not hold, and a captured proof cannot serve another enrolment.
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { ed25519PublicKeyFromPem, securesystemslibKeyid } from '../attestation/ed25519-key.ts';
import type { Signer } from '../attestation/signer.ts';
import { sha256Hex } from '../digest.ts';
import { RbnetError } from '../errors.ts';
import { storeNamePattern } from '../storage/registry-store.ts';
import { parseStrictJson } from '../strict-json.ts';
import { signWorkerRequest } from './worker-request-auth.ts';

/**
 * An enrolment request was refused.
 * - `INVALID`: a field of the body is malformed or implausible; the message names it.
 * - `SIGNING_PROOF_INVALID`: `signingKeyProof` does not verify for this enrolment.
 */
export class EnrolmentError extends RbnetError<'INVALID' | 'SIGNING_PROOF_INVALID'> {}

export const ENROL_PATH = '/v1/workers/enrol';
export const SIGNING_KEY_PROOF_DOMAIN = 'rbnet-enrol-signing-key-v1';
/** The largest enrolment body the coordinator reads. */
export const maxEnrolmentBodyBytes = 64 * 1024;

/**
 * Ceilings on declared capacity: far above any one machine today, low enough that a worker cannot
 * claim to be bigger than every other worker combined and draw every large build to itself.
 */
export const capacityCeilings = Object.freeze({
  cores: 4096,
  memoryBytes: 2 ** 46, // 64 TiB
  diskBytes: 2 ** 50, // 1 PiB
});

const ARCH = /^[a-z0-9][a-z0-9-]{0,31}$/;
const BACKEND = /^[a-z][a-z0-9-]{0,31}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const SIGNATURE_B64 = /^[A-Za-z0-9+/]{86}==$/;
const ORIGIN = /^https?:\/\/[A-Za-z0-9.[\]:-]{1,255}$/;

export interface WorkerCapacityClaim {
  readonly cores: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
}

/** What the coordinator learns from a parsed body; keys are parsed, keyids computed. */
export interface EnrolmentRequest {
  readonly workerId: string;
  readonly signingKey: KeyObject;
  readonly signingKeyPem: string;
  readonly signingKeyid: string;
  readonly authKey: KeyObject;
  readonly authKeyPem: string;
  readonly authKeyid: string;
  /** base64 ed25519 signature by the signing key over {@link composeSigningKeyProofMessage}. */
  readonly signingKeyProof: string;
  readonly architectures: readonly string[];
  readonly backends: readonly string[];
  readonly capacity: WorkerCapacityClaim;
}

/** What the signing-key proof is bound to. */
export interface EnrolmentBinding {
  /** The coordinator's origin as the worker knows it (the coordinator checks its own public URL). */
  readonly origin: string;
  readonly workerId: string;
  readonly signingKeyid: string;
  readonly authKeyid: string;
  /** sha256 of the enrolment token's secret: the proof serves this one enrolment only. */
  readonly enrolmentTokenSha256: string;
}

function invalid(field: string, problem: string): EnrolmentError {
  return new EnrolmentError('INVALID', `${field}: ${problem}`);
}

/**
 * The exact bytes the signing key signs. It starts with a domain tag, so it can be neither a DSSE
 * pre-authentication encoding (`DSSEv1 …`) nor the canonical JSON of an in-toto link (`{…`), the two
 * other things this key ever signs; every field is checked against a narrow pattern first.
 */
export function composeSigningKeyProofMessage(binding: EnrolmentBinding): Buffer {
  const checks: [keyof EnrolmentBinding, RegExp][] = [
    ['origin', ORIGIN],
    ['workerId', storeNamePattern],
    ['signingKeyid', HEX64],
    ['authKeyid', HEX64],
    ['enrolmentTokenSha256', HEX64],
  ];
  for (const [name, pattern] of checks) {
    if (typeof binding[name] !== 'string' || !pattern.test(binding[name]))
      throw invalid(`enrolment ${name}`, `refused ${JSON.stringify(String(binding[name])).slice(0, 80)}`);
  }
  return Buffer.from(
    [
      SIGNING_KEY_PROOF_DOMAIN,
      binding.origin,
      binding.workerId,
      binding.signingKeyid,
      binding.authKeyid,
      binding.enrolmentTokenSha256,
    ].join('\n'),
    'utf8',
  );
}

/** Whether `request.signingKeyProof` was made by its signing key for exactly this enrolment. */
export function signingKeyProofVerifies(
  request: EnrolmentRequest,
  binding: Pick<EnrolmentBinding, 'origin' | 'enrolmentTokenSha256'>,
): boolean {
  const message = composeSigningKeyProofMessage({
    origin: binding.origin,
    enrolmentTokenSha256: binding.enrolmentTokenSha256,
    workerId: request.workerId,
    signingKeyid: request.signingKeyid,
    authKeyid: request.authKeyid,
  });
  return verify(null, message, request.signingKey, Buffer.from(request.signingKeyProof, 'base64'));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value))
    if (!allowed.includes(key)) throw invalid(`${where}${key}`, 'unknown field');
}

function publicKey(value: unknown, field: string): { key: KeyObject; pem: string } {
  if (typeof value !== 'string' || value.length > 4096)
    throw invalid(field, 'expected an ed25519 SPKI PEM public key');
  let key: KeyObject;
  try {
    key = ed25519PublicKeyFromPem(value, field);
  } catch (cause) {
    throw new EnrolmentError('INVALID', (cause as Error).message, { cause });
  }
  return { key, pem: key.export({ format: 'pem', type: 'spki' }) as string };
}

function names(value: unknown, field: string, pattern: RegExp): string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > 16 ||
    !value.every((v) => typeof v === 'string' && pattern.test(v))
  ) {
    throw invalid(field, `expected 1-16 names matching ${pattern}`);
  }
  return [...new Set(value as string[])];
}

function amount(value: unknown, field: string, ceiling: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value > ceiling)
    throw invalid(field, `expected a positive integer of at most ${ceiling}`);
  return value;
}

/** Every field of an enrolment body, each required; any other is refused. */
export const enrolmentBodyFields = [
  'workerId',
  'signingKeyPem',
  'authKeyPem',
  'signingKeyProof',
  'architectures',
  'backends',
  'capacity',
] as const;

/**
 * Parses an enrolment body strictly: size, JSON without duplicate keys, no unknown field, every
 * field checked (an operator name in the body, say, is refused: the token alone names it).
 * @throws EnrolmentError `INVALID` naming the field.
 */
export function parseEnrolmentRequestBody(bytes: Uint8Array): EnrolmentRequest {
  if (bytes.byteLength > maxEnrolmentBodyBytes)
    throw invalid('request body', `over ${maxEnrolmentBodyBytes} bytes`);
  let document: unknown;
  try {
    document = parseStrictJson(Buffer.from(bytes).toString('utf8'), { maxDepth: 8 });
  } catch (cause) {
    throw new EnrolmentError('INVALID', `request body: ${(cause as Error).message}`, { cause });
  }
  if (!isObject(document)) throw invalid('request body', 'expected a JSON object');
  onlyKeys(document, enrolmentBodyFields, '');
  const workerId = document.workerId;
  if (typeof workerId !== 'string' || !storeNamePattern.test(workerId))
    throw invalid('workerId', `expected ${storeNamePattern}`);
  const signing = publicKey(document.signingKeyPem, 'signingKeyPem');
  const auth = publicKey(document.authKeyPem, 'authKeyPem');
  const signingKeyid = securesystemslibKeyid(signing.key);
  const authKeyid = securesystemslibKeyid(auth.key);
  if (signingKeyid === authKeyid) throw invalid('authKeyPem', 'must be a different key from signingKeyPem');
  const proof = document.signingKeyProof;
  if (typeof proof !== 'string' || !SIGNATURE_B64.test(proof))
    throw invalid('signingKeyProof', 'expected a base64 ed25519 signature');
  const capacity = document.capacity;
  if (!isObject(capacity)) throw invalid('capacity', 'expected {cores, memoryBytes, diskBytes}');
  onlyKeys(capacity, ['cores', 'memoryBytes', 'diskBytes'], 'capacity.');
  return Object.freeze({
    workerId,
    signingKey: signing.key,
    signingKeyPem: signing.pem,
    signingKeyid,
    authKey: auth.key,
    authKeyPem: auth.pem,
    authKeyid,
    signingKeyProof: proof,
    architectures: Object.freeze(names(document.architectures, 'architectures', ARCH)),
    backends: Object.freeze(names(document.backends, 'backends', BACKEND)),
    capacity: Object.freeze({
      cores: amount(capacity.cores, 'capacity.cores', capacityCeilings.cores),
      memoryBytes: amount(capacity.memoryBytes, 'capacity.memoryBytes', capacityCeilings.memoryBytes),
      diskBytes: amount(capacity.diskBytes, 'capacity.diskBytes', capacityCeilings.diskBytes),
    }),
  });
}

/**
 * Builds the enrolment request a worker sends: the body (with the signing-key proof) and the
 * headers (the enrolment token, and the auth key's proof over the body).
 */
export async function createEnrolmentRequest(args: {
  readonly origin: string;
  readonly token: string;
  readonly workerId: string;
  readonly signing: { readonly signer: Signer; readonly publicKey: KeyObject };
  readonly authPrivateKey: KeyObject;
  readonly architectures: readonly string[];
  readonly backends: readonly string[];
  readonly capacity: WorkerCapacityClaim;
  /** The proof's timestamp, ms; default now. */
  readonly now?: number;
}): Promise<{ readonly body: Buffer; readonly headers: Readonly<Record<string, string>> }> {
  const authPublicKey = createPublicKey(args.authPrivateKey);
  const message = composeSigningKeyProofMessage({
    origin: args.origin,
    workerId: args.workerId,
    signingKeyid: securesystemslibKeyid(args.signing.publicKey),
    authKeyid: securesystemslibKeyid(authPublicKey),
    enrolmentTokenSha256: sha256Hex(args.token),
  });
  const body = Buffer.from(
    JSON.stringify({
      workerId: args.workerId,
      signingKeyPem: args.signing.publicKey.export({ format: 'pem', type: 'spki' }),
      authKeyPem: authPublicKey.export({ format: 'pem', type: 'spki' }),
      signingKeyProof: Buffer.from(await args.signing.signer.sign(message)).toString('base64'),
      architectures: args.architectures,
      backends: args.backends,
      capacity: args.capacity,
    }),
  );
  return {
    body,
    headers: Object.freeze({
      'content-type': 'application/json',
      authorization: `Bearer ${args.token}`,
      'x-rbnet-proof': signWorkerRequest(args.authPrivateKey, {
        workerId: args.workerId,
        origin: args.origin,
        method: 'POST',
        path: ENROL_PATH,
        bodySha256: sha256Hex(body),
        bodyLength: body.byteLength,
        ...(args.now !== undefined ? { now: args.now } : {}),
      }),
    }),
  };
}
