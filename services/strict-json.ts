// Strict RFC 8259 JSON for untrusted documents: every accepted text has exactly one meaning.
import { ManifestError } from './errors.ts';

export interface StrictJsonOptions {
  /**
   * Deepest allowed nesting of arrays and objects; the outermost container is level 1. Default 64.
   * The parser recurses once per level, so keep this in the hundreds at most.
   */
  readonly maxDepth?: number;
}

/** Nesting limit used when the caller gives none. */
export const defaultStrictJsonMaxDepth = 64;

/**
 * Parses `text` as JSON (RFC 8259) and refuses everything a second parser could read differently:
 * duplicate object keys, numbers that are not safe integers (any fraction or exponent, `-0`, or beyond
 * ±(2^53-1)), lone UTF-16 surrogates in strings, a byte order mark, anything after the value, and
 * nesting deeper than `maxDepth` (default 64) arrays/objects.
 *
 * Objects come back with a null prototype, so keys such as `__proto__` or `constructor` are plain data
 * and a lookup of a missing key never finds something inherited.
 *
 * @throws ManifestError `MANIFEST_JSON`; the message gives the JSON path (`$.a.b[2]`), what was wrong,
 *   and where (line, column and UTF-16 offset in `text`).
 */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? defaultStrictJsonMaxDepth;
  return new StrictJsonParser(text, maxDepth).parseDocument();
}

/** `$.key` for identifier-like keys, `$["odd key"]` otherwise, so a path can always be read back. */
export function jsonPathChild(parent: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

const CH_TAB = 0x09;
const CH_LF = 0x0a;
const CH_CR = 0x0d;
const CH_SPACE = 0x20;
const CH_QUOTE = 0x22;
const CH_BACKSLASH = 0x5c;

class StrictJsonParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  parseDocument(): unknown {
    if (this.text.charCodeAt(0) === 0xfeff) {
      this.fail('$', 'a byte order mark (U+FEFF) is not allowed before the JSON text', 0);
    }
    this.skipWhitespace();
    const value = this.parseValue('$', 0);
    this.skipWhitespace();
    if (this.pos < this.text.length) {
      this.fail('$', `unexpected ${this.describeAt(this.pos)} after the end of the JSON value`, this.pos);
    }
    return value;
  }

  private parseValue(path: string, depth: number): unknown {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b: // {
        return this.parseObject(path, depth + 1);
      case 0x5b: // [
        return this.parseArray(path, depth + 1);
      case CH_QUOTE:
        return this.parseString(path);
      case 0x74: // t
        return this.parseLiteral(path, 'true', true);
      case 0x66: // f
        return this.parseLiteral(path, 'false', false);
      case 0x6e: // n
        return this.parseLiteral(path, 'null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber(path);
        return this.fail(path, `expected a JSON value, found ${this.describeAt(this.pos)}`, this.pos);
    }
  }

  private parseObject(path: string, depth: number): Record<string, unknown> {
    this.checkDepth(path, depth);
    this.pos++;
    const object: Record<string, unknown> = Object.create(null);
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return object;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== CH_QUOTE) {
        this.fail(path, `expected a string key, found ${this.describeAt(this.pos)}`, this.pos);
      }
      const keyOffset = this.pos;
      const key = this.parseString(`${path} (a key)`);
      const childPath = jsonPathChild(path, key);
      if (Object.hasOwn(object, key)) {
        this.fail(childPath, `duplicate key ${JSON.stringify(key)} (each key may appear once)`, keyOffset);
      }
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a) {
        this.fail(childPath, `expected ":" after the key, found ${this.describeAt(this.pos)}`, this.pos);
      }
      this.pos++;
      this.skipWhitespace();
      // A null-prototype object has no __proto__ setter, so this stores plain data whatever the key.
      object[key] = this.parseValue(childPath, depth);
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x7d) {
        this.pos++;
        return object;
      }
      if (c !== 0x2c) {
        this.fail(path, `expected "," or "}" in the object, found ${this.describeAt(this.pos)}`, this.pos);
      }
      this.pos++;
      this.skipWhitespace();
    }
  }

  private parseArray(path: string, depth: number): unknown[] {
    this.checkDepth(path, depth);
    this.pos++;
    const array: unknown[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return array;
    }
    for (;;) {
      array.push(this.parseValue(`${path}[${array.length}]`, depth));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x5d) {
        this.pos++;
        return array;
      }
      if (c !== 0x2c) {
        this.fail(path, `expected "," or "]" in the array, found ${this.describeAt(this.pos)}`, this.pos);
      }
      this.pos++;
      this.skipWhitespace();
    }
  }

  private parseString(path: string): string {
    const text = this.text;
    this.pos++;
    let out = '';
    let runStart = this.pos;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (Number.isNaN(c)) this.fail(path, 'unterminated string', this.pos);
      if (c === CH_QUOTE) {
        out += text.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c === CH_BACKSLASH) {
        out += text.slice(runStart, this.pos);
        out += this.parseEscape(path);
        runStart = this.pos;
        continue;
      }
      if (c < 0x20) {
        this.fail(path, `control character ${codePointName(c)} must be escaped inside a string`, this.pos);
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = text.charCodeAt(this.pos + 1);
        if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) {
          this.fail(path, `lone surrogate ${codePointName(c)} in a string`, this.pos);
        }
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
  }

  /** Reads one escape starting at the backslash; a \u high surrogate must be followed by its \u low half. */
  private parseEscape(path: string): string {
    const start = this.pos;
    const c = this.text.charCodeAt(this.pos + 1);
    this.pos += 2;
    switch (c) {
      case CH_QUOTE:
        return '"';
      case CH_BACKSLASH:
        return '\\';
      case 0x2f:
        return '/';
      case 0x62:
        return '\b';
      case 0x66:
        return '\f';
      case 0x6e:
        return '\n';
      case 0x72:
        return '\r';
      case 0x74:
        return '\t';
      case 0x75: {
        const unit = this.readHex4(path, start);
        if (unit >= 0xdc00 && unit <= 0xdfff) {
          this.fail(path, `lone surrogate escape \\u${hex4(unit)} in a string`, start);
        }
        if (unit >= 0xd800 && unit <= 0xdbff) {
          const low =
            this.text.charCodeAt(this.pos) === CH_BACKSLASH && this.text.charCodeAt(this.pos + 1) === 0x75
              ? this.peekHex4(this.pos + 2)
              : -1;
          if (!(low >= 0xdc00 && low <= 0xdfff)) {
            this.fail(path, `lone surrogate escape \\u${hex4(unit)} in a string`, start);
          }
          this.pos += 6;
          return String.fromCharCode(unit, low);
        }
        return String.fromCharCode(unit);
      }
      default:
        return this.fail(path, `invalid escape ${this.describeAt(start + 1)} after "\\"`, start);
    }
  }

  private readHex4(path: string, escapeStart: number): number {
    const unit = this.peekHex4(this.pos);
    if (unit < 0) this.fail(path, 'expected 4 hex digits after "\\u"', escapeStart);
    this.pos += 4;
    return unit;
  }

  private peekHex4(at: number): number {
    const digits = this.text.slice(at, at + 4);
    return /^[0-9A-Fa-f]{4}$/.test(digits) ? Number.parseInt(digits, 16) : -1;
  }

  private parseNumber(path: string): number {
    const text = this.text;
    const start = this.pos;
    if (text.charCodeAt(this.pos) === 0x2d) this.pos++;
    const firstDigit = text.charCodeAt(this.pos);
    if (!isDigit(firstDigit)) this.fail(path, 'expected a digit after "-"', this.pos);
    this.pos++;
    if (firstDigit === 0x30 && isDigit(text.charCodeAt(this.pos))) {
      this.fail(path, 'leading zeros are not allowed in numbers', start);
    }
    while (isDigit(text.charCodeAt(this.pos))) this.pos++;
    let integral = true;
    if (text.charCodeAt(this.pos) === 0x2e) {
      integral = false;
      this.pos++;
      if (!isDigit(text.charCodeAt(this.pos))) this.fail(path, 'expected a digit after "."', this.pos);
      while (isDigit(text.charCodeAt(this.pos))) this.pos++;
    }
    const e = text.charCodeAt(this.pos);
    if (e === 0x65 || e === 0x45) {
      integral = false;
      this.pos++;
      const sign = text.charCodeAt(this.pos);
      if (sign === 0x2b || sign === 0x2d) this.pos++;
      if (!isDigit(text.charCodeAt(this.pos))) this.fail(path, 'expected a digit in the exponent', this.pos);
      while (isDigit(text.charCodeAt(this.pos))) this.pos++;
    }
    const lexeme = text.slice(start, this.pos);
    // Integers only: two parsers never disagree about an integer, and JCS prints it exactly as written.
    if (!integral) {
      this.fail(path, `non-integer number ${lexeme}: fractions and exponents are not allowed`, start);
    }
    if (lexeme === '-0') this.fail(path, 'negative zero is not allowed', start);
    const value = Number(lexeme);
    if (!Number.isSafeInteger(value)) {
      this.fail(path, `integer ${lexeme} is outside the safe range -(2^53-1)..2^53-1`, start);
    }
    return value;
  }

  private parseLiteral<T>(path: string, word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) {
      this.fail(path, `expected a JSON value, found ${this.describeAt(this.pos)}`, this.pos);
    }
    this.pos += word.length;
    return value;
  }

  private checkDepth(path: string, depth: number): void {
    if (depth > this.maxDepth) {
      this.fail(path, `nesting deeper than ${this.maxDepth} levels of arrays/objects`, this.pos);
    }
  }

  private skipWhitespace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== CH_SPACE && c !== CH_LF && c !== CH_CR && c !== CH_TAB) return;
      this.pos++;
    }
  }

  private describeAt(offset: number): string {
    if (offset >= this.text.length) return 'end of input';
    const c = this.text.codePointAt(offset) ?? 0;
    return c >= 0x21 && c <= 0x7e ? JSON.stringify(String.fromCodePoint(c)) : codePointName(c);
  }

  private fail(path: string, what: string, offset: number): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset && i < this.text.length; i++) {
      if (this.text.charCodeAt(i) === CH_LF) {
        line++;
        lineStart = i + 1;
      }
    }
    const where = `line ${line}, column ${offset - lineStart + 1}, offset ${offset}`;
    throw new ManifestError('MANIFEST_JSON', `${path}: ${what} (at ${where})`);
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hex4(unit: number): string {
  return unit.toString(16).toUpperCase().padStart(4, '0');
}

function codePointName(c: number): string {
  return `U+${hex4(c)}`;
}
