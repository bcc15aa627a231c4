// Wire types: one description per JSON body or answer that crosses a process boundary, from which
// come both its strict reader (used by whichever side receives it) and its JSON Schema (for the
// OpenAPI document), so the reader and the published description cannot drift apart.
import { isSha256Hex, type Sha256Hex } from '../digest.ts';
import { ManifestError, RbnetError } from '../errors.ts';
import type { IdentifierRule } from '../identifiers.ts';
import { parseStrictJson } from '../strict-json.ts';
import { describeValue } from '../untrusted-value-text.ts';
import { parseUtcTimestamp } from '../utc-timestamp.ts';

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** What strict JSON parses to. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/**
 * A body or answer was refused: `INVALID` / `TOO_LARGE` for a request the coordinator reads (its
 * HTTP statuses are 400 / 413), `ANSWER_INVALID` for an answer a client reads from a coordinator
 * that does not keep the contract. `field` names the field (`failure.reason`, `running[0]`).
 */
export class WireFormatError extends RbnetError<'INVALID' | 'TOO_LARGE' | 'ANSWER_INVALID'> {
  constructor(
    code: 'INVALID' | 'TOO_LARGE' | 'ANSWER_INVALID',
    readonly field: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${field}: ${problem}`, options);
  }
}

/** Refuses the value at `field` (`''` is the whole document); never returns. */
export type WireFail = (field: string, problem: string) => never;

/** One wire type: its JSON Schema and its reader of an already strictly parsed JSON value. */
export interface WireType<T> {
  readonly schema: JsonSchema;
  read(value: unknown, field: string, fail: WireFail): T;
}

/** The type a wire type reads. */
export type WireValue<W> = W extends WireType<infer T> ? T : never;

/** `parent.key`, or `key` at the top. */
export function childField(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const name = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key) ? key : JSON.stringify(key.slice(0, 64));
  return parent === '' ? name : `${parent}.${name}`;
}

function withDescription(schema: JsonSchema, description: string | undefined): JsonSchema {
  return description === undefined ? schema : { ...schema, description };
}

/** Which side reads the document: the coordinator a request, or a client an answer. */
export type WireSide = 'request' | 'answer';

export interface ParseWireOptions {
  /** Largest document, in UTF-8 bytes, checked before decoding. */
  readonly maxBytes: number;
  /** Names the whole document in refusals, e.g. `request body`, `heartbeat answer`. */
  readonly what: string;
  readonly side: WireSide;
  /** Deepest nesting of arrays and objects; default 16. */
  readonly maxDepth?: number;
  /** The error class refusals are made with (a subclass of WireFormatError); default WireFormatError. */
  readonly errorClass?: typeof WireFormatError;
}

/**
 * Reads one untrusted JSON document: size first, then UTF-8, then strict JSON (no duplicate keys,
 * integers only, bounded depth), then shape and meaning by `type`. Returns frozen data.
 *
 * @throws WireFormatError (or `errorClass`) `INVALID` / `TOO_LARGE` for requests, `ANSWER_INVALID`
 *   for answers, naming the field.
 */
export function parseWire<T>(type: WireType<T>, input: string | Uint8Array, options: ParseWireOptions): T {
  const ErrorClass = options.errorClass ?? WireFormatError;
  const invalidCode = options.side === 'request' ? 'INVALID' : 'ANSWER_INVALID';
  const refuse = (
    code: 'INVALID' | 'TOO_LARGE' | 'ANSWER_INVALID',
    field: string,
    problem: string,
    cause?: unknown,
  ) =>
    new ErrorClass(
      code,
      field === '' ? options.what : field,
      problem,
      cause === undefined ? undefined : { cause },
    );
  const size =
    typeof input === 'string'
      ? input.length > options.maxBytes
        ? input.length
        : Buffer.byteLength(input)
      : input.byteLength;
  if (size > options.maxBytes) {
    throw refuse(
      options.side === 'request' ? 'TOO_LARGE' : invalidCode,
      '',
      `${size} bytes, over the limit of ${options.maxBytes}`,
    );
  }
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch (cause) {
      throw refuse(invalidCode, '', 'not UTF-8', cause);
    }
  }
  let value: unknown;
  try {
    value = parseStrictJson(text, { maxDepth: options.maxDepth ?? 16 });
  } catch (cause) {
    if (!(cause instanceof ManifestError)) throw cause;
    throw refuse(invalidCode, '', `not strict JSON: ${cause.message}`, cause);
  }
  return type.read(value, '', (field, problem) => {
    throw refuse(invalidCode, field, problem);
  });
}

// ---------------------------------------------------------------- scalars

/** A string matching one identifier rule (services/identifiers.ts). */
export function identifier(rule: IdentifierRule, description?: string): WireType<string> {
  return {
    schema: withDescription(
      { type: 'string', maxLength: rule.maxLength, pattern: rule.pattern.source },
      description,
    ),
    read(value: unknown, field: string, fail: WireFail) {
      if (typeof value !== 'string' || value.length > rule.maxLength || !rule.pattern.test(value))
        fail(field, `${describeValue(value)}: expected ${rule.expected}`);
      return value;
    },
  };
}

/**
 * Which characters a string may hold: `any`; `printable` (no control characters at all: names and
 * paths, which a terminal would otherwise obey); `text` (tabs and line breaks, no other control
 * character: reasons and explanations people read).
 */
export type TextCharacters = 'any' | 'printable' | 'text';

const CONTROL: Readonly<Record<Exclude<TextCharacters, 'any'>, RegExp>> = {
  printable: /[\u0000-\u001f\u007f-\u009f]/,
  text: /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/,
};

/** A string of at most `maxLength` characters (and at least `minLength`, default 0). */
export function text(options: {
  readonly maxLength: number;
  readonly minLength?: number;
  readonly characters?: TextCharacters;
  readonly description?: string;
}): WireType<string> {
  const minLength = options.minLength ?? 0;
  const characters = options.characters ?? 'any';
  return {
    schema: withDescription(
      { type: 'string', maxLength: options.maxLength, ...(minLength > 0 && { minLength }) },
      options.description,
    ),
    read(value: unknown, field: string, fail: WireFail) {
      if (typeof value !== 'string' || value.length > options.maxLength || value.length < minLength)
        fail(field, `expected a string of ${minLength}-${options.maxLength} characters`);
      if (characters !== 'any' && CONTROL[characters].test(value))
        fail(field, `${describeValue(value)}: control characters are not allowed here`);
      return value;
    },
  };
}

/** A sha256 digest: 64 lowercase hex characters. */
export function sha256(description?: string): WireType<Sha256Hex> {
  return {
    schema: withDescription({ type: 'string', pattern: '^[0-9a-f]{64}$' }, description),
    read(value: unknown, field: string, fail: WireFail) {
      if (!isSha256Hex(value)) fail(field, `${describeValue(value)}: expected 64 lowercase hex characters`);
      return value;
    },
  };
}

/** An RFC 3339 time in UTC (`Z`), as the coordinator writes times (`toISOString`). */
export function timestamp(description?: string): WireType<string> {
  return {
    schema: withDescription({ type: 'string', format: 'date-time' }, description),
    read(value: unknown, field: string, fail: WireFail) {
      if (typeof value !== 'string' || value.length > 40 || parseUtcTimestamp(value) === undefined)
        fail(field, `${describeValue(value)}: expected an RFC 3339 UTC time like "2026-11-25T12:00:00Z"`);
      return value;
    },
  };
}

/** A safe integer from `minimum` to `maximum`. */
export function integer(options: {
  readonly minimum: number;
  readonly maximum?: number;
  readonly description?: string;
}): WireType<number> {
  const maximum = options.maximum ?? Number.MAX_SAFE_INTEGER;
  return {
    schema: withDescription(
      {
        type: 'integer',
        minimum: options.minimum,
        ...(options.maximum !== undefined && { maximum: options.maximum }),
      },
      options.description,
    ),
    read(value: unknown, field: string, fail: WireFail) {
      if (!Number.isSafeInteger(value) || (value as number) < options.minimum || (value as number) > maximum)
        fail(field, `${describeValue(value)}: expected an integer from ${options.minimum} to ${maximum}`);
      return value as number;
    },
  };
}

export function boolean(description?: string): WireType<boolean> {
  return {
    schema: withDescription({ type: 'boolean' }, description),
    read(value: unknown, field: string, fail: WireFail) {
      if (typeof value !== 'boolean') fail(field, 'expected true or false');
      return value;
    },
  };
}

/** Exactly `expected` (a JSON Schema `const`). */
export function constant<const T extends string | boolean | number>(
  expected: T,
  description?: string,
): WireType<T> {
  return {
    schema: withDescription({ const: expected }, description),
    read(value: unknown, field: string, fail: WireFail) {
      if (value !== expected) fail(field, `expected ${JSON.stringify(expected)}`);
      return expected;
    },
  };
}

/** One of a closed set of strings (a JSON Schema `enum`). */
export function oneOf<const T extends string>(values: readonly T[], description?: string): WireType<T> {
  const allowed: ReadonlySet<string> = new Set(values);
  return {
    schema: withDescription({ type: 'string', enum: [...values] }, description),
    read(value: unknown, field: string, fail: WireFail) {
      if (typeof value !== 'string' || !allowed.has(value))
        fail(field, `${describeValue(value)}: expected one of ${values.join(', ')}`);
      return value as T;
    },
  };
}

/** `type`, or null. */
export function nullable<T>(type: WireType<T>): WireType<T | null> {
  return {
    schema: { anyOf: [type.schema, { type: 'null' }] },
    read: (value, field, fail) => (value === null ? null : type.read(value, field, fail)),
  };
}

/** `type` with a description of its own in the schema. */
export function described<T>(type: WireType<T>, description: string): WireType<T> {
  return { schema: withDescription(type.schema, description), read: type.read };
}

// ---------------------------------------------------------------- containers

/** An array of `item`, `minItems..maxItems` long; `unique` refuses any value twice. */
export function arrayOf<T>(
  item: WireType<T>,
  options: {
    readonly maxItems: number;
    readonly minItems?: number;
    readonly unique?: boolean;
    readonly description?: string;
  },
): WireType<readonly T[]> {
  const minItems = options.minItems ?? 0;
  return {
    schema: withDescription(
      {
        type: 'array',
        items: item.schema,
        maxItems: options.maxItems,
        ...(minItems > 0 && { minItems }),
        ...(options.unique && { uniqueItems: true }),
      },
      options.description,
    ),
    read(value: unknown, field: string, fail: WireFail) {
      if (!Array.isArray(value) || value.length > options.maxItems || value.length < minItems)
        fail(field, `expected an array of ${minItems}-${options.maxItems} entries`);
      const items = value.map((entry, index) => item.read(entry, childField(field, index), fail));
      if (options.unique && new Set(items).size !== items.length) fail(field, 'names a value twice');
      return Object.freeze(items);
    },
  };
}

type Fields = Readonly<Record<string, WireType<unknown>>>;

/** The object type that `required` and `optional` fields read. */
export type ObjectOf<R extends Fields, O extends Fields> = {
  readonly [K in keyof R]: WireValue<R[K]>;
} & { readonly [K in keyof O]?: WireValue<O[K]> };

/**
 * A JSON object with `required` and `optional` fields. Other fields are refused (`unknown:
 * 'refuse'`, the default: what a request may say is closed) or skipped (`'ignore'`: an answer may
 * grow fields a client does not know yet). The result holds only the declared fields, frozen.
 */
export function object<R extends Fields, O extends Fields = Record<never, never>>(
  required: R,
  optional?: O,
  options: { readonly unknown?: 'refuse' | 'ignore'; readonly description?: string } = {},
): WireType<ObjectOf<R, O>> {
  const optionalFields: Fields = optional ?? {};
  const known = new Set([...Object.keys(required), ...Object.keys(optionalFields)]);
  const properties: Record<string, JsonSchema> = {};
  for (const [name, type] of [...Object.entries(required), ...Object.entries(optionalFields)])
    properties[name] = type.schema;
  return {
    schema: withDescription(
      {
        type: 'object',
        required: Object.keys(required),
        properties,
        ...(options.unknown !== 'ignore' && { additionalProperties: false }),
      },
      options.description,
    ),
    read(value: unknown, field: string, fail: WireFail) {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        fail(field, 'expected a JSON object');
      const source = value as Record<string, unknown>;
      if (options.unknown !== 'ignore') {
        for (const key of Object.keys(source))
          if (!known.has(key)) fail(childField(field, key), 'unknown field');
      }
      const result: Record<string, unknown> = {};
      for (const [name, type] of Object.entries(required)) {
        if (!Object.hasOwn(source, name)) fail(childField(field, name), 'missing');
        result[name] = type.read(source[name], childField(field, name), fail);
      }
      for (const [name, type] of Object.entries(optionalFields)) {
        if (Object.hasOwn(source, name))
          result[name] = type.read(source[name], childField(field, name), fail);
      }
      return Object.freeze(result) as ObjectOf<R, O>;
    },
  };
}
