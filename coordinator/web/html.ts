// The one way the web pages write HTML: a tagged template that escapes every value it is given,
// unless the value is itself the output of the template. Hostile text stays text wherever it lands.

/** HTML this module produced (by escaping, or from a template whose values it escaped). */
export class SafeHtml {
  readonly #text: string;
  constructor(text: string) {
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

/** What a template accepts: text and numbers are escaped; nothing at all for null, undefined, false. */
export type HtmlValue = SafeHtml | string | number | null | undefined | false | readonly HtmlValue[];

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Characters that change what text around them looks like without being seen: C0 and C1 controls
 * (tab and line feed excepted), and the bidirectional controls (an RTL override in a file name can
 * make `gpj.exe` read as `exe.jpg`). Each is shown as `[U+XXXX]`, so a reader sees it is there.
 */
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const NEEDS_WORK = new RegExp(`[&<>"']|${INVISIBLE.source}`, 'g');

function replacement(char: string): string {
  const escaped = ESCAPES[char];
  if (escaped !== undefined) return escaped;
  return `[U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`;
}

/**
 * Text as HTML, safe in element content and in quoted attribute values: `& < > " '` become
 * references, invisible controls become visible `[U+XXXX]` markers.
 */
export function escapeHtml(text: string): string {
  NEEDS_WORK.lastIndex = 0;
  if (!NEEDS_WORK.test(text)) return text;
  NEEDS_WORK.lastIndex = 0;
  return text.replace(NEEDS_WORK, replacement);
}

function append(value: HtmlValue, out: string[]): void {
  if (value === null || value === undefined || value === false) return;
  if (value instanceof SafeHtml) out.push(value.toString());
  else if (typeof value === 'string') out.push(escapeHtml(value));
  else if (typeof value === 'number') out.push(escapeHtml(String(value)));
  else if (Array.isArray(value)) for (const item of value) append(item, out);
  else throw new TypeError(`html: cannot interpolate a ${typeof value}`);
}

/**
 * The template tag: `html\`<td>${name}</td>\`` escapes `name`. Values go only where text or a
 * quoted attribute value may go; URLs are built with {@link href} so a value never picks a scheme.
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  const out: string[] = [strings[0]!];
  for (let i = 0; i < values.length; i++) {
    append(values[i]!, out);
    out.push(strings[i + 1]!);
  }
  return new SafeHtml(out.join(''));
}

/** HTML from a string the code itself wrote and that holds no outside data (an SVG path, a constant). */
export function trusted(text: string): SafeHtml {
  return new SafeHtml(text);
}

/**
 * A same-origin URL: a path whose every segment is percent-encoded, plus query parameters. Undefined
 * parameters are left out. The result always starts with `/`, so no value can choose a scheme or host.
 */
export function href(
  segments: readonly string[],
  query: Readonly<Record<string, string | number | undefined>> = {},
): string {
  const path = `/${segments.map((s) => encodeURIComponent(s)).join('/')}`;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const search = params.toString();
  return search === '' ? path : `${path}?${search}`;
}

/** At most `maxChars` characters of `text` (code points), with `…` when cut. */
export function shorten(text: string, maxChars: number): string {
  const chars = Array.from(text);
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars - 1).join('')}…`;
}

/** `sha256:0123456789ab…`: enough to tell digests apart on a page; the full value sits in a title. */
export function shortDigest(sha256: string): string {
  return `sha256:${sha256.slice(0, 12)}…`;
}
