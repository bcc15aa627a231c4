// Tests for the deb822 reader: decoding untrusted bytes and splitting paragraphs and fields.
import { describe, expect, it } from 'vitest';
import { DebianFormatError } from '../errors.ts';
import { decodeControlText, fieldLines, parseDeb822, requireField } from './deb822.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

function refusal(run: () => unknown): DebianFormatError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(DebianFormatError);
    expect((err as DebianFormatError).code).toBe('DEBIAN_FORMAT');
    return err as DebianFormatError;
  }
  throw new Error('expected a DebianFormatError');
}

describe('decodeControlText', () => {
  it('returns UTF-8 text with tabs and LF line ends', () => {
    expect(decodeControlText(utf8('A: é\n\tb\n'), 'doc', 100)).toBe('A: é\n\tb\n');
  });

  it.each([
    ['too large', new Uint8Array(101), /larger than 100 bytes/],
    ['invalid UTF-8', new Uint8Array([0x41, 0xff, 0x0a]), /not valid UTF-8/],
    ['a byte-order mark', new Uint8Array([0xef, 0xbb, 0xbf, 0x41, 0x3a, 0x20, 0x31]), /byte-order mark/],
    ['CRLF line ends', utf8('A: 1\r\nB: 2\r\n'), /carriage return/],
    ['NUL', utf8('A: 1\nB: \u0000\n'), /line 2 holds control character U\+0000/],
    ['escape', utf8('A: \u001b[31m\n'), /U\+001b/],
    ['DEL', utf8('A: \u007f\n'), /U\+007f/],
  ])('refuses %s, naming the document', (_name, bytes, message) => {
    const err = refusal(() => decodeControlText(bytes, 'doc', 100));
    expect(err.field).toBe('doc');
    expect(err.message).toMatch(message);
  });
});

describe('parseDeb822', () => {
  it('splits paragraphs and keeps continuation lines with newlines', () => {
    const [first, second] = parseDeb822(
      'Package: a\nDescription: short\n long\n .\n more\n\nPackage: b\n',
      'doc',
      {
        maxParagraphs: 2,
      },
    );
    expect(first?.get('package')).toBe('a');
    expect(first?.get('DESCRIPTION')).toBe('short\nlong\n.\nmore');
    expect(first?.names).toEqual(['Package', 'Description']);
    expect(second?.firstLine).toBe(7);
    expect(second?.get('Package')).toBe('b');
  });

  it('treats blank lines of spaces and tabs as separators and trims values', () => {
    const paragraphs = parseDeb822('A:   1  \n \t \nB: 2\n\n\n', 'doc', { maxParagraphs: 2 });
    expect(paragraphs.map((paragraph) => paragraph.names)).toEqual([['A'], ['B']]);
    expect(paragraphs[0]?.get('A')).toBe('1');
  });

  it('returns no paragraphs for empty text', () => {
    expect(parseDeb822('', 'doc')).toEqual([]);
  });

  it.each([
    ['a duplicate field', 'A: 1\nA: 2\n', {}, 'A'],
    ['a duplicate field in another case', 'Version: 1\nversion: 2\n', {}, 'version'],
    ['a continuation before any field', ' x\nA: 1\n', {}, 'doc'],
    ['a comment line', 'A: 1\n# no\n', {}, 'doc'],
    ['a line without a colon', 'A: 1\nB\n', {}, 'doc'],
    ['an empty field name', ': 1\n', {}, 'doc'],
    ['a field name starting with -', '-A: 1\n', {}, 'doc'],
    ['a field name with a space', 'A B: 1\n', {}, 'doc'],
    ['too many paragraphs', 'A: 1\n\nB: 2\n', {}, 'doc'],
    ['too many fields', 'A: 1\nB: 2\nC: 3\n', { maxFieldsPerParagraph: 2 }, 'doc'],
    ['an overlong line in a field', `A: 1\n ${'x'.repeat(20)}\n`, { maxLineLength: 10 }, 'A'],
    ['a document over the byte limit', 'A: 12345\n', { maxBytes: 5 }, 'doc'],
  ])('refuses %s', (_name, text, limits, field) => {
    expect(refusal(() => parseDeb822(text, 'doc', limits)).field).toBe(field);
  });
});

describe('requireField and fieldLines', () => {
  const [paragraph] = parseDeb822('A: 1\nB:\nC:\n x\n .\n y\n', 'doc');

  it('returns present values and refuses missing or empty ones by name', () => {
    expect(requireField(paragraph!, 'a')).toBe('1');
    expect(refusal(() => requireField(paragraph!, 'Z')).message).toBe('Z: missing');
    expect(refusal(() => requireField(paragraph!, 'B')).message).toBe('B: empty');
  });

  it('splits multi-line values, dropping the empty first line and reading "." as empty', () => {
    expect(fieldLines(paragraph!.get('C')!)).toEqual(['x', '', 'y']);
  });
});
