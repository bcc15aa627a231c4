// The divergence report: per output file, which rebuild produced which digest, so a maintainer sees
// what differs and where to look; as JSON for the API and as text for the terminal.
import { compareCodePoints } from '../attestation/securesystemslib-canonical-json.ts';
import type { NestedDebDivergence } from '../debian/nested-deb-divergence.ts';
import { renderNestedDebDivergenceText } from '../debian/render-nested-deb-divergence.ts';
import type { Sha256Hex } from '../digest.ts';
import {
  type ConsensusFailureReason,
  type ConsensusResult,
  type Decision,
  type NotCountedReason,
  type OutputDigest,
  resultKey,
} from './decide-verdict.ts';
import type { Verdict } from './verdict.ts';

export const DIVERGENCE_REPORT_SCHEMA_V1 = 'rbnet.divergence-report/v1';

export interface DivergenceReportResult {
  readonly operator: string;
  readonly workerId: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly kind: 'built' | 'failed';
  readonly failureReason?: ConsensusFailureReason;
  readonly counted: boolean;
  readonly notCountedReason?: NotCountedReason;
  /** A counted success whose output set differs from the agreeing group's. */
  readonly dissenting: boolean;
  readonly envelopeSha256?: Sha256Hex;
  readonly log?: { readonly sha256: Sha256Hex; readonly sizeBytes?: number };
}

export interface BuildRef {
  readonly operator: string;
  readonly workerId: string;
  readonly counted: boolean;
}

export interface DivergenceFileVariant {
  /** null: these builds did not produce the file at all. */
  readonly sha256: Sha256Hex | null;
  /** When the builds reported a size. */
  readonly sizeBytes?: number;
  readonly producedBy: readonly BuildRef[];
}

export interface DivergenceFile {
  readonly path: string;
  /** Every compared build produced this file with one digest. */
  readonly agrees: boolean;
  /** The publisher's claim for this path, when one was given. */
  readonly claimedSha256?: Sha256Hex;
  /** Variants with the most builds first. */
  readonly variants: readonly DivergenceFileVariant[];
}

export interface DivergenceReport {
  readonly schema: typeof DIVERGENCE_REPORT_SCHEMA_V1;
  readonly verdict: Verdict;
  readonly explanation: string;
  /** Every result, in the order given, with why it did or did not count and its log digest. */
  readonly results: readonly DivergenceReportResult[];
  /** Every path any compared build produced or the publisher claimed, in code point order. */
  readonly files: readonly DivergenceFile[];
  readonly agreeingPaths: readonly string[];
  readonly differingPaths: readonly string[];
  /** Per compared build, the paths other builds (or the claim) have and it lacks. */
  readonly missing: readonly {
    readonly operator: string;
    readonly workerId: string;
    readonly paths: readonly string[];
  }[];
  /** Debian builds: what differs inside the differing .debs, from the workers' inspections. */
  readonly debian?: NestedDebDivergence;
}

export interface DivergenceReportOptions {
  /** The manifest's claimed outputs, to show the published digest beside the rebuilt ones. */
  readonly claimedOutputs?: readonly OutputDigest[];
  /** The nested .deb section of a Debian build (buildNestedDebDivergence), copied in as given. */
  readonly debian?: NestedDebDivergence;
}

/** Results that are about another manifest, or a second copy of an envelope, say nothing about this build's files. */
const IRRELEVANT: ReadonlySet<NotCountedReason> = new Set(['manifest-differs', 'duplicate-envelope']);

/**
 * Builds the divergence report for one build from its results and the decision made on them.
 * Files are compared across every successful rebuild of this manifest, counted or not (a fetched
 * environment's result is still evidence of what varies); each build is marked counted or not.
 * Pure; the result is plain JSON.
 */
export function buildDivergenceReport(
  results: readonly ConsensusResult[],
  decision: Decision,
  options: DivergenceReportOptions = {},
): DivergenceReport {
  const dissenting = new Set((decision.dissent ?? []).map((d) => d.envelopeSha256 as string));

  // decideVerdict names results by key; the same key can appear once counted and once as a duplicate.
  const remaining = new Map<string, NotCountedReason[]>();
  for (const entry of decision.notCounted) {
    const list = remaining.get(resultKey(entry)) ?? [];
    list.push(entry.reason);
    remaining.set(resultKey(entry), list);
  }
  const reportResults: DivergenceReportResult[] = [];
  const compared: { result: ConsensusResult & { kind: 'built' }; counted: boolean }[] = [];
  const seenKeys = new Set<string>();
  for (const result of results) {
    const key = resultKey(result);
    const firstSeen = !seenKeys.has(key);
    seenKeys.add(key);
    const reasons = remaining.get(key) ?? [];
    // A copy seen again is the duplicate; the first copy keeps the reason (if any) that is not about duplication.
    const reason = firstSeen
      ? reasons.find((r) => r !== 'duplicate-envelope')
      : (reasons.find((r) => r === 'duplicate-envelope') ?? reasons[0]);
    const counted = reason === undefined;
    reportResults.push({
      operator: result.operator,
      workerId: result.workerId,
      jobId: result.jobId,
      attempt: result.attempt,
      kind: result.kind,
      ...(result.kind === 'failed' && { failureReason: result.failureReason }),
      counted,
      ...(reason !== undefined && { notCountedReason: reason }),
      dissenting: result.kind === 'built' && counted && dissenting.has(result.envelopeSha256),
      ...(result.kind === 'built' && { envelopeSha256: result.envelopeSha256 }),
      ...(result.log !== undefined && { log: { ...result.log } }),
    });
    if (result.kind === 'built' && (reason === undefined || !IRRELEVANT.has(reason)))
      compared.push({ result, counted });
  }

  const claimed = new Map((options.claimedOutputs ?? []).map((o) => [o.path, o.sha256]));
  const paths = new Set<string>(claimed.keys());
  for (const { result } of compared) for (const output of result.outputs) paths.add(output.path);
  const sortedPaths = [...paths].sort(compareCodePoints);

  const files: DivergenceFile[] = sortedPaths.map((path) => {
    const variants = new Map<
      string,
      { sha256: Sha256Hex | null; sizeBytes?: number; producedBy: BuildRef[] }
    >();
    for (const { result, counted } of compared) {
      const output = result.outputs.find((o) => o.path === path);
      const sha256 = output?.sha256 ?? null;
      const variantKey = sha256 ?? 'missing';
      let variant = variants.get(variantKey);
      if (variant === undefined) {
        variant = { sha256, producedBy: [] };
        variants.set(variantKey, variant);
      }
      if (variant.sizeBytes === undefined && output?.sizeBytes !== undefined)
        variant.sizeBytes = output.sizeBytes;
      variant.producedBy.push({ operator: result.operator, workerId: result.workerId, counted });
    }
    const ordered = [...variants.values()].sort((a, b) => b.producedBy.length - a.producedBy.length);
    const claimedSha256 = claimed.get(path);
    return {
      path,
      agrees: ordered.length === 1 && ordered[0]!.sha256 !== null,
      ...(claimedSha256 !== undefined && { claimedSha256 }),
      variants: ordered,
    };
  });

  const missing = compared
    .map(({ result }) => {
      const have = new Set(result.outputs.map((o) => o.path));
      return {
        operator: result.operator,
        workerId: result.workerId,
        paths: sortedPaths.filter((p) => !have.has(p)),
      };
    })
    .filter((entry) => entry.paths.length > 0);

  return {
    schema: DIVERGENCE_REPORT_SCHEMA_V1,
    verdict: decision.verdict,
    explanation: decision.explanation,
    results: reportResults,
    files,
    agreeingPaths: files.filter((f) => f.agrees).map((f) => f.path),
    differingPaths: files.filter((f) => !f.agrees).map((f) => f.path),
    missing,
    ...(options.debian !== undefined && { debian: options.debian }),
  };
}

/** Renders a report for a terminal: differing files first, each variant with its digest, size and builds. */
export function renderDivergenceText(report: DivergenceReport): string {
  const lines: string[] = [`Verdict: ${report.verdict}`, `  ${report.explanation}`, '', 'Results:'];
  for (const r of report.results) {
    const what = r.kind === 'built' ? 'built' : `failed (${r.failureReason})`;
    const status = r.counted
      ? r.dissenting
        ? 'counted, DISSENTING'
        : 'counted'
      : `not counted: ${r.notCountedReason}`;
    const log =
      r.log === undefined
        ? 'no log'
        : `log ${shortDigest(r.log.sha256)}${r.log.sizeBytes === undefined ? '' : ` (${r.log.sizeBytes} bytes)`}`;
    lines.push(
      `  ${r.operator}/${r.workerId} job ${r.jobId} attempt ${r.attempt}: ${what}, ${status}, ${log}`,
    );
  }
  const differing = report.files.filter((f) => !f.agrees);
  lines.push('', `Files that differ (${differing.length} of ${report.files.length}):`);
  if (differing.length === 0) lines.push('  none');
  for (const file of differing) {
    lines.push(
      `  ${file.path}${file.claimedSha256 === undefined ? '' : `  (claimed ${shortDigest(file.claimedSha256)})`}`,
    );
    for (const variant of file.variants) {
      const digest = variant.sha256 === null ? '(missing)' : shortDigest(variant.sha256);
      const size = variant.sizeBytes === undefined ? '' : `${variant.sizeBytes} bytes`;
      const who = variant.producedBy
        .map((b) => `${b.operator}/${b.workerId}${b.counted ? '' : '*'}`)
        .join(', ');
      lines.push(`    ${digest.padEnd(22)} ${size.padEnd(16)} ${who}`);
    }
  }
  lines.push('', `Files that agree across all builds (${report.agreeingPaths.length}):`);
  lines.push(report.agreeingPaths.length === 0 ? '  none' : `  ${report.agreeingPaths.join(', ')}`);
  if (report.debian !== undefined) {
    const nested = renderNestedDebDivergenceText(report.debian);
    lines.push('', "Inside the .debs (from the workers' inspections):");
    lines.push(nested === '' ? '  nothing found' : nested.trimEnd().replace(/^/gm, '  '));
  }
  if (report.missing.length > 0) {
    lines.push('', 'Missing files:');
    for (const entry of report.missing)
      lines.push(`  ${entry.operator}/${entry.workerId}: ${entry.paths.join(', ')}`);
  }
  if (report.results.some((r) => r.kind === 'built' && !r.counted))
    lines.push('', '* not counted toward agreement');
  return `${lines.join('\n')}\n`;
}

function shortDigest(sha256: string): string {
  return `sha256:${sha256.slice(0, 12)}…`;
}
