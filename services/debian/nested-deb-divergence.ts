// The nested divergence of a Debian build: for each .deb that differs between rebuilds or from what
// the archive published, what differs inside it, from the workers' signed inspection byproducts. The
// section's model; built by build-nested-deb-divergence.ts, rendered by render-nested-deb-divergence.ts.
import type { Sha256Hex } from '../digest.ts';
import type { MemberDifferenceKind } from './deb-inspection/compare-deb-listings.ts';
import type { Compression, DebArea, HazardKind } from './deb-inspection/deb-listing.ts';
import type { DebInspectionResult } from './deb-inspection/inspection-report.ts';

/** Member differences listed per .deb, over all its comparisons; the rest are counted. */
export const defaultMaxMembersPerDeb = 200;
/** Distinct hazards listed per .deb; the rest are counted. */
export const defaultMaxHazardsPerDeb = 100;
/** Longest hint or note kept, characters. */
export const MAX_TEXT_CHARS = 2000;

/** One rebuild, as the divergence report names it. */
export interface NestedDebBuild {
  readonly operator: string;
  readonly workerId: string;
  readonly counted: boolean;
}

/** One successful rebuild and what its worker found inside its .debs. */
export interface NestedDebResult extends NestedDebBuild {
  /** The signed outputs (the non-dbgsym .debs). */
  readonly outputs: readonly { readonly path: string; readonly sha256: Sha256Hex }[];
  /** The parsed `rbnet/deb-inspection.json` byproduct, when there is one and it checked out. */
  readonly inspection?: DebInspectionResult;
  /** Why `inspection` is absent (no byproduct, blob missing, document refused); shown as given. */
  readonly inspectionUnavailable?: string;
  /** The signed file byproducts; diffoscope reports are looked up here by name. */
  readonly byproducts?: readonly { readonly name: string; readonly sha256: Sha256Hex }[];
}

export interface NestedDebDivergenceInput {
  readonly results: readonly NestedDebResult[];
  /** What the .buildinfo says the archive published, by path. */
  readonly claimedOutputs: readonly { readonly path: string; readonly sha256: Sha256Hex }[];
  /** Default 200. */
  readonly maxMembersPerDeb?: number;
  /** Default 100. */
  readonly maxHazardsPerDeb?: number;
}

/** One member that differs, without the listings' details (the hints quote what matters). */
export interface NestedMemberDifference {
  readonly area: DebArea;
  readonly path: string;
  /** The member exists on this side only. */
  readonly only?: 'left' | 'right';
  readonly differences: readonly MemberDifferenceKind[];
}

/** What a comparison of two .debs found, bounded. */
export interface NestedComparison {
  /** The two .debs are byte for byte the same. */
  readonly identical: boolean;
  readonly arMembersDiffer: boolean;
  readonly compressionDiffers: readonly {
    readonly area: DebArea;
    readonly left: Compression | null;
    readonly right: Compression | null;
  }[];
  readonly orderDiffers: readonly DebArea[];
  readonly members: readonly NestedMemberDifference[];
  /** Member differences not listed: past the per-.deb cap, or cut by the worker to fit its report. */
  readonly membersOmitted: number;
  readonly hints: readonly string[];
}

/** The published .deb (left) against one rebuilt digest (right), as the workers with that digest found it. */
export interface NestedPublishedComparison extends NestedComparison {
  readonly publishedSha256: Sha256Hex;
  readonly rebuiltSha256: Sha256Hex;
  /** The builds with this rebuilt digest whose inspection compared it with the published .deb. */
  readonly reportedBy: readonly NestedDebBuild[];
}

/** One rebuilt digest (left, the most common) against another (right), from the workers' listings. */
export interface NestedRebuiltComparison extends NestedComparison {
  readonly left: { readonly sha256: Sha256Hex; readonly builds: readonly NestedDebBuild[] };
  readonly right: { readonly sha256: Sha256Hex; readonly builds: readonly NestedDebBuild[] };
}

/** Something hostile or malformed in a .deb, with the workers whose listing found it. */
export interface NestedDebHazard {
  readonly role: 'rebuilt' | 'published';
  readonly kind: HazardKind;
  /** The ar member, e.g. "data.tar.xz", or "(ar)" for the container. */
  readonly member: string;
  readonly path?: string;
  readonly detail: string;
  readonly foundBy: readonly NestedDebBuild[];
}

/** A diffoscope HTML report a worker made for this .deb (published vs its rebuilt one). */
export interface NestedDiffoscope extends NestedDebBuild {
  /** Byproduct name, `rbnet/diffoscope-<n>.html`. */
  readonly byproduct: string;
  /** As signed; served by `GET /v1/builds/:id/diffoscope/:digest`. */
  readonly sha256: Sha256Hex;
  readonly rebuiltSha256: Sha256Hex;
  /** The HTML was cut at the worker's size limit. */
  readonly truncated: boolean;
}

/** One .deb path: every build's digest and what differs inside. */
export interface NestedDebEntry {
  readonly path: string;
  /** False when every build and the claim agree (the entry is there for its hazards). */
  readonly differs: boolean;
  readonly claimedSha256?: Sha256Hex;
  /** Per digest (null: not produced) the builds, most builds first. */
  readonly variants: readonly {
    readonly sha256: Sha256Hex | null;
    readonly builds: readonly NestedDebBuild[];
  }[];
  /** (a) published vs each rebuilt digest that is not the claimed one. */
  readonly publishedVsRebuilt: readonly NestedPublishedComparison[];
  /** (b) the most common rebuilt digest vs each other one. */
  readonly rebuiltVsRebuilt: readonly NestedRebuiltComparison[];
  /** (c) hazards in any rebuilt (or published) listing: always shown first. */
  readonly hazards: readonly NestedDebHazard[];
  readonly hazardsOmitted: number;
  /** (d) */
  readonly diffoscope: readonly NestedDiffoscope[];
  /** (e) what could not be looked at, and why. */
  readonly notes: readonly string[];
}

/** The `debian` section of a divergence report. Plain JSON. */
export interface NestedDebDivergence {
  readonly maxMembersPerDeb: number;
  /** .debs that differ or have hazards, in code point order of their paths. */
  readonly debs: readonly NestedDebEntry[];
  /** Builds whose .debs nobody looked into, and why. */
  readonly uninspected: readonly (NestedDebBuild & { readonly reason: string })[];
}

/** One result with its outputs indexed and its usable inspection (a report that checked out). */
