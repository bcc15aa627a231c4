// The public web pages as a hono app of their own: routes, parameter checks, the page cache, and the
// security headers on every answer. Read-only: it answers GET and HEAD, nothing else.
import { type Context, Hono } from 'hono';
import type { Logger } from 'pino';
import { isSha256Hex } from '../../services/digest.ts';
import { assetAt } from './assets.ts';
import { renderBadge } from './badge.ts';
import type { SafeHtml } from './html.ts';
import { type PageFrame, renderDocument, type Section } from './layout.ts';
import { type CachedPage, etagOf, PageCache, type PageCacheOptions } from './page-cache.ts';
import { buildPage } from './pages/build-page.ts';
import { alarmsPage, badRequestPage, errorPage, notFoundPage, searchPage } from './pages/list-pages.ts';
import { overviewPage } from './pages/overview-page.ts';
import { packagePage } from './pages/package-page.ts';
import { queuePage } from './pages/queue-page.ts';
import type { WebReadModel } from './read-model.ts';
import {
  BADGE_CACHE,
  BADGE_CSP,
  COMMON_HEADERS,
  FRAMING_PAGE_CSP,
  IMMUTABLE_CACHE,
  PAGE_CACHE,
  PAGE_CSP,
} from './security-headers.ts';

export interface WebAppOptions {
  readonly model: WebReadModel;
  /** The coordinator's public URL, for commands and badge snippets people copy. */
  readonly coordinatorUrl: string;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly cache?: PageCacheOptions;
}

/** Rows per page of a long list. */
const PAGE_ROWS = 25;
const MAX_QUERY_CHARS = 128;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Rendered {
  readonly status: number;
  readonly frame: PageFrame;
  readonly main: SafeHtml;
  /** The page frames diffoscope output. */
  readonly framing?: boolean;
}

function rendered(
  status: number,
  page: { title: string; main: SafeHtml },
  section?: Section,
  query?: string,
): Rendered {
  return {
    status,
    frame: {
      title: page.title,
      ...(section !== undefined && { section }),
      ...(query !== undefined && { query }),
    },
    main: page.main,
  };
}

/** A refusal of a malformed parameter, shown as a page with status 400. */
class BadParameter extends Error {}

function optionalParam(c: Context, name: string, pattern: RegExp, what: string): string | undefined {
  const value = c.req.query(name);
  if (value === undefined) return undefined;
  if (!pattern.test(value)) throw new BadParameter(`${name}: expected ${what}`);
  return value;
}

const ANY_TEXT = /^[\s\S]{1,256}$/;
const WORD = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** Every path the web pages answer (GET and HEAD), in hono's form. */
export const WEB_ROUTES = [
  '/',
  '/alarms',
  '/queue',
  '/packages',
  '/packages/:name',
  '/builds/:id',
  '/badges/:file',
  '/assets/:file',
] as const;

export interface WebApp {
  /** The pages as routes; merged into the coordinator's app with `app.route('/', web.app)`. */
  readonly app: Hono;
  /** The 404 page, for a path no route takes. */
  readonly notFound: (c: Context) => Promise<Response>;
}

/**
 * The request's If-None-Match. Under @hono/node-server it is read from Node's own request: asking
 * the context would build a whole Headers object from the raw headers, the largest cost of
 * answering a cached page. Elsewhere (app.request in tests) from the standard Request.
 */
function ifNoneMatch(c: Context): string | undefined {
  const incoming = (c.env as { incoming?: { headers?: Record<string, string | string[] | undefined> } })
    ?.incoming;
  if (incoming?.headers === undefined) return c.req.header('if-none-match');
  const value = incoming.headers['if-none-match'];
  return typeof value === 'string' ? value : undefined;
}

export function createWebApp(options: WebAppOptions): WebApp {
  const app = new Hono();
  const { model, logger } = options;
  const cache = new PageCache(options.cache);

  // A Response made here with a plain headers object, not through the context: @hono/node-server
  // then writes status, headers and bytes straight to the socket, converting no Headers per request.
  function send(c: Context, page: CachedPage): Response {
    if (ifNoneMatch(c) === page.etag) return new Response(null, { status: 304, headers: page.headers });
    return new Response(page.body, { status: page.status, headers: page.headers });
  }

  /** Serves the page `render` makes, from the cache while the data version it was made at holds. */
  async function page(c: Context, render: () => Promise<Rendered>): Promise<Response> {
    // Path and query as sent (what the page depends on), without parsing a URL per request.
    const url = c.req.url;
    const key = url.slice(url.indexOf('/', url.indexOf('//') + 2));
    const version = model.dataVersion();
    const kept = cache.get(key, version);
    if (kept) return send(c, kept);
    const result = await render();
    const body = new Uint8Array(Buffer.from(renderDocument(result.frame, result.main), 'utf8'));
    const etag = etagOf(body);
    const made: CachedPage = {
      status: result.status,
      body,
      etag,
      headers: Object.freeze({
        ...COMMON_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': result.framing ? FRAMING_PAGE_CSP : PAGE_CSP,
        'cache-control': PAGE_CACHE,
        etag,
      }),
    };
    // Only pages that exist are kept: addresses of nothing cannot push real pages out.
    if (made.status === 200) cache.set(key, version, made);
    return send(c, made);
  }

  app.onError((err, c) => {
    const status = err instanceof BadParameter ? 400 : 500;
    if (status === 500) logger.error({ err, path: c.req.path }, 'web page failed');
    const shown = err instanceof BadParameter ? badRequestPage(err.message) : errorPage();
    return c.body(renderDocument({ title: shown.title }, shown.main), status, {
      ...COMMON_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': PAGE_CSP,
      'cache-control': 'no-store',
    });
  });

  // Read-only: no method but GET (and HEAD, which hono answers from GET) does anything here.
  app.on(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], [...WEB_ROUTES], (c) =>
    c.body('read-only pages: only GET and HEAD\n', 405, {
      ...COMMON_HEADERS,
      allow: 'GET, HEAD',
      'content-type': 'text/plain; charset=utf-8',
    }),
  );

  app.get('/assets/:file', (c) => {
    const asset = assetAt(c.req.path);
    if (!asset)
      return c.body('no such asset\n', 404, {
        ...COMMON_HEADERS,
        'content-type': 'text/plain; charset=utf-8',
      });
    return c.body(new Uint8Array(asset.body), 200, {
      ...COMMON_HEADERS,
      'content-type': asset.contentType,
      'cache-control': IMMUTABLE_CACHE,
      'content-security-policy': "default-src 'none'",
    });
  });

  app.get('/badges/:file', async (c) => {
    const file = c.req.param('file');
    const architecture = optionalParam(c, 'architecture', WORD, 'an architecture name');
    const facts = file.endsWith('.svg') ? await model.badge(file.slice(0, -4), architecture) : undefined;
    return c.body(renderBadge(facts).toString(), facts ? 200 : 404, {
      ...COMMON_HEADERS,
      'content-type': 'image/svg+xml; charset=utf-8',
      'content-security-policy': BADGE_CSP,
      'cache-control': BADGE_CACHE,
    });
  });

  app.get('/', (c) =>
    page(c, async () => rendered(200, overviewPage(await model.overview(options.now())), 'overview')),
  );

  app.get('/alarms', (c) =>
    page(c, async () => {
      const since = optionalParam(c, 'since', /^[0-9]{1,15}$/, 'a time in milliseconds');
      const after =
        since === undefined
          ? undefined
          : {
              sinceMs: Number(since),
              name: optionalParam(c, 'name', ANY_TEXT, 'a package name') ?? '',
              backend: optionalParam(c, 'backend', WORD, 'a backend') ?? '',
              architecture: optionalParam(c, 'architecture', WORD, 'an architecture') ?? '',
            };
      const alarms = await model.alarms({ limit: PAGE_ROWS, ...(after && { after }) });
      return rendered(200, alarmsPage(alarms, after === undefined), 'alarms');
    }),
  );

  app.get('/queue', (c) =>
    page(c, async () => {
      const after = optionalParam(c, 'after', UUID, 'a build id');
      const facts = await model.queue(options.now(), { ...(after !== undefined && { pendingAfter: after }) });
      if (!facts)
        return rendered(404, notFoundPage(`No pending build ${after} to continue the list from.`), 'queue');
      return rendered(200, queuePage(facts, after === undefined), 'queue');
    }),
  );

  app.get('/packages', (c) =>
    page(c, async () => {
      const query = (c.req.query('q') ?? '').trim();
      if (Array.from(query).length > MAX_QUERY_CHARS)
        throw new BadParameter(`q: a search is at most ${MAX_QUERY_CHARS} characters`);
      const afterName = optionalParam(c, 'after', ANY_TEXT, 'a package name');
      const after =
        afterName === undefined
          ? undefined
          : {
              name: afterName,
              backend: optionalParam(c, 'backend', WORD, 'a backend') ?? '',
              architecture: optionalParam(c, 'architecture', WORD, 'an architecture') ?? '',
            };
      const digest = query.toLowerCase().replace(/^sha256:/, '');
      const result = isSha256Hex(digest)
        ? { artifact: await model.buildsWithArtifact(digest, PAGE_ROWS) }
        : { packages: await model.searchPackages(query, { limit: PAGE_ROWS, ...(after && { after }) }) };
      const shown = searchPage(query, result, after === undefined);
      return rendered(shown.found || query === '' ? 200 : 404, shown, 'packages', query);
    }),
  );

  app.get('/packages/:name', (c) =>
    page(c, async () => {
      const name = c.req.param('name');
      const before = optionalParam(c, 'before', UUID, 'a build id');
      const facts = await model.packageFacts(name, {
        limit: PAGE_ROWS,
        ...(before !== undefined && { before }),
      });
      if (!facts)
        return rendered(
          404,
          notFoundPage(
            before === undefined
              ? `No package named ${name} has been built here.`
              : `Package ${name} has no build ${before}.`,
          ),
          'packages',
        );
      return rendered(200, packagePage(facts, options.coordinatorUrl, before === undefined), 'packages');
    }),
  );

  app.get('/builds/:id', (c) =>
    page(c, async () => {
      const id = c.req.param('id');
      const facts = UUID.test(id) ? await model.build(id) : undefined;
      if (!facts) return rendered(404, notFoundPage(`No build with the id ${id}.`));
      return { ...rendered(200, buildPage(facts)), framing: true };
    }),
  );

  // Not a route: the coordinator's app answers this for any path no route takes, to a browser.
  const notFound = (c: Context) =>
    page(c, async () => rendered(404, notFoundPage(`Nothing is at ${decodeURIComponentSafe(c.req.path)}.`)));
  app.notFound(notFound);
  return { app, notFound };
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
