// Enrols one Debian-capable worker for each of `operators` through the real enrolment routes of a
// coordinator app, so a submission finds enough distinct operators (archive-sync tests).
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { createCoordinatorApp } from '../../coordinator/http/create-app.ts';
import type { SqliteStores } from '../../coordinator/storage/sqlite/open-sqlite-stores.ts';
import { LOOPBACK_ENV } from './post-worker-result.ts';
import { enrolmentRequestFor, newTestWorkerKeys } from './test-worker-keys.ts';

export async function enrolDebianWorkers(
  app: ReturnType<typeof createCoordinatorApp>,
  store: SqliteStores,
  operators: readonly string[],
): Promise<void> {
  const admin = (
    await store.registry.createToken({ kind: 'admin', subject: 'admin', scopes: ['admin'], singleUse: false })
  ).secret;
  const call = (path: string, body: string | Buffer, headers: Record<string, string>) =>
    app.request(
      path,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: body as unknown as BodyInit,
      },
      LOOPBACK_ENV,
    );
  for (const operator of operators) {
    await store.registry.addOperator(operator);
    const token = await call('/v1/admin/enrolment-tokens', JSON.stringify({ operator }), {
      authorization: `Bearer ${admin}`,
    });
    const { body, headers } = await enrolmentRequestFor(
      newTestWorkerKeys(`${operator}-${randomUUID().slice(0, 6)}`),
      {
        origin: 'http://127.0.0.1:8470',
        token: ((await token.json()) as { token: string }).token,
        backends: ['debian'],
        capacity: { cores: 4, memoryBytes: 2 ** 34, diskBytes: 2 ** 36 },
      },
    );
    const enrolled = await call('/v1/workers/enrol', body, headers);
    expect(enrolled.status, await enrolled.clone().text()).toBe(201);
  }
}
