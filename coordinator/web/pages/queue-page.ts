// Queue and operators: what is pending and running, each worker's heartbeat, throughput, failures
// and capacity, and finished work per hour.
import { stackedColumns } from '../charts.ts';
import { href, html, type SafeHtml } from '../html.ts';
import { buildHref, bytes, count, operatorList, packageLink, pageLinks, table, time } from '../page-parts.ts';
import { OUTCOME_CLASSES, type OutcomeClass, type QueueFacts } from '../read-model.ts';
import { buildHead, buildRows } from './overview-page.ts';

const OUTCOME_LABELS: Readonly<Record<OutcomeClass, string>> = {
  built: 'built',
  'build-failure': 'build failures',
  infrastructure: 'infrastructure failures',
  cancelled: 'cancelled',
};

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

export function queuePage(facts: QueueFacts, isFirst: boolean): { title: string; main: SafeHtml } {
  const running = facts.open.filter((a) => a.startedAt !== undefined).length;
  const hourLabels = facts.hourly.hours.map((h) => `${h.slice(5, 10)} ${h.slice(11, 16)}`);
  const stacks = OUTCOME_CLASSES.map((cls) => ({
    label: OUTCOME_LABELS[cls],
    className: `o-${cls}`,
    values: facts.hourly.counts[cls],
  }));
  const totals = OUTCOME_CLASSES.map(
    (cls) => `${OUTCOME_LABELS[cls]} ${count(facts.hourly.counts[cls].reduce((a, b) => a + b, 0))}`,
  );
  const workerRows = facts.workers.map(
    (w) =>
      html`<tr><td>${w.operator}</td><td class="mono">${w.workerId}</td><td>${w.state}</td><td>${time(w.lastSeenAt)}</td><td class="num">${w.running} / ${w.queued}</td><td class="num">${count(w.recent.built)}</td><td>${
        w.failureReasons.length === 0
          ? html`<span class="muted">none</span>`
          : w.failureReasons.map((f, i) => html`${i > 0 ? ', ' : ''}${f.reason} ×${count(f.count)}`)
      }</td><td>${w.capacity.cores} cores, ${bytes(w.capacity.memoryBytes)}, ${bytes(w.capacity.diskBytes)} disk</td><td>${w.architectures.join(', ')}; ${w.backends.join(', ')}</td></tr>`,
  );
  const openRows = facts.open.map(
    (a) =>
      html`<tr><td>${packageLink(a.name)}</td><td><a href="${buildHref(a.buildId)}">build</a></td><td>${a.operator}</td><td class="mono">${a.workerId}</td><td class="num">${a.attempt}</td><td>${a.startedAt ? 'running' : 'queued'}</td><td>${time(a.assignedAt)}</td><td>${time(a.startedAt)}</td><td>${time(a.leaseExpiresAt)}</td></tr>`,
  );
  const next = facts.pendingNext ? href(['queue'], { after: facts.pendingNext }) : undefined;
  const main = html`<h1>Queue and operators</h1>
<div class="cards">
<div class="card"><div class="big">${count(facts.pendingTotal)}</div>${plural(facts.pendingTotal, 'build', 'builds')} pending a verdict</div>
<div class="card"><div class="big">${count(running)}</div>${plural(running, 'rebuild', 'rebuilds')} running now${facts.openTotal > facts.open.length ? ' (of the first shown)' : ''}</div>
<div class="card"><div class="big">${count(facts.openTotal - running)}</div>${plural(facts.openTotal - running, 'rebuild', 'rebuilds')} assigned, waiting for a worker</div>
</div>
<h2>Finished work per hour</h2>
<figure aria-labelledby="hourly-caption"><figcaption id="hourly-caption">Rebuilds finished per hour (UTC), last ${facts.hourly.hours.length} hours</figcaption>
${stackedColumns(stacks, hourLabels, `Rebuilds finished per hour: ${totals.join(', ')}`)}
<ul class="legend">${stacks.map((s) => html`<li><span class="swatch ${s.className}" aria-hidden="true"></span>${s.label}</li>`)}</ul>
<p class="muted">In total: ${totals.join('; ')}.</p>
</figure>
<h2>Operators and workers</h2>
${
  facts.workers.length === 0
    ? html`<p class="muted">No worker has enrolled.</p>`
    : table(
        'Workers: last heartbeat, work in hand, the last 24 hours, capacity',
        [
          'Operator',
          'Worker',
          'State',
          'Last heartbeat',
          'Running / queued',
          'Built (24 h)',
          'Failures (24 h)',
          'Capacity',
          'Builds for',
        ],
        workerRows,
        [4, 5],
      )
}
<h2>Rebuilds in progress</h2>
${
  facts.open.length === 0
    ? html`<p class="muted">Nothing is assigned right now.</p>`
    : html`${table('Assigned rebuilds, oldest first', ['Package', 'Build', 'Operator', 'Worker', 'Attempt', 'State', 'Assigned', 'Started', 'Lease until'], openRows, [4])}${
        facts.openTotal > facts.open.length
          ? html`<p class="muted">The oldest ${facts.open.length} of ${count(facts.openTotal)}.</p>`
          : ''
      }`
}
<h2>Pending builds</h2>
${facts.pending.length === 0 ? html`<p class="muted">No build is waiting for a verdict.</p>` : table('Builds waiting for a verdict, oldest first', buildHead(), buildRows(facts.pending))}
${pageLinks({ ...(!isFirst && { first: '/queue' }), ...(next !== undefined && { next }) }, 'Pending build pages')}
<p class="muted">Operators run their workers on their own machines; agreement counts operators, never workers or keys: ${operatorList([...new Set(facts.workers.map((w) => w.operator))])}.</p>`;
  return { title: 'Queue and operators', main };
}
