// The apt links aggregate: each operator's signed in-toto link per binary package version, served to
// apt-transport-in-toto, and the conflicts recorded when two builds of one version disagree.
import type { Sha256Hex } from '../digest.ts';
import type { IsoTimestamp } from './store-error.ts';

/** One operator's signed in-toto link for one binary package version (docs/apt-in-toto.md). */
export interface NewAptLink {
  readonly architecture: string;
  readonly operator: string;
  /** Binary package name. */
  readonly package: string;
  /** Binary version, epoch included. */
  readonly version: string;
  /** The link JSON in the content store. */
  readonly linkSha256: Sha256Hex;
  /**
   * sha256 of the link's products (see `rebuildLinkProductsSha256`): what apt compares. Two links
   * for one package version with different products can never both be served.
   */
  readonly productsSha256: Sha256Hex;
  readonly workerId: string;
}

/** What {@link AptLinkStore.replaceAptLinks} did. */
export interface AptLinkPublication {
  readonly published: number;
  readonly conflicts: readonly AptLinkConflictRecord[];
}

/**
 * Two builds of one binary package version whose rebuilt products differ: the first build's links
 * stay served, the later one's are not, and this record is the alarm (docs/apt-in-toto.md).
 */
export interface AptLinkConflictRecord {
  readonly architecture: string;
  readonly package: string;
  readonly version: string;
  /** The build whose links are served for this version. */
  readonly publishedBuildId: string;
  readonly publishedProductsSha256: Sha256Hex;
  /** The build whose links were refused because its products differ. */
  readonly contestingBuildId: string;
  readonly contestingProductsSha256: Sha256Hex;
  readonly detectedAt: IsoTimestamp;
}

export interface AptLinkRecord {
  readonly linkSha256: Sha256Hex;
  readonly buildId: string;
  readonly workerId: string;
}

/**
 * The links served to apt. A compromised worker's links are withdrawn by the registry's revocation
 * in the same transaction (a database rule, docs/storage.md), not by callers.
 */
export interface AptLinkStore {
  /**
   * Makes `links` the apt links of `buildId`, replacing any it had (none removes them all). A link
   * never replaces another build's: where another build already serves links for the same
   * (architecture, package, version), a link with the same `productsSha256` is left out (the
   * published one stays), and one with different products is a conflict: it is recorded (once per
   * pair and products) and then *none* of `links` is published. Atomic.
   * @returns how many links were stored, and every conflict that blocked them.
   */
  replaceAptLinks(buildId: string, links: readonly NewAptLink[], now?: Date): Promise<AptLinkPublication>;
  /** Conflicts `buildId` is part of, on either side, oldest first. */
  listAptLinkConflicts(buildId: string): Promise<readonly AptLinkConflictRecord[]>;
  /** How many conflicts were ever recorded (they are never removed). */
  countAptLinkConflicts(): Promise<number>;
  /**
   * Calls `listener` after every committed change to the apt links, so a reader that remembers links
   * can forget them: with the build id when one build's links were replaced (a publication or a
   * withdrawal), without one when links of any build may have changed (a revocation).
   * @returns a function that stops the calls.
   */
  watchAptLinks(listener: (buildId?: string) => void): () => void;
  /** The link an operator serves for one binary package version on one architecture. */
  getAptLink(
    architecture: string,
    operator: string,
    pkg: string,
    version: string,
  ): Promise<AptLinkRecord | undefined>;
}
