// The wire contracts of the admin routes that take a worker out of service (retire, compromised):
// the compromise request and the answer both give.

import {
  accountNameRule,
  architectureRule,
  backendNameRule,
  buildIdRule,
  keyidRule,
  queueNameRule,
  redisUserRule,
  workerIdRule,
} from '../identifiers.ts';
import type { WorkerRevocation } from '../storage/registry-store.ts';
import {
  arrayOf,
  constant,
  identifier,
  integer,
  object,
  sha256,
  text,
  timestamp,
  type WireFail,
  type WireType,
} from './wire-type.ts';

/** `{ "since": "<RFC 3339 UTC time>" }`: from when the worker's key is to be distrusted. */
export interface CompromiseRequest {
  readonly since: string;
}

/** The worker's record after the revocation, as an administrator sees it (public keys, no secret). */
export interface RevokedWorkerView {
  readonly workerId: string;
  readonly operator: string;
  readonly signingKeyPem: string;
  readonly signingKeyid: string;
  readonly authKeyPem?: string;
  readonly authKeyid?: string;
  readonly architectures: readonly string[];
  readonly backends: readonly string[];
  readonly capacity: { readonly cores: number; readonly memoryBytes: number; readonly diskBytes: number };
  readonly queueName: string;
  readonly redisUser: string;
  readonly redisPasswordSha256?: string;
  readonly enrolledAt: string;
  readonly lastSeenAt?: string;
  readonly revokedAt?: string;
  readonly revocation?: WorkerRevocation;
}

export interface RevocationAnswer {
  readonly worker: RevokedWorkerView;
  /** Builds whose open attempts of this worker were cancelled (and reassigned where possible). */
  readonly reassignedBuilds: readonly string[];
  /** Builds decided again because results of this worker stopped counting. */
  readonly redecidedBuilds: readonly string[];
}

const answer = { unknown: 'ignore' } as const;
const pem = text({ maxLength: 8192, minLength: 1 });
const revocationType: WireType<WorkerRevocation> = {
  schema: {
    oneOf: [
      object({ kind: constant('retired') }).schema,
      object({ kind: constant('compromised'), since: timestamp() }).schema,
    ],
  },
  read(value: unknown, field: string, fail: WireFail) {
    const kind = object({ kind: text({ maxLength: 16 }) }, {}, answer).read(value, field, fail).kind;
    return kind === 'retired'
      ? object({ kind: constant('retired') }, {}, answer).read(value, field, fail)
      : object({ kind: constant('compromised'), since: timestamp() }, {}, answer).read(value, field, fail);
  },
};
const amount = integer({ minimum: 1 });

export const compromiseRequestType: WireType<CompromiseRequest> = object({
  since: timestamp('from when the key is to be distrusted; not after now'),
});

export const revocationAnswerType: WireType<RevocationAnswer> = object(
  {
    worker: object(
      {
        workerId: identifier(workerIdRule),
        operator: identifier(accountNameRule),
        signingKeyPem: pem,
        signingKeyid: identifier(keyidRule),
        architectures: arrayOf(identifier(architectureRule), { maxItems: 32 }),
        backends: arrayOf(identifier(backendNameRule), { maxItems: 32 }),
        capacity: object({ cores: amount, memoryBytes: amount, diskBytes: amount }, {}, answer),
        queueName: identifier(queueNameRule),
        redisUser: identifier(redisUserRule),
        enrolledAt: timestamp(),
      },
      {
        authKeyPem: pem,
        authKeyid: identifier(keyidRule),
        redisPasswordSha256: sha256(),
        lastSeenAt: timestamp(),
        revokedAt: timestamp(),
        revocation: revocationType,
      },
      answer,
    ),
    reassignedBuilds: arrayOf(identifier(buildIdRule), { maxItems: 1_000_000 }),
    redecidedBuilds: arrayOf(identifier(buildIdRule), { maxItems: 1_000_000 }),
  },
  {},
  answer,
);
