// Debian's Chromium (/usr/bin/chromium, no browser download) driven by playwright-core, with a fresh
// profile per run, and a page that records what must never happen: console errors, uncaught
// exceptions, Content-Security-Policy violations. axe-core is injected from node_modules.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts Chromium with a profile of its own in a temp folder.
 * @throws when /usr/bin/chromium is missing (infra/install-deps.sh installs it): the test fails loudly.
 */
export async function launchChromium(): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'rbnet-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface PageProblems {
  /** Console errors, with the URL of the document that logged them. */
  readonly consoleErrors: { readonly text: string; readonly url: string }[];
  readonly pageErrors: string[];
  readonly dialogs: string[];
}

/** Listens on `page` for console errors, uncaught exceptions and dialogs, from now on. */
export function watchProblems(page: Page): PageProblems {
  const problems: PageProblems = { consoleErrors: [], pageErrors: [], dialogs: [] };
  page.on('console', (message) => {
    if (message.type() === 'error')
      problems.consoleErrors.push({ text: message.text(), url: message.location().url });
  });
  page.on('pageerror', (error) => problems.pageErrors.push(error.message));
  page.on('dialog', async (dialog) => {
    problems.dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  return problems;
}

/**
 * Records every `securitypolicyviolation` of the top document in `window.__rbnetViolations`. Added
 * through the DevTools protocol, so the page's own CSP (no inline script) does not block it.
 */
export async function recordCspViolations(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { __rbnetViolations?: string[] };
    w.__rbnetViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      w.__rbnetViolations!.push(
        `${event.violatedDirective} blocked ${event.blockedURI || 'inline'} at ${event.sourceFile}:${event.lineNumber}`,
      );
    });
  });
}

export async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __rbnetViolations?: string[] }).__rbnetViolations ?? []);
}

let axeSource: string | undefined;

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: string[];
}

/** axe-core's violations of impact serious or critical on the page as it is now (frames left out). */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol: the page's CSP applies to its own scripts, not to this.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            context: unknown,
            options: unknown,
          ): Promise<{
            violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
          }>;
        };
      }
    ).axe;
    const result = await axe.run(document, { iframes: false, resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.slice(0, 5).map((n) => String(n.target)),
      }));
  });
}
