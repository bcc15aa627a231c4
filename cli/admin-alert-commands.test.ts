// `rbnet admin alerts ...` against the real coordinator app served on 127.0.0.1 (real SQLite).
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinatorApp } from '../coordinator/http/create-app.ts';
import {
  createTestCoordinatorDeps,
  type TestCoordinatorDeps,
} from '../test/support/coordinator-deps-fixture.ts';
import { runCli } from '../test/support/run-cli.ts';

let root: string;
let fixture: TestCoordinatorDeps;
let server: ReturnType<typeof serve>;
let env: Record<string, string>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-alert-cli-'));
  fixture = await createTestCoordinatorDeps(root);
  server = serve({ fetch: createCoordinatorApp(fixture.deps).fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const token = await fixture.store.registry.createToken({
    kind: 'admin',
    subject: 'admin',
    scopes: ['admin'],
    singleUse: false,
  });
  env = {
    RBNET_ADMIN_TOKEN: token.secret,
    RBNET_COORDINATOR: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await fixture.close();
  await rm(root, { recursive: true, force: true });
});

describe('rbnet admin alerts', () => {
  it('adds, lists, removes, and lists dead letters', async () => {
    const added = await runCli(
      [
        'admin',
        'alerts',
        'add',
        '--url',
        'https://hooks.example/rbnet',
        '--package',
        'hello',
        '--suite',
        'bookworm',
        '--json',
      ],
      { env },
    );
    expect(added.code).toBe(0);
    const answer = JSON.parse(added.stdout) as { subscription: { subscriptionId: string }; secret: string };
    const id = answer.subscription.subscriptionId;

    const listed = await runCli(['admin', 'alerts', 'list'], { env });
    expect(listed.stdout).toBe(`${id} webhook https://hooks.example/rbnet package=hello suite=bookworm\n`);
    expect(listed.stdout).not.toContain(answer.secret);

    expect((await runCli(['admin', 'alerts', 'dead-letters'], { env })).code).toBe(0);
    expect((await runCli(['admin', 'alerts', 'remove', id], { env })).stdout).toBe(
      `subscription ${id} removed\n`,
    );
    const again = await runCli(['admin', 'alerts', 'remove', id], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('not found');
  });

  it('a malformed URL is refused with the field named, nothing stored', async () => {
    const refused = await runCli(['admin', 'alerts', 'add', '--url', 'file:///etc/passwd'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('url: only http and https URLs are allowed');
    expect(await fixture.store.alerts.listSubscriptions()).toEqual([]);
    expect((await runCli(['admin', 'alerts', 'add'], { env })).code).toBe(2);
  });
});
