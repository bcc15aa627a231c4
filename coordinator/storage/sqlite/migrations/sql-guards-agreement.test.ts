// The schema's identifier checks (migration 8's SQL GLOB predicates) and services/identifiers.ts's
// rules must accept exactly the same values: otherwise the store refuses what the API accepted, or
// keeps what every other boundary refuses. Checked on hand-picked edge cases and on seeded random
// strings over the characters that matter.
import { randomBytes, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  accountNameRule,
  architectureRule,
  backendNameRule,
  bullmqReservedJobIds,
  type IdentifierRule,
  jobIdRule,
  jobNonceRule,
  keyidRule,
  queueNameRule,
  redisUserRule,
  tokenScopeRule,
  uuidRule,
} from '../../../../services/identifiers.ts';
import {
  isArchitecture,
  isBackendName,
  isJobId,
  isJobNonce,
  isName,
  isQueueName,
  isRedisUser,
  isSha256,
  isTokenScope,
  isUuid,
} from './m008-sql-guards.ts';

const db = new Database(':memory:');
afterAll(() => db.close());

function sqlAccepts(predicate: (x: string) => string, value: string): boolean {
  const row = db.prepare(`SELECT COALESCE((${predicate('@v')}), 0) AS ok`).get({ v: value }) as {
    ok: number;
  };
  return row.ok === 1;
}

/** A small seeded generator, so a failure names a value that reproduces. */
function* randomStrings(seed: number, count: number, alphabet: string, maxLength: number): Generator<string> {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state;
  };
  for (let i = 0; i < count; i++) {
    const length = next() % (maxLength + 1);
    let text = '';
    for (let j = 0; j < length; j++) text += alphabet[next() % alphabet.length];
    yield text;
  }
}

const ALPHABET = 'aZ09_-.:/+=*? \tA9zé';
const base64url = (bytes: number) => randomBytes(bytes).toString('base64url');

const cases: ReadonlyArray<{
  name: string;
  rule: IdentifierRule;
  sql: (x: string) => string;
  edges: readonly string[];
  maxRandomLength: number;
}> = [
  {
    name: 'operator, maintainer and worker names',
    rule: accountNameRule,
    sql: isName,
    edges: ['a', 'alpha-1', 'a.b_c-d', '-a', '.a', 'A', 'a b', 'a:b', 'a'.repeat(63), 'a'.repeat(64), ''],
    maxRandomLength: 70,
  },
  {
    name: 'architectures',
    rule: architectureRule,
    sql: isArchitecture,
    edges: ['amd64', 'arm64', 'x32', 'a.b', 'a_b', '-a', 'Amd64', 'a'.repeat(32), 'a'.repeat(33), ''],
    maxRandomLength: 40,
  },
  {
    name: 'backends',
    rule: backendNameRule,
    sql: isBackendName,
    edges: ['debian', 'generic', 'a1-b', '1a', '-a', 'a.b', 'a'.repeat(32), 'a'.repeat(33), ''],
    maxRandomLength: 40,
  },
  {
    name: 'token scopes',
    rule: tokenScopeRule,
    sql: isTokenScope,
    edges: ['submit', 'admin', 'enrol', 'a:b_c-d', '1a', 'A', 'a'.repeat(32), 'a'.repeat(33), ''],
    maxRandomLength: 40,
  },
  {
    name: 'queue names',
    rule: queueNameRule,
    sql: isQueueName,
    edges: ['rbnet-w-alpha-1', 'A.b_c', '.a', 'a:b', 'a'.repeat(128), 'a'.repeat(129), ''],
    maxRandomLength: 140,
  },
  {
    name: 'Redis ACL users',
    rule: redisUserRule,
    sql: isRedisUser,
    edges: ['worker:rbnet:alpha-1', 'A.b_c', ':a', 'a b', 'a'.repeat(128), 'a'.repeat(129), ''],
    maxRandomLength: 140,
  },
  {
    name: 'job ids',
    rule: jobIdRule,
    sql: isJobId,
    edges: [
      `${randomUUID()}:attempt:1`,
      'a',
      'a:b',
      'a:b:c',
      'a:b:c:d',
      ':a:b',
      'a::b',
      'a:b:',
      '12345',
      '1a',
      'a.b',
      ...bullmqReservedJobIds,
      'metaa',
      'a'.repeat(128),
      'a'.repeat(129),
      '',
    ],
    maxRandomLength: 12,
  },
  {
    name: 'job nonces',
    rule: jobNonceRule,
    sql: isJobNonce,
    edges: [
      base64url(32),
      base64url(32),
      `${base64url(32).slice(0, 42)}B`,
      base64url(31),
      base64url(33),
      `${'A'.repeat(42)}=`,
      '',
    ],
    maxRandomLength: 45,
  },
  {
    name: 'keyids',
    rule: keyidRule,
    sql: isSha256,
    edges: ['0'.repeat(64), 'f'.repeat(64), 'F'.repeat(64), 'g'.repeat(64), '0'.repeat(63), '0'.repeat(65)],
    maxRandomLength: 66,
  },
  {
    name: 'UUIDs',
    rule: uuidRule,
    sql: isUuid,
    edges: [
      randomUUID(),
      randomUUID().toUpperCase(),
      '00000000-0000-0000-0000-000000000000',
      '123e4567-e89b-02d3-a456-426614174000',
      '123e4567-e89b-92d3-a456-426614174000',
      '123e4567-e89b-12d3-c456-426614174000',
      '123e4567-e89b-12d3-a456-42661417400',
      '',
    ],
    maxRandomLength: 40,
  },
];

describe("migration 8's identifier checks agree with services/identifiers.ts", () => {
  for (const { name, rule, sql, edges, maxRandomLength } of cases) {
    it(`${name}: the same verdict on every edge case and on 2,000 random strings`, () => {
      const values = [...edges, ...randomStrings(name.length * 7919, 2_000, ALPHABET, maxRandomLength)];
      const disagreements = values.filter((value) => sqlAccepts(sql, value) !== rule.pattern.test(value));
      expect(disagreements).toEqual([]);
      // Both sides are exercised: some values pass and some do not.
      expect(edges.some((value) => rule.pattern.test(value))).toBe(true);
      expect(edges.some((value) => !rule.pattern.test(value))).toBe(true);
    });
  }
});
