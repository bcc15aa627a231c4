// The web pages in a real browser: Debian's Chromium (playwright-core) against a real coordinator
// (startCoordinator, its own Redis) holding a build of every verdict and hostile names and logs.
// Every page loads with no console error and no CSP violation, passes axe-core with no serious
// violation in light and dark, fits a phone; search, charts, links and the divergence report work;
// hostile data never runs. Screenshots go to $RBNET_WEB_SCREENSHOTS when set (docs/screenshots/).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCoordinatorConfig } from '../coordinator/coordinator-config.ts';
import { type RunningCoordinator, startCoordinator } from '../coordinator/main.ts';
import {
  cspViolations,
  launchChromium,
  type PageProblems,
  recordCspViolations,
  seriousAxeViolations,
  type TestBrowser,
  watchProblems,
} from './support/chromium.ts';
import { startRedisServer, type TestRedisServer } from './support/redis-server.ts';
import { runCli } from './support/run-cli.ts';
import { REPO_ROOT } from './support/runner-harness.ts';
import {
  DIVERGED_DEB,
  HOSTILE_NAME,
  HOSTILE_PATH,
  seedWebWorld,
  type WebWorld,
} from './support/web-world.ts';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

let root: string;
let redis: TestRedisServer;
let coordinator: RunningCoordinator;
let world: WebWorld;
let browser: TestBrowser;
let shotsDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-web-browser-'));
  redis = await startRedisServer();
  const config = loadCoordinatorConfig({
    // No sweep while the test looks: the pages show exactly what was recorded.
    env: { RBNET_GC_INTERVAL_MS: '0', RBNET_SWEEP_INTERVAL_MS: '3600000' },
    flags: {
      dataDir: join(root, 'coordinator'),
      listen: '127.0.0.1:0',
      redisUrl: redis.url,
      threshold: 2,
      replicas: 2,
    },
  });
  coordinator = await startCoordinator(config, pino({ level: process.env.RBNET_TEST_LOG ?? 'silent' }));
  world = await seedWebWorld(coordinator.deps, new Date());
  browser = await launchChromium();
  await recordCspViolations(browser.context);
  shotsDir = process.env.RBNET_WEB_SCREENSHOTS
    ? resolve(process.env.RBNET_WEB_SCREENSHOTS)
    : join(root, 'screenshots');
  await mkdir(shotsDir, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await coordinator?.close();
  await redis?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

interface Visit {
  readonly page: Page;
  readonly problems: PageProblems;
}

async function open(
  path: string,
  options: { scheme?: 'light' | 'dark'; viewport?: typeof DESKTOP; status?: number } = {},
): Promise<Visit> {
  const page = await browser.context.newPage();
  await page.setViewportSize(options.viewport ?? DESKTOP);
  await page.emulateMedia({ colorScheme: options.scheme ?? 'light' });
  const problems = watchProblems(page);
  const response = await page.goto(`${coordinator.url}${path}`, { waitUntil: 'load' });
  expect(response?.status(), path).toBe(options.status ?? 200);
  return { page, problems };
}

/** No console error (but the one Chrome logs for a 404 document), no exception, no dialog, no CSP violation, nothing ran. */
async function expectClean(visit: Visit, path: string, notFound = false): Promise<void> {
  const own = visit.problems.consoleErrors.filter((e) => !e.url.includes('/diffoscope/'));
  const expected = notFound ? own.filter((e) => !/status of 404/.test(e.text)) : own;
  expect(expected, `${path}: console errors`).toEqual([]);
  expect(visit.problems.pageErrors, `${path}: exceptions`).toEqual([]);
  expect(visit.problems.dialogs, `${path}: dialogs`).toEqual([]);
  expect(await cspViolations(visit.page), `${path}: CSP violations`).toEqual([]);
  expect(
    await visit.page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned),
    `${path}: hostile script ran`,
  ).toBeUndefined();
}

function pages(): { name: string; path: string; status: number }[] {
  return [
    { name: 'overview', path: '/', status: 200 },
    { name: 'alarms', path: '/alarms', status: 200 },
    { name: 'queue', path: '/queue', status: 200 },
    { name: 'packages', path: '/packages', status: 200 },
    { name: 'search', path: '/packages?q=hel', status: 200 },
    { name: 'package', path: '/packages/hello', status: 200 },
    ...Object.entries(world.builds).map(([role, id]) => ({
      name: `build-${role}`,
      path: `/builds/${id}`,
      status: 200,
    })),
    { name: 'hostile-package', path: `/packages/${encodeURIComponent(HOSTILE_NAME)}`, status: 200 },
    { name: 'not-found', path: '/packages/no-such-package', status: 404 },
  ];
}

/** The pages whose screenshots the README and docs/web.md show. */
const SHOWN = new Set([
  'overview',
  'alarms',
  'queue',
  'package',
  'search',
  'build-diverged',
  'build-reproducible',
  'not-found',
]);

describe('every page in Chromium', () => {
  it('loads with no console error, no CSP violation and no serious axe-core violation, light and dark', async () => {
    for (const { name, path, status } of pages()) {
      for (const scheme of ['light', 'dark'] as const) {
        const visit = await open(path, { scheme, status });
        await expectClean(visit, `${path} (${scheme})`, status === 404);
        expect(await seriousAxeViolations(visit.page), `${path} (${scheme}): axe`).toEqual([]);
        // The script enhanced the page (it is there, and ran): times are shown in the local zone.
        if (name === 'overview')
          expect(await visit.page.locator('time[title$=" UTC"]').count()).toBeGreaterThan(0);
        // Light: the whole page (the README shows what is below the fold too); dark: the first screen.
        if (SHOWN.has(name))
          await visit.page.screenshot({
            path: join(shotsDir, `${name}-${scheme}.png`),
            fullPage: scheme === 'light',
          });
        await visit.page.close();
      }
    }
  });

  it('fits a phone: no page is wider than the screen, long names and lines wrap or scroll inside their box', async () => {
    for (const { name, path, status } of pages()) {
      const visit = await open(path, { viewport: PHONE, status });
      const widths = await visit.page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        screen: window.innerWidth,
      }));
      expect(widths.page, `${path}: page width on a phone`).toBeLessThanOrEqual(widths.screen);
      await expectClean(visit, path, status === 404);
      if (SHOWN.has(name)) await visit.page.screenshot({ path: join(shotsDir, `${name}-phone.png`) });
      await visit.page.close();
    }
  });
});

describe('what a person does on the pages', () => {
  it('finds a package with the search box and follows it to its page', async () => {
    const visit = await open('/');
    await visit.page.fill('#site-search', 'hel');
    await visit.page.press('#site-search', 'Enter');
    await visit.page.waitForURL(/\/packages\?q=hel$/);
    await visit.page.click('a[href="/packages/hello"]');
    await visit.page.waitForURL(/\/packages\/hello$/);
    expect(await visit.page.textContent('h1')).toBe('Package hello');
    await expectClean(visit, 'search');
    await visit.page.close();
  });

  it('follows links from the alarms to the package, a build, and the queue', async () => {
    const visit = await open('/');
    await visit.page.click('.alarms a[href="/packages/libfoo"]');
    await visit.page.waitForURL(/\/packages\/libfoo$/);
    await visit.page.click(`a[href="/builds/${world.builds.regression}"] >> nth=0`);
    await visit.page.waitForURL(new RegExp(`/builds/${world.builds.regression}$`));
    expect(await visit.page.textContent('h1')).toBe('Build of libfoo 1.0-2');
    await visit.page.click('nav.site >> text=Queue and operators');
    await visit.page.waitForURL(/\/queue$/);
    expect(await visit.page.textContent('h1')).toBe('Queue and operators');
    await expectClean(visit, 'links');
    await visit.page.close();
  });

  it('reaches the content from the keyboard: the first Tab is the skip link', async () => {
    const visit = await open('/packages/hello');
    await visit.page.keyboard.press('Tab');
    expect(await visit.page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await visit.page.keyboard.press('Enter');
    expect(await visit.page.evaluate(() => location.hash)).toBe('#main');
    await visit.page.close();
  });

  it("shows a package's badge on its page, drawn by Chromium from the SVG the coordinator serves", async () => {
    const visit = await open('/packages/hello');
    const badge = visit.page.locator('img[src^="/badges/hello.svg"]').first();
    expect(await badge.getAttribute('alt')).toMatch(/reproducible by 3 operators/);
    // Loaded and drawn: an image Chromium could not decode has no natural size.
    expect(await badge.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(
      50,
    );
    await expectClean(visit, 'badge');
    await visit.page.close();
    const response = await fetch(`${coordinator.url}/badges/hello.svg`);
    expect(response.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const svg = await response.text();
    expect(svg).toContain('reproducible by 3 operators');
    await writeFile(join(shotsDir, 'badge-hello.svg'), svg);
  });

  it('answers 304 over a real socket when the ETag still matches, and the page again when it does not', async () => {
    const first = await fetch(`${coordinator.url}/packages/hello`);
    const etag = first.headers.get('etag')!;
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    const again = await fetch(`${coordinator.url}/packages/hello`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const other = await fetch(`${coordinator.url}/packages/hello`, { headers: { 'if-none-match': '"x"' } });
    expect(other.status).toBe(200);
    expect(await other.text()).toContain('Package hello');
  });

  it('draws the charts with their data', async () => {
    const overview = await open('/');
    expect(await overview.page.locator('svg.chart polyline').count()).toBeGreaterThan(0);
    expect(await overview.page.locator('svg.chart circle.point').count()).toBeGreaterThan(10);
    expect(await overview.page.locator('svg.bar rect.v-reproducible').count()).toBeGreaterThan(0);
    const box = await overview.page.locator('svg.chart').first().boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    expect(box!.height).toBeGreaterThan(100);
    await overview.page.close();
    const queue = await open('/queue');
    expect(await queue.page.locator('svg.chart rect.o-built').count()).toBeGreaterThan(0);
    await queue.page.close();
    const hello = await open('/packages/hello');
    const builds = (await coordinator.deps.webAggregates.timeline('hello', 100)).length;
    expect(await hello.page.locator('svg.timeline rect').count()).toBe(builds);
    expect(builds).toBeGreaterThan(5);
    await hello.page.close();
  });

  it('shows the differing file of a divergence, and diffoscope in a sandboxed frame whose script never runs', async () => {
    const visit = await open(`/builds/${world.builds.diverged}`);
    const row = visit.page.locator('#divergence ~ div table tr', { hasText: DIVERGED_DEB });
    expect(await row.first().textContent()).toContain('differs');
    expect(await visit.page.textContent('body')).toContain('usr/bin/random');
    const frame = visit.page.locator('iframe.diffoscope');
    expect(await frame.getAttribute('sandbox')).toBe('');
    const framed = visit.page.frames().find((f) => f.url().includes('/diffoscope/'));
    expect(framed).toBeDefined();
    await expect.poll(async () => framed!.textContent('body')).toContain('usr/bin/random differs');
    // Chromium draws a sandboxed frame in its own process, which a full-page capture leaves blank:
    // the frame gets a screenshot of its own, taken where it is on screen.
    await frame.scrollIntoViewIfNeeded();
    await frame.screenshot({ path: join(shotsDir, 'build-diverged-diffoscope-light.png') });
    await expectClean(visit, 'divergence');
    // The sandbox, not luck: the frame's own script was refused (logged by the frame, not the page).
    expect(visit.problems.consoleErrors.some((e) => e.url.includes('/diffoscope/'))).toBe(true);
    await visit.page.close();
  });

  it('keeps hostile names, paths and log lines as text: shown, never run, never markup', async () => {
    const visit = await open(`/builds/${world.builds.hostile}`);
    const heading = await visit.page.textContent('h1');
    expect(heading).toContain('<script>window.__pwned=1</script>');
    expect(heading).toContain('[U+202E]gpj.exe');
    expect(await visit.page.locator('img[src="x"], svg[onload], script:not([src])').count()).toBe(0);
    await visit.page.click('summary:has-text("Log of alpha/alpha-1")');
    const log = await visit.page.textContent('pre[aria-label^="Log of alpha"]');
    expect(log).toContain('<script>window.__pwned=4</script>');
    expect(await visit.page.textContent('#divergence ~ div table')).toContain(
      HOSTILE_PATH.replace('\u202E', '[U+202E]'),
    );
    await expectClean(visit, 'hostile');
    await visit.page.close();
  });

  it('offers rbnet verify commands that, pasted into bash beside the file and policy.json, verify it', async () => {
    // A consumer: the .deb the archive published (the world's hello .deb is these bytes), and a
    // policy pinning two of the operators by their keys, made with `rbnet policy create`.
    const consumer = join(root, 'consumer');
    await mkdir(consumer, { recursive: true });
    await writeFile(join(consumer, 'hello_2.10-3_amd64.deb'), 'hello 2.10-3');
    const pinned: string[] = [];
    for (const operator of ['alpha', 'beta']) {
      await writeFile(join(consumer, `${operator}.pub`), world.operatorKeys[operator]!);
      pinned.push('--operator', `${operator}=${join(consumer, `${operator}.pub`)}`);
    }
    const policy = await runCli([
      'policy',
      'create',
      '--threshold',
      '2',
      '--expires',
      '2099-01-01T00:00:00Z',
      '--out',
      join(consumer, 'policy.json'),
      ...pinned,
    ]);
    expect(policy.code, policy.stderr).toBe(0);
    // The commands as the page shows them (and its Copy button copies): the text of each block.
    const visit = await open(`/builds/${world.builds.reproducible}`);
    const commands = await visit.page.locator('pre.command').allTextContents();
    await visit.page.close();
    const verifies = commands.filter((c) => c.startsWith('rbnet verify '));
    expect(verifies).toHaveLength(2);
    for (const command of verifies) {
      // `rbnet` is the entry users run; the command itself is pasted unchanged.
      const run = await promisify(execFile)(
        'bash',
        [
          '-c',
          `rbnet() { "${process.execPath}" "${join(REPO_ROOT, 'bin', 'rbnet.mjs')}" "$@"; }\n${command}`,
        ],
        { cwd: consumer, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      );
      expect(run.stdout, command).toMatch(/^VERIFIED/m);
      expect(run.stdout, command).toContain(`build ${world.builds.reproducible}: VERIFIED`);
    }
  });

  it('copies the verify command with its button, or selects it where the clipboard is closed', async () => {
    const visit = await open(`/builds/${world.builds.reproducible}`);
    const button = visit.page.locator('button.copy').first();
    expect(await button.textContent()).toBe('Copy command');
    await button.click();
    await expect.poll(async () => button.textContent()).toMatch(/^(Copied|Selected: press Ctrl\+C)$/);
    await expectClean(visit, 'copy');
    await visit.page.close();
  });
});
