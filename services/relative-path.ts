// The one rule for a relative path rbnet names on the wire: manifest paths (inputs, outputDir,
// claimed outputs) and the output files a worker captures, signs and reports. A name that breaks it
// is refused whole, never rewritten, so what is signed is exactly what the build made.

export const MAX_RELATIVE_PATH_CHARS = 255;
export const MAX_RELATIVE_PATH_SEGMENTS = 32;
/** Control characters (newline included) and the backslash, a path separator to Windows consumers. */
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f\\]/;
/** What tar decoding puts in place of bytes that are not UTF-8; kept, two such names would collide. */
const REPLACEMENT_CHAR = '\ufffd';

export const EXPECT_RELATIVE_PATH =
  `a relative normalised POSIX path (no leading "/", no "." or ".." or empty segment, ` +
  `no backslash or control character, at most ${MAX_RELATIVE_PATH_CHARS} characters and ${MAX_RELATIVE_PATH_SEGMENTS} segments)`;

/** Why `value` is not a relative path rbnet accepts (a phrase that follows "which"), or undefined. */
export function relativePathProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (value.length > MAX_RELATIVE_PATH_CHARS) return `is longer than ${MAX_RELATIVE_PATH_CHARS} characters`;
  if (value.startsWith('/')) return 'is absolute';
  if (FORBIDDEN_CHARS.test(value)) return 'contains a backslash or control character';
  const segments = value.split('/');
  if (segments.length > MAX_RELATIVE_PATH_SEGMENTS) {
    return `has more than ${MAX_RELATIVE_PATH_SEGMENTS} segments`;
  }
  return segmentProblem(segments);
}

/** Why one of `segments` is empty, "." or "..", or undefined. */
export function segmentProblem(segments: readonly string[]): string | undefined {
  for (const segment of segments) {
    if (segment === '') return 'has an empty segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
  }
  return undefined;
}

/**
 * Why an output file name a build produced cannot be signed, or undefined. The relative-path rule,
 * and the name must have been valid UTF-8: a decoder's U+FFFD would make the attestation name a
 * file the build never made, and two different invalid names identical.
 */
export function outputPathProblem(name: string): string | undefined {
  if (name.includes(REPLACEMENT_CHAR)) {
    return 'is not valid UTF-8 (or contains U+FFFD): it cannot be named exactly in an attestation';
  }
  return relativePathProblem(name);
}
