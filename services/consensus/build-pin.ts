// The consumer's pin: what a file must have been built from for a verification to pass (a manifest
// digest, a Debian source from the archive, or both), and the check of one verified statement against it.
import type { VerifiedRebuildAttestation } from '../attestation/verify-rebuild-attestation.ts';
import { isDebianPackageName, parseDebianVersion } from '../debian/debian-version.ts';
import { isSha256Hex, type Sha256Hex } from '../digest.ts';
import { DebianFormatError } from '../errors.ts';
import { PolicyError } from './consensus-errors.ts';

/**
 * What the consumer states the file was built from. At least one field is set; when both are, both
 * must hold. Checked only against what the workers signed, never against anything the coordinator says.
 */
export interface BuildPin {
  /** The manifest's identity (sha256 of its JCS form): the whole recipe, inputs and environment. */
  readonly manifestSha256?: Sha256Hex;
  /**
   * A Debian source package as the archive publishes it. Satisfied only by a statement whose worker
   * fetched that source (name and version) from its own signed archive; uploaded sources never are.
   */
  readonly debianSource?: { readonly name: string; readonly version: string };
}

/**
 * Builds a frozen pin from untrusted text (command-line flags): `manifestSha256` as 64 lowercase hex
 * (an optional `sha256:` prefix is accepted), `debianSource` as `NAME=VERSION` (apt's spelling).
 *
 * @throws PolicyError PIN_MISSING when neither is given; PIN_INVALID naming the bad one.
 */
export function parseBuildPin(input: {
  readonly manifestSha256?: string | undefined;
  readonly debianSource?: string | undefined;
}): BuildPin {
  const { manifestSha256, debianSource } = input;
  if (manifestSha256 === undefined && debianSource === undefined) {
    throw new PolicyError(
      'PIN_MISSING',
      'say what the file must have been built from: a manifest (--manifest FILE or --manifest-sha256 HEX) or a Debian source from the archive (--debian-source NAME=VERSION)',
    );
  }
  const pin: { manifestSha256?: Sha256Hex; debianSource?: { name: string; version: string } } = {};
  if (manifestSha256 !== undefined) {
    const hex = manifestSha256.startsWith('sha256:') ? manifestSha256.slice(7) : manifestSha256;
    if (!isSha256Hex(hex)) {
      throw new PolicyError('PIN_INVALID', 'manifest sha256: expected 64 lowercase hex characters');
    }
    pin.manifestSha256 = hex;
  }
  if (debianSource !== undefined) pin.debianSource = parseDebianSourcePin(debianSource);
  return Object.freeze(pin);
}

function parseDebianSourcePin(text: string): { name: string; version: string } {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  const version = eq < 0 ? '' : text.slice(eq + 1);
  if (eq < 0 || !isDebianPackageName(name)) {
    throw new PolicyError(
      'PIN_INVALID',
      `Debian source ${JSON.stringify(text.slice(0, 300))}: expected NAME=VERSION with a Debian source package name, e.g. hello=2.10-3`,
    );
  }
  try {
    parseDebianVersion(version, 'Debian source version');
  } catch (error) {
    if (error instanceof DebianFormatError) throw new PolicyError('PIN_INVALID', error.message);
    throw error;
  }
  return Object.freeze({ name, version });
}

/** The pin in words, e.g. `manifest sha256:… and Debian source hello 2.10-3 from the archive`. */
export function describeBuildPin(pin: BuildPin): string {
  const parts: string[] = [];
  if (pin.manifestSha256 !== undefined) parts.push(`manifest sha256:${pin.manifestSha256}`);
  if (pin.debianSource !== undefined)
    parts.push(`Debian source ${pin.debianSource.name} ${pin.debianSource.version} from the archive`);
  return parts.join(' and ');
}

/**
 * Why one verified statement does not satisfy `pin`, or undefined when it does. Reads only the
 * signed statement: its manifest digest, and the Debian source fact the worker signed.
 */
export function buildPinRefusal(attestation: VerifiedRebuildAttestation, pin: BuildPin): string | undefined {
  if (pin.manifestSha256 !== undefined && attestation.manifestSha256 !== pin.manifestSha256) {
    return `built from manifest sha256:${attestation.manifestSha256}, but you pinned manifest sha256:${pin.manifestSha256}`;
  }
  const wanted = pin.debianSource;
  if (wanted === undefined) return undefined;
  const signed = attestation.debianSource;
  if (signed === undefined) {
    return `the statement does not say which Debian source it was built from (not a Debian rebuild, or a worker too old to sign it), so it cannot show ${wanted.name} ${wanted.version} from the archive`;
  }
  if (signed.name !== wanted.name || signed.version !== wanted.version) {
    return `built from Debian source ${signed.name} ${signed.version}, but you pinned ${wanted.name} ${wanted.version}`;
  }
  if (signed.origin !== 'archive') {
    return `built from ${signed.name} ${signed.version} source files uploaded by the submitter, not fetched from the signed archive: an uploaded source never satisfies an archive pin`;
  }
  return undefined;
}
