// Admin routes that take a worker out of service: `retired` (its earlier results keep counting) or
// `compromised since T` (results the coordinator received from T on stop counting). Either way it can
// no longer authenticate, its Redis user and queue go, its open attempts are cancelled and
// reassigned, and every build whose standing changed is decided again, each change a new row in
// that build's history.
import { maxAdminBodyBytes, parseAdminRequest } from '../../../services/api/admin-accounts.ts';
import {
  compromiseRequestType,
  type RevocationAnswer,
  revocationAnswerType,
} from '../../../services/api/admin-workers.ts';
import { identifier } from '../../../services/api/wire-type.ts';
import { isWorkerId, workerIdRule } from '../../../services/identifiers.ts';
import {
  resultsCountBefore,
  type WorkerRevocationRequest,
} from '../../../services/storage/registry-store.ts';
import { parseUtcTimestamp } from '../../../services/utc-timestamp.ts';
import type { CoordinatorDeps } from '../../coordinator-deps.ts';
import { progressBuild } from '../../scheduler/progress-build.ts';
import { ApiError } from '../api-error.ts';
import { readBodyBytes } from '../request-body.ts';
import { JSON_CONTENT, type RouteAnswer, type RouteDefinition, type RouteParameter } from '../route.ts';

/** Reads `{ "since": "<RFC 3339 UTC time>" }`, the body of a compromise. */
function compromiseOf(body: Uint8Array): WorkerRevocationRequest {
  const { since } = parseAdminRequest(compromiseRequestType, body);
  // The wire type checked the form; a time the coordinator cannot place is refused all the same.
  const sinceMs = parseUtcTimestamp(since);
  if (sinceMs === undefined) throw new ApiError('INVALID', `since: ${since} is not an RFC 3339 UTC time`);
  return { kind: 'compromised', since: new Date(sinceMs) };
}

async function revokeWorker(
  deps: CoordinatorDeps,
  workerId: string,
  revocation: WorkerRevocationRequest,
): Promise<RevocationAnswer> {
  if (!isWorkerId(workerId))
    throw new ApiError('INVALID', `id: expected a worker id (${workerIdRule.expected})`);
  const worker = await deps.registry.getWorker(workerId);
  if (!worker) throw new ApiError('NOT_FOUND', `worker ${workerId} not found`);
  const now = deps.now();
  const revoked = await deps.registry.revokeWorker(workerId, now, revocation);
  await deps.queueAccess.revoke(workerId, worker.redisUser);
  const reassigned = new Set<string>();
  for (const attempt of await deps.builds.listOpenAttempts()) {
    if (attempt.workerId !== workerId) continue;
    await deps.builds.finishAttempt(attempt.jobId, { state: 'cancelled', finishedAt: now });
    deps.metrics.attempt('cancelled');
    reassigned.add(attempt.buildId);
  }
  // A retirement leaves every earlier result standing; a compromise takes out what arrived from its
  // cut-off on, so those builds are decided again (the store has already withdrawn their apt links).
  const redecided = new Set<string>();
  const cutoffMs = resultsCountBefore(revoked);
  if (revoked.revocation?.kind === 'compromised' && cutoffMs !== undefined) {
    for (const buildId of await deps.results.listBuildIdsWithResultsFrom(workerId, new Date(cutoffMs)))
      redecided.add(buildId);
  }
  for (const buildId of new Set([...reassigned, ...redecided])) await progressBuild(deps, buildId);
  deps.logger.warn(
    {
      workerId,
      operator: worker.operator,
      revocation: revoked.revocation,
      reassignedBuilds: reassigned.size,
      redecidedBuilds: redecided.size,
    },
    revoked.revocation?.kind === 'compromised' ? 'worker marked compromised' : 'worker retired',
  );
  return { worker: revoked, reassignedBuilds: [...reassigned], redecidedBuilds: [...redecided] };
}

const workerIdParam: RouteParameter = {
  description: 'the worker id',
  schema: identifier(workerIdRule).schema,
};

function revocationAnswer(description: string): RouteAnswer {
  return { status: 200, description, contentType: JSON_CONTENT, schema: revocationAnswerType.schema };
}

/** `retire`, and `revoke`, its older name. */
function retireRoute(action: 'retire' | 'revoke'): RouteDefinition {
  return {
    method: 'POST',
    path: `/v1/admin/workers/:id/${action}`,
    operationId: action === 'retire' ? 'retireWorker' : 'revokeWorker',
    tag: 'admin',
    summary: action === 'retire' ? 'Retire a worker' : 'Retire a worker (the older name of /retire)',
    description:
      action === 'retire'
        ? 'Its earlier results keep counting; it can no longer authenticate, its Redis user is deleted, its queue drained, and its open attempts are cancelled and reassigned.'
        : 'The same as POST /v1/admin/workers/:id/retire.',
    auth: ['admin'],
    pathParams: { id: workerIdParam },
    answers: [revocationAnswer('retired (idempotent)')],
    errors: ['INVALID', 'AUTH_INVALID', 'NOT_FOUND'],
    handler:
      ({ deps }) =>
      async (c) =>
        c.json(await revokeWorker(deps, c.req.param('id') ?? '', { kind: 'retired' })),
  };
}

const markCompromised: RouteDefinition = {
  method: 'POST',
  path: '/v1/admin/workers/:id/compromised',
  operationId: 'markWorkerCompromised',
  tag: 'admin',
  summary: 'Mark a worker compromised since a time',
  description:
    'Every result the coordinator received from that worker at or after `since` stops counting (receipt time is the only time the coordinator observed itself); the builds they touched are decided again, each change a new history row, and their apt links of that worker are withdrawn. Also everything /retire does. A retired worker can be marked compromised later; `since` only ever moves earlier.',
  auth: ['admin'],
  pathParams: { id: workerIdParam },
  request: {
    contentType: JSON_CONTENT,
    description: `at most ${maxAdminBodyBytes / 1024} KiB; \`since\` is an RFC 3339 UTC time, not after now`,
    schema: compromiseRequestType.schema,
  },
  answers: [revocationAnswer('marked compromised (idempotent; an earlier `since` wins)')],
  errors: ['INVALID', 'AUTH_INVALID', 'NOT_FOUND', 'TOO_LARGE'],
  handler:
    ({ deps }) =>
    async (c) => {
      const revocation = compromiseOf(await readBodyBytes(c, maxAdminBodyBytes));
      return c.json(await revokeWorker(deps, c.req.param('id') ?? '', revocation));
    },
};

export const adminWorkerRoutes: readonly RouteDefinition[] = [
  retireRoute('retire'),
  retireRoute('revoke'),
  markCompromised,
];
