// The stored divergence report read for a page: only the fields the page shows, each checked for its
// type, lists cut to what a page can hold. The report quotes worker data (paths inside hostile .debs).
// Fields are read by the names of the writer's types (DivergenceReport, NestedDebDivergence), so a
// renamed field fails to compile here; their values stay `unknown` until checked, since a stored report
// may be old or hostile. The views keep their own types: enums widened to strings, comparisons merged.
import type {
  BuildRef,
  DivergenceFile,
  DivergenceFileVariant,
  DivergenceReport,
} from '../../services/consensus/divergence-report.ts';
import type {
  NestedDebDivergence,
  NestedDebEntry,
  NestedDebHazard,
  NestedDiffoscope,
  NestedMemberDifference,
  NestedPublishedComparison,
  NestedRebuiltComparison,
} from '../../services/debian/nested-deb-divergence.ts';

/** A build as the report names it. */
export type ReportBuild = BuildRef;

export interface FileVariantView {
  /** null: these builds did not produce the file. */
  readonly sha256: string | null;
  readonly sizeBytes?: number;
  readonly builds: readonly ReportBuild[];
}

export interface FileView {
  readonly path: string;
  readonly agrees: boolean;
  readonly claimedSha256?: string;
  readonly variants: readonly FileVariantView[];
}

export interface MemberView {
  readonly area: string;
  readonly path: string;
  readonly only?: string;
  readonly differences: readonly string[];
}

export interface ComparisonView {
  /** `published vs rebuilt`, or `rebuilt sha256:… vs sha256:…`. */
  readonly title: string;
  readonly builds: readonly ReportBuild[];
  readonly identical: boolean;
  readonly members: readonly MemberView[];
  readonly membersOmitted: number;
  readonly hints: readonly string[];
}

export interface HazardView {
  readonly role: string;
  readonly kind: string;
  readonly member: string;
  readonly path?: string;
  readonly detail: string;
  readonly foundBy: readonly ReportBuild[];
}

export interface DiffoscopeView extends ReportBuild {
  readonly byproduct: string;
  readonly sha256: string;
  readonly truncated: boolean;
}

export interface DebView {
  readonly path: string;
  readonly differs: boolean;
  readonly comparisons: readonly ComparisonView[];
  readonly hazards: readonly HazardView[];
  readonly hazardsOmitted: number;
  readonly diffoscope: readonly DiffoscopeView[];
  readonly notes: readonly string[];
}

export interface DivergenceView {
  readonly explanation: string;
  /** Differing files first, then the rest, at most {@link MAX_FILES_SHOWN}. */
  readonly files: readonly FileView[];
  readonly filesTotal: number;
  readonly differingTotal: number;
  readonly missing: readonly {
    readonly operator: string;
    readonly workerId: string;
    readonly paths: readonly string[];
  }[];
  readonly debs: readonly DebView[];
  readonly uninspected: readonly (ReportBuild & { readonly reason: string })[];
}

/** Files listed on a page; the JSON report has them all. */
const MAX_FILES_SHOWN = 500;
/** Members, hazards, hints, paths per list. */
const MAX_ITEMS = 200;
const MAX_DEBS = 100;

/** A stored object of type T before its fields are checked: T's names, any values. */
type Stored<T> = { readonly [K in keyof T]?: unknown };

function object<T>(value: unknown): Stored<T> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Stored<T>) : {};
}

function list(value: unknown, max = MAX_ITEMS): readonly unknown[] {
  return Array.isArray(value) ? value.slice(0, max) : [];
}

function text(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function texts(value: unknown): string[] {
  return list(value).filter((v): v is string => typeof v === 'string');
}

function build(value: unknown): ReportBuild {
  const o = object<BuildRef>(value);
  return { operator: text(o.operator, '?'), workerId: text(o.workerId, '?'), counted: o.counted === true };
}

function builds(value: unknown): ReportBuild[] {
  return list(value).map(build);
}

function file(value: unknown): FileView {
  const o = object<DivergenceFile>(value);
  const claimed = optionalText(o.claimedSha256);
  return {
    path: text(o.path, '?'),
    agrees: o.agrees === true,
    ...(claimed !== undefined && { claimedSha256: claimed }),
    variants: list(o.variants).map((v) => {
      const variant = object<DivergenceFileVariant>(v);
      return {
        sha256: typeof variant.sha256 === 'string' ? variant.sha256 : null,
        ...(typeof variant.sizeBytes === 'number' && { sizeBytes: variant.sizeBytes }),
        builds: builds(variant.producedBy),
      };
    }),
  };
}

function comparison(value: unknown, title: string, who: ReportBuild[]): ComparisonView {
  const o = object<NestedPublishedComparison | NestedRebuiltComparison>(value);
  return {
    title,
    builds: who,
    identical: o.identical === true,
    members: list(o.members).map((m) => {
      const member = object<NestedMemberDifference>(m);
      const only = optionalText(member.only);
      return {
        area: text(member.area, '?'),
        path: text(member.path, '?'),
        ...(only !== undefined && { only }),
        differences: texts(member.differences),
      };
    }),
    membersOmitted:
      count(o.membersOmitted) + Math.max(0, (Array.isArray(o.members) ? o.members.length : 0) - MAX_ITEMS),
    hints: texts(o.hints),
  };
}

function short(sha256: unknown): string {
  return `sha256:${text(sha256).slice(0, 12)}…`;
}

function deb(value: unknown): DebView {
  const o = object<NestedDebEntry>(value);
  const published = list(o.publishedVsRebuilt).map((c) => {
    const stored = object<NestedPublishedComparison>(c);
    return comparison(
      c,
      `published ${short(stored.publishedSha256)} vs rebuilt ${short(stored.rebuiltSha256)}`,
      builds(stored.reportedBy),
    );
  });
  const rebuilt = list(o.rebuiltVsRebuilt).map((c) => {
    const stored = object<NestedRebuiltComparison>(c);
    const left = object<NestedRebuiltComparison['left']>(stored.left);
    const right = object<NestedRebuiltComparison['right']>(stored.right);
    return comparison(c, `rebuilt ${short(left.sha256)} vs rebuilt ${short(right.sha256)}`, [
      ...builds(left.builds),
      ...builds(right.builds),
    ]);
  });
  return {
    path: text(o.path, '?'),
    differs: o.differs === true,
    comparisons: [...published, ...rebuilt],
    hazards: list(o.hazards).map((h) => {
      const hazard = object<NestedDebHazard>(h);
      const path = optionalText(hazard.path);
      return {
        role: text(hazard.role, '?'),
        kind: text(hazard.kind, '?'),
        member: text(hazard.member, '?'),
        ...(path !== undefined && { path }),
        detail: text(hazard.detail),
        foundBy: builds(hazard.foundBy),
      };
    }),
    hazardsOmitted: count(o.hazardsOmitted),
    diffoscope: list(o.diffoscope)
      .map((d) => {
        const entry = object<NestedDiffoscope>(d);
        return {
          ...build(entry),
          byproduct: text(entry.byproduct, '?'),
          sha256: text(entry.sha256),
          truncated: entry.truncated === true,
        };
      })
      .filter((d) => /^[0-9a-f]{64}$/.test(d.sha256)),
    notes: texts(o.notes),
  };
}

/** The page's view of a parsed divergence report (rbnet.divergence-report/v1); never throws. */
export function divergenceView(report: unknown): DivergenceView {
  const o = object<DivergenceReport>(report);
  const all = Array.isArray(o.files) ? o.files : [];
  const differing = all.filter((f) => object<DivergenceFile>(f).agrees !== true);
  const agreeing = all.filter((f) => object<DivergenceFile>(f).agrees === true);
  const shown = [...differing, ...agreeing].slice(0, MAX_FILES_SHOWN).map(file);
  const debian = object<NestedDebDivergence>(o.debian);
  return {
    explanation: text(o.explanation),
    files: shown,
    filesTotal: all.length,
    differingTotal: differing.length,
    missing: list(o.missing).map((m) => {
      const entry = object<DivergenceReport['missing'][number]>(m);
      return {
        operator: text(entry.operator, '?'),
        workerId: text(entry.workerId, '?'),
        paths: texts(entry.paths),
      };
    }),
    debs: list(debian.debs, MAX_DEBS).map(deb),
    uninspected: list(debian.uninspected).map((u) => ({
      ...build(u),
      reason: text(object<NestedDebDivergence['uninspected'][number]>(u).reason),
    })),
  };
}
