// Verifies an OpenPGP clearsigned document with gpgv against a pinned keyring and returns gpgv's own plaintext.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ArchiveError } from '../errors.ts';

export interface GpgvVerifyOptions {
  /** The whole clearsigned document as fetched (e.g. an InRelease file). */
  readonly signedBytes: Uint8Array;
  /** Keyring holding the only keys trusted to sign (e.g. /usr/share/keyrings/debian-archive-keyring.gpg). */
  readonly keyringPath: string;
  /** gpgv is killed and the document refused after this many milliseconds. */
  readonly timeoutMs: number;
  /** Largest plaintext accepted in bytes; defaults to the size of `signedBytes` (a plaintext is never larger). */
  readonly maxPlaintextBytes?: number;
  /** The gpgv executable; defaults to `gpgv` on PATH. */
  readonly gpgvPath?: string;
}

/** One signature gpgv reported as good (GOODSIG with VALIDSIG). */
export interface GpgvSignature {
  /** Fingerprint of the (sub)key that made the signature, uppercase hex. */
  readonly fingerprint: string;
  /** Fingerprint of its primary key, uppercase hex (equal to `fingerprint` when signed by the primary key). */
  readonly primaryKeyFingerprint: string;
}

export interface GpgvVerified {
  /** The signed text exactly as gpgv wrote it (dash-escaping undone), never a split of our own. */
  readonly plaintext: Buffer;
  /** Every good signature, in document order. At least one. */
  readonly signatures: readonly GpgvSignature[];
  /** The primary-key fingerprints of `signatures`, deduplicated. */
  readonly fingerprints: readonly string[];
}

const MAX_STATUS_BYTES = 256 * 1024;
const MAX_STDERR_BYTES = 16 * 1024;
const CLEARSIGN_HEADER = Buffer.from('-----BEGIN PGP SIGNED MESSAGE-----\n');
/** Status keywords after which the document is refused whatever else gpgv said. */
const FATAL_STATUS = new Set([
  'BADSIG',
  'EXPSIG',
  'EXPKEYSIG',
  'REVKEYSIG',
  'KEYREVOKED',
  'NODATA',
  'BADARMOR',
]);
const FINGERPRINT = /^[0-9A-F]{40}$|^[0-9A-F]{64}$/;

function refuse(message: string, cause?: unknown): never {
  throw new ArchiveError('ARCHIVE_SIGNATURE', message, cause === undefined ? undefined : { cause });
}

interface GpgvRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly status: string;
  readonly stderr: string;
}

/** Runs gpgv with the document on stdin, plaintext on stdout and status lines on fd 3, all size-capped. */
async function runGpgv(
  options: GpgvVerifyOptions,
  homedir: string,
  maxPlaintextBytes: number,
): Promise<GpgvRun> {
  const args = [
    '--homedir',
    homedir,
    '--status-fd',
    '3',
    '--keyring',
    resolve(options.keyringPath),
    '--output',
    '-',
  ];
  const child = spawn(options.gpgvPath ?? 'gpgv', args, {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', GNUPGHOME: homedir },
  });
  return await new Promise<GpgvRun>((settle, reject) => {
    let failure: Error | undefined;
    const fail = (err: Error): void => {
      failure ??= err;
      child.kill('SIGKILL');
    };
    const collect = (
      stream: NodeJS.ReadableStream | null | undefined,
      max: number,
      what: string,
    ): Buffer[] => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream?.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) fail(new ArchiveError('ARCHIVE_SIGNATURE', `gpgv ${what} exceeded ${max} bytes`));
        else chunks.push(chunk);
      });
      stream?.on('error', () => undefined);
      return chunks;
    };
    const stdout = collect(child.stdout, maxPlaintextBytes, 'plaintext');
    const status = collect(child.stdio[3] as NodeJS.ReadableStream, MAX_STATUS_BYTES, 'status output');
    const stderr = collect(child.stderr, MAX_STDERR_BYTES, 'diagnostics');
    const timer = setTimeout(
      () => fail(new ArchiveError('ARCHIVE_SIGNATURE', `gpgv did not finish within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new ArchiveError('ARCHIVE_SIGNATURE', `gpgv could not be run: ${err.message}`, { cause: err }));
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      settle({
        exitCode,
        signal,
        stdout: Buffer.concat(stdout),
        status: Buffer.concat(status).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    // gpgv may exit before reading everything (e.g. on bad armor); the exit status says why.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.signedBytes);
  });
}

/**
 * Verifies a clearsigned document with `gpgv --status-fd 3 --keyring K --output -` (argument array,
 * no shell, empty throwaway homedir) and returns the plaintext gpgv printed plus the good
 * signatures' fingerprints. Accepted only when: the document starts with the clearsign header,
 * gpgv printed exactly one PLAINTEXT, at least one GOODSIG with its VALIDSIG, no BADSIG / EXPSIG /
 * EXPKEYSIG (expired key) / REVKEYSIG / KEYREVOKED, and gpgv exited 0 — or exited 2 only because some
 * other signature was made by a key outside the keyring (ERRSIG + NO_PUBKEY). That exception is
 * what apt does: Debian signs each InRelease with several keys, and a key the pinned keyring does
 * not hold is no evidence either way, while one good signature from a key it does hold is required.
 * @throws ArchiveError ARCHIVE_SIGNATURE on any other outcome, including timeout and oversized output.
 */
export async function verifyClearsignedWithGpgv(options: GpgvVerifyOptions): Promise<GpgvVerified> {
  const signed = Buffer.from(
    options.signedBytes.buffer,
    options.signedBytes.byteOffset,
    options.signedBytes.byteLength,
  );
  if (!signed.subarray(0, CLEARSIGN_HEADER.length).equals(CLEARSIGN_HEADER)) {
    refuse('not a clearsigned document (it must start with "-----BEGIN PGP SIGNED MESSAGE-----")');
  }
  const maxPlaintextBytes = options.maxPlaintextBytes ?? signed.length;
  const homedir = await mkdtemp(join(tmpdir(), 'rbnet-gpgv-'));
  let run: GpgvRun;
  try {
    run = await runGpgv(options, homedir, maxPlaintextBytes);
  } finally {
    await rm(homedir, { recursive: true, force: true });
  }
  const lines = run.status
    .split('\n')
    .filter((line) => line.startsWith('[GNUPG:] '))
    .map((line) => line.slice('[GNUPG:] '.length).split(' '));
  const detail = (): string => {
    const last = run.stderr.trim().split('\n').slice(-3).join(' | ');
    return last === '' ? '' : ` (gpgv: ${last})`;
  };
  for (const [keyword, ...rest] of lines) {
    if (FATAL_STATUS.has(keyword ?? ''))
      refuse(`gpgv reported ${keyword} ${rest[0] ?? ''}`.trim() + detail());
  }
  const noPubkey = new Set(lines.filter(([k]) => k === 'NO_PUBKEY').map(([, keyId]) => keyId));
  for (const [keyword, keyId] of lines) {
    if (keyword === 'ERRSIG' && !noPubkey.has(keyId)) {
      refuse(`gpgv could not check the signature by ${keyId}${detail()}`);
    }
  }
  if (lines.filter(([k]) => k === 'PLAINTEXT').length !== 1) {
    refuse('the document must hold exactly one signed message');
  }
  const goodCount = lines.filter(([k]) => k === 'GOODSIG').length;
  const signatures: GpgvSignature[] = lines
    .filter(([k]) => k === 'VALIDSIG')
    .map((fields) => {
      const fingerprint = fields[1] ?? '';
      const primaryKeyFingerprint = fields[10] ?? fingerprint;
      if (!FINGERPRINT.test(fingerprint) || !FINGERPRINT.test(primaryKeyFingerprint)) {
        refuse('gpgv printed a malformed VALIDSIG line');
      }
      return Object.freeze({ fingerprint, primaryKeyFingerprint });
    });
  if (signatures.length === 0 || goodCount !== signatures.length) {
    refuse(`no good signature by a key in ${options.keyringPath}${detail()}`);
  }
  const onlyUnknownKeys = noPubkey.size > 0 && run.exitCode === 2;
  if (run.signal !== null || (run.exitCode !== 0 && !onlyUnknownKeys)) {
    refuse(`gpgv exited with ${run.signal ?? `code ${run.exitCode}`}${detail()}`);
  }
  return Object.freeze({
    plaintext: run.stdout,
    signatures: Object.freeze(signatures),
    fingerprints: Object.freeze([...new Set(signatures.map((s) => s.primaryKeyFingerprint))]),
  });
}
