// Root layouts: validation, the exact in-toto 1.3.1 shape, and in-toto's own verification of K-of-N.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyToSecuresystemslibJson } from '../attestation/ed25519-key.ts';
import { encodeCanonical } from '../attestation/securesystemslib-canonical-json.ts';
import { Ed25519FileSigner } from '../attestation/signer.ts';
import { sha256Hex } from '../digest.ts';
import { aptLocalDebName } from './apt-file-name.ts';
import { runInTotoPython } from './in-toto-python-fixture.ts';
import { type SignedRebuildLink, signRebuildLink } from './in-toto-rebuild-link.ts';
import { composeRootLayout, type InTotoLayoutError, type RootLayoutSigned } from './root-layout.ts';

const now = new Date('2026-01-01T00:00:00Z');

function operatorKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    signer: Ed25519FileSigner.fromKeyObject(privateKey),
    publicKey,
    pem: publicKey.export({ format: 'pem', type: 'spki' }) as string,
  };
}

function errorOf(fn: () => unknown): InTotoLayoutError {
  try {
    fn();
  } catch (error) {
    return error as InTotoLayoutError;
  }
  throw new Error('expected an error');
}

const alpha = operatorKey();
const beta = operatorKey();
const gamma = operatorKey();
const layoutKey = operatorKey();

const inTotoVerify = `
import json, sys, attr
import securesystemslib.keys as K
from in_toto.models.metadata import Metablock
from in_toto.models.layout import Layout
from in_toto.models.link import Link, FILENAME_FORMAT
from in_toto.verifylib import in_toto_verify
inp = json.load(sys.stdin)
layout = Metablock(signatures=inp["signatures"], signed=Layout.read(inp["layout"]))
out = {"asdict": attr.asdict(layout.signed)}
for doc in inp["links"]:
  mb = Metablock(signatures=doc["signatures"], signed=Link.read(doc["signed"]))
  mb.dump(FILENAME_FORMAT.format(keyid=mb.signatures[0]["keyid"], step_name=mb.signed.name))
key, _ = K.format_metadata_to_key(inp["layoutKey"])
try:
  in_toto_verify(layout, {key["keyid"]: key})
  out["verified"] = True
except Exception as e:
  out["verified"] = False
  out["error"] = type(e).__name__ + ": " + str(e)
print(json.dumps(out))
`;

describe('composeRootLayout', () => {
  it('produces the layout apt-transport-in-toto needs', () => {
    const layout = composeRootLayout({
      operators: [
        { name: 'alpha', publicKeyPem: alpha.pem },
        { name: 'beta', publicKeyPem: beta.pem },
      ],
      threshold: 2,
      expires: '2027-01-01',
      now,
    });
    expect(layout._type).toBe('layout');
    expect(layout.expires).toBe('2027-01-01T00:00:00Z');
    expect(Object.keys(layout.keys)).toEqual([alpha.signer.keyid, beta.signer.keyid]);
    expect(layout.keys[alpha.signer.keyid]).toEqual(publicKeyToSecuresystemslibJson(alpha.publicKey));
    expect(layout.steps).toEqual([
      {
        _type: 'step',
        name: 'rebuild',
        expected_command: [],
        expected_materials: [],
        expected_products: [
          ['CREATE', '*.deb'],
          ['DISALLOW', '*.deb'],
        ],
        pubkeys: [alpha.signer.keyid, beta.signer.keyid],
        threshold: 2,
      },
    ]);
    expect(layout.inspect).toEqual([
      {
        _type: 'inspection',
        name: 'verify-reprobuilds',
        expected_materials: [
          ['MATCH', '*.deb', 'WITH', 'PRODUCTS', 'FROM', 'rebuild'],
          ['DISALLOW', '*.deb'],
        ],
        expected_products: [],
        run: ['/usr/bin/true'],
      },
    ]);
    expect(layout.readme).toContain(`alpha (keyid ${alpha.signer.keyid})`);
    expect(
      composeRootLayout({
        operators: [{ name: 'alpha', publicKeyPem: alpha.pem }],
        threshold: 1,
        expires: '2026-06-30T12:34:56.789+02:00',
        readme: 'mine',
        now,
      }),
    ).toMatchObject({ expires: '2026-06-30T10:34:56Z', readme: 'mine' });
  });

  it('refuses bad input, naming the field', () => {
    const base = {
      operators: [
        { name: 'alpha', publicKeyPem: alpha.pem },
        { name: 'beta', publicKeyPem: beta.pem },
      ],
      threshold: 2,
      expires: '2027-01-01',
      now,
    };
    const cases: [Partial<typeof base>, RegExp][] = [
      [{ operators: [] }, /^operators: at least one/],
      [
        {
          operators: [
            { name: 'alpha', publicKeyPem: alpha.pem },
            { name: 'alpha', publicKeyPem: beta.pem },
          ],
        },
        /^operators\[1\]\.name: operator "alpha" is listed twice/,
      ],
      [
        {
          operators: [
            { name: 'alpha', publicKeyPem: alpha.pem },
            { name: 'beta', publicKeyPem: alpha.pem },
          ],
        },
        /^operators\[1\]\.publicKeyPem: operators "alpha" and "beta" give the same key/,
      ],
      [{ operators: [{ name: 'Alpha', publicKeyPem: alpha.pem }] }, /^operators\[0\]\.name/],
      [{ operators: [{ name: 'alpha', publicKeyPem: 'nope' }] }, /^operators\[0\]\.publicKeyPem/],
      [
        {
          operators: [
            {
              name: 'alpha',
              publicKeyPem: generateKeyPairSync('ed25519').privateKey.export({
                format: 'pem',
                type: 'pkcs8',
              }) as string,
            },
          ],
        },
        /^operators\[0\]\.publicKeyPem: holds a PRIVATE key/,
      ],
      [{ threshold: 3 }, /^threshold: 3 must be a whole number from 1 to the 2/],
      [{ threshold: 0 }, /^threshold/],
      [{ threshold: 1.5 }, /^threshold/],
      [{ expires: '2025-12-31' }, /^expires: .* is not in the future/],
      [{ expires: '2027-02-30' }, /^expires: .* is not a real date/],
      [{ expires: 'next year' }, /^expires: .* is not an ISO 8601 date/],
      [{ expires: '2027-01-01T00:00' }, /^expires/],
    ];
    for (const [change, message] of cases) {
      const error = errorOf(() => composeRootLayout({ ...base, ...change }));
      expect(error.code, String(message)).toBe('LAYOUT_INVALID');
      expect(error.message).toMatch(message);
    }
  });
});

describe('in-toto 1.3.1 verifies our layout with our links', () => {
  let dir: string;
  const deb = Buffer.from('!<arch>\nnot really a deb, but in-toto only hashes it\n');
  const debName = aptLocalDebName('hello', '1:2.10-3', 'amd64');
  const layout = composeRootLayout({
    operators: [
      { name: 'alpha', publicKeyPem: alpha.pem },
      { name: 'beta', publicKeyPem: beta.pem },
      { name: 'gamma', publicKeyPem: gamma.pem },
    ],
    threshold: 2,
    expires: '2099-01-01',
  });
  let signatures: { keyid: string; sig: string }[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rbnet-layout-'));
    signatures = [
      {
        keyid: layoutKey.signer.keyid,
        sig: Buffer.from(await layoutKey.signer.sign(Buffer.from(encodeCanonical(layout)))).toString('hex'),
      },
    ];
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function verifyIn(
    name: string,
    links: SignedRebuildLink[],
    file = deb,
    signedLayout: RootLayoutSigned = layout,
  ) {
    const caseDir = join(dir, name);
    await mkdir(caseDir);
    await writeFile(join(caseDir, debName), file);
    const key = publicKeyToSecuresystemslibJson(layoutKey.publicKey);
    return runInTotoPython<{ verified: boolean; error?: string; asdict: unknown }>(
      inTotoVerify,
      {
        layout: signedLayout,
        signatures,
        links,
        layoutKey: { keytype: key.keytype, scheme: key.scheme, keyval: key.keyval },
      },
      { cwd: caseDir },
    );
  }

  const products = [
    { aptFileName: debName, sha256: sha256Hex(deb) },
    { aptFileName: 'hello-doc_2.10-3_all.deb', sha256: 'b'.repeat(64) },
  ];

  it('accepts 2 of 3 agreeing operators, and serializes the layout exactly as we composed it', async () => {
    const result = await verifyIn('accept', [
      await signRebuildLink(products, alpha.signer),
      await signRebuildLink(products, gamma.signer),
    ]);
    expect(result.error).toBeUndefined();
    expect(result.verified).toBe(true);
    expect(result.asdict).toEqual(JSON.parse(JSON.stringify(layout)));
  });

  it('refuses one link (LinkNotFoundError), disagreeing links, an unknown key and a different .deb', async () => {
    const one = await verifyIn('one', [await signRebuildLink(products, alpha.signer)]);
    expect(one.error).toMatch(
      /^LinkNotFoundError: Step 'rebuild' requires '2' link metadata file\(s\), found '1'/,
    );

    const disagree = await verifyIn('disagree', [
      await signRebuildLink(products, alpha.signer),
      await signRebuildLink(products.slice(0, 1), beta.signer),
    ]);
    expect(disagree.error).toMatch(/^ThresholdVerificationError: Links .* have different artifacts/);

    const stranger = operatorKey();
    const unknown = await verifyIn('unknown', [
      await signRebuildLink(products, alpha.signer),
      await signRebuildLink(products, stranger.signer),
    ]);
    expect(unknown.error).toMatch(/^LinkNotFoundError/);

    const other = await verifyIn(
      'other-deb',
      [await signRebuildLink(products, alpha.signer), await signRebuildLink(products, beta.signer)],
      Buffer.from('different bytes'),
    );
    expect(other.error).toMatch(/^RuleVerificationError: .*DISALLOW \*\.deb/);
  });
});
