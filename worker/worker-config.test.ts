// Unit tests for the worker configuration's Debian package-source settings (snapshot archive, evidence store).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../services/errors.ts';
import { snapshotArchivesOf } from './debian/create-debian-backend.ts';
import { loadWorkerConfig } from './worker-config.ts';

describe('worker configuration: where Debian packages may come from', () => {
  let stateDir: string;

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'rbnet-config-'));
  });

  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  const load = (env: Record<string, string>) =>
    loadWorkerConfig({ env: { RBNET_STATE_DIR: stateDir, ...env } });

  it('has no snapshot archive and a 20 GiB evidence store by default', () => {
    const { debian } = load({});
    expect(debian.snapshotUrl).toBe('');
    expect(debian.snapshotSuites).toEqual([]);
    expect(debian.evidenceDir).toBe('');
    expect(debian.evidenceMaxBytes).toBe(20 * 1024 ** 3);
    expect(snapshotArchivesOf(debian)).toEqual([
      { name: 'debian', suites: ['bookworm', 'bookworm-updates'] },
      { name: 'debian-security', suites: ['bookworm-security'] },
    ]);
  });

  it('reads the settings from the environment, then the config file', async () => {
    const env = {
      RBNET_DEBIAN_SNAPSHOT_URL: 'https://snapshot.debian.org',
      RBNET_DEBIAN_SNAPSHOT_SUITES: 'bookworm,bookworm-proposed-updates',
      RBNET_DEBIAN_EVIDENCE_DIR: '/srv/evidence',
      RBNET_DEBIAN_EVIDENCE_BYTES: '1073741824',
      RBNET_DEBIAN_SECURITY_MIRROR: '',
    };
    const { debian } = load(env);
    expect(debian).toMatchObject({
      snapshotUrl: 'https://snapshot.debian.org',
      snapshotSuites: ['bookworm', 'bookworm-proposed-updates'],
      evidenceDir: '/srv/evidence',
      evidenceMaxBytes: 1024 ** 3,
    });
    expect(snapshotArchivesOf(debian)).toEqual([
      { name: 'debian', suites: ['bookworm', 'bookworm-proposed-updates'] },
    ]);
    await writeFile(
      join(stateDir, 'config.json'),
      JSON.stringify({ debian: { snapshotUrl: 'http://snapshot.example/', evidenceMaxBytes: 5000 } }),
    );
    const fromFile = loadWorkerConfig({
      env: { RBNET_STATE_DIR: stateDir, RBNET_WORKER_DIR: stateDir },
    }).debian;
    expect(fromFile.snapshotUrl).toBe('http://snapshot.example/');
    expect(fromFile.evidenceMaxBytes).toBe(5000);
  });

  it.each([
    [
      'a snapshot URL that is not http(s)',
      { RBNET_DEBIAN_SNAPSHOT_URL: 'ftp://snapshot' },
      /RBNET_DEBIAN_SNAPSHOT_URL/,
    ],
    [
      'a snapshot suite that is not a suite',
      { RBNET_DEBIAN_SNAPSHOT_SUITES: 'book worm' },
      /RBNET_DEBIAN_SNAPSHOT_SUITES/,
    ],
    ['an evidence size of zero', { RBNET_DEBIAN_EVIDENCE_BYTES: '0' }, /RBNET_DEBIAN_EVIDENCE_BYTES/],
  ])('refuses %s, naming the setting', (_label, env, message) => {
    expect(() => load(env)).toThrow(ConfigError);
    expect(() => load(env)).toThrow(message);
  });
});
