// The generic rebuild manifest (rbnet.manifest/v1): the typed, frozen form a manifest takes after
// parse-manifest.ts has checked it. Everything a rebuild needs, nothing a worker may choose.
import type { Sha256Hex } from '../digest.ts';

export const MANIFEST_SCHEMA_V1 = 'rbnet.manifest/v1';

/** Where an input's bytes come from: a path relative to the manifest file, or the content store. Never a URL. */
export type InputLocation =
  | { readonly kind: 'path'; readonly relativePath: string }
  | { readonly kind: 'cas'; readonly sha256: Sha256Hex };

export interface ManifestInput {
  /** Destination inside the build path (relative, normalised, no `..`). */
  readonly path: string;
  readonly sha256: Sha256Hex;
  readonly location: InputLocation;
  /** File mode bits inside the container, e.g. 0o644 (default) or 0o755. */
  readonly mode: number;
}

export interface ManifestEnvironment {
  /** sha256 of the uncompressed single-layer rootfs tarball == the image's only layer diff ID. */
  readonly imageSha256: Sha256Hex;
  /** The complete environment besides the determinism variables below (which the runner sets). */
  readonly env: Readonly<Record<string, string>>;
  /** LANG and LC_ALL, e.g. "C.UTF-8". */
  readonly locale: string;
  /** TZ, e.g. "UTC". */
  readonly timezone: string;
  /** umask as a number, e.g. 0o022. */
  readonly umask: number;
  readonly uid: number;
  readonly gid: number;
  readonly hostname: string;
  /** Absolute path inside the container where inputs are placed and the build runs. */
  readonly buildPath: string;
  /** SOURCE_DATE_EPOCH, seconds since 1970-01-01T00:00:00Z. */
  readonly sourceDateEpoch: number;
}

export interface ManifestBuild {
  /** argv of the build command; argv[0] is an absolute path or a name resolved via env.PATH by the image's /bin/sh. */
  readonly argv: readonly string[];
  /** Working directory relative to buildPath ("." for buildPath itself). */
  readonly workingDir: string;
  /** Wall-time limit the publisher asks for, seconds; the worker's own cap may be lower. */
  readonly timeLimitSeconds: number;
}

/**
 * What a worker must at least have declared to be given the build. The scheduler compares these with
 * each worker's enrolled capacity; a field left out places no requirement.
 */
export interface ManifestResources {
  /** Fewest CPU cores, 1..1024. */
  readonly minCores?: number;
  /** Least memory in bytes, 1..2^50. */
  readonly minMemoryBytes?: number;
  /** Least disk in bytes, 1..2^50. */
  readonly minDiskBytes?: number;
}

export interface ClaimedOutput {
  /** Path relative to outputDir. */
  readonly path: string;
  readonly sha256: Sha256Hex;
}

export interface Manifest {
  readonly schema: typeof MANIFEST_SCHEMA_V1;
  /** Human label, [a-z0-9][a-z0-9._+-]{0,127}. */
  readonly name: string;
  /** Debian architecture name, e.g. "amd64". */
  readonly architecture: string;
  /** Which kind of worker can build it: "generic" for this manifest format. */
  readonly backend: 'generic';
  readonly environment: ManifestEnvironment;
  readonly inputs: readonly ManifestInput[];
  readonly build: ManifestBuild;
  /** Directory relative to buildPath whose regular files are the outputs. */
  readonly outputDir: string;
  /** Digests the publisher claims for the outputs; empty when nothing was published. */
  readonly claimedOutputs: readonly ClaimedOutput[];
  /** Minimum worker capacity; always present, `{}` when the document has no `resources`. */
  readonly resources: ManifestResources;
}

/** A parsed manifest plus its identity: sha256 of the RFC 8785 (JCS) canonical form of the document. */
export interface ParsedManifest {
  readonly manifest: Manifest;
  readonly manifestSha256: Sha256Hex;
  /** The JCS canonical bytes the digest covers (what gets signed into attestations). */
  readonly canonicalJson: string;
}
