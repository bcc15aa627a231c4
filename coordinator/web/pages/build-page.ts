// One build: its verdict and the reason in words, who agreed and who dissented, each attempt with its
// timings, outcome and log, the divergence report, what to download, and how to check it yourself.
import { href, html, type SafeHtml, shortDigest } from '../html.ts';
import {
  bytes,
  count,
  familyLabel,
  operatorList,
  packageLink,
  table,
  time,
  verdictTag,
} from '../page-parts.ts';
import type { AttemptFacts, AttemptOutcome, BuildFacts } from '../read-model.ts';
import { verdictLabel, verdictMeaning } from '../verdict-style.ts';
import { verifyCommands } from '../verify-command.ts';
import { divergenceSection } from './divergence-section.ts';

function outcomeText(outcome: AttemptOutcome): SafeHtml {
  switch (outcome.kind) {
    case 'queued':
      return html`queued: waiting for its worker`;
    case 'running':
      return html`running`;
    case 'built':
      return outcome.counted
        ? html`built; counted`
        : html`built; <strong>not counted</strong>${outcome.refusedReason ? html`: ${outcome.refusedReason}` : ''}`;
    case 'build-failure':
      return html`build failure: ${outcome.reason}`;
    case 'infrastructure':
      return html`infrastructure: ${outcome.state}${outcome.reason ? html` (${outcome.reason})` : ''}`;
    case 'cancelled':
      return html`cancelled: no longer needed`;
  }
}

/** `4 min 12 s`, `850 ms`. */
function duration(fromIso: string | undefined, toIso: string | undefined): string {
  if (fromIso === undefined || toIso === undefined) return '–';
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function attemptRows(attempts: readonly AttemptFacts[]): SafeHtml[] {
  return attempts.map(
    (a) =>
      html`<tr><td>${a.operator}</td><td class="mono">${a.workerId}</td><td class="num">${a.attempt}</td><td>${time(a.assignedAt)}</td><td>${time(a.startedAt)}</td><td>${time(a.finishedAt ?? a.receivedAt)}</td><td>${duration(a.startedAt ?? a.assignedAt, a.finishedAt ?? a.receivedAt)}</td><td>${outcomeText(a.outcome)}</td></tr>`,
  );
}

function logs(attempts: readonly AttemptFacts[]): SafeHtml {
  const withLogs = attempts.filter((a) => a.log !== undefined || a.envelopeSha256 !== undefined);
  if (withLogs.length === 0)
    return html`<p class="muted">No attempt has reported yet, so there are no logs.</p>`;
  return html`${withLogs.map((a) => {
    const log = a.log;
    const label = `${a.operator}/${a.workerId}, attempt ${a.attempt}`;
    if (!log) return html`<p>Log of ${label}: not shown here.</p>`;
    return html`<details><summary>Log of ${label} (${log.omittedBytes > 0 ? `last ${bytes(log.sizeBytes - log.omittedBytes)} of ${bytes(log.sizeBytes)}` : bytes(log.sizeBytes)})</summary>
<pre tabindex="0" aria-label="Log of ${label}">${log.text}</pre>
<p><a href="${href(['v1', 'cas', 'sha256', log.sha256])}">The whole log</a> (sha256 ${shortDigest(log.sha256)})</p></details>`;
  })}`;
}

function downloads(facts: BuildFacts): SafeHtml {
  const items: SafeHtml[] = [];
  if (facts.hasAttestation)
    items.push(
      html`<li><a href="${href(['v1', 'builds', facts.buildId, 'attestation'])}">Consensus attestation</a> (SLSA verification summary, DSSE; it embeds every worker's envelope)</li>`,
    );
  for (const a of facts.attempts)
    if (a.envelopeSha256)
      items.push(
        html`<li><a href="${href(['v1', 'cas', 'sha256', a.envelopeSha256])}">Statement signed by ${a.operator}/${a.workerId}</a> (in-toto, DSSE), attempt ${a.attempt}</li>`,
      );
  if (facts.divergence)
    items.push(
      html`<li><a href="${href(['v1', 'builds', facts.buildId, 'divergence'])}">Divergence report</a> (JSON)</li>`,
    );
  items.push(html`<li><a href="${href(['v1', 'builds', facts.buildId])}">This build as JSON</a></li>`);
  return html`<ul>${items}</ul>`;
}

function decisionPart(facts: BuildFacts): SafeHtml {
  const d = facts.decision;
  if (!d) return html`<p>No decision yet: attempts are still open.</p>`;
  return html`<p class="lead">${d.explanation}</p>
<dl class="facts">
<dt>Agreed</dt><dd>${operatorList(d.agreeingOperators)} (${d.agreeingOperators.length}; ${facts.threshold} needed)</dd>
<dt>Dissented</dt><dd>${
    d.dissent.length === 0
      ? html`<span class="muted">nobody</span>`
      : d.dissent.map(
          (x, i) =>
            html`${i > 0 ? html`<br>` : ''}${x.operator}/${x.workerId}: differs in <span class="mono">${x.differingPaths.slice(0, 20).join(', ')}</span>${x.differingPaths.length > 20 ? ` and ${x.differingPaths.length - 20} more` : ''}`,
        )
  }</dd>
<dt>Compared</dt><dd>${operatorList(d.countedOperators)}</dd>
${
  d.notCounted.length > 0
    ? html`<dt>Not counted</dt><dd>${d.notCounted.map((x, i) => html`${i > 0 ? html`<br>` : ''}${x.operator}/${x.workerId}: ${x.reason}`)}</dd>`
    : ''
}
</dl>`;
}

export function buildPage(facts: BuildFacts): { title: string; main: SafeHtml } {
  const title = `${facts.name} ${facts.version ?? ''}`.trim();
  const agreed = facts.decision?.agreeingOutputs ?? [];
  const claimed = new Map(facts.claimedOutputs.map((o) => [o.path, o.sha256]));
  const outputRows = agreed.map(
    (o) =>
      html`<tr><td class="mono path">${o.path}</td><td><code title="sha256:${o.sha256}">${shortDigest(o.sha256)}</code></td><td>${
        !claimed.has(o.path)
          ? html`<span class="muted">not published</span>`
          : claimed.get(o.path) === o.sha256
            ? 'same'
            : html`<strong>differs</strong>`
      }</td></tr>`,
  );
  const main = html`<h1>Build of <bdi>${title}</bdi></h1>
<p class="lead">${verdictTag(facts.verdict)}: ${verdictMeaning(facts.verdict)}.</p>
<dl class="facts">
<dt>Package</dt><dd>${packageLink(facts.name)}</dd>
${facts.version !== undefined ? html`<dt>Version</dt><dd class="mono">${facts.version}</dd>` : ''}
<dt>Family</dt><dd>${familyLabel(facts)}</dd>
<dt>Manifest</dt><dd class="mono">sha256:${facts.manifestSha256}</dd>
${facts.debianSource ? html`<dt>Source</dt><dd>${facts.debianSource === 'archive' ? "each worker's own signed Debian archive" : 'files the submitter uploaded'}</dd>` : ''}
<dt>Submitted</dt><dd>${time(facts.createdAt)} by ${facts.submittedBy}</dd>
<dt>Decided</dt><dd>${time(facts.verdictAt)}</dd>
<dt>Build id</dt><dd class="mono">${facts.buildId}</dd>
</dl>
<h2>Why: ${verdictLabel(facts.verdict)}</h2>
${decisionPart(facts)}
${outputRows.length > 0 ? table(`Files the operators agree on (${count(agreed.length)}), against what was published`, ['File', 'Rebuilt', 'Published'], outputRows) : ''}
<h2>Check it yourself</h2>
<p>Pin the operators you trust with their own keys (<code>rbnet policy create</code>), then verify the file you hold. The coordinator's word is not needed: the command checks every signature itself.</p>
${verifyCommands(facts).map((v) => html`<p>Pinned to ${v.pin}:</p><pre class="command" data-copy="Copy command">${v.command}</pre>`)}
<h2>Attempts</h2>
${facts.attempts.length === 0 ? html`<p class="muted">No attempt assigned yet.</p>` : table('Each attempt: who, when, how long, and how it ended', ['Operator', 'Worker', 'Attempt', 'Assigned', 'Started', 'Finished', 'Took', 'Outcome'], attemptRows(facts.attempts), [2])}
<h3>Logs</h3>
${logs(facts.attempts)}
${facts.divergence ? divergenceSection(facts.buildId, facts.divergence) : ''}
${facts.divergenceUnavailable ? html`<h2>Divergence report</h2><p>Not shown: ${facts.divergenceUnavailable}.</p>` : ''}
<h2>Downloads</h2>
${downloads(facts)}
<h2>Verdict history</h2>
${
  facts.history.length === 0
    ? html`<p class="muted">No verdict recorded yet.</p>`
    : table(
        'Every verdict this build had, oldest first (each is in the transparency log)',
        ['#', 'Verdict', 'Was', 'Decided'],
        facts.history.map(
          (h) =>
            html`<tr><td class="num">${h.sequence}</td><td>${verdictTag(h.verdict)}</td><td>${verdictLabel(h.previousVerdict)}</td><td>${time(h.decidedAt)}</td></tr>`,
        ),
        [0],
      )
}
${
  facts.conflicts.length > 0
    ? html`<h2>apt link conflicts</h2><p>Another build of the same binary package version produced different files; the links of the first stay served.</p><ul>${facts.conflicts.map(
        (c) =>
          html`<li><span class="mono">${c.package} ${c.version}</span>: <a href="${href(['builds', c.publishedBuildId])}">published build</a>, <a href="${href(['builds', c.contestingBuildId])}">contesting build</a></li>`,
      )}</ul>`
    : ''
}`;
  return { title: `Build of ${title}`, main };
}
