// Signed notes, vkeys, checkpoints and cosignatures: the C2SP examples, and refusals of every malformed part.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Ed25519FileSigner } from '../attestation/signer.ts';
import { formatCheckpoint, parseCheckpointText } from './checkpoint.ts';
import {
  cosignatureTimestamp,
  cosignatureVerifier,
  cosignedMessage,
  ed25519Cosigner,
} from './cosignature.ts';
import { EMPTY_TREE_ROOT } from './merkle-hash.ts';
import {
  ed25519NoteSigner,
  ed25519NoteVerifier,
  formatVerifierKey,
  noteKeyHash,
  parseVerifierKey,
} from './note-keys.ts';
import { formatSignedNote, parseSignedNote, signNoteText, verifyNote } from './signed-note.ts';
import { tlogErrorCode } from './tlog-test-support.ts';

const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const SPEC_NOTE =
  'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

function keys(name: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signer = Ed25519FileSigner.fromKeyObject(privateKey);
  return {
    note: ed25519NoteSigner(name, signer, publicKey),
    cosigner: ed25519Cosigner(name, signer, publicKey),
  };
}

describe('signed notes', () => {
  it('verify the signed-note specification example with its vkey', () => {
    const result = verifyNote(parseSignedNote(SPEC_NOTE), [ed25519NoteVerifier(SPEC_VKEY)]);
    expect(result.note.text).toBe('This is an example message.\n');
    expect(result.verified).toHaveLength(1);
    expect(formatSignedNote(result.note)).toBe(SPEC_NOTE);
  });

  it('compute key IDs as SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4] and round-trip vkeys', () => {
    const parsed = parseVerifierKey(SPEC_VKEY);
    expect(parsed).toMatchObject({ name: 'example.com/foo', keyHash: 0x530d903a, type: 0x01 });
    expect(formatVerifierKey(parsed.name, parsed.type, parsed.publicKey)).toBe(SPEC_VKEY);
    expect(noteKeyHash('example.com/foo', 0x04, parsed.publicKey)).not.toBe(0x530d903a);
  });

  it('refuse vkeys with a wrong key ID, an unknown type, a short key, or a bad name', () => {
    expect(tlogErrorCode(() => parseVerifierKey(SPEC_VKEY.replace('530d903a', '530d903b')))).toBe(
      'NOTE_KEY_INVALID',
    );
    expect(tlogErrorCode(() => parseVerifierKey('example.com/foo+530d903a'))).toBe('NOTE_KEY_INVALID');
    const raw = parseVerifierKey(SPEC_VKEY).publicKey;
    const typed = (type: number, key: Uint8Array) => {
      const hash = noteKeyHash('n', type, key).toString(16).padStart(8, '0');
      return `n+${hash}+${Buffer.concat([Buffer.from([type]), key]).toString('base64')}`;
    };
    expect(tlogErrorCode(() => parseVerifierKey(typed(0x02, raw)))).toBe('NOTE_KEY_INVALID');
    expect(tlogErrorCode(() => parseVerifierKey(typed(0x01, raw.subarray(0, 31))))).toBe('NOTE_KEY_INVALID');
    expect(tlogErrorCode(() => parseVerifierKey(`a b+530d903a+${SPEC_VKEY.split('+')[2]}`))).toBe(
      'NOTE_KEY_INVALID',
    );
    expect(tlogErrorCode(() => ed25519NoteVerifier(typed(0x04, raw)))).toBe('NOTE_KEY_INVALID');
    expect(tlogErrorCode(() => cosignatureVerifier(SPEC_VKEY))).toBe('NOTE_KEY_INVALID');
  });

  it('refuse malformed notes, naming what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['no blank line\n— example.com/foo AAAAAAA=\n', /no blank line/],
      ['text\n\n', /signature block/],
      ['text\n\n— example.com/foo AAAA\n', /not base64 of a key ID/],
      ['text\n\n- example.com/foo AAAAAAA=\n', /does not start with/],
      ['text\twith tab\n\n— example.com/foo AAAAAAA=\n', /control character/],
      ['text\n\n— example.com/foo AAAAAAA=', /does not end with a newline/],
      ['text\n\n— bad+name AAAAAAA=\n', /key name/],
    ];
    for (const [note, message] of cases) {
      expect(() => parseSignedNote(note), note).toThrow(message);
      expect(tlogErrorCode(() => parseSignedNote(note))).toBe('NOTE_INVALID');
    }
    expect(tlogErrorCode(() => parseSignedNote(Buffer.from([0x74, 0x0a, 0x0a, 0xff, 0x0a])))).toBe(
      'NOTE_INVALID',
    );
    const many = `text\n\n${'— example.com/foo AAAAAAA=\n'.repeat(65)}`;
    expect(() => parseSignedNote(many)).toThrow(/over the limit of 64/);
    expect(() => parseSignedNote(SPEC_NOTE, { maxBytes: 20 })).toThrow(/over the 20-byte limit/);
  });

  it('ignore unknown keys, reject a failing trusted signature, and need one trusted signature', async () => {
    const log = keys('log.example/a');
    const other = keys('log.example/a');
    const text = 'hello\n';
    const signatures = await signNoteText(text, [log.note, other.note]);
    const note = parseSignedNote(formatSignedNote({ text, signatures }));
    const verified = verifyNote(note, [ed25519NoteVerifier(log.note.vkey)]);
    expect(verified.verified).toHaveLength(1);
    expect(verified.unknown).toHaveLength(1);
    expect(
      tlogErrorCode(() => verifyNote(note, [ed25519NoteVerifier(keys('log.example/b').note.vkey)])),
    ).toBe('NOTE_UNVERIFIED');
    const forged = parseSignedNote(formatSignedNote({ text: 'hullo\n', signatures }));
    expect(tlogErrorCode(() => verifyNote(forged, [ed25519NoteVerifier(log.note.vkey)]))).toBe(
      'NOTE_UNVERIFIED',
    );
  });
});

describe('checkpoints', () => {
  it('format and parse origin, size, base64 root and extension lines', () => {
    const text = formatCheckpoint({
      origin: 'example.com/log',
      size: 20852163,
      rootHash: EMPTY_TREE_ROOT,
      extensions: ['x y'],
    });
    expect(text).toBe('example.com/log\n20852163\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nx y\n');
    expect(parseCheckpointText(text)).toMatchObject({
      origin: 'example.com/log',
      size: 20852163,
      extensions: ['x y'],
    });
  });

  it('refuse a leading zero, a short root, a missing line, an empty extension or no final newline', () => {
    for (const bad of [
      'o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n',
      'o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF==\n',
      'o\n1\n',
      'o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n',
      'o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
      'o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n',
      'o\n99999999999999999\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n',
    ])
      expect(
        tlogErrorCode(() => parseCheckpointText(bad)),
        bad,
      ).toBe('CHECKPOINT_INVALID');
  });
});

describe('cosignature/v1', () => {
  it('signs "cosignature/v1\\ntime T\\n" + the note text, timestamped, under a type 0x04 key', async () => {
    const witness = keys('witness.example/w1');
    const text = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    expect(cosignedMessage(text, 1679315147).toString()).toBe(`cosignature/v1\ntime 1679315147\n${text}`);
    const signature = await witness.cosigner.cosign(text, 1679315147);
    expect(signature).toHaveLength(72);
    expect(cosignatureTimestamp(signature)).toBe(1679315147);
    const verifier = cosignatureVerifier(witness.cosigner.vkey);
    expect(verifier.verify(Buffer.from(text), signature)).toBe(true);
    const later = Buffer.from(signature);
    later[7] = later[7]! + 1;
    expect(verifier.verify(Buffer.from(text), later)).toBe(false);
    expect(verifier.verify(Buffer.from(text.replace('20852163', '20852164')), signature)).toBe(false);
    // A cosignature is not a plain note signature by the same key, nor the reverse.
    expect(witness.note.keyHash).not.toBe(witness.cosigner.keyHash);
    expect(ed25519NoteVerifier(witness.note.vkey).verify(Buffer.from(text), signature.subarray(8))).toBe(
      false,
    );
  });
});
