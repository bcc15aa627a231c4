// docs/api.md stays true to the code: its endpoint table names exactly the routes the app registers
// (and says which are public), and its list of error codes is exactly the status table.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_ERROR_STATUS } from './api-error.ts';
import { coordinatorRoutes } from './routes/coordinator-routes.ts';

const API_MD = readFileSync(resolve(import.meta.dirname, '..', '..', 'docs', 'api.md'), 'utf8');

/** The text from `heading` to the next heading of the same or a higher level. */
function section(heading: string): string {
  const start = API_MD.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const rest = API_MD.slice(start + heading.length + 2);
  const end = rest.search(/\n#{2,3} /);
  return end < 0 ? rest : rest.slice(0, end);
}

describe('docs/api.md', () => {
  it('lists every route the app registers, and no other, in its endpoint table', () => {
    const documented = new Map<string, string>();
    for (const row of section('## Endpoints')
      .split('\n')
      .filter((line) => line.startsWith('| `'))) {
      const [, routeCell = '', authCell = ''] =
        row.split(' | ').length > 2 ? ['', ...row.slice(2).split(' | ')] : [];
      for (const [, method, path] of routeCell.matchAll(/`(GET|POST|PUT) (\/[^`\s[?]*)/g))
        documented.set(`${method} ${path}`, authCell.trim());
    }
    const registered = coordinatorRoutes.map((route) => `${route.method} ${route.path}`);
    expect([...documented.keys()].sort()).toEqual([...registered].sort());
    for (const route of coordinatorRoutes) {
      const auth = documented.get(`${route.method} ${route.path}`);
      expect(auth === '—', `${route.method} ${route.path}: documented as "${auth}"`).toBe(
        route.auth.includes('none'),
      );
    }
  });

  it('lists exactly the status table under "Error codes and statuses"', () => {
    // Inline code other than a status (`Retry-After`) is prose, not a code.
    const text = section('## Error codes and statuses')
      .replace(/\s+/g, ' ')
      .replace(/`[^`]*`/g, (span) => (/^`\d{3}`$/.test(span) ? span : ''));
    const documented: Record<string, number> = {};
    for (const [, status, codes = ''] of text.matchAll(/`(\d{3})` ([^`·.]+)/g))
      for (const [code] of codes.matchAll(/\b[A-Z][A-Z0-9_]+\b/g)) documented[code] = Number(status);
    expect(documented).toEqual({ ...API_ERROR_STATUS });
  });
});
