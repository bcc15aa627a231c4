// `rbnet admin sync uploads` through the CLI entry point against a real coordinator on a loopback
// socket: one page of a profile's uploads with why they wait, filters, the cursor of the next page,
// --json, --help; bad flags refused by the CLI (exit 2), refusals of the coordinator passed on (exit 1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSyncUploadPage } from '../../services/api/sync-uploads.ts';
import { AuthTestCoordinator } from '../../test/support/auth-test-coordinator.ts';
import { runCli } from '../../test/support/run-cli.ts';
import { readSuiteIndex, SUITES_T0, suitesProfile, upload } from '../../test/support/suite-builds.ts';

let coordinator: AuthTestCoordinator;
let server: { url: string; close(): Promise<void> };
let env: Record<string, string>;

beforeAll(async () => {
  coordinator = await AuthTestCoordinator.start();
  server = await coordinator.listen();
  env = { RBNET_COORDINATOR: server.url, RBNET_ADMIN_TOKEN: coordinator.adminToken };
  const store = coordinator.fixture.store;
  expect((await coordinator.admin('/v1/admin/maintainers', { name: 'bot' })).status).toBe(201);
  await store.syncProfiles.addSyncProfile(suitesProfile('debian', ['bookworm']), SUITES_T0);
  await readSuiteIndex(store, 'debian', 'bookworm', [upload('hello', '2.10-3'), upload('zlib', '1.3-1')]);
  const [hello] = await store.syncProgress.listUploads('debian');
  await store.syncProgress.deferUpload(hello!, {
    reason: 'buildinfo-missing',
    detail: 'HTTP 404',
    dueAt: new Date('2026-12-01T02:00:00Z'),
    uploadClass: 'retry',
    countTry: true,
  });
});
afterAll(async () => {
  await server?.close();
  await coordinator?.close();
});

describe('rbnet admin sync uploads', () => {
  it('lists uploads and why they wait, filtered, a page at a time', async () => {
    const all = await runCli(['admin', 'sync', 'uploads', 'debian'], { env });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toBe(
      'hello 2.10-3 amd64 [bookworm] pending: buildinfo-missing (HTTP 404), due 2026-12-01T02:00:00.000Z, tries 1\n' +
        'zlib 1.3-1 amd64 [bookworm] pending, due 2026-12-01T00:00:00.000Z, tries 0\n',
    );
    const missing = await runCli(
      ['admin', 'sync', 'uploads', 'debian', '--state', 'pending', '--reason', 'buildinfo-missing', '--json'],
      { env },
    );
    expect(missing.code, missing.stderr).toBe(0);
    expect(readSyncUploadPage(missing.stdout).uploads.map((u) => u.source)).toEqual(['hello']);
    const first = await runCli(['admin', 'sync', 'uploads', 'debian', '--limit', '1'], { env });
    const cursor = /^more: --cursor (\S+)$/m.exec(first.stdout)?.[1];
    expect(cursor).toBeDefined();
    const next = await runCli(['admin', 'sync', 'uploads', 'debian', '--cursor', cursor!], { env });
    expect(next.stdout).toMatch(/^zlib 1.3-1 amd64/);
    expect(next.stdout).not.toContain('more:');
    const help = await runCli(['admin', 'sync', 'uploads', '--help'], { env });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: rbnet admin sync uploads NAME');
  });

  it('refuses bad flags itself and passes on what the coordinator refuses', async () => {
    const state = await runCli(['admin', 'sync', 'uploads', 'debian', '--state', 'done'], { env });
    expect(state.code).toBe(2);
    expect(state.stderr).toContain('--state: expected one of pending, submitting, submitted');
    const reason = await runCli(['admin', 'sync', 'uploads', 'debian', '--reason', 'why'], { env });
    expect(reason.code).toBe(2);
    const cursor = await runCli(['admin', 'sync', 'uploads', 'debian', '--cursor', 'forged'], { env });
    expect(cursor.code).toBe(1);
    expect(cursor.stderr).toContain('cursor: ');
    const unknown = await runCli(['admin', 'sync', 'uploads', 'nobody'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('[NOT_FOUND]');
    const noToken = await runCli(['admin', 'sync', 'uploads', 'debian'], {
      env: { RBNET_COORDINATOR: server.url },
    });
    expect(noToken.code).toBe(2);
  });
});
