// The paragraphs (stanzas) of a large Packages or Sources index, found on the raw bytes and parsed one
// at a time: all at once into records, or lazily through a compact ArchiveIndexView that keeps only
// the bytes and where each name's paragraphs are.
import { DebianFormatError } from '../errors.ts';
import { type Deb822Limits, type Deb822Paragraph, decodeControlText, parseDeb822 } from './deb822.ts';

/**
 * Limits for Packages and Sources indexes. Bookworm's main/amd64 Packages is ~50 MB with ~64,000
 * paragraphs of at most 29 fields and a longest line of ~76,000 characters; its Sources is ~51 MB
 * with ~35,000 paragraphs. These leave about 3× headroom. `maxBytes` counts UTF-16 code units.
 */
export const ARCHIVE_INDEX_LIMITS: Deb822Limits = Object.freeze({
  maxBytes: 192 * 1024 * 1024,
  maxParagraphs: 256 * 1024,
  maxFieldsPerParagraph: 128,
  maxLineLength: 1024 * 1024,
});

/**
 * The byte ranges `[start, end)` of the paragraphs of an index, split at blank lines (a line of only
 * spaces and tabs counts as blank); ranges holding nothing but blanks are skipped. Works on the raw
 * bytes: the separators are ASCII, and UTF-8 never puts an ASCII byte inside a multi-byte character,
 * so this equals a split of the decoded text. A line parseDeb822 would take as blank but this does not
 * (say one holding only U+00A0) leaves two paragraphs in one range, which parsing then refuses: the
 * split can be stricter than the parser but never looser.
 */
function* stanzaRanges(bytes: Uint8Array): Generator<readonly [number, number]> {
  const length = bytes.length;
  let start = 0;
  let searchFrom = 0;
  const isBlankRange = (from: number, to: number): boolean => {
    for (let i = from; i < to; i += 1) {
      const byte = bytes[i];
      if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a) return false;
    }
    return true;
  };
  for (;;) {
    const newline = bytes.indexOf(0x0a, searchFrom);
    if (newline === -1) break;
    // The separator is this newline followed by one or more lines of only spaces and tabs.
    let separatorEnd = -1;
    let next = newline + 1;
    for (;;) {
      let at = next;
      while (at < length && (bytes[at] === 0x20 || bytes[at] === 0x09)) at += 1;
      if (at < length && bytes[at] === 0x0a) {
        separatorEnd = at + 1;
        next = at + 1;
        continue;
      }
      break;
    }
    if (separatorEnd === -1) {
      searchFrom = newline + 1;
      continue;
    }
    if (!isBlankRange(start, newline)) yield [start, newline];
    start = separatorEnd;
    searchFrom = separatorEnd;
  }
  const end = length > 0 && bytes[length - 1] === 0x0a ? length - 1 : length;
  if (start < end && !isBlankRange(start, end)) yield [start, end];
}

/** Parses the one paragraph of a stanza; `decode` has already checked it is control text. */
function parseOneStanza<T>(
  stanza: string,
  what: string,
  limits: Deb822Limits,
  convert: (paragraph: Deb822Paragraph, stanza: string) => T,
): T {
  const [paragraph] = parseDeb822(stanza, what, { ...limits, maxParagraphs: 1 });
  return convert(paragraph as Deb822Paragraph, stanza);
}

/** Rewords a refusal so it says which paragraph of `what` failed (by line and package name). */
function inParagraph(err: DebianFormatError, what: string, line: number, stanza: string): DebianFormatError {
  const name = /^Package:[ \t]*(\S{1,100})/im.exec(stanza)?.[1];
  const detail = err.message.startsWith(`${err.field}: `)
    ? err.message.slice(err.field.length + 2)
    : err.message;
  const where = `${what}, paragraph at line ${line}${name ? ` (${JSON.stringify(name)})` : ''}`;
  return new DebianFormatError(err.field, `${detail} (in ${where})`, { cause: err });
}

/** 1-based line number of byte `offset` in `bytes`. */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let at = bytes.indexOf(0x0a); at !== -1 && at < offset; at = bytes.indexOf(0x0a, at + 1)) line += 1;
  return line;
}

/** How a stanza (already checked as control text) becomes a paragraph. */
export type StanzaParser = (stanza: string, what: string, limits: Deb822Limits) => Deb822Paragraph;

const fullParagraph: StanzaParser = (stanza, what, limits) =>
  parseDeb822(stanza, what, { ...limits, maxParagraphs: 1 })[0] as Deb822Paragraph;

/**
 * A parser that reads only the single-line fields `names` (case-insensitive, each at most once) and
 * skips every other line unread: Sources paragraphs are ~1.5 kB of file lists the sync never uses.
 */
export function selectedFieldsParser(names: readonly string[]): StanzaParser {
  const lowerNames = names.map((name) => name.toLowerCase());
  const pattern = new RegExp(`^(${names.join('|')}):[ \t]*([^\n]*)$`, 'gim');
  return (stanza) => {
    const values = new Map<string, string>();
    for (const match of stanza.matchAll(pattern)) {
      const lower = match[1]!.toLowerCase();
      if (values.has(lower))
        throw new DebianFormatError(names[lowerNames.indexOf(lower)]!, 'appears twice in one paragraph');
      values.set(lower, match[2]!.trimEnd());
    }
    return {
      get: (name) => values.get(name.toLowerCase()),
      names: lowerNames.filter((name) => values.has(name)),
      firstLine: 1,
    };
  };
}

/**
 * Checks and converts the paragraphs of an index that arrives in chunks (as it is decompressed), each
 * exactly once, as soon as it is complete: `visit` gets the record and its byte range in the whole
 * index. Only the unfinished paragraph is held between chunks. Chunks are split at the last `\n\n`
 * they hold (a separator line of spaces or tabs is split inside a block, never across chunks).
 */
export class IndexStanzaStream<T> {
  readonly #max: Deb822Limits;
  #pending: Buffer[] = [];
  /** Bytes of the index before the first pending chunk, and newlines in them. */
  #offset = 0;
  #line = 1;
  #lastByte = -1;
  #total = 0;
  #count = 0;

  constructor(
    private readonly what: string,
    limits: Partial<Deb822Limits>,
    private readonly convert: (paragraph: Deb822Paragraph, stanza: string) => T,
    private readonly visit: (record: T, start: number, end: number) => void,
    private readonly parse: StanzaParser = fullParagraph,
  ) {
    this.#max = { ...ARCHIVE_INDEX_LIMITS, ...limits };
  }

  /** How many paragraphs were converted so far. */
  get count(): number {
    return this.#count;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#total += chunk.byteLength;
    if (this.#total > this.#max.maxBytes)
      throw new DebianFormatError(this.what, `larger than ${this.#max.maxBytes} bytes`);
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let cut = bytes.lastIndexOf('\n\n');
    cut = cut === -1 ? (this.#lastByte === 0x0a && bytes[0] === 0x0a ? 1 : -1) : cut + 2;
    this.#lastByte = bytes[bytes.length - 1]!;
    if (cut === -1) {
      this.#pending.push(bytes);
      return;
    }
    const head = bytes.subarray(0, cut);
    const block = this.#pending.length === 0 ? head : Buffer.concat([...this.#pending, head]);
    this.#pending = cut < bytes.length ? [bytes.subarray(cut)] : [];
    this.#walk(block);
  }

  /** Converts what is left; call once after the last chunk. */
  end(): void {
    const block = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#walk(block);
  }

  #walk(block: Buffer): void {
    for (const [start, end] of stanzaRanges(block)) {
      this.#count += 1;
      if (this.#count > this.#max.maxParagraphs)
        throw new DebianFormatError(this.what, `more than ${this.#max.maxParagraphs} paragraphs`);
      let stanza = '';
      try {
        stanza = decodeControlText(block.subarray(start, end), this.what, this.#max.maxBytes);
        this.visit(
          this.convert(this.parse(stanza, this.what, this.#max), stanza),
          this.#offset + start,
          this.#offset + end,
        );
      } catch (err) {
        if (!(err instanceof DebianFormatError)) throw err;
        // A decoding refusal names the line within the paragraph; say where the paragraph starts.
        throw inParagraph(err, this.what, this.#line + lineAt(block, start) - 1, stanza);
      }
    }
    for (let at = block.indexOf(0x0a); at !== -1; at = block.indexOf(0x0a, at + 1)) this.#line += 1;
    this.#offset += block.byteLength;
  }
}

/**
 * Checks every paragraph of an index (each must be control text and parse with `convert`) and calls
 * `visit` with each record and its byte range. Nothing but the current paragraph is held in memory.
 */
function walkIndex<T>(
  bytes: Uint8Array,
  what: string,
  limits: Partial<Deb822Limits>,
  convert: (paragraph: Deb822Paragraph, stanza: string) => T,
  visit: (record: T, start: number, end: number) => void,
): void {
  const stream = new IndexStanzaStream(what, limits, convert, visit);
  stream.push(bytes);
  stream.end();
}

/** Parses every stanza with parseDeb822, rewording refusals so they say which paragraph of `what` failed. */
export function parseStanzas<T>(
  text: string,
  what: string,
  limits: Partial<Deb822Limits>,
  convert: (paragraph: Deb822Paragraph, stanza: string) => T,
): T[] {
  const records: T[] = [];
  walkIndex(Buffer.from(text, 'utf8'), what, limits, convert, (record) => records.push(record));
  return records;
}

/**
 * A verified index kept as its bytes plus where each name's paragraphs start and end: a few bytes per
 * paragraph instead of a parsed object per paragraph. Bookworm's main Packages index is ~50 MB of text
 * with ~64,000 paragraphs; held parsed it costs several hundred MB of heap, held here its own size
 * (outside the JS heap) plus a map of names. Paragraphs are parsed again when looked up (every one was
 * checked when the view was made, so that parse cannot fail). Frozen after construction.
 */
export class ArchiveIndexView<T> {
  /** @internal Use {@link viewPackagesIndex} or {@link viewSourcesIndex}. */
  constructor(
    private readonly bytes: Buffer,
    /** Name → flat [start, end, start, end, …] byte ranges of its paragraphs, in index order. */
    private readonly ranges: ReadonlyMap<string, readonly number[]>,
    private readonly convert: (paragraph: Deb822Paragraph, stanza: string) => T,
    /** The limits every paragraph was checked against when the view was made. */
    private readonly limits: Deb822Limits,
    /** Names the index in messages. */
    readonly what: string,
    /** How many paragraphs the index holds. */
    readonly entryCount: number,
  ) {
    Object.freeze(this);
  }

  /** Bytes of the decompressed index this view holds. */
  get sizeBytes(): number {
    return this.bytes.byteLength;
  }

  /** Every paragraph for `name`, parsed, in index order. */
  lookup(name: string): T[] {
    const ranges = this.ranges.get(name);
    if (!ranges) return [];
    const found: T[] = [];
    for (let i = 0; i < ranges.length; i += 2) {
      const stanza = this.bytes.toString('utf8', ranges[i], ranges[i + 1]);
      found.push(parseOneStanza(stanza, this.what, this.limits, this.convert));
    }
    return found;
  }

  /** Every name the index has a paragraph for. */
  names(): IterableIterator<string> {
    return this.ranges.keys();
  }
}

export function viewIndex<T extends { readonly name: string }>(
  bytes: Uint8Array,
  what: string,
  limits: Partial<Deb822Limits>,
  convert: (paragraph: Deb822Paragraph, stanza: string) => T,
): ArchiveIndexView<T> {
  const owned = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ranges = new Map<string, number[]>();
  let count = 0;
  walkIndex(owned, what, limits, convert, (record, start, end) => {
    count += 1;
    const list = ranges.get(record.name);
    if (list) list.push(start, end);
    // A copy of the name: V8 keeps a substring's whole parent (here the paragraph) alive with it.
    else ranges.set(Buffer.from(record.name, 'latin1').toString('latin1'), [start, end]);
  });
  return new ArchiveIndexView(owned, ranges, convert, { ...ARCHIVE_INDEX_LIMITS, ...limits }, what, count);
}
