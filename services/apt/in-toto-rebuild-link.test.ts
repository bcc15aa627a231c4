// Rebuild links: exact shape, our verifier, and Debian's in-toto 1.3.1 accepting what we sign.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { publicKeyToSecuresystemslibJson } from '../attestation/ed25519-key.ts';
import { encodeCanonical } from '../attestation/securesystemslib-canonical-json.ts';
import { Ed25519FileSigner } from '../attestation/signer.ts';
import type { AttestationError } from '../errors.ts';
import { aptLocalDebName } from './apt-file-name.ts';
import { runInTotoPython } from './in-toto-python-fixture.ts';
import { composeRebuildLink, signRebuildLink, verifyRebuildLink } from './in-toto-rebuild-link.ts';

const shaA = 'a'.repeat(64);
const shaB = '0123456789abcdef'.repeat(4);

function newSigner() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { signer: Ed25519FileSigner.fromKeyObject(privateKey), publicKey };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as AttestationError).code;
  }
  return undefined;
}

const verifyWithInToto = `
import json, sys
import securesystemslib.keys as K
from in_toto.models.metadata import Metablock
from in_toto.models.link import Link
inp = json.load(sys.stdin)
doc = inp["link"]
key, _ = K.format_metadata_to_key(inp["key"])
mb = Metablock(signatures=doc["signatures"], signed=Link.read(doc["signed"]))
out = {"keyid": key["keyid"], "signable": mb.signed.signable_bytes.decode("utf-8")}
try:
  mb.verify_signature(key)
  out["verified"] = True
except Exception as e:
  out["verified"] = False
  out["error"] = type(e).__name__ + ": " + str(e)
print(json.dumps(out))
`;

describe('composeRebuildLink', () => {
  it('has exactly the seven in-toto link fields, products keyed by apt file names', () => {
    const signed = composeRebuildLink([
      { aptFileName: aptLocalDebName('hello', '1:2.10-3+b1', 'amd64'), sha256: shaA },
      { aptFileName: 'hello-doc_2.10-3_all.deb', sha256: shaB },
    ]);
    expect(signed).toEqual({
      _type: 'link',
      name: 'rebuild',
      materials: {},
      products: {
        'hello-doc_2.10-3_all.deb': { sha256: shaB },
        'hello_1%3a2.10-3+b1_amd64.deb': { sha256: shaA },
      },
      byproducts: {},
      command: [],
      environment: {},
    });
    expect(Object.isFrozen(signed.products)).toBe(true);
  });

  it('refuses names apt would not write, bad digests, duplicates and empty lists', () => {
    const bad = [
      [{ aptFileName: 'hello_1:2.10-3_amd64.deb', sha256: shaA }],
      [{ aptFileName: 'hello_1%3A2.10-3_amd64.deb', sha256: shaA }],
      [{ aptFileName: 'hello.deb', sha256: shaA }],
      [{ aptFileName: 'dir/hello_1.0_amd64.deb', sha256: shaA }],
      [{ aptFileName: 'hello_1.0_amd64.deb', sha256: shaA.toUpperCase() }],
      [
        { aptFileName: 'hello_1.0_amd64.deb', sha256: shaA },
        { aptFileName: 'hello_1.0_amd64.deb', sha256: shaA },
      ],
      [],
    ];
    for (const products of bad) expect(codeOf(() => composeRebuildLink(products))).toBe('STATEMENT_INVALID');
    expect(() => composeRebuildLink([{ aptFileName: 'hello_1.0_amd64.deb', sha256: 'x' }])).toThrow(
      /products\[0\]\.sha256/,
    );
  });
});

describe('signRebuildLink / verifyRebuildLink', () => {
  it('signs canonical JSON of signed with the securesystemslib keyid, hex sig; verifies back', async () => {
    const { signer, publicKey } = newSigner();
    const link = await signRebuildLink([{ aptFileName: 'hello_2.10-3_amd64.deb', sha256: shaA }], signer);
    expect(link.signatures).toHaveLength(1);
    expect(link.signatures[0].keyid).toBe(signer.keyid);
    expect(link.signatures[0].sig).toMatch(/^[0-9a-f]{128}$/);
    const verified = verifyRebuildLink(JSON.stringify(link), [publicKey]);
    expect(verified.keyid).toBe(signer.keyid);
    expect(verified.products).toEqual([{ aptFileName: 'hello_2.10-3_amd64.deb', sha256: shaA }]);
  });

  it('refuses unknown keys, tampering, extra fields and extra signatures', async () => {
    const { signer, publicKey } = newSigner();
    const other = newSigner();
    const link = await signRebuildLink([{ aptFileName: 'hello_2.10-3_amd64.deb', sha256: shaA }], signer);
    const text = JSON.stringify(link);
    expect(codeOf(() => verifyRebuildLink(text, [other.publicKey]))).toBe('SIGNATURE_INVALID');
    expect(codeOf(() => verifyRebuildLink(text, []))).toBe('KEY_INVALID');
    expect(codeOf(() => verifyRebuildLink(text.replace(shaA, shaB), [publicKey]))).toBe('SIGNATURE_INVALID');
    const extraField = { ...link, signed: { ...link.signed, extra: 1 } };
    expect(codeOf(() => verifyRebuildLink(JSON.stringify(extraField), [publicKey]))).toBe(
      'STATEMENT_INVALID',
    );
    const twoSigs = { ...link, signatures: [link.signatures[0], link.signatures[0]] };
    expect(codeOf(() => verifyRebuildLink(JSON.stringify(twoSigs), [publicKey]))).toBe('STATEMENT_INVALID');
    const sha512 = {
      ...link,
      signed: { ...link.signed, products: { 'hello_2.10-3_amd64.deb': { sha256: shaA, sha512: shaA } } },
    };
    expect(() => verifyRebuildLink(JSON.stringify(sha512), [publicKey])).toThrow(/unexpected "sha512"/);
    expect(codeOf(() => verifyRebuildLink('{"signed": 1', [publicKey]))).toBe('STATEMENT_INVALID');
    expect(codeOf(() => verifyRebuildLink(text, [publicKey], 100))).toBe('STATEMENT_INVALID');
  });

  it('is accepted by Debian in-toto 1.3.1 (same canonical bytes, same keyid, valid signature)', async () => {
    const { signer, publicKey } = newSigner();
    const link = await signRebuildLink(
      [
        { aptFileName: aptLocalDebName('libfoo1', '1:0.9~rc1-2+b3', 'amd64'), sha256: shaA },
        { aptFileName: 'foo-common_0.9~rc1-2_all.deb', sha256: shaB },
      ],
      signer,
    );
    const key = publicKeyToSecuresystemslibJson(publicKey);
    const ok = await runInTotoPython<{ keyid: string; signable: string; verified: boolean; error?: string }>(
      verifyWithInToto,
      { link, key: { keytype: key.keytype, scheme: key.scheme, keyval: key.keyval } },
    );
    expect(ok.error).toBeUndefined();
    expect(ok.verified).toBe(true);
    expect(ok.keyid).toBe(signer.keyid);
    expect(ok.signable).toBe(encodeCanonical(link.signed));

    // The same check fails in python when the products are changed after signing.
    const tampered = {
      ...link,
      signed: { ...link.signed, products: { 'foo-common_0.9~rc1-2_all.deb': { sha256: shaB } } },
    };
    const refused = await runInTotoPython<{ verified: boolean; error?: string }>(verifyWithInToto, {
      link: tampered,
      key: { keytype: key.keytype, scheme: key.scheme, keyval: key.keyval },
    });
    expect(refused.verified).toBe(false);
    expect(refused.error).toMatch(/Invalid signature/);
  });
});
