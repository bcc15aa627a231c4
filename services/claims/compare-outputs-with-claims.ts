// Compares what a rebuild produced with the digests its publisher claimed: the question a
// maintainer asks first. A claimed file that is missing counts as a mismatch; extras are reported.
import type { Sha256Hex } from '../digest.ts';
import type { ClaimedOutput } from '../manifest/manifest.ts';

export interface OutputDigest {
  readonly path: string;
  readonly sha256: Sha256Hex;
}

export type ClaimComparison =
  | { readonly status: 'no-claim'; readonly extra: readonly string[] }
  | {
      readonly status: 'match' | 'mismatch';
      readonly matching: readonly string[];
      readonly differing: readonly {
        readonly path: string;
        readonly claimed: Sha256Hex;
        readonly rebuilt: Sha256Hex;
      }[];
      readonly missing: readonly string[];
      /** Outputs the publisher made no claim about: reported, never counted. */
      readonly extra: readonly string[];
    };

export function compareOutputsWithClaims(
  claims: readonly ClaimedOutput[],
  outputs: readonly OutputDigest[],
): ClaimComparison {
  const rebuilt = new Map(outputs.map((output) => [output.path, output.sha256]));
  const claimedPaths = new Set(claims.map((claim) => claim.path));
  const extra = outputs.map((output) => output.path).filter((path) => !claimedPaths.has(path));
  if (claims.length === 0) return { status: 'no-claim', extra };
  const matching: string[] = [];
  const differing: { path: string; claimed: Sha256Hex; rebuilt: Sha256Hex }[] = [];
  const missing: string[] = [];
  for (const claim of claims) {
    const digest = rebuilt.get(claim.path);
    if (digest === undefined) missing.push(claim.path);
    else if (digest === claim.sha256) matching.push(claim.path);
    else differing.push({ path: claim.path, claimed: claim.sha256, rebuilt: digest });
  }
  const status = differing.length === 0 && missing.length === 0 ? 'match' : 'mismatch';
  return { status, matching, differing, missing, extra };
}
