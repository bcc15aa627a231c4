// deb822 control-format parsing (Debian Policy §5.1) for untrusted documents: size and shape are
// checked before meaning, and every refusal names the field it is about.
import { DebianFormatError } from '../errors.ts';

/** One paragraph: field values keyed by the field name as written, looked up case-insensitively. */
export interface Deb822Paragraph {
  /** The value of `name` (case-insensitive), or undefined. Multi-line values keep their newlines. */
  get(name: string): string | undefined;
  /** Field names in document order, as written. */
  readonly names: readonly string[];
  /** 1-based line number where the paragraph starts, for messages. */
  readonly firstLine: number;
}

export interface Deb822Limits {
  /** Largest document accepted, in bytes of UTF-8 text. */
  readonly maxBytes: number;
  /** Most paragraphs accepted. */
  readonly maxParagraphs: number;
  /** Most fields in one paragraph. */
  readonly maxFieldsPerParagraph: number;
  /** Longest single line, in characters. */
  readonly maxLineLength: number;
}

export const DEFAULT_DEB822_LIMITS: Deb822Limits = Object.freeze({
  maxBytes: 1024 * 1024,
  maxParagraphs: 1,
  maxFieldsPerParagraph: 64,
  maxLineLength: 64 * 1024,
});

/** Field names: Policy §5.1, printable US-ASCII except controls, space and colon, not starting with # or -. */
const FIELD_NAME = /^[!-9;-~][!-9;-~]*$/;

/** Lower-cased field names seen so far; an index repeats the same few dozen names a million times. */
const lowerNames = new Map<string, string>();
const MAX_CACHED_NAMES = 4096;

function lowerName(name: string): string {
  let lower = lowerNames.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowerNames.size < MAX_CACHED_NAMES) lowerNames.set(name, lower);
  }
  return lower;
}

class Paragraph implements Deb822Paragraph {
  readonly names: string[] = [];
  private readonly byLowerName = new Map<string, string>();
  constructor(readonly firstLine: number) {}
  get(name: string): string | undefined {
    return this.byLowerName.get(name.toLowerCase());
  }
  /** Adds a field; false (and no change) if a field of that name, in any case, is already present. */
  add(name: string, value: string): boolean {
    const key = lowerName(name);
    if (this.byLowerName.has(key)) return false;
    this.names.push(name);
    this.byLowerName.set(key, value);
    return true;
  }
  append(name: string, line: string): void {
    const key = lowerName(name);
    this.byLowerName.set(key, `${this.byLowerName.get(key)}\n${line}`);
  }
}

/** True when the line holds only whitespace (what `trim()` removes), tested without allocating for ordinary lines. */
function isBlankLine(line: string): boolean {
  if (line.length === 0) return true;
  const first = line.charCodeAt(0);
  // Printable ASCII other than space cannot be trimmed away, so the line is not blank.
  if (first > 0x20 && first < 0x7f) return false;
  return line.trim() === '';
}

// ignoreBOM: true keeps a leading U+FEFF in the decoded text so the check below can refuse it; with
// false the decoder strips it silently and the check never fires. One decoder for every call: without
// `stream` a decode keeps no state, and an index decodes tens of thousands of paragraphs.
const CONTROL_TEXT_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Checks that `bytes` are text a Debian control file may hold: valid UTF-8, no NUL or other control
 * characters besides tab and LF, and LF line ends (CR is refused rather than guessed at).
 * `what` names the document in messages.
 */
export function decodeControlText(bytes: Uint8Array, what: string, maxBytes: number): string {
  if (bytes.byteLength > maxBytes) {
    throw new DebianFormatError(what, `larger than ${maxBytes} bytes (${bytes.byteLength})`);
  }
  let text: string;
  try {
    text = CONTROL_TEXT_DECODER.decode(bytes);
  } catch (cause) {
    throw new DebianFormatError(what, 'not valid UTF-8 text', { cause });
  }
  if (text.charCodeAt(0) === 0xfeff) throw new DebianFormatError(what, 'starts with a byte-order mark');
  const bad = /[\u0000-\u0008\u000b-\u001f\u007f]/.exec(text);
  if (bad) {
    const line = text.slice(0, bad.index).split('\n').length;
    const what2 =
      bad[0] === '\r'
        ? 'a carriage return (CRLF line ends are not accepted)'
        : `control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}`;
    throw new DebianFormatError(what, `line ${line} holds ${what2}`);
  }
  return text;
}

/**
 * Parses deb822 text into paragraphs. Refuses duplicate fields (case-insensitively), continuation
 * lines before any field, empty field names, overlong lines and documents over the limits.
 * Comment lines (`#`) are refused: none of the formats rbnet reads allows them.
 */
export function parseDeb822(
  text: string,
  what: string,
  limits: Partial<Deb822Limits> = {},
): Deb822Paragraph[] {
  const max = { ...DEFAULT_DEB822_LIMITS, ...limits };
  if (text.length > max.maxBytes) throw new DebianFormatError(what, `larger than ${max.maxBytes} bytes`);
  const paragraphs: Deb822Paragraph[] = [];
  let current: Paragraph | undefined;
  let lastField: string | undefined;
  // Lines are walked with indexOf rather than split('\n'): a Packages index has over a million lines
  // and one array of them all doubles the garbage the parse makes.
  let start = 0;
  let lineNumber = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    lineNumber += 1;
    if (line.length > max.maxLineLength) {
      throw new DebianFormatError(
        lastField ?? what,
        `line ${lineNumber} is longer than ${max.maxLineLength} characters`,
      );
    }
    if (isBlankLine(line)) {
      if (current) paragraphs.push(current);
      current = undefined;
      lastField = undefined;
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 0x23 /* # */)
      throw new DebianFormatError(what, `line ${lineNumber}: comment lines are not accepted`);
    if (first === 0x20 /* space */ || first === 0x09 /* tab */) {
      if (!current || lastField === undefined) {
        throw new DebianFormatError(what, `line ${lineNumber}: continuation line without a field before it`);
      }
      current.append(lastField, line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new DebianFormatError(what, `line ${lineNumber}: expected "Field: value"`);
    const name = line.slice(0, colon);
    if (!FIELD_NAME.test(name) || first === 0x2d /* - */) {
      throw new DebianFormatError(
        what,
        `line ${lineNumber}: ${JSON.stringify(name.slice(0, 40))} is not a field name`,
      );
    }
    if (!current) {
      if (paragraphs.length >= max.maxParagraphs) {
        throw new DebianFormatError(what, `more than ${max.maxParagraphs} paragraph(s)`);
      }
      current = new Paragraph(lineNumber);
    }
    if (current.names.length >= max.maxFieldsPerParagraph && current.get(name) === undefined) {
      throw new DebianFormatError(
        what,
        `paragraph at line ${current.firstLine} has more than ${max.maxFieldsPerParagraph} fields`,
      );
    }
    if (!current.add(name, line.slice(colon + 1).trim())) {
      throw new DebianFormatError(name, `appears twice (line ${lineNumber})`);
    }
    lastField = name;
  }
  if (current) paragraphs.push(current);
  return paragraphs;
}

/** The value of a field that must be present and non-empty. */
export function requireField(paragraph: Deb822Paragraph, name: string): string {
  const value = paragraph.get(name);
  if (value === undefined) throw new DebianFormatError(name, 'missing');
  if (value.trim() === '') throw new DebianFormatError(name, 'empty');
  return value;
}

/** Lines of a multi-line field (the first, usually empty, line dropped), each trimmed; "." lines mean empty. */
export function fieldLines(value: string): string[] {
  return value
    .split('\n')
    .map((line) => line.trim())
    .filter((line, index) => !(index === 0 && line === ''))
    .map((line) => (line === '.' ? '' : line));
}
