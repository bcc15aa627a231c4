// The per-package badge: a small standalone SVG ("rbnet | reproducible by 3 operators") that READMEs
// embed as an image. Fixed colours (it sits on other people's pages), every text escaped.
import { html, type SafeHtml } from './html.ts';
import type { BadgeFacts } from './read-model.ts';
import { verdictGroup, verdictLabel } from './verdict-style.ts';

/** Badge colours with white text at a contrast ratio of at least 4.5:1. */
const COLOURS = {
  good: '#1e6b34',
  alarm: '#a4161a',
  bad: '#b03a00',
  none: '#5c5c5c',
  open: '#2b5797',
  unknown: '#5c5c5c',
} as const;

/** The badge's right-hand text. */
export function badgeMessage(facts: BadgeFacts): string {
  const operators = `${facts.agreeingOperators} operator${facts.agreeingOperators === 1 ? '' : 's'}`;
  if (facts.verdict === 'reproducible') return `reproducible by ${operators}`;
  if (facts.verdict === 'agreed') return `agreed by ${operators}`;
  return verdictLabel(facts.verdict);
}

/** The badge's whole text, as its title and as the alt text of the image that shows it. */
export function badgeTitle(facts: BadgeFacts | undefined): string {
  return facts ? `rbnet: ${facts.name} is ${badgeMessage(facts)}` : 'rbnet: no such package';
}

/** Approximate width of `text` in 11 px Verdana, px: characters are then fitted with textLength. */
function textWidth(text: string): number {
  return Math.ceil(Array.from(text).length * 6.6) + 10;
}

/** The badge for `facts`, or for a package the coordinator has no build of (`undefined`). */
export function renderBadge(facts: BadgeFacts | undefined): SafeHtml {
  const label = 'rbnet';
  const message = facts ? badgeMessage(facts) : 'no such package';
  const colour = facts ? COLOURS[verdictGroup(facts.verdict)] : COLOURS.unknown;
  const left = textWidth(label);
  const right = textWidth(message);
  const width = left + right;
  const title = badgeTitle(facts);
  return html`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="20" role="img" aria-label="${title}"><title>${title}</title><rect width="${left}" height="20" fill="#444"/><rect x="${left}" width="${right}" height="20" fill="${colour}"/><g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="5" y="14" textLength="${left - 10}">${label}</text><text x="${left + 5}" y="14" textLength="${right - 10}">${message}</text></g></svg>`;
}
