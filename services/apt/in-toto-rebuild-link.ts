// The in-toto 1.x "rebuild" link apt-transport-in-toto fetches per .deb: compose, sign, verify.
import type { KeyObject } from 'node:crypto';
import { verify as verifySignature } from 'node:crypto';
import { assertEd25519PublicKey, securesystemslibKeyid } from '../attestation/ed25519-key.ts';
import { compareCodePoints, encodeCanonical } from '../attestation/securesystemslib-canonical-json.ts';
import type { Signer } from '../attestation/signer.ts';
import { isSha256Hex, type Sha256Hex, sha256Hex } from '../digest.ts';
import { AttestationError, DebianFormatError } from '../errors.ts';
import { canonicalizeJcs } from '../jcs.ts';
import { jsonPathChild, parseStrictJson } from '../strict-json.ts';
import { parseAptLocalDebName } from './apt-file-name.ts';

/** The step name the root layout requires and apt-transport-in-toto files links under. */
export const REBUILD_STEP_NAME = 'rebuild';

/** A served link is a few hundred bytes per product; this bounds what a verifier reads. */
export const maxRebuildLinkBytesDefault = 1024 * 1024;

/** Most products one link may list (a source with many binary packages has tens). */
export const maxRebuildLinkProducts = 1000;

/** One .deb a rebuild produced, named as apt names the file it downloads. */
export interface RebuildLinkProduct {
  /** apt's local file name, `name_version_arch.deb` with the epoch as `%3a` (see `aptLocalDebName`). */
  readonly aptFileName: string;
  /** Lowercase hex sha256 of the .deb. */
  readonly sha256: string;
}

/**
 * The `signed` part of a link, exactly the seven fields in-toto 1.3.1's `Link` has. in-toto signs and
 * verifies `attr.asdict(Link(**signed))`: an extra field would be dropped before verification (and
 * the signature fail), a missing one defaulted.
 */
export interface RebuildLinkSigned {
  readonly _type: 'link';
  readonly name: typeof REBUILD_STEP_NAME;
  readonly materials: Readonly<Record<string, never>>;
  readonly products: Readonly<Record<string, { readonly sha256: Sha256Hex }>>;
  readonly byproducts: Readonly<Record<string, never>>;
  readonly command: readonly [];
  readonly environment: Readonly<Record<string, never>>;
}

/** securesystemslib signature: keyid and hex-encoded raw ed25519 signature. */
export interface RebuildLinkSignature {
  readonly keyid: string;
  readonly sig: string;
}

/** The document served at `{rebuilder}/sources/{name}/{version}/metadata`. */
export interface SignedRebuildLink {
  readonly signed: RebuildLinkSigned;
  readonly signatures: readonly [RebuildLinkSignature];
}

/** A link whose signature verified against one of the given keys; deeply frozen. */
export interface VerifiedRebuildLink {
  /** securesystemslib keyid of the key that signed. */
  readonly keyid: string;
  /** apt file name → sha256, in code-point order. */
  readonly products: readonly { readonly aptFileName: string; readonly sha256: Sha256Hex }[];
  readonly link: SignedRebuildLink;
}

/**
 * Composes the `signed` object of a rebuild link: `_type: "link"`, `name: "rebuild"`, the products
 * keyed by apt's local file name with `{sha256}` only (in-toto's inspection hashes the downloaded file
 * with sha256 alone and compares the hash dicts for equality, so any other algorithm breaks the match),
 * and empty `materials`, `byproducts`, `command`, `environment`.
 *
 * Every operator serving a link for the same package must list the same products: in-toto refuses
 * links of one step whose products differ ("Links ... have different artifacts!").
 *
 * @throws AttestationError STATEMENT_INVALID naming the product that is not an apt file name, not a
 *   lowercase sha256, or listed twice; or when there are no products or too many.
 */
export function composeRebuildLink(products: readonly RebuildLinkProduct[]): RebuildLinkSigned {
  if (products.length === 0) throw linkInvalid('products: a rebuild link must list at least one .deb');
  if (products.length > maxRebuildLinkProducts) {
    throw linkInvalid(`products: ${products.length} listed, at most ${maxRebuildLinkProducts} allowed`);
  }
  const byName = new Map<string, Sha256Hex>();
  products.forEach((product, index) => {
    const field = `products[${index}]`;
    checkAptFileName(product.aptFileName, `${field}.aptFileName`);
    if (!isSha256Hex(product.sha256))
      throw linkInvalid(`${field}.sha256: expected 64 lowercase hex characters`);
    if (byName.has(product.aptFileName)) {
      throw linkInvalid(`${field}.aptFileName: ${JSON.stringify(product.aptFileName)} is listed twice`);
    }
    byName.set(product.aptFileName, product.sha256);
  });
  const sorted: Record<string, { sha256: Sha256Hex }> = {};
  for (const name of [...byName.keys()].sort()) sorted[name] = Object.freeze({ sha256: byName.get(name)! });
  return Object.freeze({
    _type: 'link',
    name: REBUILD_STEP_NAME,
    materials: Object.freeze({}),
    products: Object.freeze(sorted),
    byproducts: Object.freeze({}),
    command: Object.freeze([]) as readonly [],
    environment: Object.freeze({}),
  });
}

/**
 * Composes and signs a rebuild link with `signer` (ed25519): the signature is over the UTF-8
 * securesystemslib canonical JSON of `signed`, hex-encoded, with the signer's securesystemslib keyid,
 * which is what in-toto 1.3.1's `Metablock.verify_signature` checks.
 *
 * @throws AttestationError STATEMENT_INVALID (see `composeRebuildLink`).
 */
export async function signRebuildLink(
  products: readonly RebuildLinkProduct[],
  signer: Signer,
): Promise<SignedRebuildLink> {
  const signed = composeRebuildLink(products);
  const signature = await signer.sign(new TextEncoder().encode(encodeCanonical(signed)));
  return Object.freeze({
    signed,
    signatures: Object.freeze([
      Object.freeze({ keyid: signer.keyid, sig: Buffer.from(signature).toString('hex') }),
    ]) as unknown as readonly [RebuildLinkSignature],
  });
}

/**
 * Verifies an untrusted rebuild link (JSON text or bytes) the way apt-transport-in-toto would count
 * it, but stricter about shape, so what passes here also passes there:
 *
 * 1. size (at most `maxBytes`), strict JSON, exactly `signed` and `signatures` (STATEMENT_INVALID);
 * 2. `signed` has exactly the seven link fields with the values this module composes, and products
 *    keyed by apt file names with `{sha256}` only (STATEMENT_INVALID);
 * 3. exactly one signature (apt files a link under `signatures[0].keyid` and counts it once), with a
 *    hex keyid and a 128-hex-character sig (STATEMENT_INVALID);
 * 4. that keyid is one of `publicKeys`' securesystemslib keyids and the ed25519 signature over the
 *    canonical JSON of `signed` verifies (SIGNATURE_INVALID; KEY_INVALID if a key is not an ed25519
 *    public key or none is given).
 */
export function verifyRebuildLink(
  json: string | Uint8Array,
  publicKeys: readonly KeyObject[],
  maxBytes = maxRebuildLinkBytesDefault,
): VerifiedRebuildLink {
  if (publicKeys.length === 0)
    throw new AttestationError('KEY_INVALID', 'no public key to verify the link with');
  const keysById = new Map<string, KeyObject>();
  publicKeys.forEach((key, index) => {
    assertEd25519PublicKey(key, `publicKeys[${index}]`);
    keysById.set(securesystemslibKeyid(key), key);
  });

  const document = parseLinkDocument(json, maxBytes);
  const { signed, signature } = document;
  const key = keysById.get(signature.keyid);
  if (!key) {
    throw new AttestationError(
      'SIGNATURE_INVALID',
      `link is signed by keyid ${signature.keyid}, which is not one of the ${keysById.size} given key(s)`,
    );
  }
  const valid = verifySignature(
    null,
    new TextEncoder().encode(encodeCanonical(signed)),
    key,
    Buffer.from(signature.sig, 'hex'),
  );
  if (!valid) {
    throw new AttestationError(
      'SIGNATURE_INVALID',
      `link signature by keyid ${signature.keyid} does not verify`,
    );
  }
  const link: SignedRebuildLink = Object.freeze({
    signed,
    signatures: Object.freeze([signature]) as unknown as readonly [RebuildLinkSignature],
  });
  return Object.freeze({
    keyid: signature.keyid,
    products: Object.freeze(
      Object.entries(signed.products).map(([aptFileName, hashes]) =>
        Object.freeze({ aptFileName, sha256: hashes.sha256 }),
      ),
    ),
    link,
  });
}

/**
 * The identity of a link's products, what apt-transport-in-toto compares between links: sha256 of the
 * RFC 8785 form of `[[aptFileName, sha256], ...]` in code point order of the file names. Two links
 * for one package version with different digests here can never both be accepted by apt.
 */
export function rebuildLinkProductsSha256(products: readonly RebuildLinkProduct[]): Sha256Hex {
  const pairs = products
    .map((p) => [p.aptFileName, p.sha256] as const)
    .sort(([a], [b]) => compareCodePoints(a, b));
  return sha256Hex(canonicalizeJcs(pairs));
}

const HEX = /^[0-9a-f]+$/;
const SIGNED_FIELDS = ['_type', 'byproducts', 'command', 'environment', 'materials', 'name', 'products'];

function parseLinkDocument(
  json: string | Uint8Array,
  maxBytes: number,
): { signed: RebuildLinkSigned; signature: RebuildLinkSignature } {
  const size = typeof json === 'string' ? Buffer.byteLength(json, 'utf8') : json.byteLength;
  if (size > maxBytes) throw linkInvalid(`link is ${size} bytes, over the ${maxBytes}-byte limit`);
  let value: unknown;
  try {
    const text =
      typeof json === 'string'
        ? json
        : new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(json);
    value = parseStrictJson(text);
  } catch (error) {
    throw linkInvalid(`link is not strict UTF-8 JSON: ${(error as Error).message}`, error);
  }
  const root = expectObject(value, '$');
  expectExactKeys(root, ['signatures', 'signed'], '$');

  const signedIn = expectObject(root.signed, '$.signed');
  expectExactKeys(signedIn, SIGNED_FIELDS, '$.signed');
  if (signedIn._type !== 'link') throw linkInvalid('$.signed._type: expected "link"');
  if (signedIn.name !== REBUILD_STEP_NAME)
    throw linkInvalid(`$.signed.name: expected "${REBUILD_STEP_NAME}"`);
  for (const field of ['materials', 'byproducts', 'environment'] as const) {
    if (Object.keys(expectObject(signedIn[field], `$.signed.${field}`)).length > 0) {
      throw linkInvalid(`$.signed.${field}: expected {}`);
    }
  }
  if (!Array.isArray(signedIn.command) || signedIn.command.length > 0) {
    throw linkInvalid('$.signed.command: expected []');
  }
  const productsIn = expectObject(signedIn.products, '$.signed.products');
  const products: RebuildLinkProduct[] = Object.entries(productsIn).map(([name, hashes]) => {
    const path = jsonPathChild('$.signed.products', name);
    const hashObject = expectObject(hashes, path);
    expectExactKeys(hashObject, ['sha256'], path);
    checkAptFileName(name, path);
    if (!isSha256Hex(hashObject.sha256))
      throw linkInvalid(`${path}.sha256: expected 64 lowercase hex characters`);
    return { aptFileName: name, sha256: hashObject.sha256 };
  });
  if (products.length === 0)
    throw linkInvalid('$.signed.products: a rebuild link must list at least one .deb');
  if (products.length > maxRebuildLinkProducts) {
    throw linkInvalid(
      `$.signed.products: ${products.length} listed, at most ${maxRebuildLinkProducts} allowed`,
    );
  }
  // Every check composeRebuildLink makes has been made above with JSON paths; keys are unique already.
  const signed = composeRebuildLink(products);

  if (!Array.isArray(root.signatures) || root.signatures.length !== 1) {
    throw linkInvalid('$.signatures: expected exactly one signature');
  }
  const signatureIn = expectObject(root.signatures[0], '$.signatures[0]');
  expectExactKeys(signatureIn, ['keyid', 'sig'], '$.signatures[0]');
  const { keyid, sig } = signatureIn;
  if (typeof keyid !== 'string' || !/^[0-9a-f]{64}$/.test(keyid)) {
    throw linkInvalid('$.signatures[0].keyid: expected a 64-character lowercase hex securesystemslib keyid');
  }
  if (typeof sig !== 'string' || sig.length !== 128 || !HEX.test(sig)) {
    throw linkInvalid('$.signatures[0].sig: expected a 128-character lowercase hex ed25519 signature');
  }
  return { signed, signature: Object.freeze({ keyid, sig }) };
}

function checkAptFileName(name: unknown, field: string): void {
  if (typeof name !== 'string') throw linkInvalid(`${field}: expected a string`);
  try {
    parseAptLocalDebName(name);
  } catch (error) {
    if (!(error instanceof DebianFormatError)) throw error;
    throw linkInvalid(`${field}: ${error.message}`, error);
  }
}

function expectObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw linkInvalid(`${path}: expected an object`);
  }
  return value as Record<string, unknown>;
}

function expectExactKeys(value: Record<string, unknown>, keys: readonly string[], path: string): void {
  const present = Object.keys(value);
  const missing = keys.filter((key) => !present.includes(key));
  if (missing.length > 0) throw linkInvalid(`${path}: missing ${missing.map((k) => `"${k}"`).join(', ')}`);
  const extra = present.filter((key) => !keys.includes(key));
  if (extra.length > 0) {
    throw linkInvalid(`${path}: unexpected ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
  }
}

function linkInvalid(message: string, cause?: unknown): AttestationError {
  return new AttestationError('STATEMENT_INVALID', message, cause === undefined ? undefined : { cause });
}
