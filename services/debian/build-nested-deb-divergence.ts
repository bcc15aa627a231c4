// Builds the nested divergence section of a Debian build's report from the workers' signed inspection
// results: which .debs differ, how (member by member, with hints), hazards, diffoscope reports, notes.
import { compareCodePoints } from '../attestation/securesystemslib-canonical-json.ts';
import type { Sha256Hex } from '../digest.ts';
import { compareDebListings, type DebComparison } from './deb-inspection/compare-deb-listings.ts';
import type { DebListing } from './deb-inspection/deb-listing.ts';
import type { DebInspectionResult } from './deb-inspection/inspection-report.ts';
import type { PairReport } from './deb-inspection/inspection-report-format.ts';
import {
  defaultMaxHazardsPerDeb,
  defaultMaxMembersPerDeb,
  MAX_TEXT_CHARS,
  type NestedComparison,
  type NestedDebBuild,
  type NestedDebDivergence,
  type NestedDebDivergenceInput,
  type NestedDebEntry,
  type NestedDebHazard,
  type NestedDebResult,
  type NestedDiffoscope,
  type NestedPublishedComparison,
  type NestedRebuiltComparison,
} from './nested-deb-divergence.ts';

interface Indexed {
  readonly build: NestedDebBuild;
  readonly result: NestedDebResult;
  readonly outputs: ReadonlyMap<string, Sha256Hex>;
  readonly inspection?: DebInspectionResult;
  readonly unavailable?: string;
}

interface Listed {
  readonly listing: DebListing;
  readonly membersOmitted: boolean;
}

function buildOf(result: NestedDebBuild): NestedDebBuild {
  return { operator: result.operator, workerId: result.workerId, counted: result.counted };
}

export function who(build: NestedDebBuild): string {
  return `${build.operator}/${build.workerId}`;
}

export function short(sha256: string): string {
  return `sha256:${sha256.slice(0, 12)}…`;
}

function cut(text: string): string {
  return text.length > MAX_TEXT_CHARS ? `${text.slice(0, MAX_TEXT_CHARS - 1)}…` : text;
}

function unavailableReason(result: NestedDebResult): string | undefined {
  if (result.inspectionUnavailable !== undefined) return cut(result.inspectionUnavailable);
  const inspection = result.inspection;
  if (!inspection)
    return 'no rbnet/deb-inspection.json byproduct: the worker ran no inspection (no inspection image)';
  if (inspection.failure)
    return cut(`the inspection failed (${inspection.failure.reason}): ${inspection.failure.detail}`);
  return undefined;
}

/** The report entry for the `role` .deb named `file`, when the inspection has one. */
function entryOf(inspection: DebInspectionResult, role: 'rebuilt' | 'published', file: string) {
  const index = inspection.debs.findIndex((d) => d.role === role && d.file === file);
  return index < 0
    ? undefined
    : { label: inspection.debs[index]!.label, entry: inspection.report!.debs[index]! };
}

function pairOf(inspection: DebInspectionResult, file: string): PairReport | undefined {
  const published = entryOf(inspection, 'published', file);
  const rebuilt = entryOf(inspection, 'rebuilt', file);
  if (!published || !rebuilt) return undefined;
  return inspection.report!.comparisons.find((p) => p.left === published.label && p.right === rebuilt.label);
}

/** Takes what fits of `comparison` from the .deb's member budget. */
function bounded(
  comparison: DebComparison,
  omittedByWorker: number,
  budget: { remaining: number },
): NestedComparison {
  const take = Math.min(comparison.members.length, budget.remaining);
  budget.remaining -= take;
  return {
    identical: comparison.identical,
    arMembersDiffer: comparison.arMembersDiffer,
    compressionDiffers: comparison.compressionDiffers.map((d) => ({
      area: d.area,
      left: d.left,
      right: d.right,
    })),
    orderDiffers: comparison.orderDiffers.map((o) => o.area),
    members: comparison.members.slice(0, take).map((m) => ({
      area: m.area,
      path: m.path,
      ...(m.only !== undefined && { only: m.only }),
      differences: [...m.differences],
    })),
    membersOmitted: comparison.members.length - take + omittedByWorker,
    hints: comparison.hints.map(cut),
  };
}

/**
 * Builds the nested section of a Debian build's divergence report. Pure; plain JSON out.
 *
 * A .deb path is listed when the builds' digests differ among themselves or from the claim, or when
 * a listing of it has hazards. A worker's listing is used only when its digest is the one the worker
 * signed (rebuilt) or the claimed one (published); anything else is noted and ignored. Workers with the
 * same rebuilt digest are grouped and their comparison with the published .deb shown once; a worker
 * whose comparison of the same bytes says otherwise is noted. Rebuilt digests are compared with the
 * most common one by compareDebListings on the workers' listings, when both have member listings.
 * At most `maxMembersPerDeb` (200) member differences and `maxHazardsPerDeb` (100) hazards per .deb.
 */
export function buildNestedDebDivergence(input: NestedDebDivergenceInput): NestedDebDivergence {
  const maxMembersPerDeb = input.maxMembersPerDeb ?? defaultMaxMembersPerDeb;
  const maxHazardsPerDeb = input.maxHazardsPerDeb ?? defaultMaxHazardsPerDeb;
  const claimed = new Map(input.claimedOutputs.map((o) => [o.path, o.sha256]));
  const indexed: Indexed[] = input.results.map((result) => {
    const unavailable = unavailableReason(result);
    return {
      build: buildOf(result),
      result,
      outputs: new Map(result.outputs.map((o) => [o.path, o.sha256])),
      ...(unavailable === undefined ? { inspection: result.inspection! } : { unavailable }),
    };
  });
  const paths = new Set<string>([...claimed.keys()].filter((p) => p.endsWith('.deb')));
  for (const item of indexed)
    for (const path of item.outputs.keys()) if (path.endsWith('.deb')) paths.add(path);

  const debs: NestedDebEntry[] = [];
  for (const path of [...paths].sort(compareCodePoints)) {
    const entry = entryFor(path, claimed.get(path), indexed, maxMembersPerDeb, maxHazardsPerDeb);
    if (entry) debs.push(entry);
  }
  return {
    maxMembersPerDeb,
    debs,
    uninspected: indexed.flatMap((item) =>
      item.unavailable === undefined ? [] : [{ ...item.build, reason: item.unavailable }],
    ),
  };
}

function entryFor(
  path: string,
  claimedSha256: Sha256Hex | undefined,
  indexed: readonly Indexed[],
  maxMembers: number,
  maxHazards: number,
): NestedDebEntry | undefined {
  const notes: string[] = [];
  const budget = { remaining: maxMembers };

  const groups = new Map<string, { sha256: Sha256Hex | null; items: Indexed[] }>();
  for (const item of indexed) {
    const sha256 = item.outputs.get(path) ?? null;
    const key = sha256 ?? 'missing';
    const group = groups.get(key) ?? { sha256, items: [] };
    group.items.push(item);
    groups.set(key, group);
  }
  const variants = [...groups.values()].sort((a, b) => b.items.length - a.items.length);
  const differs =
    variants.length > 1 || (claimedSha256 !== undefined && variants.some((v) => v.sha256 !== claimedSha256));

  // Listings a worker's inspection has of this path, used only when their digests are the signed ones.
  const rebuiltListings = new Map<Indexed, Listed>();
  const publishedListings = new Map<Indexed, Listed>();
  for (const item of indexed) {
    const signed = item.outputs.get(path);
    if (item.unavailable !== undefined) {
      if (signed !== undefined) notes.push(`${who(item.build)}: no inspection: ${item.unavailable}`);
      continue;
    }
    const inspection = item.inspection!;
    const rebuilt = entryOf(inspection, 'rebuilt', path);
    if (signed !== undefined && rebuilt === undefined) {
      notes.push(`${who(item.build)}: its inspection does not list its rebuilt ${path}`);
    } else if (rebuilt && 'error' in rebuilt.entry) {
      notes.push(
        cut(
          `${who(item.build)}: its rebuilt .deb could not be inspected: ${rebuilt.entry.error.code}: ${rebuilt.entry.error.message}`,
        ),
      );
    } else if (rebuilt && 'listing' in rebuilt.entry) {
      if (rebuilt.entry.listing.sha256 !== signed) {
        notes.push(
          `${who(item.build)}: its inspection lists a rebuilt .deb with sha256 ${rebuilt.entry.listing.sha256}, not the signed ${signed ?? '(none)'}; ignored`,
        );
      } else {
        rebuiltListings.set(item, rebuilt.entry);
      }
    }
    const published = entryOf(inspection, 'published', path);
    if (published && 'listing' in published.entry) {
      if (published.entry.listing.sha256 !== claimedSha256) {
        notes.push(
          `${who(item.build)}: its inspection lists a published .deb with sha256 ${published.entry.listing.sha256}, not the claimed ${claimedSha256 ?? '(none)'}; ignored`,
        );
      } else {
        publishedListings.set(item, published.entry);
      }
    } else if (published && 'error' in published.entry) {
      notes.push(
        cut(
          `${who(item.build)}: the published .deb could not be inspected: ${published.entry.error.code}: ${published.entry.error.message}`,
        ),
      );
    }
  }

  const { hazards, hazardsOmitted } = collectHazards(rebuiltListings, publishedListings, maxHazards);
  if (!differs && hazards.length === 0) return undefined;

  const publishedVsRebuilt: NestedPublishedComparison[] = [];
  const diffoscope: NestedDiffoscope[] = [];
  for (const variant of variants) {
    const sha256 = variant.sha256;
    if (sha256 === null || claimedSha256 === undefined || sha256 === claimedSha256) continue;
    const reporters: { item: Indexed; pair: PairReport & { comparison: DebComparison } }[] = [];
    for (const item of variant.items) {
      if (item.inspection === undefined) continue;
      const pair = pairOf(item.inspection, path);
      if (!pair) {
        notes.push(
          `${who(item.build)}: did not compare ${path} with the published .deb (the archive no longer serves the claimed bytes, or the .deb was not fetched)`,
        );
      } else if (pair.comparison === null) {
        notes.push(
          `${who(item.build)}: could not compare ${path} with the published .deb (one of them could not be inspected)`,
        );
      } else if (!rebuiltListings.has(item) || !publishedListings.has(item)) {
        notes.push(
          `${who(item.build)}: its comparison with the published .deb is ignored (listing digests do not match)`,
        );
      } else {
        reporters.push({ item, pair: pair as PairReport & { comparison: DebComparison } });
        diffoscope.push(...diffoscopeOf(item, pair, sha256, notes));
      }
    }
    const first = reporters[0];
    if (!first) continue;
    const shown = JSON.stringify(first.pair.comparison);
    for (const other of reporters.slice(1)) {
      if (JSON.stringify(other.pair.comparison) !== shown) {
        notes.push(
          `${who(other.item.build)}: its comparison with the published .deb differs from ${who(first.item.build)}'s for the same bytes (sha256 ${sha256}); one inspection is wrong`,
        );
      }
    }
    publishedVsRebuilt.push({
      publishedSha256: claimedSha256,
      rebuiltSha256: sha256,
      reportedBy: reporters.map((r) => r.item.build),
      ...bounded(first.pair.comparison, first.pair.omittedMemberDifferences, budget),
    });
  }

  const rebuiltVsRebuilt: NestedRebuiltComparison[] = [];
  const built = variants.filter((v): v is { sha256: Sha256Hex; items: Indexed[] } => v.sha256 !== null);
  const reference = built[0];
  for (const other of reference ? built.slice(1) : []) {
    const side = (v: { sha256: Sha256Hex; items: Indexed[] }) => ({
      sha256: v.sha256,
      builds: v.items.map((i) => i.build),
    });
    const left = listingFor(reference!, rebuiltListings);
    const right = listingFor(other, rebuiltListings);
    if (typeof left === 'string' || typeof right === 'string') {
      const why = [left, right].filter((r): r is string => typeof r === 'string').join('; ');
      notes.push(`rebuilt ${short(reference!.sha256)} vs ${short(other.sha256)} not compared: ${why}`);
      continue;
    }
    rebuiltVsRebuilt.push({
      left: side(reference!),
      right: side(other),
      ...bounded(compareDebListings(left, right), 0, budget),
    });
  }

  return {
    path,
    differs,
    ...(claimedSha256 !== undefined && { claimedSha256 }),
    variants: variants.map((v) => ({ sha256: v.sha256, builds: v.items.map((i) => i.build) })),
    publishedVsRebuilt,
    rebuiltVsRebuilt,
    hazards,
    hazardsOmitted,
    diffoscope,
    notes: notes.map(cut),
  };
}

/** A listing of this digest with its members, or why there is none. */
function listingFor(
  variant: { sha256: Sha256Hex; items: readonly Indexed[] },
  listings: ReadonlyMap<Indexed, Listed>,
): DebListing | string {
  const found = variant.items.map((i) => listings.get(i)).filter((l): l is Listed => l !== undefined);
  const full = found.find((l) => !l.membersOmitted);
  if (full) return full.listing;
  return found.length > 0
    ? `the listings of ${short(variant.sha256)} have no members (omitted to fit the report)`
    : `no worker listed ${short(variant.sha256)}`;
}

function diffoscopeOf(
  item: Indexed,
  pair: PairReport,
  rebuiltSha256: Sha256Hex,
  notes: string[],
): NestedDiffoscope[] {
  const outcome = pair.diffoscope;
  if (!outcome) return [];
  if (outcome.status !== 'written') {
    notes.push(cut(`${who(item.build)}: no diffoscope report (${outcome.status}): ${outcome.detail}`));
    return [];
  }
  const named = item.inspection!.diffoscope.find((d) => d.left === pair.left && d.right === pair.right);
  if (!named) return [];
  const signed = (item.result.byproducts ?? []).find((b) => b.name === named.byproduct);
  if (!signed) {
    notes.push(
      `${who(item.build)}: its inspection names ${named.byproduct}, which its statement does not sign`,
    );
    return [];
  }
  return [
    {
      ...item.build,
      byproduct: named.byproduct,
      sha256: signed.sha256,
      rebuiltSha256,
      truncated: outcome.truncated,
    },
  ];
}

function collectHazards(
  rebuilt: ReadonlyMap<Indexed, Listed>,
  published: ReadonlyMap<Indexed, Listed>,
  max: number,
): { hazards: NestedDebHazard[]; hazardsOmitted: number } {
  const found = new Map<string, NestedDebHazard & { foundBy: NestedDebBuild[] }>();
  let omitted = 0;
  for (const [role, listings] of [
    ['rebuilt', rebuilt],
    ['published', published],
  ] as const) {
    for (const [item, { listing }] of listings) {
      for (const h of listing.hazards) {
        const key = JSON.stringify([role, h.kind, h.member, h.path ?? null, h.detail]);
        const known = found.get(key);
        if (known) {
          if (!known.foundBy.some((b) => who(b) === who(item.build))) known.foundBy.push(item.build);
        } else if (found.size < max) {
          found.set(key, {
            role,
            kind: h.kind,
            member: h.member,
            ...(h.path !== undefined && { path: h.path }),
            detail: cut(h.detail),
            foundBy: [item.build],
          });
        } else {
          omitted++;
        }
      }
    }
  }
  return { hazards: [...found.values()], hazardsOmitted: omitted };
}
