// A release tool's readers of the feed and package answers: a coordinator that does not keep the
// contract is refused by field; fields a newer coordinator adds are ignored.
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../digest.ts';
import { readConsensusFeedPage } from './consensus-feed-page.ts';
import { readPackageQueryAnswer, readPackageQueryRequest } from './package-consensus.ts';

const buildId = '0b0d6e0c-3c1e-4b8a-9d43-6f1f9f0a1c2d';
const entry = {
  cursor: '7',
  buildId,
  source: 'hello',
  version: '2.10-3',
  architecture: 'amd64',
  suite: 'bookworm',
  suites: ['bookworm'],
  verdict: 'reproducible',
  previousVerdict: 'pending',
  claimedOutputs: [{ path: 'hello_2.10-3_amd64.deb', sha256: sha256Hex('deb') }],
  agreedOutputs: null,
  agreeingOperators: ['acme', 'globex'],
  dissentingOperators: [],
  decidedAt: '2026-12-01T10:00:00.000Z',
  logIndex: 12,
  links: { self: `/v1/builds/${buildId}`, attestation: 'a', divergence: 'd' },
};
const page = (change: Record<string, unknown> = {}, entryChange: Record<string, unknown> = {}) =>
  JSON.stringify({ entries: [{ ...entry, ...entryChange }], nextCursor: '7', more: false, ...change });

describe('readConsensusFeedPage', () => {
  it('reads a page, ignoring fields it does not know yet', () => {
    const read = readConsensusFeedPage(page({ logIndex: 3 }, { somethingNew: true }));
    expect(read.entries[0]).toEqual(entry);
  });

  it.each([
    [{ nextCursor: '../x' }, {}, 'nextCursor'],
    [{ more: 'no' }, {}, 'more'],
    [{}, { verdict: 'trust-me' }, 'entries[0].verdict'],
    [{}, { agreeingOperators: ['Acme\u001b[2J'] }, 'entries[0].agreeingOperators[0]'],
    [{}, { buildId: '../../etc/passwd' }, 'entries[0].buildId'],
    [{}, { source: 'hello\u001b]0;owned\u0007' }, 'entries[0].source'],
    [{}, { suites: ['Bookworm/../x'] }, 'entries[0].suites[0]'],
    [{}, { logIndex: -1 }, 'entries[0].logIndex'],
    [{}, { logIndex: '3' }, 'entries[0].logIndex'],
  ])('refuses %j %j naming %s', (change, entryChange, field) => {
    expect(() => readConsensusFeedPage(page(change, entryChange))).toThrow(
      expect.objectContaining({ code: 'ANSWER_INVALID', field }),
    );
  });
});

describe('package query contract', () => {
  it('reads a request strictly and an answer leniently', () => {
    expect(readPackageQueryRequest(new TextEncoder().encode('{"packages":[{"source":"hello"}]}'))).toEqual({
      packages: [{ source: 'hello' }],
    });
    expect(() =>
      readPackageQueryAnswer('{"results":[{"source":"x","versions":[],"truncated":"no"}]}'),
    ).toThrow(expect.objectContaining({ code: 'ANSWER_INVALID', field: 'results[0].truncated' }));
  });
});
