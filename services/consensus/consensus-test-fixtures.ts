// Test fixtures for the consensus core: keys, signed rebuild envelopes and trust policy documents.
// Used only by *.test.ts beside it; real keys and envelopes, never mocks of our own crypto.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { securesystemslibKeyid } from '../attestation/ed25519-key.ts';
import type { DebianSourceFact, RebuildFacts } from '../attestation/rebuild-statement.ts';
import { type SignedRebuildStatement, signRebuildStatement } from '../attestation/sign-rebuild-statement.ts';
import { Ed25519FileSigner } from '../attestation/signer.ts';
import { verifyRebuildAttestation } from '../attestation/verify-rebuild-attestation.ts';
import { type Sha256Hex, sha256Hex } from '../digest.ts';
import type { ParsedManifest } from '../manifest/manifest.ts';
import type { BuiltConsensusResult } from './decide-verdict.ts';

export const digestOf = (label: string): Sha256Hex => sha256Hex(label);

export interface TestKey {
  readonly signer: Ed25519FileSigner;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  readonly keyid: string;
}

export function newKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    signer: Ed25519FileSigner.fromKeyObject(privateKey),
    publicKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }) as string,
    keyid: securesystemslibKeyid(publicKey),
  };
}

// Built by hand: only name and digest are read when signing.
export function manifestFor(name: string): ParsedManifest {
  return {
    manifest: { name },
    manifestSha256: digestOf(`manifest ${name}`),
    canonicalJson: '{}',
  } as unknown as ParsedManifest;
}

export const HELLO = manifestFor('hello');
export const DEB = { path: 'hello_1.0_amd64.deb', sha256: digestOf('deb bytes'), sizeBytes: 2048 } as const;
export const DBGSYM = {
  path: 'hello-dbgsym_1.0_amd64.deb',
  sha256: digestOf('dbgsym bytes'),
  sizeBytes: 512,
} as const;

export interface RebuildOptions {
  readonly operator: string;
  readonly workerId?: string;
  readonly manifest?: ParsedManifest;
  readonly outputs?: RebuildFacts['outputs'];
  readonly origin?: 'built-locally' | 'fetched';
  readonly inputs?: RebuildFacts['inputs'];
  readonly jobId?: string;
  /** Makes it a Debian rebuild's statement signing this source fact. */
  readonly debianSource?: DebianSourceFact;
}

let jobs = 0;

export function rebuildFacts(options: RebuildOptions): RebuildFacts {
  const workerId = options.workerId ?? `${options.operator}-w1`;
  jobs++;
  return {
    manifest: options.manifest ?? HELLO,
    outputs: options.outputs ?? [DEB, DBGSYM],
    environment: { imageSha256: digestOf('bookworm rootfs'), origin: options.origin ?? 'built-locally' },
    inputs: options.inputs ?? [{ path: 'hello_1.0.tar.gz', sha256: digestOf('source') }],
    log: { sha256: digestOf(`log ${options.operator} ${jobs}`), sizeBytes: 100 + jobs, truncated: false },
    worker: {
      id: workerId,
      operator: options.operator,
      builderUri: `https://rbnet.dev/worker/${options.operator}/${workerId}`,
    },
    timing: { startedOn: new Date('2025-01-31T12:00:00Z'), finishedOn: new Date('2025-01-31T12:01:00Z') },
    host: {
      kernelVersion: '6.1.0',
      cpuCount: 2,
      engineVersion: '20.10.24',
      storageDriver: 'btrfs',
      clockUtc: '2025-01-31T12:00:00.000Z',
      rbnetVersion: '0.1.0',
    },
    job: { jobId: options.jobId ?? `job-${jobs}`, attempt: 0, nonce: `nonce-${jobs}` },
    ...(options.debianSource && {
      debian: {
        imageSha256: digestOf('debian image'),
        extraPackages: ['fakeroot:amd64=1.31-1.2'],
        packageCount: 40,
        source: options.debianSource,
      },
    }),
  };
}

export function signRebuild(key: TestKey, options: RebuildOptions): Promise<SignedRebuildStatement> {
  return signRebuildStatement(rebuildFacts(options), key.signer);
}

/** What the coordinator's intake makes of an envelope: verified against the enrolled key, operator as enrolled. */
export function intake(envelopeJson: string, key: TestKey, operator: string): BuiltConsensusResult {
  const verified = verifyRebuildAttestation(envelopeJson, [key.publicKey]);
  return {
    kind: 'built',
    operator,
    workerId: verified.worker.id,
    keyid: verified.keyid,
    jobId: verified.job?.jobId ?? '',
    attempt: verified.job?.attempt ?? 0,
    manifestSha256: verified.manifestSha256,
    environment: { sha256: verified.environment.sha256, origin: verified.environment.origin },
    inputs: verified.inputs,
    outputs: verified.outputs,
    envelopeSha256: sha256Hex(Buffer.from(envelopeJson, 'utf8')),
    log: { sha256: verified.log.sha256, sizeBytes: verified.log.sizeBytes },
  };
}

export interface PolicyDocumentOptions {
  readonly operators: readonly { readonly name: string; readonly keys: readonly TestKey[] }[];
  readonly threshold: number;
  readonly allowFetchedEnvironments?: boolean;
  readonly coordinatorKeys?: readonly TestKey[];
  readonly expires?: string;
}

/** A trust policy document as a consumer would write it. */
export function policyDocument(options: PolicyDocumentOptions): Record<string, unknown> {
  const pin = (key: TestKey) => ({ keyid: key.keyid, publicKeyPem: key.publicKeyPem });
  return {
    schema: 'rbnet.trust-policy/v1',
    operators: options.operators.map((operator) => ({ name: operator.name, keys: operator.keys.map(pin) })),
    threshold: options.threshold,
    ...(options.allowFetchedEnvironments !== undefined && {
      allowFetchedEnvironments: options.allowFetchedEnvironments,
    }),
    ...(options.coordinatorKeys !== undefined && { coordinatorKeys: options.coordinatorKeys.map(pin) }),
    expires: options.expires ?? '2027-01-01T00:00:00Z',
  };
}

/** A time well before the fixtures' default expiry. */
export const NOW = new Date('2026-01-01T00:00:00Z');
