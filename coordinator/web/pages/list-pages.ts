// The pages that are lists: every alarm, search results, and the page for something that is not there.
import { href, html, type SafeHtml } from '../html.ts';
import { buildHref, familyLabel, packageLink, pageLinks, table, time, verdictTag } from '../page-parts.ts';
import type { AlarmPage, BuildSummary, PackageSearchPage } from '../read-model.ts';
import { ALARM_HEAD, alarmRows, buildHead, buildRows } from './overview-page.ts';

export function alarmsPage(page: AlarmPage, isFirst: boolean): { title: string; main: SafeHtml } {
  const next = page.next
    ? href(['alarms'], {
        since: page.next.sinceMs,
        name: page.next.name,
        backend: page.next.backend,
        architecture: page.next.architecture,
      })
    : undefined;
  return {
    title: 'Alarms',
    main: html`<h1>Alarms</h1>
<p class="lead">${page.total} package${page.total === 1 ? '' : 's'}: <strong>mismatch upstream</strong> (independent rebuilds agree with each other, not with the published files) and <strong>regressions</strong> (reproduced before; now diverged, rebuilt from different inputs, or failed).</p>
${page.alarms.length === 0 ? html`<p>No alarms${isFirst ? '' : ' on this page'}.</p>` : table('Alarms, newest first', [...ALARM_HEAD], alarmRows(page.alarms))}
${pageLinks({ ...(!isFirst && { first: '/alarms' }), ...(next !== undefined && { next }) }, 'Alarm pages')}`,
  };
}

/** The search form and results: packages by name prefix, or builds by an artifact's sha256. */
export function searchPage(
  query: string,
  result: { readonly packages?: PackageSearchPage; readonly artifact?: readonly BuildSummary[] },
  isFirst: boolean,
): { title: string; main: SafeHtml; found: boolean } {
  const packages = result.packages;
  const artifact = result.artifact;
  const found = (packages?.hits.length ?? 0) > 0 || (artifact?.length ?? 0) > 0;
  const title = query === '' ? 'Packages' : `Search: ${query}`;
  const rows =
    packages?.hits.map(
      (hit) =>
        html`<tr><td>${packageLink(hit.name)}</td><td>${familyLabel(hit)}</td><td>${verdictTag(hit.latestVerdict)}</td><td class="num">${hit.builds}</td><td>${time(hit.changedAt)}</td><td><a href="${buildHref(hit.latestBuildId)}">latest build</a></td></tr>`,
    ) ?? [];
  const next = packages?.next
    ? href(['packages'], {
        q: query,
        after: packages.next.name,
        backend: packages.next.backend,
        architecture: packages.next.architecture,
      })
    : undefined;
  const main = html`<h1>${query === '' ? 'Packages' : html`Search for <q><bdi>${query}</bdi></q>`}</h1>
<p>Search by the start of a package name, or by the sha256 of a file (64 hex characters) to find the builds that made or claimed it.</p>
<form class="search-page" role="search" action="/packages" method="get"><label for="page-search">Package name or sha256</label>
<input type="search" id="page-search" name="q" value="${query}" maxlength="128" autocomplete="off" spellcheck="false"> <button type="submit">Search</button></form>
${
  artifact !== undefined
    ? artifact.length > 0
      ? table('Builds that made or claimed this file', buildHead(), buildRows(artifact))
      : html`<p><strong>No build made or claimed a file with sha256 <code>${query}</code>.</strong></p>`
    : ''
}
${
  packages !== undefined
    ? rows.length > 0
      ? table(
          query === '' ? 'Every package, by name' : 'Packages whose name starts with the search',
          ['Package', 'Family', 'Latest verdict', 'Builds', 'Changed', 'Build'],
          rows,
          [3],
        )
      : html`<p><strong>No package ${query === '' ? 'has been built yet' : html`name starts with <q><bdi>${query}</bdi></q>`}.</strong></p>`
    : ''
}
${pageLinks({ ...(!isFirst && { first: href(['packages'], { q: query }) }), ...(next !== undefined && { next }) }, 'Result pages')}`;
  return { title, main, found };
}

/** A clear page for an address, package, build or search that is not there. */
export function notFoundPage(what: string): { title: string; main: SafeHtml } {
  return {
    title: 'Not found',
    main: html`<h1>Not found</h1>
<p class="lead"><bdi>${what}</bdi></p>
<p>Look for a package by name with the search box, or start from <a href="/">the overview</a>.</p>`,
  };
}

/** A page for a request this site refuses (a malformed parameter), naming what was wrong. */
export function badRequestPage(problem: string): { title: string; main: SafeHtml } {
  return {
    title: 'Bad request',
    main: html`<h1>Bad request</h1><p class="lead">${problem}</p><p><a href="/">Back to the overview</a></p>`,
  };
}

export function errorPage(): { title: string; main: SafeHtml } {
  return {
    title: 'Error',
    main: html`<h1>Something went wrong</h1><p class="lead">The coordinator could not build this page; the error is in its log. Try again shortly.</p>`,
  };
}
