// The web pages through the coordinator's real app (app.request), real SQLite and content store, with
// a build of every verdict: status codes, security headers, hostile data kept as text, 404 and 400
// pages, pagination, the page cache, assets and badges. The browser test (test/web-pages.test.ts)
// loads the same pages in Chromium.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestCoordinatorDeps,
  type TestCoordinatorDeps,
} from '../../test/support/coordinator-deps-fixture.ts';
import { genericBuild } from '../../test/support/generic-build.ts';
import {
  DIVERGED_DEB,
  HOSTILE_LOG,
  HOSTILE_NAME,
  HOSTILE_PATH,
  seedWebWorld,
  type WebWorld,
} from '../../test/support/web-world.ts';
import { createCoordinatorApp } from '../http/create-app.ts';
import { SITE_ASSETS } from './assets.ts';
import { escapeHtml } from './html.ts';
import { FRAMING_PAGE_CSP, PAGE_CSP } from './security-headers.ts';

const LOOPBACK_ENV = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

let root: string;
let fixture: TestCoordinatorDeps;
let app: ReturnType<typeof createCoordinatorApp>;
let world: WebWorld;

function get(path: string, headers: Record<string, string> = BROWSER, method = 'GET') {
  return app.request(path, { method, headers }, LOOPBACK_ENV);
}

async function page(path: string): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await get(path);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-web-pages-'));
  fixture = await createTestCoordinatorDeps(root);
  world = await seedWebWorld(fixture.deps, new Date());
  app = createCoordinatorApp(fixture.deps);
});
afterAll(async () => {
  await fixture?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** Every page a person reaches from the overview, with the build page of each verdict. */
function allPages(): string[] {
  return [
    '/',
    '/alarms',
    '/queue',
    '/packages',
    '/packages?q=he',
    '/packages/hello',
    `/packages/${encodeURIComponent(HOSTILE_NAME)}`,
    ...Object.values(world.builds).map((id) => `/builds/${id}`),
  ];
}

/**
 * Markup a page must never carry: inline script, inline style, event handler attributes, script
 * URLs. Attribute values are set aside first (escaping keeps every `"` out of them), so text that
 * merely reads like markup inside a title does not count.
 */
function expectNoActiveMarkup(path: string, body: string): void {
  for (const tag of body.match(/<[a-z][^>]*>/gi) ?? []) {
    const bare = tag.replace(/"[^"]*"/g, '""');
    expect(bare, path).not.toMatch(/\s(on[a-z]+|style)=/i);
    if (/^<script\b/i.test(tag)) expect(tag, path).toMatch(/^<script src="\/assets\/[^"]+" defer>$/);
  }
  expect(body, path).not.toMatch(/href="javascript:|src="javascript:/i);
}

describe('the pages', () => {
  it('answer 200 with a strict CSP, no sniffing, and no inline script, style or event handler', async () => {
    for (const path of allPages()) {
      const { status, headers, body } = await page(path);
      expect(status, path).toBe(200);
      expect(headers.get('content-type'), path).toBe('text/html; charset=utf-8');
      expect(headers.get('content-security-policy'), path).toBe(
        path.startsWith('/builds/') ? FRAMING_PAGE_CSP : PAGE_CSP,
      );
      expect(headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(headers.get('etag'), path).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      expectNoActiveMarkup(path, body);
    }
    expect(PAGE_CSP).toContain("script-src 'self'");
    expect(PAGE_CSP).not.toContain('unsafe');
  });

  it('show every verdict on its build page, with the reason in words', async () => {
    for (const [role, id] of Object.entries(world.builds)) {
      const { body } = await page(`/builds/${id}`);
      const verdict = world.expected[role as keyof typeof world.expected];
      expect(body, role).toContain(`swatch v-${verdict}`);
      if (verdict !== 'pending') expect(body, role).toContain('<h2>Why: ');
    }
  });

  it('keep hostile names, paths and log lines as text wherever they appear', async () => {
    const pages = [
      `/builds/${world.builds.hostile}`,
      '/',
      `/packages/${encodeURIComponent(HOSTILE_NAME)}`,
      `/packages?q=${encodeURIComponent('<script>')}`,
      '/queue',
    ];
    for (const path of pages) {
      const { status, body } = await page(path);
      expect(status, path).toBe(200);
      expect(body, path).not.toContain('<script>window');
      expect(body, path).not.toContain('<img src=x');
      expect(body, path).not.toContain('<svg onload');
      expect(body, path).not.toContain('\u202E');
      expectNoActiveMarkup(path, body);
    }
    const build = (await page(`/builds/${world.builds.hostile}`)).body;
    expect(build).toContain(escapeHtml(HOSTILE_NAME).slice(0, 60));
    expect(build).toContain(escapeHtml(HOSTILE_PATH));
    expect(build).toContain('&lt;script&gt;window.__pwned=4&lt;/script&gt;');
    // The colour sequence is removed from the log, the override shown, the long line kept whole.
    expect(build).toContain('error: [U+202E]evil reversed text');
    expect(build).toContain('L'.repeat(6000));
    expect(HOSTILE_LOG).toContain('\u001b[31m');
    expect(build).not.toContain('\u001b');
  });

  it('answer a search by name prefix, and by the sha256 of a file', async () => {
    const byName = await page('/packages?q=HEL');
    expect(byName.status).toBe(200);
    expect(byName.body).toContain('href="/packages/hello"');
    const deb = (await page(`/builds/${world.builds.reproducible}`)).body.match(
      /title="sha256:([0-9a-f]{64})"/,
    )![1]!;
    const byDigest = await page(`/packages?q=sha256:${deb}`);
    expect(byDigest.status).toBe(200);
    expect(byDigest.body).toContain(`href="/builds/${world.builds.reproducible}"`);
  });

  it('show the divergence report with the differing file, and frame diffoscope sandboxed from its own route', async () => {
    const { body } = await page(`/builds/${world.builds.diverged}`);
    expect(body).toContain(`<td class="mono path">${DIVERGED_DEB}</td><td><strong>differs</strong></td>`);
    const frame = body.match(/<iframe class="diffoscope" sandbox="" [^>]*src="([^"]+)"/);
    expect(frame).not.toBeNull();
    const framed = await get(frame![1]!);
    expect(framed.status).toBe(200);
    expect(framed.headers.get('content-security-policy')).toContain(
      "default-src 'none'; style-src 'unsafe-inline'",
    );
    expect(framed.headers.get('content-security-policy')).toContain('sandbox');
  });

  it('offer the exact rbnet verify command, pinned to the Debian source from the archive and to the manifest', async () => {
    const { body } = await page(`/builds/${world.builds.reproducible}`);
    expect(body).toContain(
      'rbnet verify ./hello_2.10-3_amd64.deb --policy policy.json --debian-source hello=2.10-3 --coordinator http://127.0.0.1:8470',
    );
    const build = await fixture.store.builds.getBuild(world.builds.reproducible);
    expect(body).toContain(`--manifest-sha256 ${build!.manifestSha256} --coordinator`);
  });

  it('put the alarms first on the overview: mismatch upstream and the regression', async () => {
    const { body } = await page('/');
    const alarms = body.indexOf('Alarms (2)');
    expect(alarms).toBeGreaterThan(0);
    expect(alarms).toBeLessThan(body.indexOf('By family'));
    expect(body).toContain('href="/packages/wrong-claim"');
    expect(body).toContain('href="/packages/libfoo"');
  });

  it('list workers with their heartbeat, work in hand and failures on the queue page', async () => {
    const { body } = await page('/queue');
    for (const worker of ['alpha-1', 'beta-1', 'gamma-1']) expect(body).toContain(worker);
    expect(body).toContain('exit-code ×1');
    expect(body).toContain(`href="/builds/${world.builds.pending}"`);
    expect(body).toMatch(/<svg class="chart"[^>]*>.*<rect class="o-built"/s);
  });
});

describe('links', () => {
  it('lead somewhere: every link and frame on every page, and on the pages one step further, answers 200', async () => {
    const checked = new Map<string, number>();
    // An attribute's value as the browser reads it: the five references escaping writes, undone.
    const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };
    const linksOf = (body: string) =>
      [...body.matchAll(/\s(?:href|src)="(\/[^"]*)"/g)].map((m) =>
        m[1]!.replace(/&(amp|lt|gt|quot|#39);/g, (_all, name: string) => entities[name]!),
      );
    let frontier = allPages();
    for (let depth = 0; depth < 2; depth++) {
      const next: string[] = [];
      for (const path of frontier) {
        if (checked.has(path)) continue;
        const response = await get(path);
        checked.set(path, response.status);
        const type = response.headers.get('content-type') ?? '';
        if (type.startsWith('text/html') && !path.includes('/diffoscope/'))
          next.push(...linksOf(await response.text()));
        else await response.arrayBuffer();
      }
      frontier = next;
    }
    for (const path of frontier) if (!checked.has(path)) checked.set(path, (await get(path)).status);
    const broken = [...checked].filter(([, status]) => status !== 200);
    expect(broken).toEqual([]);
    // The downloads of a build are among them: its attestation, statements, divergence report, logs.
    const paths = [...checked.keys()];
    for (const kind of [
      /^\/v1\/builds\/[^/]+\/attestation$/,
      /^\/v1\/builds\/[^/]+\/divergence$/,
      /^\/v1\/cas\/sha256\//,
    ])
      expect(
        paths.some((p) => kind.test(p)),
        String(kind),
      ).toBe(true);
  });
});

describe('what is not there', () => {
  it('is a clear 404 page: unknown package, build, search, address', async () => {
    for (const path of [
      '/packages/no-such-package',
      `/builds/${crypto.randomUUID()}`,
      '/builds/not-a-uuid',
      '/packages?q=zzz-nothing',
      '/no/such/page',
      `/packages/hello?before=${crypto.randomUUID()}`,
      '/assets/site.0000000000000000.css',
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
    }
    const unknown = await page('/packages/%3Cb%3Enope');
    expect(unknown.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(unknown.body).toContain('No package named &lt;b&gt;nope has been built here.');
    expect(unknown.headers.get('content-security-policy')).toBe(PAGE_CSP);
  });

  it('stays JSON for API clients and under the API paths', async () => {
    const api = await get('/v1/no-such-route');
    expect(api.headers.get('content-type')).toContain('application/json');
    const plain = await get('/no/such/page', { accept: 'application/json' });
    expect(plain.status).toBe(404);
    expect(plain.headers.get('content-type')).toContain('application/json');
  });

  it('refuses malformed parameters with a 400 page naming them', async () => {
    const long = await page(`/packages?q=${'a'.repeat(129)}`);
    expect(long.status).toBe(400);
    expect(long.body).toContain('q: a search is at most 128 characters');
    expect((await page('/packages/hello?before=nope')).status).toBe(400);
    expect((await page('/alarms?since=yesterday')).status).toBe(400);
    expect((await page('/queue?after=x')).status).toBe(400);
  });

  it('changes nothing: other methods than GET and HEAD are refused', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const response = await get('/packages/hello', BROWSER, method);
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
    const head = await get('/', BROWSER, 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe('long lists', () => {
  it('are paginated by key: every build of a package exactly once across its pages', async () => {
    const made: string[] = [];
    for (let i = 0; i < 60; i++) {
      const build = genericBuild('many', { createdAt: new Date(Date.now() - (60 - i) * 1000) });
      made.push(build.buildId);
    }
    await fixture.store.builds.createBuilds(
      made.map((id, i) => ({
        ...genericBuild('many', { createdAt: new Date(Date.now() - (60 - i) * 1000) }),
        buildId: id,
      })),
    );
    const seen: string[] = [];
    let path: string | undefined = '/packages/many';
    let pages = 0;
    while (path !== undefined) {
      const { status, body } = await page(path);
      expect(status).toBe(200);
      const rows = body.slice(body.indexOf('Every version'));
      seen.push(...[...rows.matchAll(/href="\/builds\/([0-9a-f-]{36})"/g)].map((m) => m[1]!));
      path = body.match(/<a href="([^"]+)" rel="next">/)?.[1]?.replaceAll('&amp;', '&');
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].reverse());
  });
});

describe('caching', () => {
  it('serves a page again from the cache until the records change, with 304 for a matching ETag', async () => {
    const first = await get('/packages?q=fresh');
    expect(first.status).toBe(404);
    const again = await get('/packages?q=fresh', { ...BROWSER, 'if-none-match': first.headers.get('etag')! });
    expect(again.status).toBe(304);
    await fixture.store.builds.createBuild(genericBuild('fresh-package'));
    const after = await page('/packages?q=fresh');
    expect(after.status).toBe(200);
    expect(after.body).toContain('href="/packages/fresh-package"');
  });

  it('serves assets from content-hashed paths, cached for a year', async () => {
    for (const asset of Object.values(SITE_ASSETS)) {
      const response = await get(asset.path);
      expect(response.status, asset.path).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-type')).toBe(asset.contentType);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(asset.body);
    }
    const home = (await page('/')).body;
    expect(home).toContain(`<link rel="stylesheet" href="${SITE_ASSETS.stylesheet.path}">`);
    expect(home).toContain(`<script src="${SITE_ASSETS.script.path}" defer></script>`);
  });
});

describe('badges', () => {
  it('say how many operators reproduced the package', async () => {
    const response = await get('/badges/hello.svg');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await response.text()).toContain('>reproducible by 3 operators</text>');
    expect(await (await get('/badges/wrong-claim.svg')).text()).toContain('>mismatch upstream</text>');
  });

  it('escape the name, and answer 404 with a badge for a package that is not there', async () => {
    const hostile = await get(`/badges/${encodeURIComponent(HOSTILE_NAME)}.svg`);
    expect(hostile.status).toBe(200);
    const svg = await hostile.text();
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
    const missing = await get('/badges/no-such-package.svg');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('no such package');
  });
});
