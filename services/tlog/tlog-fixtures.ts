// Test fixtures for the transparency log: real Ed25519 log and witness keys, a log in memory, its
// checkpoints cosigned by witnesses, and policies naming them. Real crypto, never mocks of our own.
import { generateKeyPairSync } from 'node:crypto';
import { Ed25519FileSigner } from '../attestation/signer.ts';
import { type Cosigner, ed25519Cosigner } from './cosignature.ts';
import { type Ed25519NoteSigner, ed25519NoteSigner } from './note-keys.ts';
import { formatSignatureLine, parseSignedNote } from './signed-note.ts';
import { MemoryTileStorage } from './tile-storage.ts';
import { MemoryLogHeadStore, TransparencyLog } from './transparency-log.ts';

export function newLogSigner(origin: string): Ed25519NoteSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return ed25519NoteSigner(origin, Ed25519FileSigner.fromKeyObject(privateKey), publicKey);
}

export function newCosigner(name: string): Cosigner {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return ed25519Cosigner(name, Ed25519FileSigner.fromKeyObject(privateKey), publicKey);
}

export async function memoryLog(origin: string, signer = newLogSigner(origin)) {
  const tiles = new MemoryTileStorage();
  const log = await TransparencyLog.open({ origin, signer, tiles, heads: new MemoryLogHeadStore() });
  return { log, signer, tiles };
}

/** Adds each witness's cosignature at `timestampSeconds` to a signed checkpoint. */
export async function cosign(
  checkpointNote: string,
  witnesses: readonly Cosigner[],
  timestampSeconds: number,
): Promise<string> {
  const { text } = parseSignedNote(checkpointNote);
  const lines = await Promise.all(
    witnesses.map(async (w) =>
      formatSignatureLine({
        name: w.name,
        keyHash: w.keyHash,
        signature: await w.cosign(text, timestampSeconds),
      }),
    ),
  );
  return `${checkpointNote}${lines.join('')}`;
}

/** A tlog policy text: the log, each witness by its own name, and the quorum line. */
export function tlogPolicyText(options: {
  readonly logVkey: string;
  readonly witnesses: readonly Cosigner[];
  readonly quorum: string;
  readonly maxAge?: string;
  readonly extra?: readonly string[];
}): string {
  return [
    `log ${options.logVkey}`,
    ...options.witnesses.map((w) => `witness ${w.name} ${w.vkey}`),
    ...(options.extra ?? []),
    `quorum ${options.quorum}`,
    ...(options.maxAge ? [`max-checkpoint-age ${options.maxAge}`] : []),
  ].join('\n');
}
