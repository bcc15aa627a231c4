// ed25519 key files (PKCS#8 / SPKI PEM) and the securesystemslib key identity in-toto 1.x uses.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, type FileHandle, open, unlink } from 'node:fs/promises';
import { sha256Hex } from '../digest.ts';
import { AttestationError } from '../errors.ts';
import { encodeCanonical } from './securesystemslib-canonical-json.ts';

/** A PEM key file is a few hundred bytes; anything much larger is not a key and is not read whole. */
const maxKeyFileBytes = 64 * 1024;

/** The securesystemslib public key object in-toto layouts embed (keyid included). */
export interface SecuresystemslibEd25519PublicKey {
  readonly keyid: string;
  readonly keyid_hash_algorithms: readonly ['sha256', 'sha512'];
  readonly keytype: 'ed25519';
  readonly keyval: { readonly public: string };
  readonly scheme: 'ed25519';
}

export interface GeneratedEd25519KeyPair {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  readonly publicKey: KeyObject;
  /** securesystemslib keyid of the public key. */
  readonly keyid: string;
}

/**
 * Generates an ed25519 key pair and writes the private key (PKCS#8 PEM, mode 0600) and the public
 * key (SPKI PEM, mode 0644). Modes are set explicitly, whatever the process umask.
 *
 * Refuses to overwrite: a key that already exists may be enrolled somewhere, and replacing it would
 * silently orphan that enrolment. Nothing is left behind when either file cannot be created.
 *
 * @param publicKeyPath defaults to `${privateKeyPath}.pub`.
 * @throws AttestationError KEY_INVALID if either file exists or cannot be written.
 */
export async function generateEd25519KeyFiles(
  privateKeyPath: string,
  publicKeyPath = `${privateKeyPath}.pub`,
): Promise<GeneratedEd25519KeyPair> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const created: string[] = [];
  try {
    await writeNewFile(privateKeyPath, privatePem, 0o600);
    created.push(privateKeyPath);
    await writeNewFile(publicKeyPath, publicPem, 0o644);
    created.push(publicKeyPath);
  } catch (error) {
    await Promise.all(created.map((path) => unlink(path).catch(() => undefined)));
    throw error;
  }
  return { privateKeyPath, publicKeyPath, publicKey, keyid: securesystemslibKeyid(publicKey) };
}

/**
 * Creates the key pair at `privateKeyPath` (and `.pub`) unless the private key file exists: what a
 * service does at start for a key it keeps across restarts (the coordinator's signing and log keys).
 */
export async function ensureEd25519KeyFiles(privateKeyPath: string): Promise<void> {
  const exists = await access(privateKeyPath).then(
    () => true,
    () => false,
  );
  if (!exists) await generateEd25519KeyFiles(privateKeyPath);
}

async function writeNewFile(path: string, text: string, mode: number): Promise<void> {
  let handle: FileHandle;
  try {
    // O_EXCL: refuse an existing file (or symlink) atomically, not after a racy exists() check.
    handle = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST' ? 'already exists; refusing to overwrite a key' : `cannot be created (${code})`;
    throw new AttestationError('KEY_INVALID', `${path} ${why}`, { cause: error });
  }
  try {
    // Created 0600 first so the private key is never readable by others, even for an instant.
    await handle.chmod(mode);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw new AttestationError('KEY_INVALID', `${path} could not be written`, { cause: error });
  }
  await handle.close();
}

/**
 * Loads an ed25519 private key from a PKCS#8 PEM file.
 *
 * Refuses a file with any group or other permission bit, as ssh does: a key others can read is a
 * key others may have copied, and signing with it would vouch for builds this worker never ran.
 *
 * @throws AttestationError KEY_PERMISSIONS (message says `chmod 600 PATH`), KEY_INVALID otherwise.
 */
export async function loadEd25519PrivateKey(path: string): Promise<KeyObject> {
  let handle: FileHandle;
  try {
    // Symlinks are followed (secret mounts use them); the checks below apply to the file behind them.
    handle = await open(path, fsConstants.O_RDONLY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AttestationError('KEY_INVALID', `private key ${path} cannot be opened (${code})`, {
      cause: error,
    });
  }
  let pem: string;
  try {
    // fstat the handle we read from, so the mode checked is the mode of the bytes we use.
    const stats = await handle.stat();
    if (!stats.isFile())
      throw new AttestationError('KEY_INVALID', `private key ${path} is not a regular file`);
    if ((stats.mode & 0o077) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
      throw new AttestationError(
        'KEY_PERMISSIONS',
        `private key ${path} has mode ${mode}, open to group or others; run: chmod 600 ${path}`,
      );
    }
    if (stats.size > maxKeyFileBytes) {
      throw new AttestationError('KEY_INVALID', `private key ${path} is ${stats.size} bytes; not a PEM key`);
    }
    pem = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  return privateKeyFromPem(pem, path);
}

function privateKeyFromPem(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new AttestationError('KEY_INVALID', `private key ${source} is not a PEM private key`, {
      cause: error,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AttestationError(
      'KEY_INVALID',
      `private key ${source} is ${key.asymmetricKeyType}, expected ed25519`,
    );
  }
  return key;
}

/**
 * Parses an ed25519 public key from SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
 *
 * A private key PEM is refused even though node:crypto would derive a public key from it: a
 * private key pasted into a trust list or enrolment request is a leak to stop, not to accept.
 *
 * @param source names the origin in error messages (a path, "enrolment request", ...).
 * @throws AttestationError KEY_INVALID.
 */
export function ed25519PublicKeyFromPem(pem: string | Uint8Array, source = 'public key'): KeyObject {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  if (text.length > maxKeyFileBytes)
    throw new AttestationError('KEY_INVALID', `${source}: too large for a PEM key`);
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new AttestationError(
      'KEY_INVALID',
      `${source}: holds a PRIVATE key; give the public key (SPKI PEM)`,
    );
  }
  if (!text.includes('-----BEGIN PUBLIC KEY-----')) {
    throw new AttestationError(
      'KEY_INVALID',
      `${source}: expected a "-----BEGIN PUBLIC KEY-----" SPKI PEM block`,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem', type: 'spki' });
  } catch (error) {
    throw new AttestationError('KEY_INVALID', `${source}: not a valid SPKI PEM public key`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AttestationError('KEY_INVALID', `${source}: ${key.asymmetricKeyType} key, expected ed25519`);
  }
  return key;
}

/**
 * Loads an ed25519 public key from an SPKI PEM file.
 * @throws AttestationError KEY_INVALID.
 */
export async function loadEd25519PublicKey(path: string): Promise<KeyObject> {
  let handle: FileHandle;
  try {
    handle = await open(path, fsConstants.O_RDONLY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AttestationError('KEY_INVALID', `public key ${path} cannot be opened (${code})`, {
      cause: error,
    });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size > maxKeyFileBytes) {
      throw new AttestationError('KEY_INVALID', `public key ${path} is not a PEM key file`);
    }
    return ed25519PublicKeyFromPem(await handle.readFile('utf8'), `public key ${path}`);
  } finally {
    await handle.close();
  }
}

/** Narrows to an ed25519 public key; a private key is refused so callers never hand one around by mistake. */
export function assertEd25519PublicKey(key: KeyObject, what = 'key'): void {
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') {
    throw new AttestationError(
      'KEY_INVALID',
      `${what}: expected an ed25519 public key, got a ${key.asymmetricKeyType ?? 'symmetric'} ${key.type} key`,
    );
  }
}

/**
 * The 32 raw public key bytes as 64 lowercase hex characters (securesystemslib's `keyval.public`).
 * @throws AttestationError KEY_INVALID for anything but an ed25519 public key.
 */
export function rawPublicKeyHex(publicKey: KeyObject): string {
  assertEd25519PublicKey(publicKey, 'rawPublicKeyHex');
  const { x } = publicKey.export({ format: 'jwk' });
  const raw = Buffer.from(x ?? '', 'base64url');
  if (raw.length !== 32) throw new AttestationError('KEY_INVALID', 'ed25519 public key is not 32 bytes');
  return raw.toString('hex');
}

function keyMetadata(publicKey: KeyObject) {
  return {
    keyid_hash_algorithms: ['sha256', 'sha512'] as const,
    keytype: 'ed25519' as const,
    keyval: { public: rawPublicKeyHex(publicKey) },
    scheme: 'ed25519' as const,
  };
}

/**
 * securesystemslib's keyid (`keys._get_keyid`, as used by in-toto 1.3.1): sha256 hex of the
 * canonical JSON of `{keytype, scheme, keyid_hash_algorithms: ["sha256","sha512"], keyval: {public}}`.
 * apt-transport-in-toto layouts name keys by this id, so we use it everywhere, DSSE included.
 */
export function securesystemslibKeyid(publicKey: KeyObject): string {
  return sha256Hex(encodeCanonical(keyMetadata(publicKey)));
}

/** The key object an in-toto layout embeds under `keys[keyid]`. */
export function publicKeyToSecuresystemslibJson(publicKey: KeyObject): SecuresystemslibEd25519PublicKey {
  const metadata = keyMetadata(publicKey);
  return Object.freeze({
    keyid: sha256Hex(encodeCanonical(metadata)),
    keyid_hash_algorithms: Object.freeze(metadata.keyid_hash_algorithms.slice()) as readonly [
      'sha256',
      'sha512',
    ],
    keytype: metadata.keytype,
    keyval: Object.freeze(metadata.keyval),
    scheme: metadata.scheme,
  });
}
