// Adds the public web pages to the coordinator's app: their routes (/, /alarms, /queue, /packages…,
// /builds/…, /badges/…, /assets/…) merged into its router, so a page costs one dispatch, and a
// browser that opens an address that is nothing gets a page while API clients keep their JSON.
import type { Env, Hono } from 'hono';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { createStoreReadModel } from './store-read-model.ts';
import { createWebApp } from './web-app.ts';

const WEB_PATH = /^\/(?:$|(?:alarms|queue|packages)(?:\/|$)|(?:builds|badges|assets)\/)/;
/** The API's namespaces: a 404 there stays the API's own answer, whoever asks. */
const API_PATH = /^\/(?:v1|apt)(?:\/|$)|^\/(?:metrics|openapi\.json|healthz)$/;

/** Whether `path` (a request's, or a route's in hono form) belongs to the web pages, not the API. */
export function isWebPath(path: string): boolean {
  return WEB_PATH.test(path);
}

/** What the pages need from the coordinator: its stores, the aggregates they read, and settings. */
export type WebPagesDeps = Pick<
  CoordinatorDeps,
  'registry' | 'builds' | 'results' | 'aptLinks' | 'content' | 'webAggregates' | 'config' | 'logger' | 'now'
>;

/**
 * Registers the pages on `app`; call it after every API route. Then one middleware, which runs only
 * when no route answered: a GET from a browser (it accepts text/html) outside the API's paths gets
 * the web 404 page instead of the API's JSON.
 */
export function registerWebPages<E extends Env>(app: Hono<E>, deps: WebPagesDeps): void {
  const web = createWebApp({
    model: createStoreReadModel({
      registry: deps.registry,
      builds: deps.builds,
      results: deps.results,
      aptLinks: deps.aptLinks,
      content: deps.content,
      aggregates: deps.webAggregates,
      publicUrl: deps.config.publicUrl,
      threshold: deps.config.policy.threshold,
    }),
    coordinatorUrl: deps.config.publicUrl,
    logger: deps.logger.child({ component: 'web' }),
    now: deps.now,
  });
  app.route('/', web.app);
  app.use('*', async (c, next) => {
    await next();
    if (
      c.res.status === 404 &&
      !API_PATH.test(c.req.path) &&
      (c.req.method === 'GET' || c.req.method === 'HEAD') &&
      (c.req.header('accept') ?? '').includes('text/html') &&
      (c.res.headers.get('content-type') ?? '').startsWith('application/json')
    ) {
      c.res = await web.notFound(c as never);
    }
  });
}
