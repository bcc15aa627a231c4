// Puts the public web pages in front of the coordinator's app: they own their paths (/, /alarms,
// /queue, /packages…, /builds/…, /badges/…, /assets/…); a person who opens an address that is
// nothing gets a page, while API clients keep their JSON answers.
import type { Env, Hono } from 'hono';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { createStoreReadModel } from './store-read-model.ts';
import { createWebApp } from './web-app.ts';

const WEB_PATH = /^\/(?:$|(?:alarms|queue|packages)(?:\/|$)|(?:builds|badges|assets)\/)/;
/** The API's namespaces: a 404 there stays the API's own answer, whoever asks. */
const API_PATH = /^\/(?:v1|apt)(?:\/|$)|^\/(?:metrics|openapi\.json|healthz)$/;

/** Whether `path` is one of the web pages' (not the API's). */
export function isWebPath(path: string): boolean {
  return WEB_PATH.test(path);
}

/** What the pages need from the coordinator: its stores, the aggregates they read, and settings. */
export type WebPagesDeps = Pick<
  CoordinatorDeps,
  'store' | 'content' | 'webAggregates' | 'config' | 'logger' | 'now'
>;

/**
 * Registers the pages on `app`, as one middleware (call it after every API route): requests for a
 * web path are answered by the web app; any other request that finds no route and comes from a
 * browser (it accepts text/html) gets the web app's 404 page instead of the API's JSON.
 */
export function registerWebPages<E extends Env>(app: Hono<E>, deps: WebPagesDeps): void {
  const web = createWebApp({
    model: createStoreReadModel({
      store: deps.store,
      content: deps.content,
      aggregates: deps.webAggregates,
      publicUrl: deps.config.publicUrl,
      threshold: deps.config.policy.threshold,
    }),
    coordinatorUrl: deps.config.publicUrl,
    logger: deps.logger.child({ component: 'web' }),
    now: deps.now,
  });
  app.use('*', async (c, next) => {
    if (isWebPath(c.req.path)) return web.fetch(c.req.raw);
    await next();
    if (
      c.res.status === 404 &&
      !API_PATH.test(c.req.path) &&
      (c.req.method === 'GET' || c.req.method === 'HEAD') &&
      (c.req.header('accept') ?? '').includes('text/html')
    ) {
      c.res = await web.fetch(c.req.raw);
    }
  });
}
