// The in-toto root layout an apt consumer signs: K of N rbnet operators must have rebuilt each .deb.
import type { KeyObject } from 'node:crypto';
import {
  ed25519PublicKeyFromPem,
  publicKeyToSecuresystemslibJson,
  type SecuresystemslibEd25519PublicKey,
} from '../attestation/ed25519-key.ts';
import { AttestationError, RbnetError } from '../errors.ts';
import { REBUILD_STEP_NAME } from './in-toto-rebuild-link.ts';

/** A root layout could not be composed or signed; the message names the field or flag. */
export class InTotoLayoutError extends RbnetError<'LAYOUT_INVALID' | 'LAYOUT_SIGNING'> {}

/**
 * The inspection apt-transport-in-toto's shipped layout (/etc/intoto/root.layout, 0.1.1-3) uses, kept
 * verbatim: in-toto records the verification directory (the .deb apt downloaded plus the fetched
 * links, which in-toto excludes as `*.link*`) as the inspection's materials, then every `*.deb` must
 * MATCH a product of the `rebuild` step with the same name and sha256, and any `*.deb` left over is
 * DISALLOWed. Without it the links would be checked but never compared with the downloaded file.
 */
export const VERIFY_REPROBUILDS_INSPECTION = Object.freeze({
  _type: 'inspection',
  name: 'verify-reprobuilds',
  expected_materials: Object.freeze([
    Object.freeze(['MATCH', '*.deb', 'WITH', 'PRODUCTS', 'FROM', REBUILD_STEP_NAME]),
    Object.freeze(['DISALLOW', '*.deb']),
  ]),
  expected_products: Object.freeze([]),
  run: Object.freeze(['/usr/bin/true']),
} as const);

/** Same grammar as trust-policy operator names. */
const OPERATOR_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** `YYYY-MM-DD`, or a date-time with seconds, optional fraction, and `Z` or an offset. */
const EXPIRES = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:\d{2}))?$/;
/** Longest readme accepted, characters. */
const maxReadmeLength = 64 * 1024;

export interface RootLayoutOperator {
  /** The operator's name (lowercase, as in trust policies); shown in the readme, not used by in-toto. */
  readonly name: string;
  /** The operator's worker signing public key, SPKI PEM (`worker-signing.key.pub`). */
  readonly publicKeyPem: string;
}

export interface RootLayoutOptions {
  /** Exactly one key per operator; at least one operator. */
  readonly operators: readonly RootLayoutOperator[];
  /** Distinct operators whose links must agree on the .deb, 1 ≤ threshold ≤ operators.length. */
  readonly threshold: number;
  /** `YYYY-MM-DD` (midnight UTC) or an ISO 8601 date-time; must be after `now`. */
  readonly expires: string;
  /** Human-readable description signed with the layout; defaults to one naming the operators. */
  readonly readme?: string;
  /** Defaults to the current time. */
  readonly now?: Date;
}

export interface RootLayoutStep {
  readonly _type: 'step';
  readonly name: typeof REBUILD_STEP_NAME;
  readonly expected_command: readonly [];
  readonly expected_materials: readonly [];
  readonly expected_products: readonly [readonly ['CREATE', '*.deb'], readonly ['DISALLOW', '*.deb']];
  readonly pubkeys: readonly string[];
  readonly threshold: number;
}

/** The layout's `signed` object, exactly the fields in-toto 1.3.1's `Layout` serializes. */
export interface RootLayoutSigned {
  readonly _type: 'layout';
  /** `YYYY-MM-DDTHH:MM:SSZ`, the only form securesystemslib's ISO8601_DATETIME_SCHEMA accepts. */
  readonly expires: string;
  readonly inspect: readonly [typeof VERIFY_REPROBUILDS_INSPECTION];
  readonly keys: Readonly<Record<string, SecuresystemslibEd25519PublicKey>>;
  readonly readme: string;
  readonly steps: readonly [RootLayoutStep];
}

/**
 * Composes the root layout apt-transport-in-toto verifies every .deb against: one step `rebuild`
 * whose functionaries are the operators' ed25519 keys (securesystemslib key objects under their
 * keyids) with `threshold` K, products `CREATE *.deb` then `DISALLOW *.deb`, no materials, and the
 * `verify-reprobuilds` inspection ({@link VERIFY_REPROBUILDS_INSPECTION}).
 *
 * in-toto counts distinct *keys*, so one operator must not hold two keys here: each operator gives
 * exactly one, and two operators sharing a key are refused. A link signed by any other key (a second
 * key of the same operator included) is ignored by in-toto.
 *
 * @throws InTotoLayoutError LAYOUT_INVALID naming the field (`operators[1].name`, `threshold`,
 *   `expires`, ...) that is wrong.
 */
export function composeRootLayout(options: RootLayoutOptions): RootLayoutSigned {
  const now = options.now ?? new Date();
  if (!Array.isArray(options.operators) || options.operators.length === 0) {
    throw layoutInvalid('operators: at least one operator is required');
  }
  const names = new Map<string, number>();
  const keyidOwners = new Map<string, string>();
  const keys: Record<string, SecuresystemslibEd25519PublicKey> = {};
  const pubkeys: string[] = [];
  const described: string[] = [];
  options.operators.forEach((operator, index) => {
    const field = `operators[${index}]`;
    if (typeof operator.name !== 'string' || !OPERATOR_NAME.test(operator.name)) {
      throw layoutInvalid(
        `${field}.name: ${JSON.stringify(operator.name)} is not an operator name (lowercase letters, digits, . _ -; at most 64)`,
      );
    }
    const earlier = names.get(operator.name);
    if (earlier !== undefined) {
      throw layoutInvalid(
        `${field}.name: operator "${operator.name}" is listed twice (also operators[${earlier}]); give exactly one key per operator`,
      );
    }
    names.set(operator.name, index);
    const publicKey = parsePublicKey(operator.publicKeyPem, `${field}.publicKeyPem`);
    const keyObject = publicKeyToSecuresystemslibJson(publicKey);
    const owner = keyidOwners.get(keyObject.keyid);
    if (owner !== undefined) {
      throw layoutInvalid(
        `${field}.publicKeyPem: operators "${owner}" and "${operator.name}" give the same key (keyid ${keyObject.keyid}); in-toto would count it once`,
      );
    }
    keyidOwners.set(keyObject.keyid, operator.name);
    keys[keyObject.keyid] = keyObject;
    pubkeys.push(keyObject.keyid);
    described.push(`${operator.name} (keyid ${keyObject.keyid})`);
  });

  const { threshold } = options;
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > pubkeys.length) {
    throw layoutInvalid(
      `threshold: ${String(threshold)} must be a whole number from 1 to the ${pubkeys.length} operator(s) listed`,
    );
  }
  const expires = normalizeExpires(options.expires, now);
  const readme =
    options.readme ??
    `rbnet root layout: apt installs a .deb only if at least ${threshold} of these ${pubkeys.length} operators published a rebuild link listing it with the same sha256: ${described.join(', ')}.`;
  if (typeof readme !== 'string' || readme.length > maxReadmeLength) {
    throw layoutInvalid(`readme: expected a string of at most ${maxReadmeLength} characters`);
  }

  const step: RootLayoutStep = Object.freeze({
    _type: 'step',
    name: REBUILD_STEP_NAME,
    expected_command: Object.freeze([]) as readonly [],
    expected_materials: Object.freeze([]) as readonly [],
    expected_products: Object.freeze([
      Object.freeze(['CREATE', '*.deb'] as const),
      Object.freeze(['DISALLOW', '*.deb'] as const),
    ]) as RootLayoutStep['expected_products'],
    pubkeys: Object.freeze(pubkeys),
    threshold,
  });
  return Object.freeze({
    _type: 'layout',
    expires,
    inspect: Object.freeze([VERIFY_REPROBUILDS_INSPECTION]) as RootLayoutSigned['inspect'],
    keys: Object.freeze(keys),
    readme,
    steps: Object.freeze([step]) as readonly [RootLayoutStep],
  });
}

/**
 * The unsigned metablock `in-toto-sign` reads: `{"signatures": [], "signed": layout}`, as JSON text.
 */
export function unsignedLayoutMetablockJson(layout: RootLayoutSigned): string {
  return `${JSON.stringify({ signatures: [], signed: layout }, null, 1)}\n`;
}

/**
 * Normalizes `expires` to `YYYY-MM-DDTHH:MM:SSZ` (UTC, fraction dropped) and checks it is a real
 * calendar date after `now`.
 *
 * @throws InTotoLayoutError LAYOUT_INVALID naming `expires`.
 */
export function normalizeExpires(expires: string, now: Date): string {
  const match = typeof expires === 'string' ? EXPIRES.exec(expires) : null;
  if (!match) {
    throw layoutInvalid(
      `expires: ${JSON.stringify(expires)} is not an ISO 8601 date (2027-01-01) or date-time (2027-01-01T00:00:00Z)`,
    );
  }
  const [, year, month, day, hour = '00', minute = '00', second = '00', zone = 'Z'] = match;
  const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (
    calendar.getUTCFullYear() !== Number(year) ||
    calendar.getUTCMonth() !== Number(month) - 1 ||
    calendar.getUTCDate() !== Number(day) ||
    Number(hour) > 23 ||
    Number(minute) > 59 ||
    Number(second) > 59
  ) {
    throw layoutInvalid(`expires: ${JSON.stringify(expires)} is not a real date and time`);
  }
  const instant = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}${zone}`);
  if (Number.isNaN(instant.getTime()) || instant.getUTCFullYear() > 9999 || instant.getUTCFullYear() < 1) {
    throw layoutInvalid(`expires: ${JSON.stringify(expires)} is out of range`);
  }
  if (instant.getTime() <= now.getTime()) {
    throw layoutInvalid(
      `expires: ${JSON.stringify(expires)} is not in the future (now is ${now.toISOString()}); apt would refuse the layout as expired`,
    );
  }
  return `${instant.toISOString().slice(0, 19)}Z`;
}

function parsePublicKey(pem: unknown, field: string): KeyObject {
  if (typeof pem !== 'string') throw layoutInvalid(`${field}: expected PEM text`);
  try {
    return ed25519PublicKeyFromPem(pem, field);
  } catch (error) {
    if (error instanceof AttestationError) throw layoutInvalid(error.message, error);
    throw error;
  }
}

function layoutInvalid(message: string, cause?: unknown): InTotoLayoutError {
  return new InTotoLayoutError('LAYOUT_INVALID', message, cause === undefined ? undefined : { cause });
}
