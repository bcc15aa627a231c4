// The one error base: every broken precondition in rbnet is an RbnetError with a stable `code`.
// Outcomes (a failed build, two workers that disagree) are values, never errors.

/** Base for every rbnet error. `code` is stable and is what tests, the CLI and HTTP mapping use. */
export class RbnetError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A manifest (or any strict JSON document) was refused; the message names the field. */
export class ManifestError extends RbnetError<'MANIFEST_INVALID' | 'MANIFEST_TOO_LARGE' | 'MANIFEST_JSON'> {}

/** A digest did not match what was recorded. */
export class DigestError extends RbnetError<'DIGEST_MISMATCH' | 'DIGEST_INVALID'> {}

/** An input named by a manifest could not be obtained or verified. */
export class InputError extends RbnetError<
  'INPUT_MISSING' | 'INPUT_DIGEST_MISMATCH' | 'INPUT_TOO_LARGE' | 'INPUT_PATH'
> {}

/** Signing keys, envelopes and statements. */
export class AttestationError extends RbnetError<
  | 'KEY_INVALID'
  | 'KEY_PERMISSIONS'
  | 'ENVELOPE_INVALID'
  | 'SIGNATURE_INVALID'
  | 'PAYLOAD_TYPE'
  | 'STATEMENT_INVALID'
  | 'KEY_MISMATCH'
> {}

/** The build environment (image) cannot be honoured exactly. */
export class EnvironmentError extends RbnetError<
  'ENVIRONMENT_MISSING' | 'ENVIRONMENT_MISMATCH' | 'ENVIRONMENT_REGISTRY'
> {}

/**
 * The container engine is missing, misconfigured or failed (an infrastructure error, not a build
 * failure). `BUILD_INTERRUPTED`: the build container was killed or removed by someone other than the
 * worker that ran it; the attempt is retried, never reported as a failed build.
 */
export class EngineError extends RbnetError<
  'ENGINE_UNREACHABLE' | 'ENGINE_INSECURE' | 'ENGINE_FAILED' | 'BUILD_INTERRUPTED'
> {}

/** Configuration could not be loaded; the message names the setting. */
export class ConfigError extends RbnetError<'CONFIG_INVALID'> {}

/** Command-line usage mistakes. */
export class UsageError extends RbnetError<'USAGE'> {}

/** Work stopped because the operator asked (SIGINT/SIGTERM) or the job was withdrawn. */
export class CancelledError extends RbnetError<'CANCELLED'> {}

/** A Debian control-format document (.buildinfo, .dsc, Release, Packages, Sources) was refused; `field` names the field. */
export class DebianFormatError extends RbnetError<'DEBIAN_FORMAT'> {
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('DEBIAN_FORMAT', `${field}: ${message}`, options);
  }
}

/**
 * A Debian archive could not be reached, or what it served failed signature, digest or size checks;
 * ARCHIVE_API: a snapshot archive's machine-readable API answered something malformed.
 */
export class ArchiveError extends RbnetError<
  | 'ARCHIVE_UNREACHABLE'
  | 'ARCHIVE_SIGNATURE'
  | 'ARCHIVE_INDEX'
  | 'ARCHIVE_DIGEST'
  | 'ARCHIVE_TOO_LARGE'
  | 'ARCHIVE_API'
> {}

/** Opening a .deb for the divergence report failed for a reason other than what the .deb holds. */
export class InspectionError extends RbnetError<'INSPECTION_FAILED' | 'INSPECTION_TIMEOUT'> {}

/**
 * A worker's result was refused, nothing recorded: `NOT_ASSIGNED` (no attempt of that worker has
 * this job id), `RESULT_REFUSED` (the envelope does not verify or does not answer that attempt),
 * `BLOBS_MISSING` (the log or an output was not uploaded first), `NOT_FOUND` (its build is gone).
 */
export class ResultRefusedError extends RbnetError<
  'NOT_ASSIGNED' | 'RESULT_REFUSED' | 'BLOBS_MISSING' | 'NOT_FOUND'
> {}

/**
 * A well-formed submission that cannot be built as it stands: `INPUTS_MISSING` (inputs not in the
 * content store yet), `INSUFFICIENT_OPERATORS` (fewer operators with an eligible worker than the
 * policy's threshold).
 */
export class SubmissionError extends RbnetError<'INPUTS_MISSING' | 'INSUFFICIENT_OPERATORS'> {}

/**
 * rbnet's own state broke a rule rbnet keeps (a bug, or a store changed behind its back). Never a
 * refusal of what a caller sent: the HTTP layer answers 500 and logs it in full.
 */
export class InvariantError extends RbnetError<'INVARIANT'> {}
