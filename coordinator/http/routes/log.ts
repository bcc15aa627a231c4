// GET /v1/log: the transparency log, hash chained (docs/storage.md), page by page.
import { type LogPage, logPageType, maxLogPageEntries } from '../../../services/api/log-page.ts';
import { ApiError } from '../api-error.ts';
import { JSON_CONTENT, type RouteDefinition } from '../route.ts';

const getLogEntries: RouteDefinition = {
  method: 'GET',
  path: '/v1/log',
  operationId: 'getLogEntries',
  tag: 'transparency',
  summary: 'Transparency log entries, hash chained (docs/storage.md)',
  auth: ['none'],
  query: {
    from: { description: 'first index, default 0', schema: { type: 'integer', minimum: 0 }, required: false },
    limit: {
      description: `entries, 1..${maxLogPageEntries}, default 100`,
      schema: { type: 'integer', minimum: 1, maximum: maxLogPageEntries },
      required: false,
    },
  },
  answers: [
    { status: 200, description: 'entries in order', contentType: JSON_CONTENT, schema: logPageType.schema },
  ],
  errors: ['INVALID'],
  handler:
    ({ deps }) =>
    async (c) => {
      const from = Number(c.req.query('from') ?? '0');
      const limit = Number(c.req.query('limit') ?? '100');
      if (
        !Number.isSafeInteger(from) ||
        from < 0 ||
        !Number.isSafeInteger(limit) ||
        limit < 1 ||
        limit > maxLogPageEntries
      )
        throw new ApiError('INVALID', `from: integer >= 0; limit: integer 1..${maxLogPageEntries}`);
      const page: LogPage = { entries: await deps.log.getLogEntries(from, limit) };
      return c.json(page);
    },
};

export const logRoutes: readonly RouteDefinition[] = [getLogEntries];
