// The overview: what reproduces per family, the alarms first, the trend, and the latest builds.
import { VERDICTS, type Verdict } from '../../../services/consensus/verdict.ts';
import { shareLineChart, verdictBar, verdictLegend } from '../charts.ts';
import { html, type SafeHtml } from '../html.ts';
import {
  buildHref,
  count,
  familyLabel,
  operatorList,
  packageLink,
  table,
  time,
  verdictTag,
} from '../page-parts.ts';
import type { AlarmEntry, BuildSummary, FamilyTrend, OverviewFacts } from '../read-model.ts';
import {
  formatShare,
  reproducedShare,
  VERDICT_ORDER,
  verdictLabel,
  verdictMeaning,
  zeroCounts,
} from '../verdict-style.ts';

/** Alarm rows: the package, what is wrong, since when, and links to the build (and the last good one). */
export function alarmRows(alarms: readonly AlarmEntry[]): SafeHtml[] {
  return alarms.map(
    (a) =>
      html`<tr><td>${packageLink(a.name)}</td><td class="mono">${a.version ?? '–'}</td><td>${familyLabel(a)}</td><td>${
        a.kind === 'mismatch-upstream'
          ? html`<strong>mismatch upstream</strong>: operators agree with each other, not with the published files`
          : html`<strong>regression</strong>: now ${verdictLabel(a.verdict)}, ${a.lastGoodBuildId ? html`<a href="${buildHref(a.lastGoodBuildId)}">reproduced before</a>` : 'reproduced before'}`
      }</td><td>${time(a.since)}</td><td><a href="${buildHref(a.buildId)}">build</a></td></tr>`,
  );
}

export const ALARM_HEAD = ['Package', 'Version', 'Family', 'Alarm', 'Since', 'Build'] as const;

/** Rows of builds: package, version, family, verdict, who agreed and who dissented, when. */
export function buildRows(builds: readonly BuildSummary[], withName = true): SafeHtml[] {
  return builds.map(
    (b) =>
      html`<tr>${withName ? html`<td>${packageLink(b.name)}</td>` : ''}<td class="mono"><a href="${buildHref(b.buildId)}">${b.version ?? b.manifestSha256.slice(0, 12)}</a></td><td>${familyLabel(b)}</td><td>${verdictTag(b.verdict)}</td><td>${operatorList(b.agreeing)}</td><td>${operatorList(b.dissenting)}</td><td>${time(b.createdAt)}</td></tr>`,
  );
}

export function buildHead(withName = true): string[] {
  return [
    ...(withName ? ['Package'] : []),
    'Version',
    'Family',
    'Verdict',
    'Agreed',
    'Dissented',
    'Submitted',
  ];
}

function trendFigure(trend: readonly FamilyTrend[]): SafeHtml {
  const shown = trend.filter((t) => t.days.length > 0).slice(0, 6);
  if (shown.length === 0) return html`<p class="muted">No verdicts yet, so no trend.</p>`;
  const days = [...new Set(shown.flatMap((t) => t.days.map((d) => d.day)))].sort();
  const series = shown.map((t, index) => {
    const byDay = new Map(t.days.map((d) => [d.day, reproducedShare(d.counts)]));
    return { label: familyLabel(t), index, values: days.map((d) => byDay.get(d)) };
  });
  const rows = days.map(
    (day, i) =>
      html`<tr><th scope="row">${day}</th>${series.map((s) => html`<td class="num">${formatShare(s.values[i])}</td>`)}</tr>`,
  );
  return html`<figure aria-labelledby="trend-caption"><figcaption id="trend-caption">Share reproduced per family, by day (UTC), last ${days.length} days</figcaption>
${shareLineChart(series, days, 'Share of packages reproduced per family over time')}
<ul class="legend">${series.map((s) => html`<li><span class="swatch series-key series-${s.index}" aria-hidden="true"></span>${s.label}</li>`)}</ul>
<details><summary>The numbers</summary>${table(
    'Share reproduced per day',
    ['Day', ...series.map((s) => s.label)],
    rows,
    series.map((_, i) => i + 1),
  )}</details>
</figure>`;
}

export function overviewPage(facts: OverviewFacts): { title: string; main: SafeHtml } {
  const all = zeroCounts();
  for (const f of facts.families) for (const v of VERDICTS) all[v] += f.counts[v];
  const packages = facts.families.reduce((sum, f) => sum + f.packages, 0);
  const present: Verdict[] = VERDICT_ORDER.filter((v) => all[v] > 0);
  const familyRows = facts.families.map(
    (f) =>
      html`<tr><th scope="row">${familyLabel(f)}</th><td class="num">${count(f.packages)}</td><td class="num"><strong>${formatShare(reproducedShare(f.counts))}</strong></td><td>${verdictBar(f.counts, familyLabel(f))}</td></tr>`,
  );
  const countRows = facts.families.map(
    (f) =>
      html`<tr><th scope="row">${familyLabel(f)}</th>${VERDICT_ORDER.map((v) => html`<td class="num">${count(f.counts[v])}</td>`)}</tr>`,
  );
  const main = html`<h1>What reproduces</h1>
<p class="lead">${
    packages === 0
      ? 'No builds yet.'
      : html`<strong>${formatShare(reproducedShare(all))}</strong> of the ${count(packages - all.pending)} packages with a verdict were rebuilt by at least ${facts.threshold} independent operators who got the same bytes${all.pending > 0 ? html` (${count(all.pending)} more pending)` : ''}. Each package counts once, by its latest build.`
  }</p>
${
  facts.alarms.total > 0
    ? html`<section class="alarms" aria-labelledby="alarms-heading"><h2 id="alarms-heading">Alarms (${count(facts.alarms.total)})</h2>
<p>Packages whose rebuilds agree with each other but not with what was published, and packages that reproduced before and no longer do.</p>
${table('Alarms, newest first', [...ALARM_HEAD], alarmRows(facts.alarms.alarms))}
${facts.alarms.total > facts.alarms.alarms.length ? html`<p><a href="/alarms">All ${count(facts.alarms.total)} alarms</a></p>` : ''}</section>`
    : html`<p>No alarms: no package is <em>mismatch upstream</em>, and none that reproduced has stopped reproducing.</p>`
}
<h2>By family</h2>
${table('Packages per family: share reproduced (reproducible or agreed, of those with a verdict)', ['Family', 'Packages', 'Reproduced', 'Verdicts'], familyRows, [1, 2])}
${verdictLegend(present)}
<details><summary>Packages per verdict</summary>${table(
    'Packages per family and verdict',
    ['Family', ...VERDICT_ORDER.map(verdictLabel)],
    countRows,
    VERDICT_ORDER.map((_, i) => i + 1),
  )}
<p class="muted">Builds ever recorded, per current verdict: ${
    VERDICT_ORDER.filter((v) => facts.buildTotals[v] > 0)
      .map((v) => `${verdictLabel(v)} ${count(facts.buildTotals[v])}`)
      .join(', ') || 'none'
  }.</p></details>
<h2>Trend</h2>
${trendFigure(facts.trend)}
<h2>Latest builds</h2>
${facts.latest.length === 0 ? html`<p class="muted">None yet.</p>` : table('The latest builds submitted', buildHead(), buildRows(facts.latest))}
<details><summary>What the verdicts mean</summary><dl class="facts">${VERDICT_ORDER.map((v) => html`<dt>${verdictTag(v)}</dt><dd>${verdictMeaning(v)}</dd>`)}</dl></details>`;
  return { title: 'What reproduces', main };
}
