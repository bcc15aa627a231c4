// A coordinator app on real SQLite for the alert tests: its stores, an admin token, a request helper
// that speaks as the administrator (or as nobody), and one pass of the alert deriver.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { deriveAlertEvents } from '../../coordinator/alerts/derive-alert-events.ts';
import { createCoordinatorApp } from '../../coordinator/http/create-app.ts';
import { LOOPBACK_ENV } from './auth-test-coordinator.ts';
import { createTestCoordinatorDeps, type TestCoordinatorDeps } from './coordinator-deps-fixture.ts';

export interface AlertApp {
  readonly fixture: TestCoordinatorDeps;
  readonly adminToken: string;
  /** `token` null: no Authorization header; a string body is sent as it is, anything else as JSON. */
  request(method: string, path: string, body?: unknown, token?: string | null): Promise<Response>;
  /** One pass of the alert deriver over the verdict changes waiting. */
  derive(): Promise<void>;
  close(): Promise<void>;
}

export async function startAlertApp(tempPrefix: string): Promise<AlertApp> {
  const root = await mkdtemp(join(tmpdir(), tempPrefix));
  const fixture = await createTestCoordinatorDeps(root);
  const app = createCoordinatorApp(fixture.deps);
  const adminToken = (
    await fixture.store.registry.createToken({
      kind: 'admin',
      subject: 'admin',
      scopes: ['admin'],
      singleUse: false,
    })
  ).secret;
  return {
    fixture,
    adminToken,
    request: async (method, path, body, token = adminToken) =>
      app.request(
        path,
        {
          method,
          headers: {
            ...(token !== null && { authorization: `Bearer ${token}` }),
            ...(body !== undefined && { 'content-type': 'application/json' }),
          },
          ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        },
        LOOPBACK_ENV,
      ),
    derive: async () => {
      await deriveAlertEvents({
        builds: fixture.store.builds,
        alerts: fixture.store.alerts,
        logger: pino({ level: 'silent' }),
        publicUrl: fixture.deps.config.publicUrl,
      });
    },
    close: async () => {
      await fixture.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
