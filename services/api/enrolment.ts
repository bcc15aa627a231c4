// The wire contract of POST /v1/workers/enrol around its strict body parser (services/auth/
// worker-enrolment.ts, which also proves both keys): the body's JSON Schema, built from the same
// field list and ceilings the parser uses, and the answer a worker reads its queue credentials from.
import { capacityCeilings, type enrolmentBodyFields } from '../auth/worker-enrolment.ts';
import {
  accountNameRule,
  architectureRule,
  backendNameRule,
  keyidRule,
  queueNameRule,
  queuePrefixRule,
  redisUserRule,
  workerIdRule,
} from '../identifiers.ts';
import {
  arrayOf,
  identifier,
  integer,
  type JsonSchema,
  object,
  parseWire,
  text,
  type WireType,
} from './wire-type.ts';

/** What the coordinator answers an enrolment; the Redis password is shown once. */
export interface EnrolmentAnswer {
  readonly workerId: string;
  readonly operator: string;
  readonly signingKeyid: string;
  readonly queueName: string;
  readonly queuePrefix: string;
  /** The Redis of the operator's shard, and this worker's own ACL user there. */
  readonly redis: { readonly url: string; readonly username: string; readonly password: string };
}

const bodyType = object({
  workerId: identifier(workerIdRule),
  signingKeyPem: text({ maxLength: 4096, description: 'ed25519 SPKI PEM (attestations)' }),
  authKeyPem: text({
    maxLength: 4096,
    description: 'ed25519 SPKI PEM (request proofs); not the signing key',
  }),
  signingKeyProof: text({
    maxLength: 88,
    description:
      'base64 ed25519 signature by the signing key over "rbnet-enrol-signing-key-v1\\n<origin>\\n<workerId>\\n<signingKeyid>\\n<authKeyid>\\n<sha256 of the token>"',
  }),
  architectures: arrayOf(identifier(architectureRule), { minItems: 1, maxItems: 16 }),
  backends: arrayOf(identifier(backendNameRule), { minItems: 1, maxItems: 16 }),
  capacity: object({
    cores: integer({ minimum: 1, maximum: capacityCeilings.cores }),
    memoryBytes: integer({ minimum: 1, maximum: capacityCeilings.memoryBytes }),
    diskBytes: integer({ minimum: 1, maximum: capacityCeilings.diskBytes }),
  }),
} satisfies Record<(typeof enrolmentBodyFields)[number], WireType<unknown>>);

/** The enrolment body's JSON Schema; `parseEnrolmentRequestBody` is its reader (keys parsed, proofs checked). */
export const enrolmentRequestSchema: JsonSchema = bodyType.schema;

export const enrolmentAnswerType: WireType<EnrolmentAnswer> = object(
  {
    workerId: identifier(workerIdRule),
    operator: identifier(accountNameRule),
    signingKeyid: identifier(keyidRule),
    queueName: identifier(queueNameRule),
    queuePrefix: identifier(queuePrefixRule),
    redis: object(
      {
        url: text({ maxLength: 2048, minLength: 1, description: "the Redis of the operator's shard" }),
        username: identifier(redisUserRule),
        password: text({ maxLength: 256, minLength: 1 }),
      },
      {},
      { unknown: 'ignore' },
    ),
  },
  {},
  { unknown: 'ignore' },
);

/** Reads the coordinator's answer (the enrolling worker). @throws WireFormatError ANSWER_INVALID. */
export function parseEnrolmentAnswer(answer: string): EnrolmentAnswer {
  return parseWire(enrolmentAnswerType, answer, {
    maxBytes: 64 * 1024,
    what: 'enrolment answer',
    side: 'answer',
  });
}
