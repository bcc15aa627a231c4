// The wire contracts of the admin routes that create accounts and tokens: operators, single-use
// enrolment tokens, maintainers. Requests are closed (an unknown field is refused); answers show a
// token's secret once.
import { accountNameRule, tokenIdRule, tokenSecretRule } from '../identifiers.ts';
import { identifier, integer, object, parseWire, timestamp, type WireType } from './wire-type.ts';

/** Largest admin request body read. */
export const maxAdminBodyBytes = 4096;

/** An enrolment token's validity: 60 s .. 30 d. */
export const enrolmentTokenTtlBounds = Object.freeze({ minSeconds: 60, maxSeconds: 30 * 86_400 });

export interface OperatorRequest {
  readonly name: string;
}

export interface OperatorAnswer {
  readonly name: string;
  readonly createdAt: string;
}

export interface EnrolmentTokenRequest {
  readonly operator: string;
  /** Default: the coordinator's RBNET_ENROLMENT_TOKEN_TTL_SECONDS. */
  readonly ttlSeconds?: number;
}

export interface EnrolmentTokenAnswer {
  /** The secret, shown once. */
  readonly token: string;
  readonly tokenId: string;
  readonly operator: string;
  readonly expiresAt: string;
}

export interface MaintainerRequest {
  readonly name: string;
}

export interface MaintainerAnswer {
  readonly name: string;
  /** The secret (scope `submit`), shown once. */
  readonly token: string;
  readonly tokenId: string;
}

const answer = { unknown: 'ignore' } as const;
const name = identifier(accountNameRule);

export const operatorRequestType: WireType<OperatorRequest> = object({ name });
export const operatorAnswerType: WireType<OperatorAnswer> = object(
  { name, createdAt: timestamp() },
  {},
  answer,
);

export const enrolmentTokenRequestType: WireType<EnrolmentTokenRequest> = object(
  { operator: name },
  {
    ttlSeconds: integer({
      minimum: enrolmentTokenTtlBounds.minSeconds,
      maximum: enrolmentTokenTtlBounds.maxSeconds,
      description: 'validity, s; default 1 d',
    }),
  },
);
export const enrolmentTokenAnswerType: WireType<EnrolmentTokenAnswer> = object(
  {
    token: identifier(tokenSecretRule, 'rbnet_enrolment_…: single use'),
    tokenId: identifier(tokenIdRule),
    operator: name,
    expiresAt: timestamp(),
  },
  {},
  answer,
);

export const maintainerRequestType: WireType<MaintainerRequest> = object({ name });
export const maintainerAnswerType: WireType<MaintainerAnswer> = object(
  { name, token: identifier(tokenSecretRule, 'rbnet_maintainer_…'), tokenId: identifier(tokenIdRule) },
  {},
  answer,
);

/** Reads an admin request body. @throws WireFormatError INVALID / TOO_LARGE naming the field. */
export function parseAdminRequest<T>(type: WireType<T>, body: string | Uint8Array): T {
  return parseWire(type, body, {
    maxBytes: maxAdminBodyBytes,
    what: 'request body',
    side: 'request',
    maxDepth: 4,
  });
}

/** Reads an admin answer. @throws WireFormatError ANSWER_INVALID naming the field. */
export function parseAdminAnswer<T>(type: WireType<T>, text: string): T {
  return parseWire(type, text, { maxBytes: 16 * 1024 * 1024, what: 'answer', side: 'answer', maxDepth: 8 });
}
