// The nested divergence section for a terminal: one finding per line, hostile names escaped.
import { short, who } from './build-nested-deb-divergence.ts';
import type { NestedComparison, NestedDebBuild, NestedDebDivergence } from './nested-deb-divergence.ts';

/** Control characters of hostile member names would rewrite the terminal: show them escaped. */
function printable(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function builds(list: readonly NestedDebBuild[]): string {
  return list.map((b) => `${who(b)}${b.counted ? '' : '*'}`).join(', ');
}

function describeComparison(c: NestedComparison, leftName: string, rightName: string): string {
  const parts: string[] = [];
  if (c.arMembersDiffer) parts.push('ar members differ');
  for (const d of c.compressionDiffers)
    parts.push(`${d.area}.tar compressed ${d.left ?? 'absent'} vs ${d.right ?? 'absent'}`);
  for (const area of c.orderDiffers) parts.push(`${area}.tar member order differs`);
  for (const m of c.members) {
    parts.push(
      m.only === undefined
        ? `${m.area}.tar ${m.path} differs (${m.differences.join(', ')})`
        : `${m.area}.tar ${m.path} only in ${m.only === 'left' ? leftName : rightName}`,
    );
  }
  if (c.membersOmitted > 0) parts.push(`${c.membersOmitted} more member differences not listed`);
  if (parts.length === 0) parts.push(c.identical ? 'identical' : 'no member differs');
  return parts.join('; ');
}

/**
 * Renders the section for a terminal, one finding per line: hazards first (`HAZARD <kind> in
 * <member>: <path>`), then per .deb the published-vs-rebuilt and rebuilt-vs-rebuilt differences with
 * their hints, the diffoscope reports and the notes. Control characters in names are escaped.
 * Ends with a newline unless empty.
 */
export function renderNestedDebDivergenceText(section: NestedDebDivergence): string {
  const lines: string[] = [];
  const hazards = section.debs.flatMap((deb) => deb.hazards.map((hazard) => ({ deb, hazard })));
  for (const { deb, hazard } of hazards) {
    lines.push(
      `HAZARD ${hazard.kind} in ${hazard.member}: ${hazard.path ?? hazard.detail}  [${hazard.role} ${deb.path}, found by ${builds(hazard.foundBy)}]`,
    );
  }
  for (const deb of section.debs)
    if (deb.hazardsOmitted > 0) lines.push(`HAZARD ${deb.hazardsOmitted} more in ${deb.path} not listed`);
  for (const deb of section.debs) {
    for (const c of deb.publishedVsRebuilt) {
      lines.push(
        `${deb.path}: published vs rebuilt (${builds(c.reportedBy)}): ${describeComparison(c, 'published', 'rebuilt')}`,
      );
      for (const hint of c.hints) lines.push(`  hint: ${hint}`);
    }
    for (const c of deb.rebuiltVsRebuilt) {
      const left = `${short(c.left.sha256)} (${builds(c.left.builds)})`;
      const right = `${short(c.right.sha256)} (${builds(c.right.builds)})`;
      lines.push(
        `${deb.path}: rebuilt ${left} vs ${right}: ${describeComparison(c, builds(c.left.builds), builds(c.right.builds))}`,
      );
      for (const hint of c.hints) lines.push(`  hint: ${hint}`);
    }
    for (const d of deb.diffoscope) {
      lines.push(
        `${deb.path}: diffoscope by ${builds([d])}: ${d.byproduct} sha256:${d.sha256}${d.truncated ? ' (truncated)' : ''}`,
      );
    }
    for (const note of deb.notes) lines.push(`${deb.path}: note: ${note}`);
    if (
      deb.differs &&
      deb.publishedVsRebuilt.length === 0 &&
      deb.rebuiltVsRebuilt.length === 0 &&
      deb.notes.length === 0
    ) {
      lines.push(`${deb.path}: differs; no inspection says how`);
    }
  }
  if (section.debs.length === 0) {
    for (const u of section.uninspected) lines.push(`no inspection from ${builds([u])}: ${u.reason}`);
  }
  return lines.length === 0 ? '' : `${lines.map(printable).join('\n')}\n`;
}
