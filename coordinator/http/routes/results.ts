// POST /v1/results: a worker reports its signed result (or a failure) for an attempt assigned to it.
import {
  parseResultReport,
  type ResultAnswer,
  resultAnswerType,
  resultReportType,
} from '../../../services/api/result-report.ts';
import { acceptResult } from '../../intake/accept-result.ts';
import { progressBuild } from '../../scheduler/progress-build.ts';
import { JSON_CONTENT, type RouteDefinition, WORKER_AUTH_ERRORS } from '../route.ts';

const reportResult: RouteDefinition = {
  method: 'POST',
  path: '/v1/results',
  operationId: 'reportResult',
  tag: 'workers',
  summary: "Report a worker's signed result (or a failure) for an attempt assigned to it",
  description:
    "Counts only if the envelope verifies against the worker's enrolled key and carries the attempt's jobId, attempt and nonce; idempotent per (build, worker, attempt).",
  auth: ['worker'],
  request: {
    contentType: JSON_CONTENT,
    description: 'either an envelope or a failure',
    schema: resultReportType.schema,
  },
  answers: [
    { status: 202, description: 'recorded', contentType: JSON_CONTENT, schema: resultAnswerType.schema },
    {
      status: 200,
      description: 'the same result again (changes nothing; `duplicate: true`)',
      contentType: JSON_CONTENT,
      schema: resultAnswerType.schema,
    },
  ],
  errors: [
    'INVALID',
    ...WORKER_AUTH_ERRORS,
    'NOT_ASSIGNED',
    'NOT_FOUND',
    'CONFLICT',
    'TOO_LARGE',
    'RESULT_REFUSED',
    'BLOBS_MISSING',
  ],
  handler:
    ({ deps }) =>
    async (c) => {
      const worker = c.get('worker')!;
      const report = parseResultReport(c.get('bodyBytes')!, deps.config.maxJsonBodyBytes);
      const outcome = await acceptResult(deps, worker, report);
      if (!outcome.duplicate) {
        deps.metrics.result(outcome.kind, outcome.counted);
        deps.metrics.jobDuration(outcome.durationMs / 1000);
        await progressBuild(deps, outcome.buildId);
      }
      const build = await deps.builds.getBuild(outcome.buildId);
      deps.logger.info(
        {
          buildId: outcome.buildId,
          workerId: worker.workerId,
          duplicate: outcome.duplicate,
          counted: outcome.counted,
        },
        'result accepted',
      );
      const answer: ResultAnswer = {
        accepted: true,
        buildId: outcome.buildId,
        kind: outcome.kind,
        durationMs: outcome.durationMs,
        duplicate: outcome.duplicate,
        counted: outcome.counted,
        ...(build && { verdict: build.verdict }),
      };
      return c.json(answer, outcome.duplicate ? 200 : 202);
    },
};

export const resultRoutes: readonly RouteDefinition[] = [reportResult];
