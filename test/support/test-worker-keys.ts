// A worker's two keys held in memory, and the requests it would send with them, for tests that drive
// the coordinator directly (app.request or a real socket) without a worker process.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Ed25519FileSigner } from '../../services/attestation/signer.ts';
import { createEnrolmentRequest, type WorkerCapacityClaim } from '../../services/auth/worker-enrolment.ts';
import { signWorkerRequest } from '../../services/auth/worker-request-auth.ts';
import { sha256Hex } from '../../services/digest.ts';

export interface TestWorkerKeys {
  readonly id: string;
  /** Signs attestations (and the enrolment's signing-key proof). */
  readonly signer: Ed25519FileSigner;
  /** Proves possession on every request. */
  readonly authKey: KeyObject;
}

export function newTestWorkerKeys(id: string): TestWorkerKeys {
  return {
    id,
    signer: Ed25519FileSigner.fromKeyObject(generateKeyPairSync('ed25519').privateKey),
    authKey: generateKeyPairSync('ed25519').privateKey,
  };
}

/** The enrolment a real worker sends (services/auth/worker-enrolment.ts), for `keys`. */
export function enrolmentRequestFor(
  keys: TestWorkerKeys,
  options: {
    readonly origin: string;
    readonly token: string;
    readonly architectures?: readonly string[];
    readonly backends?: readonly string[];
    readonly capacity?: WorkerCapacityClaim;
    /** The proof's timestamp (a test whose coordinator clock is not the wall clock). */
    readonly now?: number;
  },
): Promise<{ readonly body: Buffer; readonly headers: Readonly<Record<string, string>> }> {
  return createEnrolmentRequest({
    origin: options.origin,
    token: options.token,
    workerId: keys.id,
    signing: { signer: keys.signer, publicKey: keys.signer.publicKey },
    authPrivateKey: keys.authKey,
    architectures: options.architectures ?? ['amd64'],
    backends: options.backends ?? ['generic'],
    capacity: options.capacity ?? { cores: 2, memoryBytes: 2 ** 32, diskBytes: 2 ** 34 },
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
}

/**
 * `{ authorization }` proving `keys` for one request. `body` is the body sent, or what the proof
 * should declare for it (a blob upload declares the blob's digest and length).
 */
export function workerProof(
  keys: Pick<TestWorkerKeys, 'id' | 'authKey'>,
  request: {
    readonly origin: string;
    readonly method: string;
    readonly path: string;
    readonly body?: string | Uint8Array | { readonly sha256: string; readonly length: number };
    readonly now?: number;
  },
): { authorization: string } {
  const body = request.body ?? '';
  const declared =
    typeof body === 'string' || body instanceof Uint8Array
      ? { sha256: sha256Hex(body), length: Buffer.byteLength(body) }
      : body;
  return {
    authorization: signWorkerRequest(keys.authKey, {
      workerId: keys.id,
      origin: request.origin,
      method: request.method,
      path: request.path,
      bodySha256: declared.sha256,
      bodyLength: declared.length,
      ...(request.now !== undefined ? { now: request.now } : {}),
    }),
  };
}
