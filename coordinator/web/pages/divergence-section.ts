// The divergence report on the build page: which files differ and who made which digest, then inside
// the .debs (hazards first), with each worker's diffoscope output in a sandboxed frame.
import type { ComparisonView, DebView, DivergenceView, ReportBuild } from '../divergence-view.ts';
import { href, html, type SafeHtml, shortDigest } from '../html.ts';
import { count, table } from '../page-parts.ts';

function who(builds: readonly ReportBuild[]): string {
  return (
    builds.map((b) => `${b.operator}/${b.workerId}${b.counted ? '' : ' (not counted)'}`).join(', ') || '–'
  );
}

function digest(sha256: string | null | undefined): SafeHtml {
  if (sha256 === null) return html`<em>not produced</em>`;
  if (sha256 === undefined) return html`<span class="muted">–</span>`;
  return html`<code title="sha256:${sha256}">${shortDigest(sha256)}</code>`;
}

function filesTable(view: DivergenceView): SafeHtml {
  const rows = view.files.map(
    (f) =>
      html`<tr><td class="mono path">${f.path}</td><td>${f.agrees ? 'same' : html`<strong>differs</strong>`}</td><td>${digest(f.claimedSha256)}</td><td>${f.variants.map(
        (v, i) =>
          html`${i > 0 ? html`<br>` : ''}${digest(v.sha256)} ${v.sizeBytes !== undefined ? `(${count(v.sizeBytes)} bytes) ` : ''}by ${who(v.builds)}`,
      )}</td></tr>`,
  );
  return html`${table(`Files (${count(view.differingTotal)} of ${count(view.filesTotal)} differ)`, ['File', 'Compared', 'Published', 'Rebuilt: digest and by whom'], rows)}${
    view.filesTotal > view.files.length
      ? html`<p class="muted">${count(view.files.length)} of ${count(view.filesTotal)} files shown, differing ones first; the JSON report lists them all.</p>`
      : ''
  }`;
}

function comparison(c: ComparisonView): SafeHtml {
  const rows = c.members.map(
    (m) =>
      html`<tr><td>${m.area}</td><td class="mono path">${m.path}</td><td>${m.only ? `only on the ${m.only === 'left' ? 'first' : 'second'} side` : m.differences.join(', ')}</td></tr>`,
  );
  return html`<h4>${c.title}</h4><p class="muted">Found by ${who(c.builds)}.</p>${
    c.identical
      ? html`<p>Byte for byte the same.</p>`
      : rows.length > 0
        ? table(`Members that differ: ${c.title}`, ['Part', 'Member', 'What differs'], rows)
        : html`<p>The members are the same; the difference is in how the .deb is put together.</p>`
  }${c.membersOmitted > 0 ? html`<p class="muted">${count(c.membersOmitted)} more members differ (not listed).</p>` : ''}${
    c.hints.length > 0 ? html`<p>Likely causes:</p><ul>${c.hints.map((h) => html`<li>${h}</li>`)}</ul>` : ''
  }`;
}

function deb(buildId: string, d: DebView, index: number): SafeHtml {
  return html`<section aria-labelledby="deb-${index}"><h3 id="deb-${index}" class="mono">${d.path}</h3>
${
  d.hazards.length > 0
    ? html`<p class="hazard">Hazards found in the archive (a .deb that tries to escape, or is malformed):</p><ul>${d.hazards.map(
        (h) =>
          html`<li><strong>${h.kind}</strong> in the ${h.role} ${h.member}: <span class="mono">${h.path ?? ''}</span> ${h.detail} (found by ${who(h.foundBy)})</li>`,
      )}</ul>${d.hazardsOmitted > 0 ? html`<p class="muted">${count(d.hazardsOmitted)} more hazards not listed.</p>` : ''}`
    : ''
}
${d.comparisons.map(comparison)}
${d.notes.length > 0 ? html`<ul>${d.notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}
${d.diffoscope.map(
  (
    f,
  ) => html`<h4>diffoscope by ${f.operator}/${f.workerId}${f.truncated ? ' (cut at the worker’s size limit)' : ''}</h4>
<iframe class="diffoscope" sandbox="" referrerpolicy="no-referrer" src="${href(['v1', 'builds', buildId, 'diffoscope', f.sha256])}" title="diffoscope output for ${d.path} by ${f.operator}/${f.workerId}"></iframe>
<p><a href="${href(['v1', 'builds', buildId, 'diffoscope', f.sha256])}">Open the diffoscope output on its own</a> (HTML a worker made; shown with scripts and loads off).</p>`,
)}
</section>`;
}

export function divergenceSection(buildId: string, view: DivergenceView): SafeHtml {
  return html`<h2 id="divergence">Divergence report</h2>
<p>${view.explanation}</p>
${filesTable(view)}
${
  view.missing.length > 0
    ? html`<p>Files some builds did not produce:</p><ul>${view.missing.map((m) => html`<li>${m.operator}/${m.workerId}: <span class="mono">${m.paths.join(', ')}</span></li>`)}</ul>`
    : ''
}
${view.debs.length > 0 ? html`<h3>Inside the .debs</h3>${view.debs.map((d, i) => deb(buildId, d, i))}` : ''}
${
  view.uninspected.length > 0
    ? html`<p>Not looked into:</p><ul>${view.uninspected.map((u) => html`<li>${u.operator}/${u.workerId}: ${u.reason}</li>`)}</ul>`
    : ''
}
<p><a href="${href(['v1', 'builds', buildId, 'divergence'])}">The whole report as JSON</a> · <a href="${href(['v1', 'builds', buildId, 'divergence'], { format: 'text' })}">as text</a></p>`;
}
