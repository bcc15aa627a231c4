// Worker lease routes: heartbeats renew the leases of exactly the jobs a worker names as running,
// and a worker asks whether an attempt is still its own right before it signs.
import {
  type AttemptCheckAnswer,
  attemptCheckAnswerType,
  attemptCheckRequestType,
  parseAttemptCheckRequest,
} from '../../../services/api/attempt-check.ts';
import {
  type HeartbeatAnswer,
  heartbeatAnswerType,
  heartbeatRequestType,
  parseHeartbeatRequest,
} from '../../../services/api/heartbeat.ts';
import { JSON_CONTENT, type RouteDefinition, WORKER_AUTH_ERRORS } from '../route.ts';

const errors = ['INVALID', ...WORKER_AUTH_ERRORS, 'TOO_LARGE'] as const;

const heartbeat: RouteDefinition = {
  method: 'POST',
  path: '/v1/heartbeats',
  operationId: 'sendHeartbeat',
  tag: 'workers',
  summary:
    'Renew the leases of exactly the jobs the worker names as running, and learn which of them are no longer its own',
  auth: ['worker'],
  request: {
    contentType: JSON_CONTENT,
    description:
      'exactly the job ids the worker is running now (each once); the proof signs these bytes. Only these leases are renewed; the first naming marks a job started',
    schema: heartbeatRequestType.schema,
  },
  answers: [
    {
      status: 200,
      description: 'the named leases that were renewed, and the named jobs to stop',
      contentType: JSON_CONTENT,
      schema: heartbeatAnswerType.schema,
    },
  ],
  errors,
  handler:
    ({ deps }) =>
    async (c) => {
      const { running } = parseHeartbeatRequest(c.get('bodyBytes')!);
      const worker = c.get('worker')!;
      const now = deps.now();
      const { leaseTimeoutMs, pickupTimeoutMs } = deps.config.policy;
      // Only what the worker names as running (and signs) is renewed; everything else it was given
      // runs down to its pickup deadline or lease end, however often it beats.
      const renewed = await deps.builds.renewRunningLeases(worker.workerId, running, {
        now,
        runningUntil: new Date(now.getTime() + leaseTimeoutMs),
        queuedUntil: new Date(now.getTime() + pickupTimeoutMs),
      });
      // Named jobs that are not renewed (expired, cancelled, past their run limit, someone else's):
      // the worker should stop them.
      const renewedSet = new Set(renewed);
      const stale = running.filter((jobId) => !renewedSet.has(jobId));
      const answer: HeartbeatAnswer = { leaseTimeoutMs, pickupTimeoutMs, renewed, stale };
      return c.json(answer);
    },
};

const checkAttemptCurrent: RouteDefinition = {
  method: 'POST',
  path: '/v1/attempts/current',
  operationId: 'checkAttemptCurrent',
  tag: 'workers',
  summary: 'Ask, before signing, whether an attempt is still open and assigned to this worker',
  auth: ['worker'],
  request: { contentType: JSON_CONTENT, description: 'the job id', schema: attemptCheckRequestType.schema },
  answers: [
    {
      status: 200,
      description: 'the attempt as this worker may see it',
      contentType: JSON_CONTENT,
      schema: attemptCheckAnswerType.schema,
    },
  ],
  errors,
  handler:
    ({ deps }) =>
    async (c) => {
      const { jobId } = parseAttemptCheckRequest(c.get('bodyBytes')!);
      const attempt = await deps.builds.getAttemptByJobId(jobId);
      const mine = !!attempt && attempt.workerId === c.get('worker')!.workerId;
      const answer: AttemptCheckAnswer = {
        jobId,
        current: mine && attempt.state === 'open',
        state: mine ? attempt.state : 'not-assigned',
      };
      return c.json(answer);
    },
};

export const leaseRoutes: readonly RouteDefinition[] = [heartbeat, checkAttemptCurrent];
