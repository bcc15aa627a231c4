// The signing seam: one `sign(bytes)` with a keyid, so a KMS or HSM can replace the key file later.
import { createPublicKey, type KeyObject, sign } from 'node:crypto';
import { AttestationError } from '../errors.ts';
import { loadEd25519PrivateKey, securesystemslibKeyid } from './ed25519-key.ts';

/**
 * Signs raw bytes with one key. Internal to attestation code: only `signRebuildStatement` (a worker's
 * key) and `signConsensusAttestation` (the coordinator's own key) call `sign`, each on a statement it
 * composed itself from typed facts, and `createEnrolmentRequest` (services/auth/worker-enrolment.ts),
 * once, on a domain-tagged message of the worker's own enrolment fields that can parse as neither a
 * DSSE pre-authentication encoding nor a JSON document. Never pass a Signer to anything that takes bytes from the
 * network (a job payload, an HTTP body): that would let a coordinator or another operator make the
 * worker vouch for a build it never ran.
 */
export interface Signer {
  /** securesystemslib keyid of the public half; written into DSSE `signatures[].keyid`. */
  readonly keyid: string;
  /** Returns the raw signature over exactly `bytes` (for ed25519, 64 bytes). */
  sign(bytes: Uint8Array): Promise<Uint8Array>;
}

/** A Signer backed by an ed25519 PKCS#8 PEM file that must be mode 0600. */
export class Ed25519FileSigner implements Signer {
  readonly keyid: string;
  readonly publicKey: KeyObject;
  // An ES private field: no caller, logger or serializer can reach the key through this object.
  readonly #privateKey: KeyObject;

  private constructor(privateKey: KeyObject) {
    this.#privateKey = privateKey;
    this.publicKey = createPublicKey(privateKey);
    this.keyid = securesystemslibKeyid(this.publicKey);
  }

  /**
   * Loads the private key file (see `loadEd25519PrivateKey` for the permission rule).
   * @throws AttestationError KEY_PERMISSIONS or KEY_INVALID.
   */
  static async fromFile(privateKeyPath: string): Promise<Ed25519FileSigner> {
    return new Ed25519FileSigner(await loadEd25519PrivateKey(privateKeyPath));
  }

  /** Wraps an ed25519 private KeyObject already in memory (tests, or a key unsealed elsewhere). */
  static fromKeyObject(privateKey: KeyObject): Ed25519FileSigner {
    if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
      throw new AttestationError('KEY_INVALID', 'Ed25519FileSigner needs an ed25519 private key');
    }
    return new Ed25519FileSigner(privateKey);
  }

  async sign(bytes: Uint8Array): Promise<Uint8Array> {
    // ed25519 hashes internally, hence the null digest algorithm.
    return sign(null, bytes, this.#privateKey);
  }

  /** Keeps the key out of `JSON.stringify` and pino output even if someone logs the signer. */
  toJSON(): { keyid: string } {
    return { keyid: this.keyid };
  }
}
