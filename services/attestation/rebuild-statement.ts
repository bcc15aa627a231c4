// The rebuild statement (in-toto Statement v1 + SLSA Provenance v1) a worker signs: its constants and
// types, and the path rules both its composition (sign-rebuild-statement.ts) and its strict parsing
// (parse-rebuild-statement.ts) follow.
import type { PackageSourceGroup } from '../debian/package-sources.ts';
import type { Sha256Hex } from '../digest.ts';

export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const REBUILD_BUILD_TYPE_V1 = 'https://rbnet.dev/rebuild/v1';
export const ENVIRONMENT_DEPENDENCY_URI = 'rbnet:environment';
/** Followed by the input's path, each segment percent-encoded with encodeURIComponent. */
export const INPUT_DEPENDENCY_URI_PREFIX = 'rbnet:input/';
export const BUILD_LOG_BYPRODUCT_NAME = 'build.log';

export type EnvironmentOrigin = 'built-locally' | 'fetched';
export const ENVIRONMENT_ORIGINS: readonly EnvironmentOrigin[] = ['built-locally', 'fetched'];

/** What a worker observed in one successful rebuild; typed data, never bytes a caller supplied. */
export interface RebuildFacts {
  /** Its `manifestSha256` and `manifest.name` are recorded (any manifest kind). */
  readonly manifest: { readonly manifestSha256: Sha256Hex; readonly manifest: { readonly name: string } };
  /** At least one. `path` is relative to the manifest's outputDir. */
  readonly outputs: readonly {
    readonly path: string;
    readonly sha256: Sha256Hex;
    readonly sizeBytes: number;
  }[];
  readonly environment: {
    /** sha256 of the uncompressed rootfs tarball (the image's layer diff ID). */
    readonly imageSha256: Sha256Hex;
    readonly origin: EnvironmentOrigin;
    /** How a locally built environment was made (e.g. an mmdebstrap recipe id). */
    readonly recipe?: string;
  };
  readonly inputs: readonly { readonly path: string; readonly sha256: Sha256Hex }[];
  readonly log: { readonly sha256: Sha256Hex; readonly sizeBytes: number; readonly truncated: boolean };
  /** `builderUri` e.g. "https://rbnet.dev/worker/<operator>/<id>". */
  readonly worker: { readonly id: string; readonly operator: string; readonly builderUri: string };
  readonly timing: { readonly startedOn: Date; readonly finishedOn: Date };
  readonly host: RebuildHost;
  /** Present when the network assigned the job; absent for a local `rbnet rebuild`. */
  readonly job?: RebuildJob;
  /** Files the build also made that are recorded but not attested as outputs (e.g. the rebuild's own .buildinfo). */
  readonly byproducts?: readonly { readonly name: string; readonly sha256: Sha256Hex }[];
  /** Present for Debian rebuilds: how the exact environment was resolved and made. */
  readonly debian?: DebianRebuildParameters;
}

/**
 * Where a Debian rebuild's source came from. `archive`: this worker fetched it by name and version
 * from its own configured archive and checked every file against that archive's signed Sources
 * index. `uploaded`: the submitter supplied the files (pinned by digest in the manifest); nothing
 * ties them to any archive.
 */
export type DebianSourceOrigin = 'archive' | 'uploaded';
export const DEBIAN_SOURCE_ORIGINS: readonly DebianSourceOrigin[] = ['archive', 'uploaded'];

/** The source a Debian rebuild was built from, as the worker signs it. */
export interface DebianSourceFact {
  /** Source package name (the .buildinfo's Source). */
  readonly name: string;
  /** Source version as written (the .buildinfo's source version, epoch included). */
  readonly version: string;
  readonly origin: DebianSourceOrigin;
  /** sha256 of the .dsc the build unpacked. */
  readonly dscSha256: Sha256Hex;
}

/** What a Debian rebuild records about its environment beyond the environment identity digest. */
export interface DebianRebuildParameters {
  /**
   * The source built, and whether it came from the signed archive. Always written by this version;
   * absent from statements of older workers, which therefore never satisfy an archive pin.
   */
  readonly source?: DebianSourceFact;
  /** sha256 of the engine image's only layer: recorded, never compared (only the package list is the identity). */
  readonly imageSha256: Sha256Hex;
  /** Packages installed beyond Installed-Build-Depends, from the documented base list, as `name:arch=version`. */
  readonly extraPackages: readonly string[];
  /** How many packages the environment identity covers. */
  readonly packageCount: number;
  /** Milliseconds this worker spent preparing (or finding) the environment for this build. */
  readonly preparationMs?: number;
  /** Whether the environment came from this worker's cache. */
  readonly environmentCached?: boolean;
  /**
   * Where each package came from: groups of `name:arch=version` labels sharing one origin (the mirror,
   * this worker's kept evidence, or a snapshot archive with its timestamp) and the signed index that
   * listed them. Recorded beside the environment identity, never part of it.
   */
  readonly packageSources?: readonly PackageSourceGroup[];
}

export interface RebuildHost {
  readonly kernelVersion: string;
  readonly cpuCount: number;
  readonly engineVersion: string;
  readonly storageDriver: string;
  readonly clockUtc: string;
  readonly rbnetVersion: string;
}

export interface RebuildJob {
  readonly jobId: string;
  /** BullMQ-style attempt counter (0 or more). */
  readonly attempt: number;
  /** Coordinator-chosen freshness value, so an old attestation cannot answer a new job. */
  readonly nonce: string;
}

export interface Sha256DigestSet {
  readonly sha256: Sha256Hex;
}

export interface RebuildSubject {
  readonly name: string;
  readonly digest: Sha256DigestSet;
}

export interface RebuildExternalParameters {
  readonly manifest: { readonly name: string; readonly digest: Sha256DigestSet };
  /** `sha256:<hex>`, the same digest as `manifest.digest.sha256`, in the form people paste. */
  readonly manifestDigest: string;
  readonly jobId?: string;
  readonly attempt?: number;
  readonly nonce?: string;
}

export interface RebuildInternalParameters {
  readonly worker: { readonly id: string; readonly operator: string };
  readonly host: RebuildHost;
  /** Size in bytes of every subject, keyed by subject name (exactly the subject names). */
  readonly outputSizes: Readonly<Record<string, number>>;
  readonly debian?: DebianRebuildParameters;
}

export interface EnvironmentDependency {
  readonly uri: typeof ENVIRONMENT_DEPENDENCY_URI;
  readonly digest: Sha256DigestSet;
  readonly annotations: { readonly origin: EnvironmentOrigin; readonly recipe?: string };
}

export interface InputDependency {
  readonly uri: string;
  readonly digest: Sha256DigestSet;
}

export interface BuildLogByproduct {
  readonly name: typeof BUILD_LOG_BYPRODUCT_NAME;
  readonly digest: Sha256DigestSet;
  readonly annotations: { readonly sizeBytes: number; readonly truncated: boolean };
}

/** A file the build made that is recorded, not attested as an output. */
export interface FileByproduct {
  readonly name: string;
  readonly digest: Sha256DigestSet;
}

export interface RebuildProvenance {
  readonly buildDefinition: {
    readonly buildType: typeof REBUILD_BUILD_TYPE_V1;
    readonly externalParameters: RebuildExternalParameters;
    readonly internalParameters: RebuildInternalParameters;
    /** The environment first, then one entry per input sorted by path. */
    readonly resolvedDependencies: readonly [EnvironmentDependency, ...InputDependency[]];
  };
  readonly runDetails: {
    readonly builder: { readonly id: string; readonly version: { readonly rbnet: string } };
    readonly metadata: {
      readonly invocationId: string;
      readonly startedOn: string;
      readonly finishedOn: string;
    };
    readonly byproducts: readonly [BuildLogByproduct, ...FileByproduct[]];
  };
}

/** An rbnet rebuild statement. Objects of this type are always deeply frozen. */
export interface RebuildStatement {
  readonly _type: typeof IN_TOTO_STATEMENT_V1;
  /** One per output, sorted by name (code point order); name + digest only. */
  readonly subject: readonly RebuildSubject[];
  readonly predicateType: typeof SLSA_PROVENANCE_V1;
  readonly predicate: RebuildProvenance;
}

/** `rbnet:input/<path>` with each path segment percent-encoded, so any legal file name makes a valid URI. */
export function inputDependencyUri(path: string): string {
  return INPUT_DEPENDENCY_URI_PREFIX + path.split('/').map(encodeURIComponent).join('/');
}

/** The input path a dependency URI names, or undefined unless the URI is in its one canonical spelling. */
export function inputPathFromUri(uri: string): string | undefined {
  if (!uri.startsWith(INPUT_DEPENDENCY_URI_PREFIX)) return undefined;
  let path: string;
  try {
    path = uri.slice(INPUT_DEPENDENCY_URI_PREFIX.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
  return isSafeRelativePath(path) && inputDependencyUri(path) === uri ? path : undefined;
}

/**
 * Whether `path` may name an output or input: relative POSIX path, no empty, `.` or `..` segment,
 * no backslash (a path separator to Windows consumers), no control character, at most 4096 bytes.
 */
export function isSafeRelativePath(path: string): boolean {
  if (path === '' || Buffer.byteLength(path, 'utf8') > 4096) return false;
  if (path.startsWith('/') || path.includes('\\') || /[\u0000-\u001f\u007f]/.test(path)) return false;
  return path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** Freezes `value` and everything reachable from it; returns it with its type unchanged. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
