// Operations routes: liveness, Prometheus metrics, and the OpenAPI document generated from the
// app's own route definitions. All public like the rest of the read API; a deployment that wants
// /metrics private blocks it at its TLS terminator (it shows worker ids and queue depths, nothing secret).
import { type HealthAnswer, healthAnswerType } from '../../../services/api/health.ts';
import { RBNET_VERSION } from '../../../services/version.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../../metrics/prometheus-text.ts';
import { buildOpenApiDocument } from '../openapi-document.ts';
import { JSON_CONTENT, type RouteDefinition } from '../route.ts';

const health: RouteDefinition = {
  method: 'GET',
  path: '/healthz',
  operationId: 'getHealth',
  tag: 'health',
  summary: 'Liveness: answers while the process serves requests',
  auth: ['none'],
  answers: [
    {
      status: 200,
      description: 'alive',
      contentType: JSON_CONTENT,
      schema: healthAnswerType.schema,
    },
  ],
  errors: [],
  handler: () => {
    const answer: HealthAnswer = { ok: true };
    return (c) => c.json(answer);
  },
};

const metrics: RouteDefinition = {
  method: 'GET',
  path: '/metrics',
  operationId: 'getMetrics',
  tag: 'operations',
  summary: 'Metrics in the Prometheus text format 0.0.4 (docs/operator-guide.md, "Observability")',
  description: 'Gauges are computed at scrape time from counters, never from the builds.',
  auth: ['none'],
  answers: [
    {
      status: 200,
      description: 'the exposition',
      contentType: 'text/plain; version=0.0.4',
      schema: { type: 'string' },
    },
  ],
  errors: [],
  handler:
    ({ deps }) =>
    async (c) =>
      c.body(await deps.metrics.render(deps), 200, {
        'content-type': PROMETHEUS_CONTENT_TYPE,
        'cache-control': 'no-store',
      }),
};

const openApi: RouteDefinition = {
  method: 'GET',
  path: '/openapi.json',
  operationId: 'getOpenApiDocument',
  tag: 'operations',
  summary: "This API as an OpenAPI 3.1 document, generated from the app's route definitions",
  auth: ['none'],
  answers: [
    { status: 200, description: 'the document', contentType: JSON_CONTENT, schema: { type: 'object' } },
  ],
  errors: [],
  handler({ deps, routes }) {
    // The routes are fixed once the app is built, so the document is built once.
    const document = JSON.stringify(
      buildOpenApiDocument(routes, { version: RBNET_VERSION, serverUrl: deps.config.publicUrl }),
    );
    return (c) => c.body(document, 200, { 'content-type': JSON_CONTENT });
  },
};

export const healthRoutes: readonly RouteDefinition[] = [health];
export const operationsRoutes: readonly RouteDefinition[] = [metrics, openApi];
