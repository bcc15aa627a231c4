// Admin routes (admin-scoped bearer token): operators, single-use enrolment tokens, maintainers and
// their tokens, and a content-store garbage-collection pass on demand.
import {
  type EnrolmentTokenAnswer,
  enrolmentTokenAnswerType,
  enrolmentTokenRequestType,
  type MaintainerAnswer,
  maintainerAnswerType,
  maintainerRequestType,
  maxAdminBodyBytes,
  type OperatorAnswer,
  operatorAnswerType,
  operatorRequestType,
  parseAdminRequest,
} from '../../../services/api/admin-accounts.ts';
import {
  type GarbageCollectionAnswer,
  garbageCollectionAnswerType,
  garbageCollectionRequestType,
} from '../../../services/api/content-store-answers.ts';
import type { WireType } from '../../../services/api/wire-type.ts';
import { collectGarbage } from '../../storage/collect-garbage.ts';
import { readBodyBytes } from '../request-body.ts';
import { JSON_CONTENT, type RouteAuth, type RouteBody, type RouteDefinition } from '../route.ts';

const admin: readonly RouteAuth[] = ['admin'];

function jsonBody(
  type: WireType<unknown>,
  description = `at most ${maxAdminBodyBytes / 1024} KiB`,
): RouteBody {
  return { contentType: JSON_CONTENT, description, schema: type.schema };
}

const addOperator: RouteDefinition = {
  method: 'POST',
  path: '/v1/admin/operators',
  operationId: 'addOperator',
  tag: 'admin',
  summary: 'Register an operator (an organisation that runs workers)',
  auth: admin,
  request: jsonBody(operatorRequestType),
  answers: [
    { status: 201, description: 'registered', contentType: JSON_CONTENT, schema: operatorAnswerType.schema },
  ],
  errors: ['INVALID', 'AUTH_INVALID', 'CONFLICT', 'TOO_LARGE'],
  handler:
    ({ deps }) =>
    async (c) => {
      const { name } = parseAdminRequest(operatorRequestType, await readBodyBytes(c, maxAdminBodyBytes));
      const record = await deps.registry.addOperator(name, deps.now());
      const answer: OperatorAnswer = { name: record.name, createdAt: record.createdAt };
      return c.json(answer, 201);
    },
};

const createEnrolmentToken: RouteDefinition = {
  method: 'POST',
  path: '/v1/admin/enrolment-tokens',
  operationId: 'createEnrolmentToken',
  tag: 'admin',
  summary: 'Create a single-use enrolment token for an operator',
  description: 'The secret is shown once; it expires after ttlSeconds (60 s..30 d, default 1 d).',
  auth: admin,
  request: jsonBody(enrolmentTokenRequestType),
  answers: [
    {
      status: 201,
      description: 'created',
      contentType: JSON_CONTENT,
      schema: enrolmentTokenAnswerType.schema,
    },
  ],
  errors: ['INVALID', 'AUTH_INVALID', 'NOT_FOUND', 'TOO_LARGE'],
  handler:
    ({ deps }) =>
    async (c) => {
      const request = parseAdminRequest(enrolmentTokenRequestType, await readBodyBytes(c, maxAdminBodyBytes));
      const ttlSeconds = request.ttlSeconds ?? deps.config.enrolmentTokenTtlSeconds;
      const expiresAt = new Date(deps.now().getTime() + ttlSeconds * 1000);
      const token = await deps.registry.createToken({
        kind: 'enrolment',
        subject: request.operator,
        scopes: ['enrol'],
        singleUse: true,
        expiresAt,
        createdAt: deps.now(),
      });
      const answer: EnrolmentTokenAnswer = {
        token: token.secret,
        tokenId: token.tokenId,
        operator: request.operator,
        expiresAt: expiresAt.toISOString(),
      };
      return c.json(answer, 201);
    },
};

const addMaintainer: RouteDefinition = {
  method: 'POST',
  path: '/v1/admin/maintainers',
  operationId: 'addMaintainer',
  tag: 'admin',
  summary: 'Register a maintainer and create its token (scope submit)',
  auth: admin,
  request: jsonBody(maintainerRequestType),
  answers: [
    {
      status: 201,
      description: 'registered; the token is shown once',
      contentType: JSON_CONTENT,
      schema: maintainerAnswerType.schema,
    },
  ],
  errors: ['INVALID', 'AUTH_INVALID', 'CONFLICT', 'TOO_LARGE'],
  handler:
    ({ deps }) =>
    async (c) => {
      const { name } = parseAdminRequest(maintainerRequestType, await readBodyBytes(c, maxAdminBodyBytes));
      await deps.registry.addMaintainer(name, deps.now());
      const token = await deps.registry.createToken({
        kind: 'maintainer',
        subject: name,
        scopes: ['submit'],
        singleUse: false,
        createdAt: deps.now(),
      });
      const answer: MaintainerAnswer = { name, token: token.secret, tokenId: token.tokenId };
      return c.json(answer, 201);
    },
};

const collectGarbageNow: RouteDefinition = {
  method: 'POST',
  path: '/v1/admin/gc',
  operationId: 'collectGarbage',
  tag: 'admin',
  summary: 'Remove uploaded blobs that nothing references, after the grace period',
  description:
    'Only blobs an upload created and no build, result, verdict, log entry or apt link names, unwanted for the grace period (RBNET_GC_GRACE_MS). The coordinator also runs this every RBNET_GC_INTERVAL_MS. `rbnet admin gc`.',
  auth: admin,
  request: jsonBody(garbageCollectionRequestType),
  answers: [
    {
      status: 200,
      description: 'what was (or, in a dry run, would be) removed',
      contentType: JSON_CONTENT,
      schema: garbageCollectionAnswerType.schema,
    },
  ],
  errors: ['INVALID', 'AUTH_INVALID', 'TOO_LARGE'],
  handler:
    ({ deps }) =>
    async (c) => {
      const request = parseAdminRequest(
        garbageCollectionRequestType,
        await readBodyBytes(c, maxAdminBodyBytes),
      );
      const report = await collectGarbage(deps, {
        now: deps.now(),
        graceMs: deps.config.gc.graceMs,
        dryRun: request.dryRun === true,
        maxBlobs: deps.config.gc.maxBlobsPerPass,
      });
      deps.logger.info(
        {
          dryRun: report.dryRun,
          removed: report.removed.length,
          freedBytes: report.freedBytes,
          kept: report.kept,
        },
        'content-store garbage collection',
      );
      const answer: GarbageCollectionAnswer = report;
      return c.json(answer);
    },
};

export const adminRoutes: readonly RouteDefinition[] = [
  addOperator,
  createEnrolmentToken,
  addMaintainer,
  collectGarbageNow,
];
