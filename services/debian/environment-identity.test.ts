// Unit tests for the published environment identity: exact bytes, order independence, refusals.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Sha256Hex } from '../digest.ts';
import { DebianFormatError } from '../errors.ts';
import {
  type EnvironmentPackage,
  environmentIdentityLines,
  environmentIdentitySha256,
} from './environment-identity.ts';

const sha = (c: string): Sha256Hex => c.repeat(64) as Sha256Hex;

const PACKAGES: EnvironmentPackage[] = [
  { name: 'hello', architecture: 'amd64', version: '2.10-3', sha256: sha('1') },
  { name: 'base-files', architecture: 'amd64', version: '12.4+deb12u11', sha256: sha('2') },
  { name: 'libc6', architecture: 'i386', version: '2.36-9+deb12u10', sha256: sha('3') },
  { name: 'libc6', architecture: 'amd64', version: '2.36-9+deb12u10', sha256: sha('4') },
  { name: 'tzdata', architecture: 'all', version: '2025b-0+deb12u1', sha256: sha('5') },
];

describe('environment identity', () => {
  it('hashes exactly the sorted, LF-terminated lines', () => {
    const expectedText =
      `base-files amd64 12.4+deb12u11 ${'2'.repeat(64)}\n` +
      `hello amd64 2.10-3 ${'1'.repeat(64)}\n` +
      `libc6 amd64 2.36-9+deb12u10 ${'4'.repeat(64)}\n` +
      `libc6 i386 2.36-9+deb12u10 ${'3'.repeat(64)}\n` +
      `tzdata all 2025b-0+deb12u1 ${'5'.repeat(64)}\n`;
    expect(`${environmentIdentityLines(PACKAGES).join('\n')}\n`).toBe(expectedText);
    expect(environmentIdentitySha256(PACKAGES)).toBe(
      createHash('sha256').update(expectedText, 'ascii').digest('hex'),
    );
  });

  it('pins the identity of a one-package environment', () => {
    const one = [{ name: 'hello', architecture: 'amd64', version: '2.10-3', sha256: sha('a') }];
    // printf 'hello amd64 2.10-3 %s\n' aaaa…(64) | sha256sum
    expect(environmentIdentitySha256(one)).toBe(
      '52f2b421e62056f00954fc3c1df5628463c12de2383a064e8ac39dd83460224f',
    );
  });

  it('does not depend on input order', () => {
    const reversed = [...PACKAGES].reverse();
    const shuffled = [PACKAGES[2]!, PACKAGES[0]!, PACKAGES[4]!, PACKAGES[1]!, PACKAGES[3]!];
    const identity = environmentIdentitySha256(PACKAGES);
    expect(environmentIdentitySha256(reversed)).toBe(identity);
    expect(environmentIdentitySha256(shuffled)).toBe(identity);
  });

  it('changes when any field changes', () => {
    const identity = environmentIdentitySha256(PACKAGES);
    const changed = PACKAGES.map((p, i) => (i === 0 ? { ...p, sha256: sha('9') } : p));
    expect(environmentIdentitySha256(changed)).not.toBe(identity);
  });

  it('refuses two packages with the same name and architecture, an empty list and malformed fields', () => {
    const duplicate = [...PACKAGES, { ...PACKAGES[0]!, version: '2.10-2', sha256: sha('6') }];
    expect(() => environmentIdentitySha256(duplicate)).toThrow(DebianFormatError);
    expect(() => environmentIdentitySha256(duplicate)).toThrow(
      /hello:amd64 appears twice \(2\.10-3 and 2\.10-2\)/,
    );
    expect(() => environmentIdentitySha256([])).toThrow(DebianFormatError);
    const bad: EnvironmentPackage[] = [
      { ...PACKAGES[0]!, name: 'Hello' },
      { ...PACKAGES[0]!, name: 'hello world' },
      { ...PACKAGES[0]!, architecture: 'amd 64' },
      { ...PACKAGES[0]!, version: '2.10 3' },
      { ...PACKAGES[0]!, version: '2.10-3\nx' },
      { ...PACKAGES[0]!, sha256: 'A'.repeat(64) as Sha256Hex },
    ];
    for (const pkg of bad) expect(() => environmentIdentitySha256([pkg])).toThrow(DebianFormatError);
  });
});
