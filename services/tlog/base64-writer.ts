// Standard base64 (RFC 4648 §4, padded) written straight into a byte buffer: a proof is assembled in
// one buffer, and encoding its hashes as strings first (one native call and one string each) was a
// fifth of a cached proof's cost.

const ALPHABET = Uint8Array.from(
  Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1'),
);
const PAD = 0x3d; // '='

/** The length of the base64 text of `byteLength` bytes. */
export function base64Length(byteLength: number): number {
  return Math.ceil(byteLength / 3) * 4;
}

/**
 * Writes the base64 of `src[start, end)` into `out` at `at` (the caller sized `out`: see
 * {@link base64Length}); @returns where the text ends.
 */
export function writeBase64(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
): number {
  let i = start;
  for (; i + 3 <= end; i += 3) {
    const n = (src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!;
    out[at] = ALPHABET[n >>> 18]!;
    out[at + 1] = ALPHABET[(n >>> 12) & 63]!;
    out[at + 2] = ALPHABET[(n >>> 6) & 63]!;
    out[at + 3] = ALPHABET[n & 63]!;
    at += 4;
  }
  if (i < end) {
    const two = i + 1 < end;
    const n = (src[i]! << 16) | (two ? src[i + 1]! << 8 : 0);
    out[at] = ALPHABET[n >>> 18]!;
    out[at + 1] = ALPHABET[(n >>> 12) & 63]!;
    out[at + 2] = two ? ALPHABET[(n >>> 6) & 63]! : PAD;
    out[at + 3] = PAD;
    at += 4;
  }
  return at;
}
