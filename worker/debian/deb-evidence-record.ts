// One record of the worker's evidence store (records/<name>/<version>_<arch>_<sha256>.json): which
// .deb was verified, against which signed Release and index, and where they came from. Read back like
// any other input: size, then shape, then meaning. Also what the store keeps and finds, per .deb.
import type { ArchivePackage } from '../../services/debian/archive-indexes.ts';
import { isDebianPackageName, parseDebianVersion } from '../../services/debian/debian-version.ts';
import type { PackageOrigin } from '../../services/debian/package-sources.ts';
import { isSnapshotTimestamp } from '../../services/debian/snapshot-api.ts';
import { isSha256Hex, type Sha256Hex } from '../../services/digest.ts';
import { ArchiveError } from '../../services/errors.ts';
import { parseStrictJson } from '../../services/strict-json.ts';

export const EVIDENCE_RECORD_SCHEMA = 'rbnet.deb-evidence/v1';
const ARCHITECTURE = /^[a-z0-9][a-z0-9-]*$/;
const SUITE = /^[a-z0-9][a-z0-9.-]*$/;
const INDEX_PATH = /^[a-z0-9][a-z0-9-]*\/binary-[a-z0-9-]+\/Packages\.xz$/;

export interface EvidenceRecord {
  readonly schema: typeof EVIDENCE_RECORD_SCHEMA;
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly sha256: Sha256Hex;
  readonly size: number;
  /** The index paragraph exactly as it was listed when first verified. */
  readonly stanza: string;
  readonly from: 'mirror' | 'snapshot';
  readonly archive: string;
  readonly suite: string;
  readonly snapshotTimestamp?: string;
  readonly releaseSha256: Sha256Hex;
  readonly indexPath: string;
  readonly indexSha256: Sha256Hex;
  readonly indexSize: number;
  readonly firstVerifiedAt: string;
}

/** A refusal of kept evidence, naming it. */
export function refuseEvidence(what: string, message: string): ArchiveError {
  return new ArchiveError('ARCHIVE_INDEX', `kept evidence ${what}: ${message}`);
}

/** Parses a record file: our own disk, but read like any other input (size, shape, meaning). */
export function parseEvidenceRecord(bytes: Buffer, what: string, maxBytes: number): EvidenceRecord {
  if (bytes.length > maxBytes) throw refuseEvidence(what, 'record too large');
  const value = parseStrictJson(bytes.toString('utf8')) as Record<string, unknown>;
  const str = (field: string, test: (v: string) => boolean): string => {
    const v = value[field];
    if (typeof v !== 'string' || !test(v))
      throw refuseEvidence(what, `record field ${field} is not accepted`);
    return v;
  };
  const int = (field: string): number => {
    const v = value[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      throw refuseEvidence(what, `record field ${field} is not a size`);
    return v;
  };
  if (value.schema !== EVIDENCE_RECORD_SCHEMA) throw refuseEvidence(what, 'record schema is not accepted');
  const from = str('from', (v) => v === 'mirror' || v === 'snapshot') as 'mirror' | 'snapshot';
  const snapshotTimestamp = value.snapshotTimestamp;
  if (snapshotTimestamp !== undefined && !isSnapshotTimestamp(snapshotTimestamp))
    throw refuseEvidence(what, 'record field snapshotTimestamp is not accepted');
  return {
    schema: EVIDENCE_RECORD_SCHEMA,
    name: str('name', isDebianPackageName),
    version: str('version', (v) => parseDebianVersion(v, 'version').text === v),
    architecture: str('architecture', (v) => ARCHITECTURE.test(v)),
    sha256: str('sha256', isSha256Hex) as Sha256Hex,
    size: int('size'),
    stanza: str('stanza', (v) => v.length > 0),
    from,
    archive: str('archive', (v) => /^https?:\/\/\S+$/.test(v)),
    suite: str('suite', (v) => SUITE.test(v)),
    ...(snapshotTimestamp === undefined ? {} : { snapshotTimestamp }),
    releaseSha256: str('releaseSha256', isSha256Hex) as Sha256Hex,
    indexPath: str('indexPath', (v) => INDEX_PATH.test(v)),
    indexSha256: str('indexSha256', isSha256Hex) as Sha256Hex,
    indexSize: int('indexSize'),
    firstVerifiedAt: str('firstVerifiedAt', (v) => !Number.isNaN(Date.parse(v))),
  };
}

/** What was kept for one verified .deb: the signed index that listed it, and where that came from. */
export interface DebEvidenceSource {
  readonly pkg: ArchivePackage;
  /** `mirror` or `snapshot`: how the worker first reached the signed index. */
  readonly from: 'mirror' | 'snapshot';
  readonly archive: string;
  readonly suite: string;
  readonly snapshotTimestamp?: string;
  /** The verified InRelease exactly as fetched. */
  readonly inRelease: Buffer;
  /** The compressed index the Release lists, as a verified file, its path below `dists/<suite>/` and digest. */
  readonly indexPath: string;
  readonly indexDigest: { readonly size: number; readonly sha256: Sha256Hex };
  readonly indexFile: string;
}

/** A package verified again from kept evidence. */
export interface FoundEvidence {
  /** The package as the kept, re-verified index lists it. */
  readonly pkg: ArchivePackage;
  /** `from: 'evidence'`, with the archive, suite, release and timestamp of the kept signed index. */
  readonly origin: PackageOrigin;
  /** The kept .deb, re-hashed just now. */
  readonly debPath: string;
}
