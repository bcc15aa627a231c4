// `rbnet admin sync add|list|pause|resume|remove` through the CLI entry point against a real
// coordinator on a loopback socket: flags become a profile, an armored key file is sent whole, and
// the coordinator's refusals come back naming the field with exit code 1.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthTestCoordinator } from '../../test/support/auth-test-coordinator.ts';
import { runCli } from '../../test/support/run-cli.ts';

let coordinator: AuthTestCoordinator;
let server: { url: string; close(): Promise<void> };
let env: Record<string, string>;
let keyringPath: string;
let armoredPath: string;

beforeAll(async () => {
  coordinator = await AuthTestCoordinator.start();
  server = await coordinator.listen();
  env = { RBNET_COORDINATOR: server.url, RBNET_ADMIN_TOKEN: coordinator.adminToken };
  keyringPath = join(coordinator.root, 'keyring.gpg');
  await writeFile(keyringPath, Buffer.from([0x99, 0x01]));
  armoredPath = join(coordinator.root, 'key.asc');
  await writeFile(
    armoredPath,
    '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n',
  );
  expect((await coordinator.admin('/v1/admin/maintainers', { name: 'archive-bot' })).status).toBe(201);
});
afterAll(async () => {
  await server?.close();
  await coordinator?.close();
});

function addArgs(name: string, extra: string[] = []): string[] {
  return [
    'admin',
    'sync',
    'add',
    name,
    '--archive',
    'http://127.0.0.1:9/debian',
    '--suite',
    'bookworm,bookworm-updates',
    '--component',
    'main',
    '--arch',
    'amd64',
    '--arch',
    'arm64',
    '--keyring',
    keyringPath,
    '--buildinfo-url',
    'http://127.0.0.1:9/{prefix}/{source}/{source}_{version}_{arch}.buildinfo',
    '--maintainer',
    'archive-bot',
    ...extra,
  ];
}

describe('rbnet admin sync', () => {
  it('adds, lists, pauses, resumes and removes a profile', async () => {
    const name = `cli-${randomUUID().slice(0, 8)}`;
    const added = await runCli(
      addArgs(name, [
        '--include',
        'hello',
        '--exclude-section',
        'non-free/*',
        '--buildinfo-keyring-armored',
        armoredPath,
        '--priority',
        '7',
        '--json',
      ]),
      { env, cwd: coordinator.root },
    );
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      name,
      priority: 7,
      archive: {
        suites: ['bookworm', 'bookworm-updates'],
        architectures: ['amd64', 'arm64'],
        keyring: { path: keyringPath },
      },
      buildinfo: { keyring: { armoredBytes: expect.any(Number) } },
      include: { names: ['hello'] },
      exclude: { sections: ['non-free/*'] },
    });
    const listed = await runCli(['admin', 'sync', 'list'], { env });
    expect(listed.stdout).toContain(
      `${name}: http://127.0.0.1:9/debian bookworm,bookworm-updates main amd64,arm64 as archive-bot, priority 7`,
    );
    expect((await runCli(['admin', 'sync', 'pause', name], { env })).stdout).toContain(
      `sync profile ${name} paused`,
    );
    expect((await runCli(['admin', 'sync', 'list'], { env })).stdout).toContain(`${name} [paused]`);
    expect((await runCli(['admin', 'sync', 'resume', name], { env })).code).toBe(0);
    expect((await runCli(['admin', 'sync', 'remove', name], { env })).stdout).toContain(
      `sync profile ${name} removed`,
    );
    const again = await runCli(['admin', 'sync', 'remove', name], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('[NOT_FOUND]');
  });

  it('passes on the refusal naming the bad field, and refuses bad flags itself', async () => {
    const refused = await runCli(addArgs(`bad-${randomUUID().slice(0, 8)}`, ['--rate-limit-per-hour', '0']), {
      env,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/\[INVALID\]: rateLimitPerHour: /);
    const usage = await runCli(addArgs('x', ['--priority', 'high']), { env });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--priority: expected a whole number');
    const noKeyring = await runCli(
      addArgs('x').filter((a) => a !== '--keyring' && a !== keyringPath),
      { env },
    );
    expect(noKeyring.code).toBe(2);
    expect(
      (await runCli(['admin', 'sync', 'list'], { env: { ...env, RBNET_ADMIN_TOKEN: 'rbnet_admin_wrong' } }))
        .code,
    ).toBe(1);
  });
});
