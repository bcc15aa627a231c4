// Tests for OpenPGP cleartext framing: what is split, what is kept, and every framing that is refused.
import { describe, expect, it } from 'vitest';
import { DebianFormatError } from '../errors.ts';
import { clearsignFixture, FIXTURE_ARMORED_SIGNATURE } from './buildinfo-fixture.ts';
import { OPENPGP_SIGNATURE_FIELD, splitClearsigned } from './clearsigned.ts';

/** Verbatim output of `gpg --clearsign --digest-algo SHA512` (gpg 2.2.40) over a three-line file. */
const GPG_OUTPUT = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

Format: 1.0
Source: hello
- - x
${FIXTURE_ARMORED_SIGNATURE}`;

const HEAD = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n';
const SIGNATURE_BODY = FIXTURE_ARMORED_SIGNATURE.split('\n').slice(2, -2).join('\n');

function signature(body: string, headers = ''): string {
  return `-----BEGIN PGP SIGNATURE-----\n${headers}\n${body}\n-----END PGP SIGNATURE-----\n`;
}

function refusal(text: string): DebianFormatError {
  try {
    splitClearsigned(text);
  } catch (err) {
    expect(err).toBeInstanceOf(DebianFormatError);
    expect((err as DebianFormatError).field).toBe(OPENPGP_SIGNATURE_FIELD);
    return err as DebianFormatError;
  }
  throw new Error(`expected ${JSON.stringify(text.slice(0, 80))} to be refused`);
}

describe('splitClearsigned accepts', () => {
  it('plain text, returned unchanged', () => {
    const text = 'Format: 1.0\nSource: hello\n';
    expect(splitClearsigned(text)).toEqual({ kind: 'plain', text });
  });

  it('what gpg --clearsign writes, undoing the dash escape and keeping the signature', () => {
    const split = splitClearsigned(GPG_OUTPUT);
    expect(split).toEqual({
      kind: 'clearsigned',
      signedText: 'Format: 1.0\nSource: hello\n- x\n',
      armoredSignature: FIXTURE_ARMORED_SIGNATURE,
      hashAlgorithms: ['SHA512'],
    });
    expect(Object.isFrozen(split)).toBe(true);
  });

  it('a round trip through clearsignFixture', () => {
    const text = 'A: 1\n-B: dash\n--C\n\nD: 2\n';
    const split = splitClearsigned(clearsignFixture(text));
    expect(split.kind === 'clearsigned' && split.signedText).toBe(text);
  });

  it('several Hash headers, armor headers in the signature, no CRC line and trailing whitespace', () => {
    const text =
      '-----BEGIN PGP SIGNED MESSAGE-----  \nHash: SHA256, SHA512\nHash: SHA384\n\nA: 1\n' +
      signature(SIGNATURE_BODY.replace(/\n=.*$/, ''), 'Version: GnuPG v2\nComment: test\n') +
      ' \n\n\t\n';
    const split = splitClearsigned(text);
    expect(split.kind === 'clearsigned' && split.hashAlgorithms).toEqual(['SHA256', 'SHA512', 'SHA384']);
  });

  it('an empty signed text', () => {
    const split = splitClearsigned(`${HEAD}${FIXTURE_ARMORED_SIGNATURE}`);
    expect(split.kind === 'clearsigned' && split.signedText).toBe('');
  });
});

describe('splitClearsigned refuses', () => {
  const good = `${HEAD}A: 1\n${FIXTURE_ARMORED_SIGNATURE}`;
  const nonSignaturePacket = Buffer.from([0x99, 0x00, 0x01, 0x04]).toString('base64');

  it.each([
    ['text before BEGIN', `A: 1\n${good}`, /does not start with/],
    ['a blank line before BEGIN', `\n${good}`, /does not start with/],
    ['a stray signature in plain text', `A: 1\n${FIXTURE_ARMORED_SIGNATURE}`, /line 2 is an armor line/],
    ['text after the BEGIN marker', good.replace('MESSAGE-----', 'MESSAGE----- x'), /does not start with/],
    ['an unescaped dash line', `${HEAD}A: 1\n-B: 2\n${FIXTURE_ARMORED_SIGNATURE}`, /not dash-escaped/],
    ['trailing text after END', `${good}A: 1\n`, /text after -----END PGP SIGNATURE-----/],
    ['a second message after END', `${good}${good}`, /text after -----END/],
    ['a missing signature block', `${HEAD}A: 1\n`, /no -----BEGIN PGP SIGNATURE----- block/],
    ['a nested message', `${HEAD}- ${good.split('\n').join('\n- ')}\n${FIXTURE_ARMORED_SIGNATURE}`, /nested/],
    ['an unescaped BEGIN inside the text', `${HEAD}A: 1\n${good}`, /nested or second armor line/],
    ['a header other than Hash', good.replace('Hash: SHA256', 'Comment: hi'), /only "Hash:" headers/],
    ['an unknown hash', good.replace('SHA256', 'SHA999'), /unknown hash algorithm "SHA999"/],
    ['no Hash header', good.replace('Hash: SHA256\n', ''), /no "Hash:" header/],
    ['no blank line after the headers', '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256', /ends inside/],
    ['a carriage return', good.replace('A: 1\n', 'A: 1\r\n'), /carriage return/],
    ['a signature without END', good.replace('-----END PGP SIGNATURE-----\n', ''), /no -----END/],
    [
      'a signature without a body',
      `${HEAD}A: 1\n-----BEGIN PGP SIGNATURE-----\n-----END PGP SIGNATURE-----\n`,
      /no body/,
    ],
    ['a malformed signature armor header', `${HEAD}${signature(SIGNATURE_BODY, 'junk\n')}`, /malformed/],
    ['invalid base64', `${HEAD}${signature('iHUE!ARYK')}`, /not base64 armor/],
    ['a base64 line over 76 characters', `${HEAD}${signature('A'.repeat(80))}`, /not base64 armor/],
    ['non-canonical base64', `${HEAD}${signature('iHUEA')}`, /not valid base64/],
    ['a wrong CRC-24', `${HEAD}${signature(SIGNATURE_BODY.replace('=sIfc', '=sIfd'))}`, /CRC-24/],
    ['text after the CRC line', `${HEAD}${signature(`${SIGNATURE_BODY}\nAAAA`)}`, /after the armor checksum/],
    [
      'a packet that is not a signature',
      `${HEAD}${signature(nonSignaturePacket)}`,
      /not hold an OpenPGP signature/,
    ],
  ])('%s', (_name, text, message) => {
    expect(refusal(text).message).toMatch(message);
  });
});
