// A worker's identity on its own host: id, operator and signing key. The private key never leaves
// this directory; only the public key and keyid are ever shown or sent.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateEd25519KeyFiles } from '../../services/attestation/ed25519-key.ts';
import { Ed25519FileSigner } from '../../services/attestation/signer.ts';
import { ConfigError } from '../../services/errors.ts';
import { accountNameRule, isAccountName } from '../../services/identifiers.ts';

export interface WorkerIdentity {
  readonly id: string;
  readonly operator: string;
  /** URI written as the SLSA builder id. */
  readonly builderUri: string;
}

export interface LoadedWorkerIdentity {
  readonly identity: WorkerIdentity;
  readonly signer: Ed25519FileSigner;
  readonly publicKeyPath: string;
}

const IDENTITY_FILE = 'worker.json';
const PRIVATE_KEY_FILE = 'worker-signing.key';

export function builderUriFor(operator: string, id: string): string {
  return `https://rbnet.dev/worker/${operator}/${id}`;
}

function checkName(value: unknown, field: string): string {
  if (!isAccountName(value)) {
    throw new ConfigError('CONFIG_INVALID', `${field}: expected ${accountNameRule.expected}`);
  }
  return value;
}

/** Creates the identity and key pair in `workerDir` (refuses if one exists). */
export async function initWorkerIdentity(
  workerDir: string,
  names: { operator: string; id: string },
): Promise<LoadedWorkerIdentity> {
  const operator = checkName(names.operator, 'operator');
  const id = checkName(names.id, 'worker id');
  await mkdir(workerDir, { recursive: true, mode: 0o700 });
  const keys = await generateEd25519KeyFiles(join(workerDir, PRIVATE_KEY_FILE));
  const identity: WorkerIdentity = { id, operator, builderUri: builderUriFor(operator, id) };
  await writeFile(
    join(workerDir, IDENTITY_FILE),
    `${JSON.stringify({ ...identity, keyid: keys.keyid }, null, 2)}\n`,
    {
      flag: 'wx',
      mode: 0o644,
    },
  );
  return loadWorkerIdentity(workerDir);
}

/** Loads identity and signer; the key file must be mode 0600. */
export async function loadWorkerIdentity(workerDir: string): Promise<LoadedWorkerIdentity> {
  const path = join(workerDir, IDENTITY_FILE);
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${path}: no worker identity here; create one with \`rbnet worker init --operator NAME\``,
      { cause },
    );
  }
  const operator = checkName(record.operator, `${path}: operator`);
  const id = checkName(record.id, `${path}: id`);
  const signer = await Ed25519FileSigner.fromFile(join(workerDir, PRIVATE_KEY_FILE));
  return {
    identity: Object.freeze({ id, operator, builderUri: builderUriFor(operator, id) }),
    signer,
    publicKeyPath: join(workerDir, `${PRIVATE_KEY_FILE}.pub`),
  };
}

/**
 * A worker id for an identity created on first use by `rbnet rebuild` alone: `local-` and 8 random
 * hex digits, never one fixed id, so two machines' (or two directories') local workers never share
 * an id. Kept in worker.json, so one worker directory keeps one id.
 */
export function newLocalWorkerId(): string {
  return `local-${randomBytes(4).toString('hex')}`;
}

/** Loads the identity, creating one for `fallbackOperator` on first use (handy for `rbnet rebuild` alone). */
export async function loadOrInitWorkerIdentity(
  workerDir: string,
  fallback: { operator: string; id: string },
): Promise<{ loaded: LoadedWorkerIdentity; created: boolean }> {
  try {
    await readFile(join(workerDir, IDENTITY_FILE));
  } catch {
    return { loaded: await initWorkerIdentity(workerDir, fallback), created: true };
  }
  return { loaded: await loadWorkerIdentity(workerDir), created: false };
}
