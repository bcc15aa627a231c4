// The alert loop against real SQLite and a real HTTP receiver on 127.0.0.1: events derived from
// recorded verdicts, signed deliveries retried after failures, dead letters, the address policy, and
// a restart in the middle of a delivery.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AlertEventBody, alertEventBodyType } from '../../services/api/alerts.ts';
import { parseWire } from '../../services/api/wire-type.ts';
import { sha256Hex } from '../../services/digest.ts';
import {
  createAlertBuild,
  recordVerdicts,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../../test/support/alert-fixture.ts';
import { openSqliteStores, type SqliteStores } from '../storage/sqlite/open-sqlite-stores.ts';
import { AlertDispatcher } from './alert-dispatcher.ts';
import { type AlertSettings, alertDefaults } from './alert-settings.ts';

const SECRET = 'a-shared-secret-of-at-least-32-characters';
const settings: AlertSettings = {
  ...alertDefaults,
  backoffMs: 1,
  backoffMaxMs: 4,
  maxAttempts: 4,
  timeoutMs: 5_000,
  allowedWebhookCidrs: ['127.0.0.0/8'],
};

let root: string;
let stores: SqliteStores;
let receiver: WebhookReceiver;
const dispatchers: AlertDispatcher[] = [];

function dispatcher(overrides: Partial<AlertSettings> = {}): AlertDispatcher {
  const made = new AlertDispatcher({
    alerts: stores.alerts,
    builds: stores.builds,
    logger: pino({ level: process.env.ALERT_TEST_LOG ?? 'silent' }),
    publicUrl: 'https://rbnet.example',
    settings: { ...settings, ...overrides },
    now: () => new Date(),
  });
  dispatchers.push(made);
  return made;
}

/** Runs passes until `done` holds; a pass that is never enough fails the test by its timeout. */
async function passUntil(loop: AlertDispatcher, done: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await done())) {
    await loop.tick();
    await loop.settle();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function subscribe(url: string, filter: { package?: string } = {}): Promise<string> {
  const subscriptionId = randomUUID();
  await stores.alerts.addSubscription({
    subscriptionId,
    kind: 'webhook',
    url,
    secret: SECRET,
    ...filter,
    createdBy: 'admin',
    createdAt: new Date(),
  });
  return subscriptionId;
}

/** hello v1 reproduces, then hello v2 diverges: a regression. */
async function regression(name = 'hello'): Promise<string> {
  const v1 = await createAlertBuild(stores.builds, { name, version: 1 });
  await recordVerdicts(stores.builds, v1, 'reproducible');
  const v2 = await createAlertBuild(stores.builds, { name, version: 2 });
  await recordVerdicts(stores.builds, v2, 'diverged');
  return v2;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-alerts-'));
  stores = openSqliteStores(join(root, 'db.sqlite'));
  receiver = await startWebhookReceiver(SECRET);
});

afterEach(async () => {
  for (const made of dispatchers.splice(0)) await made.stop();
  await receiver.close();
  await stores.close();
  await rm(root, { recursive: true, force: true });
});

describe('alert delivery', () => {
  it('signs the exact body, retries after 500s with the same event id, then succeeds', async () => {
    await subscribe(receiver.url);
    const buildId = await regression();
    receiver.script(500, 500, 200);
    const loop = dispatcher();
    await passUntil(loop, () => receiver.received.length >= 3);
    await loop.settle();

    expect(receiver.received.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
    expect(new Set(receiver.received.map((r) => r.eventId)).size).toBe(1);
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    const body: AlertEventBody = parseWire(alertEventBodyType, receiver.received[0]!.body, {
      maxBytes: 65536,
      what: 'webhook body',
      side: 'answer',
    });
    expect(body).toMatchObject({
      eventId: receiver.received[0]!.eventId,
      kind: 'regression',
      build: {
        buildId,
        package: 'hello',
        verdict: 'diverged',
        previousVerdict: 'pending',
        maintainer: 'maint',
      },
      previousVersion: { verdict: 'reproducible' },
    });
    expect(await stores.alerts.listDeadLetters(10)).toEqual([]);
    // Delivered: further passes send nothing.
    await loop.tick();
    await loop.settle();
    expect(receiver.received).toHaveLength(3);
  });

  it('a receiver holding another secret refuses the signature', async () => {
    const other = await startWebhookReceiver('another-secret-that-is-32-characters-long');
    try {
      await subscribe(other.url);
      await regression();
      const loop = dispatcher();
      await passUntil(loop, () => other.received.length >= 1);
      expect(other.received[0]!.signatureValid).toBe(false);
    } finally {
      await other.close();
    }
  });

  it('dead-letters a delivery after maxAttempts failures and stops sending it', async () => {
    const subscriptionId = await subscribe(receiver.url);
    await regression();
    receiver.script(500, 503, 500, 502, 500, 500);
    const loop = dispatcher({ maxAttempts: 4 });
    await passUntil(loop, async () => (await stores.alerts.listDeadLetters(10)).length > 0);
    const [dead] = await stores.alerts.listDeadLetters(10);
    expect(dead).toMatchObject({
      subscriptionId,
      kind: 'regression',
      attempts: 4,
      lastError: 'answered 502',
    });
    expect(dead!.eventId).toBe(receiver.received[0]!.eventId);
    await loop.tick();
    await loop.settle();
    expect(receiver.received).toHaveLength(4);
  });

  it('refuses a loopback receiver unless its network is allowed: a dead letter, nothing sent', async () => {
    await subscribe(receiver.url);
    await regression();
    const loop = dispatcher({ allowedWebhookCidrs: [] });
    await passUntil(loop, async () => (await stores.alerts.listDeadLetters(10)).length > 0);
    const [dead] = await stores.alerts.listDeadLetters(10);
    expect(dead!.lastError).toBe('address 127.0.0.1 is not allowed');
    expect(dead!.attempts).toBe(1);
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses a name that resolves to loopback when loopback is not allowed', async () => {
    await subscribe(receiver.url.replace('127.0.0.1', 'localhost'));
    await regression();
    const loop = dispatcher({ allowedWebhookCidrs: [] });
    await passUntil(loop, async () => (await stores.alerts.listDeadLetters(10)).length > 0);
    expect((await stores.alerts.listDeadLetters(10))[0]!.lastError).toMatch(/of localhost is not allowed$/);
    expect(receiver.received).toHaveLength(0);
  });

  it('follows no redirect: a 302 is a failed attempt', async () => {
    await subscribe(receiver.url);
    await regression();
    receiver.script(302, 302, 302, 302);
    const loop = dispatcher({ maxAttempts: 2 });
    await passUntil(loop, async () => (await stores.alerts.listDeadLetters(10)).length > 0);
    expect((await stores.alerts.listDeadLetters(10))[0]!.lastError).toBe(
      'answered 302 (redirects are not followed)',
    );
    expect(receiver.received).toHaveLength(2);
  });

  it('reads at most maxResponseBytes of an answer: an endless body still ends the attempt', async () => {
    await subscribe(receiver.url);
    await regression();
    receiver.script('flood');
    const loop = dispatcher({ maxResponseBytes: 1024, timeoutMs: 60_000 });
    await passUntil(
      loop,
      async () =>
        (await stores.alerts.listDueDeliveries(new Date(), 10, new Set())).length === 0 &&
        receiver.received.length > 0,
    );
    expect(receiver.received).toHaveLength(1);
    expect(await stores.alerts.listDeadLetters(10)).toEqual([]);
  });

  it('a restart mid-delivery resends only the interrupted event, with the same id and body', async () => {
    await subscribe(receiver.url);
    await regression('first');
    receiver.script(200, 'hold');
    const loop = dispatcher();
    await passUntil(loop, () => receiver.received.length >= 1);
    await regression('second');
    await loop.tick();
    await receiver.waitFor(2);
    // The coordinator stops while the receiver holds the second request's answer.
    await loop.stop();
    await stores.close();
    stores = openSqliteStores(join(root, 'db.sqlite'));

    const restarted = dispatcher();
    await passUntil(restarted, () => receiver.received.length >= 3);
    await restarted.settle();
    for (let pass = 0; pass < 3; pass += 1) {
      await restarted.tick();
      await restarted.settle();
    }
    const [first, held, resent] = receiver.received;
    expect(receiver.received).toHaveLength(3);
    expect(resent!.eventId).toBe(held!.eventId);
    expect(resent!.body).toBe(held!.body);
    expect(first!.eventId).not.toBe(held!.eventId);
    // Deduplicated by event id, the receiver saw each event exactly once.
    expect(new Set(receiver.received.map((r) => r.eventId)).size).toBe(2);
  });

  it('delivers only events matching the subscription filter', async () => {
    await subscribe(receiver.url, { package: 'wanted' });
    await regression('unwanted');
    await regression('wanted');
    const loop = dispatcher();
    await passUntil(loop, () => receiver.received.length >= 1);
    for (let pass = 0; pass < 3; pass += 1) {
      await loop.tick();
      await loop.settle();
    }
    expect(receiver.received).toHaveLength(1);
    expect(JSON.parse(receiver.received[0]!.body).build.package).toBe('wanted');
  });
});

describe('alert derivation', () => {
  it('a verdict change recorded but not yet derived survives a restart and becomes one event', async () => {
    await subscribe(receiver.url);
    const buildId = await regression();
    // The coordinator stops before any pass ran: the change waits in the database, queued by the
    // verdict's own transaction.
    await stores.close();
    stores = openSqliteStores(join(root, 'db.sqlite'));
    expect((await stores.alerts.listPendingVerdicts(10)).map((p) => p.buildId)).toEqual([buildId]);
    const loop = dispatcher();
    await passUntil(loop, () => receiver.received.length >= 1);
    for (let pass = 0; pass < 3; pass += 1) {
      await loop.tick();
      await loop.settle();
    }
    expect(await stores.alerts.listPendingVerdicts(10)).toEqual([]);
    expect(await stores.alerts.listEvents({}, 10)).toHaveLength(1);
    expect(receiver.received).toHaveLength(1);
  });

  it('raises mismatch-upstream and not-honoured, and nothing for a package that never reproduced', async () => {
    const alarm = await createAlertBuild(stores.builds, { name: 'alarm', version: 1 });
    await recordVerdicts(stores.builds, alarm, 'mismatch-upstream');
    const stuck = await createAlertBuild(stores.builds, { name: 'stuck', version: 1 });
    await recordVerdicts(stores.builds, stuck, 'environment-unavailable');
    const never = await createAlertBuild(stores.builds, { name: 'never', version: 1 });
    await recordVerdicts(stores.builds, never, 'diverged');
    const resubmitted = await createAlertBuild(stores.builds, { name: 'never', version: 1 });
    await recordVerdicts(stores.builds, resubmitted, 'diverged');
    const loop = dispatcher();
    await loop.tick();
    const events = await stores.alerts.listEvents({}, 10);
    expect(events.map((e) => [e.package, e.kind])).toEqual([
      ['stuck', 'not-honoured'],
      ['alarm', 'mismatch-upstream'],
    ]);
    expect(await stores.alerts.listPendingVerdicts(10)).toEqual([]);
  });

  it('settles, once and without an event, a change whose stored manifest no longer parses', async () => {
    const manifestJson = '{"name":"junk"}';
    const buildId = randomUUID();
    await stores.builds.createBuild({
      buildId,
      manifestSha256: sha256Hex(manifestJson),
      manifestJson,
      name: 'junk',
      architecture: 'amd64',
      backend: 'generic',
      claimedOutputs: [],
      policy: { threshold: 2, maxAttempts: 3, decisionDeadlineMs: 3_600_000 },
      submittedBy: 'maint',
      createdAt: new Date(),
    });
    await recordVerdicts(stores.builds, buildId, 'mismatch-upstream');
    await dispatcher().tick();
    expect(await stores.alerts.listPendingVerdicts(10)).toEqual([]);
    expect(await stores.alerts.listEvents({}, 10)).toEqual([]);
  });
});
