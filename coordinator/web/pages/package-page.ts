// One package: its families, a badge to embed, the history of its builds, and every version with its
// verdict and the operators that agreed or dissented.
import { badgeTitle } from '../badge.ts';
import { buildTimeline, verdictLegend } from '../charts.ts';
import { href, html, type SafeHtml } from '../html.ts';
import { buildHref, familyLabel, pageLinks, table, time, verdictTag } from '../page-parts.ts';
import type { PackageFacts } from '../read-model.ts';
import { verdictLabel } from '../verdict-style.ts';
import { buildHead, buildRows } from './overview-page.ts';

export function badgeHref(name: string, architecture?: string): string {
  return href(['badges', `${name}.svg`], { architecture });
}

export function packagePage(
  facts: PackageFacts,
  coordinatorUrl: string,
  isFirst: boolean,
): { title: string; main: SafeHtml } {
  const base = coordinatorUrl.replace(/\/+$/, '');
  const markdown = `[![rbnet](${base}${badgeHref(facts.name)})](${base}${href(['packages', facts.name])})`;
  const familyRows = facts.families.map(
    (f) =>
      html`<tr><th scope="row">${familyLabel(f)}</th><td>${verdictTag(f.latestVerdict)}</td><td class="num">${f.builds}</td><td>${time(f.changedAt)}</td><td><a href="${buildHref(f.latestBuildId)}">latest build</a></td></tr>`,
  );
  const marks = facts.history.map((h) => ({
    buildId: h.buildId,
    verdict: h.verdict,
    label: `${h.version ?? 'build'} on ${familyLabel(h)}, ${h.createdAt.slice(0, 10)}: ${verdictLabel(h.verdict)}`,
  }));
  const next = facts.nextBefore ? href(['packages', facts.name], { before: facts.nextBefore }) : undefined;
  const main = html`<h1>Package <bdi>${facts.name}</bdi></h1>
${table('Latest verdict per family', ['Family', 'Latest verdict', 'Builds', 'Changed', 'Build'], familyRows, [2])}
<h2>Badge</h2>
<p><img src="${badgeHref(facts.name)}" alt="${badgeTitle(facts.badge)}" height="20"></p>
<pre class="command" data-copy="Copy the Markdown">${markdown}</pre>
<h2>History</h2>
<figure aria-labelledby="history-caption"><figcaption id="history-caption">The last ${marks.length} builds, oldest first: one square per build, each a link</figcaption>
${buildTimeline(marks, `Builds of ${facts.name}, oldest first`)}
${verdictLegend([...new Set(marks.map((m) => m.verdict))])}
</figure>
<h2>Every version</h2>
${table(`Builds of ${facts.name}, newest first`, buildHead(false), buildRows(facts.builds, false))}
${pageLinks({ ...(!isFirst && { first: href(['packages', facts.name]) }), ...(next !== undefined && { next }) }, 'Build pages')}`;
  return { title: `Package ${facts.name}`, main };
}
