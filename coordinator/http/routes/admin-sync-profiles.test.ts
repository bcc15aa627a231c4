// Sync profiles through the real app (app.request) and real SQLite: added, listed, paused, resumed
// and removed with the admin token only; every malformed field refused by name with nothing stored;
// answers read back with the CLI's parser.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAdminAnswer } from '../../../services/api/admin-accounts.ts';
import {
  syncProfileLimits,
  syncProfileListType,
  syncProfileViewType,
} from '../../../services/api/sync-profiles.ts';
import { sha256Hex } from '../../../services/digest.ts';
import { AuthTestCoordinator } from '../../../test/support/auth-test-coordinator.ts';

let coordinator: AuthTestCoordinator;
let keyringPath: string;
let maintainerToken: string;
const ARMORED =
  '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGS0\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n';

const asAdmin = () => ({
  authorization: `Bearer ${coordinator.adminToken}`,
  'content-type': 'application/json',
});

function profile(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    archive: {
      url: 'http://127.0.0.1:9/debian',
      suites: ['bookworm'],
      components: ['main'],
      architectures: ['amd64'],
      keyring: { path: keyringPath },
    },
    buildinfo: {
      urlTemplate: 'http://127.0.0.1:9/buildinfo-pool/{prefix}/{source}/{source}_{version}_{arch}.buildinfo',
    },
    maintainer: 'archive-bot',
    ...overrides,
  };
}

function withArchive(name: string, archive: Record<string, unknown>) {
  return profile(name, { archive: { ...(profile(name).archive as object), ...archive } });
}

async function add(body: unknown, headers: Record<string, string> = asAdmin()) {
  return coordinator.request('POST', '/v1/admin/sync-profiles', { body: JSON.stringify(body), headers });
}

async function names(): Promise<string[]> {
  const listed = await coordinator.request('GET', '/v1/admin/sync-profiles', { headers: asAdmin() });
  expect(listed.status).toBe(200);
  return parseAdminAnswer(syncProfileListType, JSON.stringify(listed.json)).profiles.map((p) => p.name);
}

beforeAll(async () => {
  coordinator = await AuthTestCoordinator.start();
  keyringPath = join(coordinator.root, 'archive-keyring.gpg');
  await writeFile(keyringPath, Buffer.from([0x99, 0x01, 0x0d]));
  const maintainer = await coordinator.admin('/v1/admin/maintainers', { name: 'archive-bot' });
  expect(maintainer.status).toBe(201);
  maintainerToken = (maintainer.json as { token: string }).token;
});
afterAll(async () => coordinator?.close());

describe('sync profiles', () => {
  it('are added with defaults, listed by priority, paused, resumed and removed', async () => {
    const low = `low-${randomUUID().slice(0, 8)}`;
    const high = `high-${randomUUID().slice(0, 8)}`;
    const added = await add(profile(low, { priority: 5, include: { names: ['hello', 'lib*'] } }));
    expect(added.status).toBe(201);
    const view = parseAdminAnswer(syncProfileViewType, JSON.stringify(added.json));
    expect(view).toMatchObject({
      name: low,
      priority: 5,
      rateLimitPerHour: 600,
      initialDelaySeconds: 3600,
      maintainer: 'archive-bot',
      paused: false,
      include: { names: ['hello', 'lib*'] },
      exclude: {},
      archive: { keyring: { path: keyringPath } },
    });
    const armored = await add(
      profile(high, {
        priority: 900,
        archive: { ...(profile(high).archive as object), keyring: { armored: ARMORED } },
        buildinfo: {
          urlTemplate: 'https://buildinfos.example/{source}/{version}/{arch}.buildinfo',
          keyring: { armored: ARMORED },
        },
      }),
    );
    expect(armored.status).toBe(201);
    // An armored key is shown by its digest, never echoed whole.
    expect(armored.json).toMatchObject({
      archive: { keyring: { armoredSha256: sha256Hex(ARMORED), armoredBytes: ARMORED.length } },
      buildinfo: { keyring: { armoredSha256: sha256Hex(ARMORED) } },
    });
    const listed = await names();
    expect(listed.indexOf(high)).toBeLessThan(listed.indexOf(low));

    const paused = await coordinator.request('POST', `/v1/admin/sync-profiles/${low}/pause`, {
      headers: asAdmin(),
    });
    expect(paused.status).toBe(200);
    expect(paused.json).toMatchObject({ name: low, paused: true });
    const again = await coordinator.request('POST', `/v1/admin/sync-profiles/${low}/pause`, {
      headers: asAdmin(),
    });
    expect(again.json).toMatchObject({ paused: true });
    const resumed = await coordinator.request('POST', `/v1/admin/sync-profiles/${low}/resume`, {
      headers: asAdmin(),
    });
    expect(resumed.json).toMatchObject({ paused: false });
    const shown = await coordinator.request('GET', `/v1/admin/sync-profiles/${low}`, { headers: asAdmin() });
    expect(shown.json).toMatchObject({ name: low, paused: false });

    const removed = await coordinator.request('POST', `/v1/admin/sync-profiles/${low}/remove`, {
      headers: asAdmin(),
    });
    expect(removed.status).toBe(200);
    expect(await names()).not.toContain(low);
    const gone = await coordinator.request('POST', `/v1/admin/sync-profiles/${low}/remove`, {
      headers: asAdmin(),
    });
    expect(gone.status).toBe(404);
    expect(
      (await coordinator.request('GET', `/v1/admin/sync-profiles/${low}`, { headers: asAdmin() })).status,
    ).toBe(404);
  });

  it('refuse a duplicate name and an unregistered maintainer', async () => {
    const name = `dup-${randomUUID().slice(0, 8)}`;
    expect((await add(profile(name))).status).toBe(201);
    const duplicate = await add(profile(name));
    expect(duplicate.status).toBe(409);
    expect(duplicate.json).toMatchObject({ error: { code: 'CONFLICT' } });
    const stranger = await add(profile(`m-${randomUUID().slice(0, 8)}`, { maintainer: 'nobody' }));
    expect(stranger.status).toBe(404);
    expect(stranger.json).toMatchObject({
      error: { code: 'NOT_FOUND', message: expect.stringMatching(/^maintainer: /) },
    });
  });

  it('need the admin token: a maintainer token and no token are refused', async () => {
    const name = `auth-${randomUUID().slice(0, 8)}`;
    const asMaintainer = { authorization: `Bearer ${maintainerToken}`, 'content-type': 'application/json' };
    expect((await add(profile(name), asMaintainer)).status).toBe(401);
    expect((await add(profile(name), { 'content-type': 'application/json' })).status).toBe(401);
    expect(
      (await coordinator.request('GET', '/v1/admin/sync-profiles', { headers: asMaintainer })).status,
    ).toBe(401);
    const pause = await coordinator.request('POST', `/v1/admin/sync-profiles/${name}/pause`, {
      headers: asMaintainer,
    });
    expect(pause.status).toBe(401);
    expect(await names()).not.toContain(name);
  });

  const hostile: [string, (name: string) => unknown, number, RegExp][] = [
    ['a bad name', (n) => profile(`${n}/../x`), 400, /^name: /],
    ['an unknown field', (n) => profile(n, { extra: 1 }), 400, /^extra: unknown field/],
    ['a missing archive', (n) => ({ ...profile(n), archive: undefined }), 400, /^archive: missing/],
    ['a file: mirror URL', (n) => withArchive(n, { url: 'file:///etc' }), 400, /^archive\.url: /],
    [
      'credentials in the URL',
      (n) => withArchive(n, { url: 'http://u:p@127.0.0.1/debian' }),
      400,
      /^archive\.url: credentials/,
    ],
    [
      'a query in the URL',
      (n) => withArchive(n, { url: 'http://127.0.0.1/debian?x=1' }),
      400,
      /^archive\.url: /,
    ],
    [
      'an over-long URL',
      (n) => withArchive(n, { url: `http://127.0.0.1/${'a'.repeat(600)}` }),
      400,
      /^archive\.url: /,
    ],
    ['no suites', (n) => withArchive(n, { suites: [] }), 400, /^archive\.suites: /],
    [
      'a suite with a slash',
      (n) => withArchive(n, { suites: ['../../etc'] }),
      400,
      /^archive\.suites\[0\]: /,
    ],
    [
      'a repeated component',
      (n) => withArchive(n, { components: ['main', 'main'] }),
      400,
      /^archive\.components: /,
    ],
    [
      'too many architectures',
      (n) => withArchive(n, { architectures: Array.from({ length: 17 }, (_, i) => `a${i}`) }),
      400,
      /^archive\.architectures: /,
    ],
    [
      'a relative keyring path',
      (n) => withArchive(n, { keyring: { path: 'keyring.gpg' } }),
      400,
      /^archive\.keyring\.path: /,
    ],
    [
      'a keyring path with ..',
      (n) => withArchive(n, { keyring: { path: '/etc/../etc/passwd' } }),
      400,
      /^archive\.keyring\.path: /,
    ],
    [
      'a missing keyring file',
      (n) => withArchive(n, { keyring: { path: '/nonexistent/keyring.gpg' } }),
      400,
      /^archive\.keyring\.path: no regular file/,
    ],
    [
      'a directory as keyring',
      (n) => withArchive(n, { keyring: { path: '/tmp' } }),
      400,
      /^archive\.keyring\.path: no regular file/,
    ],
    [
      'both path and armored',
      (n) => withArchive(n, { keyring: { path: keyringPath, armored: ARMORED } }),
      400,
      /^archive\.keyring: expected exactly one/,
    ],
    [
      'armor that is not a key block',
      (n) =>
        withArchive(n, {
          keyring: { armored: `-----BEGIN PGP MESSAGE-----\n${'x'.repeat(80)}\n-----END PGP MESSAGE-----` },
        }),
      400,
      /^archive\.keyring\.armored: /,
    ],
    [
      'an unknown template placeholder',
      (n) => profile(n, { buildinfo: { urlTemplate: 'http://127.0.0.1/{source}_{version}_{arch}{evil}' } }),
      400,
      /^buildinfo\.urlTemplate: unknown placeholder \{evil\}/,
    ],
    [
      'a template without {version}',
      (n) => profile(n, { buildinfo: { urlTemplate: 'http://127.0.0.1/{source}_{arch}.buildinfo' } }),
      400,
      /^buildinfo\.urlTemplate: the placeholder \{version\}/,
    ],
    [
      'a template on another scheme',
      (n) => profile(n, { buildinfo: { urlTemplate: 'ftp://127.0.0.1/{source}_{version}_{arch}' } }),
      400,
      /^buildinfo\.urlTemplate: /,
    ],
    [
      'an include name with a space',
      (n) => profile(n, { include: { names: ['a b'] } }),
      400,
      /^include\.names\[0\]: /,
    ],
    [
      'an exclude section glob with a bracket',
      (n) => profile(n, { exclude: { sections: ['[a]'] } }),
      400,
      /^exclude\.sections\[0\]: /,
    ],
    ['a priority out of range', (n) => profile(n, { priority: 1001 }), 400, /^priority: /],
    ['a fractional rate limit', (n) => profile(n, { rateLimitPerHour: 1.5 }), 400, /rateLimitPerHour: /],
    ['a zero rate limit', (n) => profile(n, { rateLimitPerHour: 0 }), 400, /^rateLimitPerHour: /],
    [
      'an initial delay over 7 days',
      (n) => profile(n, { initialDelaySeconds: 604_801 }),
      400,
      /^initialDelaySeconds: /,
    ],
    ['a bad maintainer name', (n) => profile(n, { maintainer: 'Bad Name' }), 400, /^maintainer: /],
    [
      'an oversized body',
      (n) => withArchive(n, { keyring: { armored: 'x'.repeat(syncProfileLimits.maxBodyBytes) } }),
      413,
      /./,
    ],
  ];
  it.each(hostile)('refuse %s by name and store nothing', async (_what, body, status, message) => {
    const name = `h-${randomUUID().slice(0, 8)}`;
    const answer = await add(body(name));
    expect(answer.status).toBe(status);
    expect((answer.json as { error: { message: string } }).error.message).toMatch(message);
    expect(await names()).not.toContain(name);
  });

  it('refuse a malformed profile name in the path', async () => {
    const answer = await coordinator.request('POST', '/v1/admin/sync-profiles/BAD%20NAME/pause', {
      headers: asAdmin(),
    });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({
      error: { code: 'INVALID', message: expect.stringMatching(/^name: /) },
    });
  });
});
