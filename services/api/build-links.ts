// Where a build's resources live: the links every answer about a build carries.
import { object, text, type WireType } from './wire-type.ts';

export interface BuildLinks {
  readonly self: string;
  readonly attestation: string;
  readonly divergence: string;
}

const path = text({ maxLength: 256, minLength: 1, characters: 'printable' });

export const buildLinksType: WireType<BuildLinks> = object(
  { self: path, attestation: path, divergence: path },
  {},
  { unknown: 'ignore' },
);

/** The links of build `buildId` (paths on the coordinator). */
export function buildLinksFor(buildId: string): BuildLinks {
  return Object.freeze({
    self: `/v1/builds/${buildId}`,
    attestation: `/v1/builds/${buildId}/attestation`,
    divergence: `/v1/builds/${buildId}/divergence`,
  });
}
