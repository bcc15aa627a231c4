// Builds the coordinator's HTTP API (hono) from the route definitions in routes/. Tested with
// app.request() without a socket; main.ts serves it.
import { Hono } from 'hono';
import type { ApiErrorBody } from '../../services/api/api-error-body.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { LOG_PATH_PREFIX } from '../tlog/open-coordinator-log.ts';
import { registerWebPages } from '../web/register-web-pages.ts';
import { errorResponse, refusalOf } from './api-error.ts';
import { type AppEnv, type RouteDefinition, registerRoutes } from './route.ts';
import { coordinatorRoutes } from './routes/coordinator-routes.ts';
import { createTlogTilesApp } from './tlog-tiles-app.ts';

/**
 * The coordinator app: every route of `routes` (default: all of them) behind its authentication,
 * every refusal answered `{ error: { code, message } }` with its code's one status, anything else
 * answered 500 and logged in full.
 */
export function createCoordinatorApp(
  deps: CoordinatorDeps,
  routes: readonly RouteDefinition[] = coordinatorRoutes,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => {
    const { code, status } = refusalOf(err);
    const refused = status !== 500;
    if (refused && c.req.path === '/v1/results') deps.metrics.refusal(code);
    deps.logger[refused ? 'warn' : 'error'](
      {
        err: refused ? { code, message: err.message } : err,
        method: c.req.method,
        path: c.req.path,
      },
      refused ? 'request refused' : 'request failed',
    );
    return errorResponse(c, err);
  });
  app.notFound((c) => {
    const body: ApiErrorBody = {
      error: { code: 'NOT_FOUND', message: `no route for ${c.req.method} ${c.req.path}` },
    };
    return c.json(body, 404);
  });
  registerRoutes(app, deps, routes);
  // The log's tiles as a static mirror serves them (docs/transparency-log.md), outside the JSON API.
  if (deps.tlog) app.route(LOG_PATH_PREFIX, createTlogTilesApp(deps.tlog));
  registerWebPages(app, deps);
  return app;
}
