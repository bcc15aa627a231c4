// Asserts that a response would be inert in a browser: a CSP that loads nothing and runs nothing
// (default-src 'none' plus a sandbox that allows nothing), no MIME sniffing, no referrer.
import { expect } from 'vitest';

export function expectInertHeaders(headers: Headers): void {
  const csp = headers.get('content-security-policy') ?? '';
  const directives = new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [name!.toLowerCase(), values] as const),
  );
  expect(directives.get('default-src'), csp).toEqual(["'none'"]);
  expect(directives.get('sandbox'), csp).toEqual([]);
  for (const loosened of ['script-src', 'connect-src', 'img-src', 'frame-src', 'object-src', 'font-src'])
    expect(directives.has(loosened), `${loosened} in ${csp}`).toBe(false);
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('referrer-policy')).toBe('no-referrer');
}
