// The bundle a consumer carries to verify offline: the consensus attestation, and C2SP tlog-proofs
// (each with its logged entry in `extra`) of the verdict that names it and of every result that
// verdict considered, all under cosigned checkpoints. One JSON file; every part re-checked on use.
import { sha256Hex } from '../digest.ts';
import { parseStrictJson } from '../strict-json.ts';
import { type LogEntry, parseLogEntry, RESULT_ENTRY, VERDICT_ENTRY } from './log-entry.ts';
import { TlogError } from './tlog-errors.ts';
import { maxTlogProofBytes, parseTlogProof, type TlogProof } from './tlog-proof.ts';

export const RBNET_BUNDLE_MEDIA_TYPE = 'application/vnd.rbnet.bundle.v1+json';
/** Largest bundle read: the consensus attestation's 64 MiB cap plus proofs. */
export const maxBundleBytes = 80 * 1024 * 1024;
/** Most result proofs one bundle may carry (the attestation embeds at most 256 envelopes). */
export const maxBundleResults = 1024;

export interface RbnetBundle {
  readonly mediaType: typeof RBNET_BUNDLE_MEDIA_TYPE;
  /** The consensus attestation's DSSE envelope, exactly as signed and served. */
  readonly consensusEnvelope: string;
  /** tlog-proof of the verdict entry whose consensusEnvelopeSha256 is this envelope's digest. */
  readonly verdictProof: string;
  /** tlog-proofs of the result entries the verdict lists. */
  readonly resultProofs: readonly string[];
}

export interface BundleProof {
  readonly proof: TlogProof & { readonly note: ReturnType<typeof parseTlogProof>['note'] };
  readonly entryBytes: Uint8Array;
  readonly entry: LogEntry;
}

export function formatBundle(bundle: Omit<RbnetBundle, 'mediaType'>): string {
  return `${JSON.stringify(
    {
      mediaType: RBNET_BUNDLE_MEDIA_TYPE,
      consensusEnvelope: bundle.consensusEnvelope,
      verdictProof: bundle.verdictProof,
      resultProofs: bundle.resultProofs,
    },
    null,
    2,
  )}\n`;
}

/**
 * Puts a bundle together from a consensus attestation and tlog-proofs in any order: the one proof
 * of a verdict naming the attestation, and the proofs of results. Checks what `parseBundle` checks.
 * @throws TlogError BUNDLE_INVALID naming the proof that does not fit.
 */
export function assembleBundle(consensusEnvelope: string, proofs: readonly string[]): string {
  const parsed = proofs.map((text, i) => ({ text, parsed: bundleProof(text, `proof ${i + 1}`) }));
  const verdicts = parsed.filter((p) => p.parsed.entry.type === VERDICT_ENTRY);
  const digest = sha256Hex(consensusEnvelope);
  const verdict = verdicts.filter(
    (p) => p.parsed.entry.type === VERDICT_ENTRY && p.parsed.entry.consensusEnvelopeSha256 === digest,
  );
  if (verdict.length !== 1)
    throw invalid(
      `expected exactly one proof of a verdict naming the attestation sha256:${digest}, got ${verdict.length} (of ${verdicts.length} verdict proofs)`,
    );
  const others = parsed.filter((p) => p.parsed.entry.type !== VERDICT_ENTRY);
  const bundle = formatBundle({
    consensusEnvelope,
    verdictProof: verdict[0]!.text,
    resultProofs: others.map((p) => p.text),
  });
  parseBundle(bundle);
  return bundle;
}

/**
 * Parses an untrusted bundle: size, strict JSON, shape; then every proof (with an entry in `extra`)
 * and entry. Signatures, checkpoints and inclusion are checked by verifyBundle, not here.
 * @throws TlogError BUNDLE_INVALID naming the field (or the proof's own code).
 */
export function parseBundle(
  bytes: Uint8Array | string,
): RbnetBundle & { readonly verdict: BundleProof; readonly results: readonly BundleProof[] } {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.length;
  if (size > maxBundleBytes)
    throw invalid(`the bundle is ${size} bytes, over the ${maxBundleBytes}-byte limit`);
  let value: unknown;
  try {
    value = parseStrictJson(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'), {
      maxDepth: 3,
    });
  } catch (cause) {
    throw new TlogError('BUNDLE_INVALID', `the bundle is not strict JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid('the bundle must be a JSON object');
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!['mediaType', 'consensusEnvelope', 'verdictProof', 'resultProofs'].includes(key))
      throw invalid(`unknown field ${JSON.stringify(key)}`);
  if (o.mediaType !== RBNET_BUNDLE_MEDIA_TYPE)
    throw invalid(`$.mediaType must be ${RBNET_BUNDLE_MEDIA_TYPE}`);
  if (typeof o.consensusEnvelope !== 'string')
    throw invalid('$.consensusEnvelope must be the envelope JSON as a string');
  if (typeof o.verdictProof !== 'string') throw invalid('$.verdictProof must be a tlog-proof');
  if (
    !Array.isArray(o.resultProofs) ||
    o.resultProofs.length > maxBundleResults ||
    o.resultProofs.some((p) => typeof p !== 'string')
  )
    throw invalid(`$.resultProofs must be an array of at most ${maxBundleResults} tlog-proofs`);
  const verdict = bundleProof(o.verdictProof, '$.verdictProof');
  if (verdict.entry.type !== VERDICT_ENTRY)
    throw invalid('$.verdictProof: the logged entry is not a verdict');
  if (verdict.entry.consensusEnvelopeSha256 !== sha256Hex(o.consensusEnvelope))
    throw invalid(
      '$.verdictProof: the logged verdict names another consensus attestation than $.consensusEnvelope',
    );
  const results = (o.resultProofs as string[]).map((text, i) => {
    const proof = bundleProof(text, `$.resultProofs[${i}]`);
    if (proof.entry.type !== RESULT_ENTRY)
      throw invalid(`$.resultProofs[${i}]: the logged entry is not a result`);
    return proof;
  });
  return Object.freeze({
    mediaType: RBNET_BUNDLE_MEDIA_TYPE,
    consensusEnvelope: o.consensusEnvelope,
    verdictProof: o.verdictProof,
    resultProofs: Object.freeze([...(o.resultProofs as string[])]),
    verdict,
    results: Object.freeze(results),
  });
}

/** Parses one tlog-proof of an rbnet entry (the entry's bytes in `extra`). */
export function bundleProof(text: string, field: string): BundleProof {
  if (Buffer.byteLength(text, 'utf8') > maxTlogProofBytes)
    throw invalid(`${field}: over ${maxTlogProofBytes} bytes`);
  let proof: ReturnType<typeof parseTlogProof>;
  let entry: LogEntry;
  try {
    proof = parseTlogProof(text);
    if (proof.extra === undefined) throw invalid('no extra line: rbnet proofs carry the logged entry there');
    entry = parseLogEntry(proof.extra);
  } catch (cause) {
    throw new TlogError('BUNDLE_INVALID', `${field}: ${(cause as Error).message}`, { cause });
  }
  return Object.freeze({ proof, entryBytes: proof.extra!, entry });
}

function invalid(message: string): TlogError {
  return new TlogError('BUNDLE_INVALID', message);
}
