// Small pieces the pages share: verdicts, times, links to builds and packages, tables that scroll on
// a phone, and the links between pages of a long list.
import type { Verdict } from '../../services/consensus/verdict.ts';
import { type HtmlValue, href, html, type SafeHtml, shorten } from './html.ts';
import type { FamilyKey } from './read-model.ts';
import { verdictClass, verdictLabel, verdictMeaning } from './verdict-style.ts';

/** Characters of a name shown in a list before it is cut (the package page shows it whole). */
export const NAME_CHARS_IN_LISTS = 80;

/** The verdict as a coloured square and its name; the meaning in a title. */
export function verdictTag(verdict: Verdict): SafeHtml {
  return html`<span class="verdict" title="${verdictMeaning(verdict)}"><span class="swatch ${verdictClass(verdict)}" aria-hidden="true"></span>${verdictLabel(verdict)}</span>`;
}

/** A UTC time as text; the script shows it in the reader's zone. */
export function time(iso: string | undefined): SafeHtml {
  if (iso === undefined) return html`<span class="muted">–</span>`;
  const text = `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
  return html`<time class="local" datetime="${iso}">${text}</time>`;
}

export function familyLabel(family: FamilyKey): string {
  return `${family.backend}/${family.architecture}`;
}

export function buildHref(buildId: string): string {
  return href(['builds', buildId]);
}

export function packageHref(name: string): string {
  return href(['packages', name]);
}

/** A package name as a link, cut in lists; bidi-isolated so it cannot reorder the text around it. */
export function packageLink(name: string, maxChars = NAME_CHARS_IN_LISTS): SafeHtml {
  return html`<a href="${packageHref(name)}" title="${name}"><bdi>${shorten(name, maxChars)}</bdi></a>`;
}

/** Operator names, comma separated; a dash for none. */
export function operatorList(operators: readonly string[]): SafeHtml {
  return operators.length === 0 ? html`<span class="muted">–</span>` : html`${operators.join(', ')}`;
}

/**
 * A table inside a region that scrolls sideways on a narrow screen (focusable, so a keyboard can
 * scroll it). `caption` names it for assistive technology.
 */
export function table(
  caption: string,
  head: readonly HtmlValue[],
  rows: readonly SafeHtml[],
  numeric: readonly number[] = [],
): SafeHtml {
  return html`<div class="scroll" role="region" aria-label="${caption}" tabindex="0"><table><caption>${caption}</caption><thead><tr>${head.map(
    (cell, i) => html`<th scope="col"${numeric.includes(i) ? html` class="num"` : ''}>${cell}</th>`,
  )}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

/**
 * Links between pages of a keyset-paginated list: back to its first page (when this is not it) and
 * on to the next one (when there is more).
 */
export function pageLinks(
  pages: { readonly first?: string; readonly next?: string },
  label: string,
): SafeHtml {
  if (pages.first === undefined && pages.next === undefined) return html``;
  return html`<nav class="pages" aria-label="${label}">${pages.first !== undefined ? html`<a href="${pages.first}">← First page</a>` : ''}${pages.next !== undefined ? html`<a href="${pages.next}" rel="next">Next page →</a>` : ''}</nav>`;
}

/** `1,234`: thousands separated the same way whatever the server's locale. */
export function count(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `3.2 GiB`, `512 MiB`, `4 KiB`, `12 B`. */
export function bytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = value;
  let unit = 0;
  while (v >= 1024 && unit < units.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${unit === 0 ? v : Math.round(v * 10) / 10} ${units[unit]}`;
}
