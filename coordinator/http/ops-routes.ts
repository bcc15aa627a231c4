// Operations routes: Prometheus metrics, and the OpenAPI document generated from the route catalog.
import type { Env, Hono } from 'hono';
import { RBNET_VERSION } from '../../services/version.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import type { CoordinatorMetrics } from '../metrics/coordinator-metrics.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/prometheus-text.ts';
import { buildOpenApiDocument } from './openapi-document.ts';
import { routeCatalog } from './route-catalog.ts';

/** What the operations routes read; `CoordinatorDeps` with its `metrics` field satisfies it. */
export type OpsDeps = Pick<
  CoordinatorDeps,
  'config' | 'registry' | 'builds' | 'aptLinks' | 'queues' | 'logger' | 'now'
> & {
  readonly metrics: CoordinatorMetrics;
};

/**
 * Adds `GET /metrics` (text format 0.0.4, gauges computed at scrape time) and `GET /openapi.json`.
 * Both are public like the rest of the read API; a deployment that wants /metrics private blocks
 * it at its TLS terminator (it shows worker ids and queue depths, nothing secret).
 */
export function registerOpsRoutes<E extends Env>(app: Hono<E>, deps: OpsDeps): void {
  app.get('/metrics', async (c) => {
    const text = await deps.metrics.render(deps);
    return c.body(text, 200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
  });
  // The catalog is static, so the document is built once.
  const openApiJson = JSON.stringify(
    buildOpenApiDocument(routeCatalog, { version: RBNET_VERSION, serverUrl: deps.config.publicUrl }),
  );
  app.get('/openapi.json', (c) => c.body(openApiJson, 200, { 'content-type': 'application/json' }));
}
