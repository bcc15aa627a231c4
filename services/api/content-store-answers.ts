// The wire contracts of the content store's admin and upload answers: PUT /v1/cas/sha256/:digest and
// POST /v1/admin/gc.
import type { Sha256Hex } from '../digest.ts';
import {
  arrayOf,
  boolean,
  constant,
  integer,
  object,
  sha256,
  text,
  timestamp,
  type WireType,
} from './wire-type.ts';

/** What an upload answers: 201 when it stored the blob, 200 when it was already there. */
export interface BlobUploadAnswer {
  readonly sha256: Sha256Hex;
  readonly sizeBytes: number;
  readonly created: boolean;
}

/** `{ "dryRun"?: boolean }`. */
export interface GarbageCollectionRequest {
  readonly dryRun?: boolean;
}

export interface CollectedBlobView {
  readonly sha256: Sha256Hex;
  readonly sizeBytes: number;
  /** Principals it was charged to, e.g. `maintainer:mallory`. */
  readonly owners: readonly string[];
  readonly lastWantedAt: string;
  /** The file was already gone. */
  readonly missing?: true;
}

export interface GarbageCollectionAnswer {
  readonly dryRun: boolean;
  readonly graceMs: number;
  readonly cutoff: string;
  readonly removed: readonly CollectedBlobView[];
  readonly freedBytes: number;
  readonly kept: number;
  readonly more: boolean;
}

const answer = { unknown: 'ignore' } as const;
const bytes = integer({ minimum: 0 });

export const blobUploadAnswerType: WireType<BlobUploadAnswer> = object(
  { sha256: sha256(), sizeBytes: bytes, created: boolean('false: already present, nothing charged') },
  {},
  answer,
);

export const garbageCollectionRequestType: WireType<GarbageCollectionRequest> = object(
  {},
  { dryRun: boolean('report, remove nothing') },
);

export const garbageCollectionAnswerType: WireType<GarbageCollectionAnswer> = object(
  {
    dryRun: boolean(),
    graceMs: integer({ minimum: 0 }),
    cutoff: timestamp(),
    removed: arrayOf(
      object(
        {
          sha256: sha256(),
          sizeBytes: bytes,
          owners: arrayOf(text({ maxLength: 256, characters: 'printable' }), { maxItems: 1024 }),
          lastWantedAt: timestamp(),
        },
        { missing: constant(true) },
        answer,
      ),
      { maxItems: 1_000_000 },
    ),
    freedBytes: bytes,
    kept: integer({ minimum: 0, description: 'candidates wanted or referenced while the pass ran' }),
    more: boolean('the pass stopped at gc.maxBlobsPerPass'),
  },
  {},
  answer,
);
