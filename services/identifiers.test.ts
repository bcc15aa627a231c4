// The identifier rules: what each accepts and refuses, and that each regular expression says all of
// its rule (the store and the OpenAPI document use the expression alone).
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  accountNameRule,
  architectureRule,
  backendNameRule,
  bullmqReservedJobIds,
  type IdentifierRule,
  isAccountName,
  isArchitecture,
  isBackendName,
  isBuildId,
  isJobId,
  isJobNonce,
  isKeyid,
  isQueueName,
  isQueuePrefix,
  isRedisUser,
  isRequestNonce,
  isTokenScope,
  isTokenSecret,
  isWorkerId,
  jobIdRule,
  jobNonceRule,
  keyidRule,
  queueNameRule,
  redisUserRule,
  requestNonceRule,
  tokenScopeRule,
  tokenSecretRule,
  uuidRule,
  workerIdRule,
} from './identifiers.ts';

const cases: [string, (value: unknown) => boolean, readonly unknown[], readonly unknown[]][] = [
  [
    'build id',
    isBuildId,
    [randomUUID(), '0b7e2d8a-9d1c-4c0e-8f61-2a3b4c5d6e7f'],
    [randomUUID().toUpperCase(), '00000000-0000-0000-0000-000000000000', 'build-1', '', 42, undefined],
  ],
  [
    'job id',
    isJobId,
    ['job-1', 'x', `${randomUUID()}:attempt:3`, 'a_b-c', 'j'.repeat(128)],
    ['a:b', 'a:b:c:d', '12345', 'meta', 'wait', 'a b', 'a.b', '', 'j'.repeat(129), ':a:b', null],
  ],
  [
    'job nonce',
    isJobNonce,
    [randomBytes(32).toString('base64url'), `${'A'.repeat(42)}w`],
    [
      `${'A'.repeat(42)}B`, // unused low bits set: a second spelling of another nonce
      'A'.repeat(42),
      'A'.repeat(44),
      `${'A'.repeat(42)}+`,
      'nonce-0123456789abcdef',
    ],
  ],
  [
    'request nonce',
    isRequestNonce,
    [randomBytes(24).toString('base64url'), 'A'.repeat(22), 'A'.repeat(64)],
    ['A'.repeat(21), 'A'.repeat(65), 'a+b/c'.repeat(5)],
  ],
  [
    'worker id',
    isWorkerId,
    ['alpha-1', 'op1-w.3', '0', 'a'.repeat(63)],
    ['Alpha-1', '-a', 'a:b', 'a*', 'a?', 'a[b]', 'a b', 'a'.repeat(64), ''],
  ],
  ['account name', isAccountName, ['alpha', 'debian-maint', 'a.b_c'], ['Alpha', '.a', 'a'.repeat(64), 'a/b']],
  [
    'keyid',
    isKeyid,
    ['a'.repeat(64)],
    ['A'.repeat(64), 'a'.repeat(63), 'keyid-1', `sha256:${'a'.repeat(64)}`],
  ],
  ['queue name', isQueueName, ['rbnet-w-alpha-1', 'Q.1'], ['has:colon', '-q', 'q q', 'q'.repeat(129)]],
  ['queue prefix', isQueuePrefix, ['rbnet', '{rbnet}', 'a.b_c-d'], ['a:b', 'a*', '', 'p'.repeat(65)]],
  ['redis user', isRedisUser, ['worker:rbnet:alpha-1', 'u-w1'], ['worker rbnet', ':u', 'u'.repeat(129)]],
  [
    'architecture',
    isArchitecture,
    ['amd64', 'arm64', 'all'],
    ['AMD64', 'x86_64', 'a.b', '-a', 'a'.repeat(33)],
  ],
  ['backend', isBackendName, ['generic', 'debian'], ['Debian', '1debian', 'a_b', 'a'.repeat(33)]],
  [
    'token secret',
    isTokenSecret,
    [`rbnet_admin_${randomBytes(32).toString('base64url')}`],
    [`rbnet_root_${randomBytes(32).toString('base64url')}`, 'rbnet_admin_short', 'Bearer x'],
  ],
  ['token scope', isTokenScope, ['admin', 'submit', 'enrol'], ['Not A Scope', '1admin', 's'.repeat(33)]],
];

describe('identifier guards', () => {
  it.each(cases)('%s: accepts its own form and refuses the rest', (_name, guard, accepted, refused) => {
    for (const value of accepted) expect(guard(value), JSON.stringify(value)).toBe(true);
    for (const value of refused) expect(guard(value), JSON.stringify(value)).toBe(false);
  });

  it('job nonce: exactly the canonical unpadded base64url spellings of 32 bytes', () => {
    for (let i = 0; i < 500; i++) {
      const candidate = randomBytes(33).toString('base64url').slice(0, 43);
      const canonical = Buffer.from(candidate, 'base64url').toString('base64url') === candidate;
      expect(isJobNonce(candidate), candidate).toBe(canonical);
    }
  });

  it('job id: never a name BullMQ keeps beside job hashes', () => {
    for (const reserved of bullmqReservedJobIds) expect(isJobId(reserved), reserved).toBe(false);
  });
});

describe('identifier rules', () => {
  const rules: [string, IdentifierRule][] = [
    ['uuid', uuidRule],
    ['job id', jobIdRule],
    ['job nonce', jobNonceRule],
    ['request nonce', requestNonceRule],
    ['worker id', workerIdRule],
    ['account name', accountNameRule],
    ['keyid', keyidRule],
    ['queue name', queueNameRule],
    ['redis user', redisUserRule],
    ['architecture', architectureRule],
    ['backend', backendNameRule],
    ['token secret', tokenSecretRule],
    ['token scope', tokenScopeRule],
  ];

  it.each(rules)('%s: anchored at both ends, so a JSON Schema pattern means the same', (_name, rule) => {
    expect(rule.pattern.source.startsWith('^')).toBe(true);
    expect(rule.pattern.source.endsWith('$')).toBe(true);
    expect(rule.pattern.flags).toBe('');
  });

  it.each(rules)('%s: its pattern never accepts more characters than maxLength says', (_name, rule) => {
    expect(rule.pattern.test('a'.repeat(rule.maxLength + 1))).toBe(false);
  });
});
