// Where a build's resources live: the links every answer about a build carries.
import { object, text, type WireType } from './wire-type.ts';

export interface BuildLinks {
  readonly self: string;
  readonly attestation: string;
  readonly divergence: string;
  /** The build's transparency-log entries with their indexes (each proof at /v1/log/proofs/N). */
  readonly logEntries?: string;
  /** The offline bundle: the consensus attestation with its tlog-proofs. */
  readonly bundle?: string;
}

const path = text({ maxLength: 256, minLength: 1, characters: 'printable' });

export const buildLinksType: WireType<BuildLinks> = object(
  { self: path, attestation: path, divergence: path },
  { logEntries: path, bundle: path },
  { unknown: 'ignore' },
);

/** The links of build `buildId` (paths on the coordinator). */
export function buildLinksFor(buildId: string): BuildLinks {
  return Object.freeze({
    self: `/v1/builds/${buildId}`,
    attestation: `/v1/builds/${buildId}/attestation`,
    divergence: `/v1/builds/${buildId}/divergence`,
    logEntries: `/v1/builds/${buildId}/log-entries`,
    bundle: `/v1/builds/${buildId}/bundle`,
  });
}
