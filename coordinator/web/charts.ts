// Charts drawn on the server as SVG: no script, no style attribute (colours come from classes in the
// stylesheet, so they follow the light or dark scheme), a title on every mark for a pointer or a
// screen reader, and a text alternative beside each chart.
import type { Verdict } from '../../services/consensus/verdict.ts';
import { href, html, type SafeHtml } from './html.ts';
import { VERDICT_ORDER, verdictClass, verdictLabel } from './verdict-style.ts';

/** Coordinates with at most one decimal: short markup, and no locale in number formatting. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/**
 * One horizontal bar split by verdict, widths proportional to the counts, in {@link VERDICT_ORDER}.
 * `label` names the bar for assistive technology.
 */
export function verdictBar(counts: Readonly<Record<Verdict, number>>, label: string): SafeHtml {
  const total = VERDICT_ORDER.reduce((sum, v) => sum + counts[v], 0);
  const width = 300;
  let x = 0;
  const parts: SafeHtml[] = [];
  for (const verdict of VERDICT_ORDER) {
    const count = counts[verdict];
    if (count === 0 || total === 0) continue;
    const w = (count / total) * width;
    parts.push(
      html`<rect class="${verdictClass(verdict)}" x="${n(x)}" y="0" width="${n(w)}" height="14"><title>${verdictLabel(verdict)}: ${count}</title></rect>`,
    );
    x += w;
  }
  const description = VERDICT_ORDER.filter((v) => counts[v] > 0)
    .map((v) => `${verdictLabel(v)} ${counts[v]}`)
    .join(', ');
  return html`<svg class="bar" viewBox="0 0 ${width} 14" preserveAspectRatio="none" role="img" aria-label="${label}: ${description || 'nothing yet'}">${total === 0 ? html`<rect class="empty" x="0" y="0" width="${width}" height="14"/>` : parts}</svg>`;
}

export interface LineSeries {
  readonly label: string;
  /** A class `series-<n>` picks its colour and dash pattern (so lines differ without colour too). */
  readonly index: number;
  /** One value per x position, 0..1; undefined leaves a gap. */
  readonly values: readonly (number | undefined)[];
}

const PLOT = { width: 640, height: 220, left: 44, right: 12, top: 12, bottom: 28 } as const;

function xOf(i: number, count: number): number {
  const inner = PLOT.width - PLOT.left - PLOT.right;
  return PLOT.left + (count <= 1 ? inner / 2 : (i / (count - 1)) * inner);
}

function yOf(value: number): number {
  return PLOT.top + (1 - value) * (PLOT.height - PLOT.top - PLOT.bottom);
}

/** Horizontal grid lines at 0, 25, 50, 75, 100 % with their labels. */
function percentGrid(): SafeHtml[] {
  return [0, 0.25, 0.5, 0.75, 1].map(
    (v) =>
      html`<line class="grid" x1="${PLOT.left}" x2="${PLOT.width - PLOT.right}" y1="${n(yOf(v))}" y2="${n(yOf(v))}"/><text class="axis" x="${PLOT.left - 6}" y="${n(yOf(v) + 4)}" text-anchor="end">${v * 100}%</text>`,
  );
}

/** First, middle and last x labels (dates), enough to read the time axis on a phone. */
function xLabels(labels: readonly string[]): SafeHtml[] {
  const picks = [...new Set([0, Math.floor((labels.length - 1) / 2), labels.length - 1])].filter(
    (i) => i >= 0 && i < labels.length,
  );
  return picks.map((i) => {
    const anchor = i === 0 ? 'start' : i === labels.length - 1 ? 'end' : 'middle';
    return html`<text class="axis" x="${n(xOf(i, labels.length))}" y="${PLOT.height - 8}" text-anchor="${anchor}">${labels[i]!}</text>`;
  });
}

/** A line chart of shares (0..1) over `labels` (x positions), one line and point set per series. */
export function shareLineChart(
  series: readonly LineSeries[],
  labels: readonly string[],
  title: string,
): SafeHtml {
  const lines = series.map((s) => {
    const segments: string[] = [];
    let current: string[] = [];
    s.values.forEach((v, i) => {
      if (v === undefined) {
        if (current.length > 0) segments.push(current.join(' '));
        current = [];
      } else current.push(`${n(xOf(i, labels.length))},${n(yOf(v))}`);
    });
    if (current.length > 0) segments.push(current.join(' '));
    const points = s.values.map((v, i) =>
      v === undefined
        ? ''
        : html`<circle class="point series-${s.index}" cx="${n(xOf(i, labels.length))}" cy="${n(yOf(v))}" r="2.5"><title>${s.label}, ${labels[i] ?? ''}: ${n(v * 100)}%</title></circle>`,
    );
    return html`<g class="series series-${s.index}">${segments.map((p) => html`<polyline points="${p}"/>`)}${points}</g>`;
  });
  return html`<svg class="chart" viewBox="0 0 ${PLOT.width} ${PLOT.height}" role="img" aria-label="${title}">${percentGrid()}${xLabels(labels)}${lines}</svg>`;
}

export interface ColumnStack {
  readonly label: string;
  /** CSS class of the stack's colour. */
  readonly className: string;
  readonly values: readonly number[];
}

/** Stacked columns: one column per x label, stacks in the order given. */
export function stackedColumns(
  stacks: readonly ColumnStack[],
  labels: readonly string[],
  title: string,
): SafeHtml {
  const totals = labels.map((_, i) => stacks.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const inner = PLOT.width - PLOT.left - PLOT.right;
  const slot = inner / Math.max(1, labels.length);
  const barWidth = Math.max(1, slot * 0.8);
  const plotHeight = PLOT.height - PLOT.top - PLOT.bottom;
  const columns = labels.map((label, i) => {
    let y = PLOT.top + plotHeight;
    const x = PLOT.left + i * slot + (slot - barWidth) / 2;
    return stacks.map((s) => {
      const value = s.values[i] ?? 0;
      if (value === 0) return '';
      const h = (value / max) * plotHeight;
      y -= h;
      return html`<rect class="${s.className}" x="${n(x)}" y="${n(y)}" width="${n(barWidth)}" height="${n(h)}"><title>${label}: ${value} ${s.label}</title></rect>`;
    });
  });
  const grid = [0, 0.5, 1].map((f) => {
    const y = PLOT.top + (1 - f) * plotHeight;
    return html`<line class="grid" x1="${PLOT.left}" x2="${PLOT.width - PLOT.right}" y1="${n(y)}" y2="${n(y)}"/><text class="axis" x="${PLOT.left - 6}" y="${n(y + 4)}" text-anchor="end">${n(max * f)}</text>`;
  });
  return html`<svg class="chart" viewBox="0 0 ${PLOT.width} ${PLOT.height}" role="img" aria-label="${title}">${grid}${xLabels(labels)}${columns}</svg>`;
}

export interface TimelineMark {
  readonly buildId: string;
  readonly verdict: Verdict;
  readonly label: string;
}

/** One square per build, oldest first, each a link to its build page (reachable by keyboard). */
export function buildTimeline(marks: readonly TimelineMark[], title: string): SafeHtml {
  const size = 14;
  const gap = 3;
  const perRow = 25;
  const rows = Math.max(1, Math.ceil(marks.length / perRow));
  const width = perRow * (size + gap);
  const height = rows * (size + gap);
  const squares = marks.map((m, i) => {
    const x = (i % perRow) * (size + gap);
    const y = Math.floor(i / perRow) * (size + gap);
    return html`<a href="${href(['builds', m.buildId])}" aria-label="${m.label}"><rect class="${verdictClass(m.verdict)}" x="${x}" y="${y}" width="${size}" height="${size}" rx="2"><title>${m.label}</title></rect></a>`;
  });
  return html`<svg class="timeline" viewBox="0 0 ${width} ${height}" role="group" aria-label="${title}">${squares}</svg>`;
}

/** A legend of verdict colours (only those present), as a list. */
export function verdictLegend(verdicts: readonly Verdict[]): SafeHtml {
  return html`<ul class="legend">${VERDICT_ORDER.filter((v) => verdicts.includes(v)).map(
    (v) =>
      html`<li><span class="swatch ${verdictClass(v)}" aria-hidden="true"></span>${verdictLabel(v)}</li>`,
  )}</ul>`;
}
