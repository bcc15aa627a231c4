// The Debian rebuild manifest (rbnet.debian/v1): a .buildinfo by digest plus where its source comes
// from. The .buildinfo is the record; this document only pins it and states what the publisher claims.
import type { Sha256Hex } from '../digest.ts';
import type { ClaimedOutput, ManifestResources } from './manifest.ts';

export const DEBIAN_MANIFEST_SCHEMA_V1 = 'rbnet.debian/v1';

/** Source files named by a .dsc the submitter supplied, each pinned by sha256 and held in the content store. */
export interface DebianSourceFiles {
  readonly from: 'files';
  /** File name of the .dsc among `files`. */
  readonly dsc: string;
  readonly files: readonly { readonly name: string; readonly sha256: Sha256Hex }[];
}

/** Each worker fetches the source by name and version from its configured archive and checks it against the signed Sources index. */
export interface DebianSourceFromArchive {
  readonly from: 'archive';
}

export interface DebianManifest {
  readonly schema: typeof DEBIAN_MANIFEST_SCHEMA_V1;
  /** Source package name (the .buildinfo's Source). */
  readonly name: string;
  /** Version of the binaries (the .buildinfo's Version, epoch included). */
  readonly version: string;
  /** Build-Architecture of the .buildinfo, e.g. "amd64": the workers' own architecture. */
  readonly architecture: string;
  readonly backend: 'debian';
  /** sha256 of the .buildinfo bytes exactly as submitted (clearsigned or plain); held in the content store. */
  readonly buildinfoSha256: Sha256Hex;
  readonly source: DebianSourceFiles | DebianSourceFromArchive;
  /** Every non-dbgsym .deb of the .buildinfo's Checksums-Sha256: what the archive published. */
  readonly claimedOutputs: readonly ClaimedOutput[];
  /** Wall-time limit the submitter asks for, seconds; the worker's own cap may be lower. */
  readonly timeLimitSeconds: number;
  readonly resources: ManifestResources;
}

/** A parsed Debian manifest plus its identity (sha256 of its JCS canonical form). */
export interface ParsedDebianManifest {
  readonly manifest: DebianManifest;
  readonly manifestSha256: Sha256Hex;
  readonly canonicalJson: string;
}
