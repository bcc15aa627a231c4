// Every route the coordinator serves, described once: source of /openapi.json, held equal to the app.

import { capacityCeilings, enrolmentBodyFields } from '../../services/auth/worker-enrolment.ts';
import { CONSENSUS_FAILURE_REASONS } from '../../services/consensus/decide-verdict.ts';
import { VERDICTS } from '../../services/consensus/verdict.ts';

/** Who may call a route. `none` is public; a route listing several accepts any one of them. */
export type RouteAuth = 'none' | 'admin' | 'submit' | 'worker' | 'enrolment';

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Readonly<Record<string, unknown>>;

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429;

export interface RouteParameter {
  readonly description: string;
  readonly schema: JsonSchema;
  /** Query parameters only; path parameters are always required. */
  readonly required?: boolean;
}

export interface RouteBody {
  readonly contentType: string;
  readonly description: string;
  readonly schema: JsonSchema;
}

export interface RouteResponse {
  readonly status: 200 | 201 | 202;
  readonly description: string;
  /** Absent for a response without a body. */
  readonly contentType?: string;
  readonly schema?: JsonSchema;
}

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** Hono form, as registered: `/v1/builds/:id`. */
  readonly path: string;
  /** Unique, camelCase; the OpenAPI operationId. */
  readonly operationId: string;
  readonly tag: 'health' | 'admin' | 'workers' | 'content' | 'builds' | 'transparency' | 'apt' | 'operations';
  readonly summary: string;
  readonly description?: string;
  /** Alternatives: any one suffices. `['none']` for public routes. */
  readonly auth: readonly RouteAuth[];
  /** One entry per `:name` in the path. */
  readonly pathParams?: Readonly<Record<string, RouteParameter>>;
  readonly query?: Readonly<Record<string, RouteParameter>>;
  readonly requestBody?: RouteBody;
  readonly responses: readonly RouteResponse[];
  /** Error codes the route answers, by status (every route can also answer `500 INTERNAL`). */
  readonly errors: Readonly<Partial<Record<ErrorStatus, readonly string[]>>>;
}

// ---------------------------------------------------------------- shared schemas

const sha256Hex: JsonSchema = { type: 'string', pattern: '^[0-9a-f]{64}$' };
const name: JsonSchema = { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' };
const isoTime: JsonSchema = { type: 'string', format: 'date-time' };
const uuid: JsonSchema = { type: 'string', format: 'uuid' };
const verdict: JsonSchema = { type: 'string', enum: [...VERDICTS] };
const buildLinks: JsonSchema = {
  type: 'object',
  required: ['self', 'attestation', 'divergence'],
  properties: {
    self: { type: 'string' },
    attestation: { type: 'string' },
    divergence: { type: 'string' },
  },
};
const output: JsonSchema = {
  type: 'object',
  required: ['path', 'sha256'],
  properties: { path: { type: 'string' }, sha256: sha256Hex, sizeBytes: { type: 'integer' } },
};
const buildIdParam: RouteParameter = { description: 'the build id (a UUID)', schema: uuid };
const digestParam: RouteParameter = { description: 'sha256, 64 lowercase hex characters', schema: sha256Hex };
const json = 'application/json';

/** What the revocation routes answer. */
function revocationResponse(description: string): RouteResponse {
  return {
    status: 200,
    description,
    contentType: json,
    schema: object(['worker', 'reassignedBuilds', 'redecidedBuilds'], {
      worker: { type: 'object' },
      reassignedBuilds: { type: 'array', items: uuid },
      redecidedBuilds: { type: 'array', items: uuid },
    }),
  };
}

/** JSON objects: any extra field is refused or ignored as each route documents. */
function object(required: readonly string[], properties: Record<string, JsonSchema>): JsonSchema {
  return { type: 'object', required, properties };
}

/** What a worker's proof can be refused with (docs/api.md, "Authentication"). */
const WORKER_AUTH_ERRORS = ['AUTH_MISSING', 'AUTH_INVALID', 'AUTH_REPLAYED', 'AUTH_BODY_MISMATCH'] as const;

// ---------------------------------------------------------------- the catalog

/**
 * Every route of `createCoordinatorApp` plus the operations routes, in registration order.
 * Facts come from `create-app.ts` and docs/api.md; `route-catalog` tests fail when a route is added,
 * removed or renamed in the app without changing this list.
 */
export const routeCatalog: readonly RouteSpec[] = Object.freeze<RouteSpec[]>([
  {
    method: 'GET',
    path: '/healthz',
    operationId: 'getHealth',
    tag: 'health',
    summary: 'Liveness: answers while the process serves requests',
    auth: ['none'],
    responses: [
      {
        status: 200,
        description: 'alive',
        contentType: json,
        schema: object(['ok'], { ok: { const: true } }),
      },
    ],
    errors: {},
  },
  {
    method: 'POST',
    path: '/v1/admin/operators',
    operationId: 'addOperator',
    tag: 'admin',
    summary: 'Register an operator (an organisation that runs workers)',
    auth: ['admin'],
    requestBody: {
      contentType: json,
      description: 'at most 4 KiB',
      schema: object(['name'], { name }),
    },
    responses: [
      {
        status: 201,
        description: 'registered',
        contentType: json,
        schema: object(['name', 'createdAt'], { name, createdAt: isoTime }),
      },
    ],
    errors: { 400: ['INVALID'], 401: ['AUTH_INVALID'], 409: ['CONFLICT'], 413: ['TOO_LARGE'] },
  },
  {
    method: 'POST',
    path: '/v1/admin/enrolment-tokens',
    operationId: 'createEnrolmentToken',
    tag: 'admin',
    summary: 'Create a single-use enrolment token for an operator',
    description: 'The secret is shown once; it expires after ttlSeconds (60 s..30 d, default 1 d).',
    auth: ['admin'],
    requestBody: {
      contentType: json,
      description: 'at most 4 KiB',
      schema: object(['operator'], {
        operator: name,
        ttlSeconds: { type: 'integer', minimum: 60, maximum: 2_592_000 },
      }),
    },
    responses: [
      {
        status: 201,
        description: 'created',
        contentType: json,
        schema: object(['token', 'tokenId', 'operator', 'expiresAt'], {
          token: { type: 'string', pattern: '^rbnet_enrolment_' },
          tokenId: { type: 'string' },
          operator: name,
          expiresAt: isoTime,
        }),
      },
    ],
    errors: { 400: ['INVALID'], 401: ['AUTH_INVALID'], 404: ['NOT_FOUND'], 413: ['TOO_LARGE'] },
  },
  {
    method: 'POST',
    path: '/v1/admin/maintainers',
    operationId: 'addMaintainer',
    tag: 'admin',
    summary: 'Register a maintainer and create its token (scope submit)',
    auth: ['admin'],
    requestBody: { contentType: json, description: 'at most 4 KiB', schema: object(['name'], { name }) },
    responses: [
      {
        status: 201,
        description: 'registered; the token is shown once',
        contentType: json,
        schema: object(['name', 'token', 'tokenId'], {
          name,
          token: { type: 'string', pattern: '^rbnet_maintainer_' },
          tokenId: { type: 'string' },
        }),
      },
    ],
    errors: { 400: ['INVALID'], 401: ['AUTH_INVALID'], 409: ['CONFLICT'], 413: ['TOO_LARGE'] },
  },
  ...(
    [
      [
        'retire',
        'retireWorker',
        'Retire a worker',
        'Its earlier results keep counting; it can no longer authenticate, its Redis user is deleted, its queue drained, and its open attempts are cancelled and reassigned.',
      ],
      [
        'revoke',
        'revokeWorker',
        'Retire a worker (the older name of /retire)',
        'The same as POST /v1/admin/workers/:id/retire.',
      ],
    ] as const
  ).map(
    ([action, operationId, summary, description]): RouteSpec => ({
      method: 'POST',
      path: `/v1/admin/workers/:id/${action}`,
      operationId,
      tag: 'admin',
      summary,
      description,
      auth: ['admin'],
      pathParams: { id: { description: 'the worker id', schema: name } },
      responses: [revocationResponse('retired (idempotent)')],
      errors: { 400: ['INVALID'], 401: ['AUTH_INVALID'], 404: ['NOT_FOUND'] },
    }),
  ),
  {
    method: 'POST',
    path: '/v1/admin/gc',
    operationId: 'collectGarbage',
    tag: 'admin',
    summary: 'Remove uploaded blobs that nothing references, after the grace period',
    description:
      'Only blobs an upload created and no build, result, verdict, log entry or apt link names, unwanted for the grace period (RBNET_GC_GRACE_MS). The coordinator also runs this every RBNET_GC_INTERVAL_MS. `rbnet admin gc`.',
    auth: ['admin'],
    requestBody: {
      contentType: json,
      description: 'at most 4 KiB',
      schema: object([], { dryRun: { type: 'boolean', description: 'report, remove nothing' } }),
    },
    responses: [
      {
        status: 200,
        description: 'what was (or, in a dry run, would be) removed',
        contentType: json,
        schema: object(['dryRun', 'graceMs', 'cutoff', 'removed', 'freedBytes', 'kept', 'more'], {
          dryRun: { type: 'boolean' },
          graceMs: { type: 'integer' },
          cutoff: isoTime,
          removed: {
            type: 'array',
            items: object(['sha256', 'sizeBytes', 'owners', 'lastWantedAt'], {
              sha256: sha256Hex,
              sizeBytes: { type: 'integer' },
              owners: { type: 'array', items: { type: 'string' } },
              lastWantedAt: isoTime,
              missing: { const: true },
            }),
          },
          freedBytes: { type: 'integer' },
          kept: { type: 'integer', description: 'candidates wanted or referenced while the pass ran' },
          more: { type: 'boolean', description: 'the pass stopped at gc.maxBlobsPerPass' },
        }),
      },
    ],
    errors: { 400: ['INVALID'], 401: ['AUTH_INVALID'], 413: ['TOO_LARGE'] },
  },
  {
    method: 'POST',
    path: '/v1/admin/workers/:id/compromised',
    operationId: 'markWorkerCompromised',
    tag: 'admin',
    summary: 'Mark a worker compromised since a time',
    description:
      'Every result the coordinator received from that worker at or after `since` stops counting (receipt time is the only time the coordinator observed itself); the builds they touched are decided again, each change a new history row, and their apt links of that worker are withdrawn. Also everything /retire does. A retired worker can be marked compromised later; `since` only ever moves earlier.',
    auth: ['admin'],
    pathParams: { id: { description: 'the worker id', schema: name } },
    requestBody: {
      contentType: json,
      description: 'at most 4 KiB; `since` is an RFC 3339 UTC time, not after now',
      schema: object(['since'], { since: isoTime }),
    },
    responses: [revocationResponse('marked compromised (idempotent; an earlier `since` wins)')],
    errors: { 400: ['INVALID'], 401: ['AUTH_INVALID'], 404: ['NOT_FOUND'], 413: ['TOO_LARGE'] },
  },
  {
    method: 'POST',
    path: '/v1/workers/enrol',
    operationId: 'enrolWorker',
    tag: 'workers',
    summary: 'Enrol a worker with a single-use enrolment token and proof of possession of its new auth key',
    description:
      'Only over TLS (an https public URL) or from loopback. The token is checked (not spent) before the body is read. X-Rbnet-Proof signs this body with the auth key being enrolled; signingKeyProof signs this enrolment (coordinator origin, workerId, both keyids, sha256 of the token) with the signing key. Unknown fields are refused.',
    auth: ['enrolment'],
    requestBody: {
      contentType: json,
      description: 'public keys, the signing-key proof and declared capabilities; at most 64 KiB',
      schema: {
        ...object(enrolmentBodyFields, {
          workerId: name,
          signingKeyPem: { type: 'string', description: 'ed25519 SPKI PEM (attestations)' },
          authKeyPem: {
            type: 'string',
            description: 'ed25519 SPKI PEM (request proofs); not the signing key',
          },
          signingKeyProof: {
            type: 'string',
            description:
              'base64 ed25519 signature by the signing key over "rbnet-enrol-signing-key-v1\\n<origin>\\n<workerId>\\n<signingKeyid>\\n<authKeyid>\\n<sha256 of the token>"',
          },
          architectures: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 16 },
          backends: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 16 },
          capacity: {
            ...object(['cores', 'memoryBytes', 'diskBytes'], {
              cores: { type: 'integer', minimum: 1, maximum: capacityCeilings.cores },
              memoryBytes: { type: 'integer', minimum: 1, maximum: capacityCeilings.memoryBytes },
              diskBytes: { type: 'integer', minimum: 1, maximum: capacityCeilings.diskBytes },
            }),
            additionalProperties: false,
          },
        }),
        additionalProperties: false,
      },
    },
    responses: [
      {
        status: 201,
        description: 'enrolled; the Redis password is shown once',
        contentType: json,
        schema: object(['workerId', 'operator', 'signingKeyid', 'queueName', 'queuePrefix', 'redis'], {
          workerId: name,
          operator: name,
          signingKeyid: { type: 'string' },
          queueName: { type: 'string' },
          queuePrefix: { type: 'string' },
          redis: object(['url', 'username', 'password'], {
            url: { type: 'string' },
            username: { type: 'string' },
            password: { type: 'string' },
          }),
        }),
      },
    ],
    errors: {
      400: ['INVALID'],
      401: [...WORKER_AUTH_ERRORS, 'SIGNING_PROOF_INVALID'],
      403: ['INSECURE_TRANSPORT'],
      409: ['CONFLICT'],
      413: ['TOO_LARGE'],
      429: ['AUTH_RATE_LIMITED'],
    },
  },
  {
    method: 'GET',
    path: '/v1/cas/sha256/:digest',
    operationId: 'getBlob',
    tag: 'content',
    summary: 'Read a blob by its sha256',
    description:
      "Served inert: `Content-Security-Policy: default-src 'none'; base-uri 'none'; form-action 'none'; sandbox`, " +
      '`X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`.',
    auth: ['none'],
    pathParams: { digest: digestParam },
    responses: [
      {
        status: 200,
        description: 'the bytes',
        contentType: 'application/octet-stream',
        schema: { type: 'string', contentMediaType: 'application/octet-stream' },
      },
    ],
    errors: { 400: ['DIGEST_INVALID'], 404: ['NOT_FOUND'] },
  },
  {
    method: 'PUT',
    path: '/v1/cas/sha256/:digest',
    operationId: 'putBlob',
    tag: 'content',
    summary: 'Upload a blob; stored only if its sha256 is the digest in the URL',
    description:
      "A maintainer token (inputs) or a worker proof (outputs, logs; the proof declares the URL digest and the length, and no more is read). At most 4 GiB. A blob the upload creates is charged to the writer's quota (a worker's operator too); a quota refusal comes before the body is read.",
    auth: ['submit', 'worker'],
    pathParams: { digest: digestParam },
    requestBody: {
      contentType: 'application/octet-stream',
      description: 'the bytes, streamed',
      schema: { type: 'string', contentMediaType: 'application/octet-stream' },
    },
    responses: [
      {
        status: 201,
        description: 'stored',
        contentType: json,
        schema: object(['sha256', 'sizeBytes', 'created'], {
          sha256: sha256Hex,
          sizeBytes: { type: 'integer' },
          created: { const: true },
        }),
      },
      {
        status: 200,
        description: 'already present',
        contentType: json,
        schema: object(['sha256', 'sizeBytes', 'created'], {
          sha256: sha256Hex,
          sizeBytes: { type: 'integer' },
          created: { const: false },
        }),
      },
    ],
    errors: {
      400: ['DIGEST_INVALID'],
      401: WORKER_AUTH_ERRORS,
      413: ['TOO_LARGE', 'QUOTA_BYTES_EXCEEDED'],
      422: ['DIGEST_MISMATCH'],
      429: ['AUTH_RATE_LIMITED', 'QUOTA_BLOBS_EXCEEDED'],
    },
  },
  {
    method: 'POST',
    path: '/v1/builds',
    operationId: 'submitBuild',
    tag: 'builds',
    summary: 'Submit a manifest for rebuilding',
    description:
      'Parsed strictly (docs/manifest.md); every input must already be in the content store, and as many operators as the threshold must have an eligible worker.',
    auth: ['submit'],
    requestBody: {
      contentType: json,
      description: 'the manifest JSON, at most 256 KiB (docs/manifest.md)',
      schema: { type: 'object' },
    },
    responses: [
      {
        status: 201,
        description: 'accepted and assigned',
        contentType: json,
        schema: object(['buildId', 'manifestSha256', 'verdict', 'assigned', 'links'], {
          buildId: uuid,
          manifestSha256: sha256Hex,
          verdict,
          assigned: {
            type: 'array',
            items: object(['workerId', 'operator', 'jobId'], {
              workerId: name,
              operator: name,
              jobId: { type: 'string' },
            }),
          },
          links: buildLinks,
        }),
      },
    ],
    errors: {
      400: ['MANIFEST_JSON'],
      401: ['AUTH_INVALID'],
      413: ['TOO_LARGE', 'MANIFEST_TOO_LARGE'],
      422: ['MANIFEST_INVALID', 'INPUTS_MISSING', 'INSUFFICIENT_OPERATORS'],
    },
  },
  {
    method: 'POST',
    path: '/v1/results',
    operationId: 'reportResult',
    tag: 'workers',
    summary: "Report a worker's signed result (or a failure) for an attempt assigned to it",
    description:
      "Counts only if the envelope verifies against the worker's enrolled key and carries the attempt's jobId, attempt and nonce; idempotent per (build, worker, attempt).",
    auth: ['worker'],
    requestBody: {
      contentType: json,
      description: 'either an envelope or a failure',
      schema: {
        oneOf: [
          object(['jobId', 'envelope'], {
            jobId: { type: 'string' },
            envelope: { type: 'string', description: 'the DSSE envelope as JSON text' },
          }),
          object(['jobId', 'failure'], {
            jobId: { type: 'string' },
            failure: object(['reason', 'logSha256'], {
              reason: {
                type: 'string',
                enum: [...CONSENSUS_FAILURE_REASONS],
              },
              detail: { type: 'string', maxLength: 2000 },
              logSha256: sha256Hex,
            }),
          }),
        ],
      },
    },
    responses: [
      {
        status: 202,
        description: 'recorded',
        contentType: json,
        schema: object(['accepted', 'buildId', 'duplicate', 'counted'], {
          accepted: { const: true },
          buildId: uuid,
          duplicate: { const: false },
          counted: { type: 'boolean' },
          verdict,
        }),
      },
      {
        status: 200,
        description: 'the same result again (changes nothing)',
        contentType: json,
        schema: object(['accepted', 'buildId', 'duplicate', 'counted'], {
          accepted: { const: true },
          buildId: uuid,
          duplicate: { const: true },
          counted: { type: 'boolean' },
          verdict,
        }),
      },
    ],
    errors: {
      400: ['INVALID'],
      401: WORKER_AUTH_ERRORS,
      403: ['NOT_ASSIGNED'],
      404: ['NOT_ASSIGNED', 'NOT_FOUND'],
      409: ['CONFLICT'],
      413: ['TOO_LARGE'],
      422: ['INVALID', 'RESULT_REFUSED', 'BLOBS_MISSING'],
      429: ['AUTH_RATE_LIMITED'],
    },
  },
  {
    method: 'POST',
    path: '/v1/heartbeats',
    operationId: 'sendHeartbeat',
    tag: 'workers',
    summary:
      'Renew the leases of exactly the jobs the worker names as running, and learn which of them are no longer its own',
    auth: ['worker'],
    requestBody: {
      contentType: json,
      description:
        'exactly the job ids the worker is running now (each once); the proof signs these bytes. Only these leases are renewed; the first naming marks a job started',
      schema: object(['running'], {
        running: {
          type: 'array',
          maxItems: 1000,
          uniqueItems: true,
          items: { type: 'string', pattern: '^[A-Za-z0-9:_-]{1,128}$' },
        },
      }),
    },
    responses: [
      {
        status: 200,
        description: 'the named leases that were renewed, and the named jobs to stop',
        contentType: json,
        schema: object(['leaseTimeoutMs', 'pickupTimeoutMs', 'renewed', 'stale'], {
          leaseTimeoutMs: { type: 'integer', description: 'a named running job stays leased this long, ms' },
          pickupTimeoutMs: {
            type: 'integer',
            description: 'an assigned job must be named as running within this long, ms',
          },
          renewed: {
            type: 'array',
            items: { type: 'string' },
            description: 'named jobs whose leases were renewed',
          },
          stale: {
            type: 'array',
            items: { type: 'string' },
            description:
              "named jobs whose attempt expired, was cancelled, passed its run limit or is not this worker's: stop them",
          },
        }),
      },
    ],
    errors: {
      400: ['INVALID'],
      401: WORKER_AUTH_ERRORS,
      413: ['TOO_LARGE'],
      429: ['AUTH_RATE_LIMITED'],
    },
  },
  {
    method: 'POST',
    path: '/v1/attempts/current',
    operationId: 'checkAttemptCurrent',
    tag: 'workers',
    summary: 'Ask, before signing, whether an attempt is still open and assigned to this worker',
    auth: ['worker'],
    requestBody: {
      contentType: json,
      description: 'the job id',
      schema: object(['jobId'], { jobId: { type: 'string', pattern: '^[A-Za-z0-9:_-]{1,128}$' } }),
    },
    responses: [
      {
        status: 200,
        description: 'the attempt as this worker may see it',
        contentType: json,
        schema: object(['jobId', 'current', 'state'], {
          jobId: { type: 'string' },
          current: { type: 'boolean' },
          state: {
            type: 'string',
            enum: ['open', 'reported', 'failed', 'expired', 'cancelled', 'not-assigned'],
          },
        }),
      },
    ],
    errors: {
      400: ['INVALID'],
      401: WORKER_AUTH_ERRORS,
      413: ['TOO_LARGE'],
      429: ['AUTH_RATE_LIMITED'],
    },
  },
  {
    method: 'GET',
    path: '/v1/builds/:id',
    operationId: 'getBuild',
    tag: 'builds',
    summary: 'Build status: verdict, decision, attempts, results and verdict history',
    auth: ['none'],
    pathParams: { id: buildIdParam },
    responses: [
      {
        status: 200,
        description: 'the build (docs/api.md shows a full example)',
        contentType: json,
        schema: object(
          ['buildId', 'name', 'manifestSha256', 'verdict', 'attempts', 'results', 'history', 'links'],
          {
            buildId: uuid,
            name: { type: 'string' },
            manifestSha256: sha256Hex,
            architecture: { type: 'string' },
            backend: { type: 'string' },
            claimedOutputs: { type: 'array', items: output },
            policy: object(['threshold', 'maxAttempts', 'decisionDeadlineMs'], {
              threshold: { type: 'integer' },
              maxAttempts: { type: 'integer' },
              decisionDeadlineMs: { type: 'integer' },
            }),
            createdAt: isoTime,
            verdict,
            decision: { type: 'object' },
            attempts: { type: 'array', items: { type: 'object' } },
            results: { type: 'array', items: { type: 'object' } },
            history: { type: 'array', items: { type: 'object' } },
            conflicts: {
              type: 'array',
              description:
                'apt link conflicts this build is part of (published or contesting side): an alarm',
              items: object(
                [
                  'architecture',
                  'package',
                  'version',
                  'publishedBuildId',
                  'publishedProductsSha256',
                  'contestingBuildId',
                  'contestingProductsSha256',
                  'detectedAt',
                ],
                {
                  architecture: { type: 'string' },
                  package: { type: 'string' },
                  version: { type: 'string' },
                  publishedBuildId: uuid,
                  publishedProductsSha256: sha256Hex,
                  contestingBuildId: uuid,
                  contestingProductsSha256: sha256Hex,
                  detectedAt: isoTime,
                },
              ),
            },
            links: buildLinks,
          },
        ),
      },
    ],
    errors: { 400: ['INVALID'], 404: ['NOT_FOUND'] },
  },
  {
    method: 'GET',
    path: '/v1/builds/:id/attestation',
    operationId: 'getConsensusAttestation',
    tag: 'builds',
    summary: 'The consensus attestation: a DSSE envelope of a SLSA VSA v1 (docs/attestations.md)',
    auth: ['none'],
    pathParams: { id: buildIdParam },
    responses: [
      {
        status: 200,
        description: 'the envelope',
        contentType: json,
        schema: object(['payloadType', 'payload', 'signatures'], {
          payloadType: { type: 'string' },
          payload: { type: 'string', contentEncoding: 'base64' },
          signatures: { type: 'array', items: { type: 'object' } },
        }),
      },
    ],
    errors: { 400: ['INVALID'], 404: ['NOT_FOUND'] },
  },
  {
    method: 'GET',
    path: '/v1/builds/:id/divergence',
    operationId: 'getDivergenceReport',
    tag: 'builds',
    summary: 'The divergence report for diverged, inputs-differ and mismatch-upstream builds',
    auth: ['none'],
    pathParams: { id: buildIdParam },
    query: {
      format: {
        description: '`text` for a plain-text rendering; JSON otherwise',
        schema: { type: 'string', enum: ['text'] },
        required: false,
      },
    },
    responses: [
      {
        status: 200,
        description: 'the report (JSON, or text/plain with format=text)',
        contentType: json,
        schema: { type: 'object' },
      },
    ],
    errors: { 400: ['INVALID'], 404: ['NOT_FOUND'] },
  },
  {
    method: 'GET',
    path: '/v1/builds/:id/diffoscope/:digest',
    operationId: 'getDiffoscopeReport',
    tag: 'builds',
    summary: "A diffoscope HTML report a Debian build's verified result signs as a byproduct",
    description:
      'Served only when the digest is a `rbnet/diffoscope-<n>.html` byproduct of a verified result of this build; ' +
      "with `Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; sandbox`, " +
      '`nosniff` and `Referrer-Policy: no-referrer`; 16 MiB cap (larger ones: /v1/cas/sha256/:digest).',
    auth: ['none'],
    pathParams: { id: buildIdParam, digest: digestParam },
    responses: [
      {
        status: 200,
        description: 'the HTML, as the worker uploaded it',
        contentType: 'text/html; charset=utf-8',
        schema: { type: 'string' },
      },
    ],
    errors: { 400: ['INVALID', 'DIGEST_INVALID'], 404: ['NOT_FOUND'], 413: ['TOO_LARGE'] },
  },
  {
    method: 'GET',
    path: '/v1/artifacts/sha256/:digest',
    operationId: 'findBuildsByArtifact',
    tag: 'builds',
    summary: 'Every build that claimed or rebuilt a file with this sha256, page by page',
    description:
      'Newest first, keyset-paginated: pass the `nextCursor` of a page as `cursor` to get the next; ' +
      '`nextCursor` is null on the last page. Every match is on some page, however many there are.',
    auth: ['none'],
    pathParams: { digest: digestParam },
    query: {
      limit: {
        description: 'builds per page, 1..1000, default 100',
        schema: { type: 'integer', minimum: 1, maximum: 1000 },
        required: false,
      },
      cursor: {
        description: 'the `nextCursor` of the previous page (opaque)',
        schema: { type: 'string' },
        required: false,
      },
    },
    responses: [
      {
        status: 200,
        description: 'one page, newest first',
        contentType: json,
        schema: object(['sha256', 'builds', 'nextCursor'], {
          sha256: sha256Hex,
          nextCursor: { type: ['string', 'null'] },
          builds: {
            type: 'array',
            items: object(['buildId', 'name', 'manifestSha256', 'verdict', 'links'], {
              buildId: uuid,
              name: { type: 'string' },
              manifestSha256: sha256Hex,
              verdict,
              verdictAt: isoTime,
              links: buildLinks,
            }),
          },
        }),
      },
    ],
    errors: { 400: ['DIGEST_INVALID', 'INVALID'], 404: ['NOT_FOUND'] },
  },
  {
    method: 'GET',
    path: '/v1/log',
    operationId: 'getLogEntries',
    tag: 'transparency',
    summary: 'Transparency log entries, hash chained (docs/storage.md)',
    auth: ['none'],
    query: {
      from: {
        description: 'first index, default 0',
        schema: { type: 'integer', minimum: 0 },
        required: false,
      },
      limit: {
        description: 'entries, 1..1000, default 100',
        schema: { type: 'integer', minimum: 1, maximum: 1000 },
        required: false,
      },
    },
    responses: [
      {
        status: 200,
        description: 'entries in order',
        contentType: json,
        schema: object(['entries'], {
          entries: {
            type: 'array',
            items: object(
              ['index', 'kind', 'buildId', 'bodySha256', 'bodyJson', 'prevEntryHash', 'entryHash'],
              {
                index: { type: 'integer' },
                kind: { const: 'verdict' },
                buildId: uuid,
                bodySha256: sha256Hex,
                bodyJson: { type: 'string' },
                prevEntryHash: sha256Hex,
                entryHash: sha256Hex,
              },
            ),
          },
        }),
      },
    ],
    errors: { 400: ['INVALID'] },
  },
  {
    method: 'GET',
    path: '/apt/:arch/:operator/sources/:name/:version/metadata',
    operationId: 'getAptRebuildLink',
    tag: 'apt',
    summary: "An operator's own signed in-toto link for a binary package version, for apt-transport-in-toto",
    description:
      'Each operator is its own rebuilder URL (`/apt/<arch>/<operator>/`). 200 only when that operator ' +
      'rebuilt the version reproducibly (verdict `reproducible`); a dissent is never served. ' +
      'See docs/apt-in-toto.md.',
    auth: ['none'],
    pathParams: {
      arch: { description: 'Debian architecture of the consumer, e.g. amd64', schema: { type: 'string' } },
      operator: { description: 'operator name', schema: { type: 'string' } },
      name: { description: 'binary package name', schema: { type: 'string' } },
      version: { description: 'binary version; an epoch arrives as %3a', schema: { type: 'string' } },
    },
    responses: [
      {
        status: 200,
        description: "the link: `{signed, signatures}`, signed by the operator's worker key",
        contentType: json,
        schema: object(['signed', 'signatures'], {
          signed: { type: 'object' },
          signatures: { type: 'array' },
        }),
      },
    ],
    errors: { 400: ['INVALID'], 404: ['NOT_FOUND'] },
  },
  {
    method: 'GET',
    path: '/metrics',
    operationId: 'getMetrics',
    tag: 'operations',
    summary: 'Metrics in the Prometheus text format 0.0.4 (docs/operator-guide.md, "Observability")',
    auth: ['none'],
    responses: [
      {
        status: 200,
        description: 'the exposition',
        contentType: 'text/plain; version=0.0.4',
        schema: { type: 'string' },
      },
    ],
    errors: {},
  },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    tag: 'operations',
    summary: 'This API as an OpenAPI 3.1 document, generated from the route catalog',
    auth: ['none'],
    responses: [{ status: 200, description: 'the document', contentType: json, schema: { type: 'object' } }],
    errors: {},
  },
]);
