// The frame of every page: head with the local stylesheet and script, landmarks (banner, navigation,
// search, main, contentinfo), a skip link, and the site-wide search form.
import { SITE_ASSETS } from './assets.ts';
import { html, type SafeHtml } from './html.ts';

export type Section = 'overview' | 'queue' | 'packages' | 'alarms';

export interface PageFrame {
  /** The page's own title; the site name is appended. */
  readonly title: string;
  readonly section?: Section;
  /** Shown back in the search box (a search results page). */
  readonly query?: string;
}

const NAV: readonly { readonly section: Section; readonly path: string; readonly label: string }[] = [
  { section: 'overview', path: '/', label: 'Overview' },
  { section: 'alarms', path: '/alarms', label: 'Alarms' },
  { section: 'queue', path: '/queue', label: 'Queue and operators' },
  { section: 'packages', path: '/packages', label: 'Packages' },
];

/** A whole HTML document around `main`. */
export function renderDocument(frame: PageFrame, main: SafeHtml): string {
  const { stylesheet, script, icon } = SITE_ASSETS;
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${frame.title} · rbnet</title>
<link rel="stylesheet" href="${stylesheet.path}">
<link rel="icon" href="${icon.path}" type="image/svg+xml">
<script src="${script.path}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site">
<a class="brand" href="/">rbnet</a>
<nav class="site" aria-label="Main"><ul>${NAV.map(
    (item) =>
      html`<li><a href="${item.path}"${item.section === frame.section ? html` aria-current="page"` : ''}>${item.label}</a></li>`,
  )}</ul></nav>
<form class="search" role="search" action="/packages" method="get">
<label for="site-search">Package or sha256</label>
<input type="search" id="site-search" name="q" value="${frame.query ?? ''}" maxlength="128" autocomplete="off" spellcheck="false">
<button type="submit">Search</button>
</form>
</header>
<main id="main" tabindex="-1">
${main}
</main>
<footer class="site">
<p>Read-only pages of an rbnet coordinator. Do not take its word for it: check a file yourself with
<code>rbnet verify</code> against operator keys you pinned. Data as JSON: <a href="/openapi.json">the HTTP API</a>.</p>
</footer>
</body>
</html>
`.toString();
}
