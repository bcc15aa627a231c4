import { parseFeed } from '@rowanmanning/feed-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertEventBodyType, alertSubscriptionAnswerType } from '../../services/api/alerts.ts';
import { parseWire } from '../../services/api/wire-type.ts';
import { type AlertApp, startAlertApp } from '../../test/support/alert-app.ts';
import { recordVerdicts } from '../../test/support/alert-fixture.ts';
import { genericBuild } from '../../test/support/generic-build.ts';
import { readSuiteIndex, SUITES_T0, suitesProfile, upload } from '../../test/support/suite-builds.ts';

async function subscribe(filter: Record<string, string>): Promise<string> {
  const answer = await request('POST', '/v1/admin/alerts/subscriptions', {
    kind: 'webhook',
    url: 'https://hooks.example/rbnet',
    ...filter,
  });
  expect(answer.status, await answer.clone().text()).toBe(201);
  const read = parseWire(alertSubscriptionAnswerType, await answer.text(), {
    maxBytes: 65_536,
    what: 'subscription answer',
    side: 'answer',
  });
  expect(read.subscription).toMatchObject(filter);
  return read.subscription.subscriptionId;
}

let world: AlertApp;
/** The store fixture of the app under test. */
let fixture: AlertApp['fixture'];
const request = (...args: Parameters<AlertApp['request']>) => world.request(...args);

beforeAll(async () => {
  world = await startAlertApp('rbnet-alert-suites-');
  fixture = world.fixture;
});
afterAll(async () => world?.close());

describe('alerts by suite', () => {
  it('delivers and lists an alert only under the suites its build was found in', async () => {
    const store = fixture.store;
    await store.registry.addMaintainer('bot', SUITES_T0);
    await store.syncProfiles.addSyncProfile(suitesProfile('debian', ['bookworm', 'trixie']), SUITES_T0);
    const bookwormOnly = await subscribe({ suite: 'bookworm' });
    const trixieOnly = await subscribe({ suite: 'trixie' });
    const every = await subscribe({});

    // tool was found in bookworm (as the poller submits it: claimed, then created); hand was submitted by hand.
    await readSuiteIndex(store, 'debian', 'bookworm', [upload('tool', '1')]);
    const tool = genericBuild('tool', { submittedBy: 'bot' });
    const [claimable] = await store.syncProgress.listUploads('debian');
    expect(await store.syncProgress.claimUpload(claimable!, tool.buildId)).toBe(true);
    await store.builds.createBuild(tool);
    const hand = genericBuild('hand', { submittedBy: 'bot' });
    await store.builds.createBuild(hand);
    await recordVerdicts(store.builds, tool.buildId, 'mismatch-upstream');
    await recordVerdicts(store.builds, hand.buildId, 'mismatch-upstream');
    await world.derive();

    const due = await store.alerts.listDueDeliveries(new Date(Date.now() + 3_600_000), 100, new Set());
    const deliveredTo = (subscriptionId: string) =>
      due
        .filter((d) => d.subscriptionId === subscriptionId)
        .map((d) => (JSON.parse(d.bodyJson) as { build: { buildId: string } }).build.buildId)
        .sort();
    expect(deliveredTo(bookwormOnly)).toEqual([tool.buildId]);
    expect(deliveredTo(trixieOnly)).toEqual([]);
    expect(deliveredTo(every)).toEqual([tool.buildId, hand.buildId].sort());
    // Each body names the suites its build was found in, read back by the strict body reader.
    const suitesInBody = Object.fromEntries(
      due
        .filter((d) => d.subscriptionId === every)
        .map((d) => {
          const body = parseWire(alertEventBodyType, d.bodyJson, {
            maxBytes: 65_536,
            what: 'alert event',
            side: 'answer',
          });
          return [body.build.buildId, body.build.suites];
        }),
    );
    expect(suitesInBody).toEqual({ [tool.buildId]: ['bookworm'], [hand.buildId]: [] });

    const atom = async (query: string) => {
      const answer = await request('GET', `/v1/alerts/atom${query}`, undefined, null);
      expect(answer.status).toBe(200);
      return parseFeed(await answer.text());
    };
    const bookworm = await atom('?suite=bookworm');
    expect(bookworm.title).toBe('rbnet alerts: suite bookworm');
    expect(bookworm.items.map((i) => i.url)).toEqual([expect.stringContaining(tool.buildId)]);
    expect((await atom('?suite=trixie')).items).toEqual([]);
    expect((await atom('')).items).toHaveLength(2);
  });

  it('refuses a malformed suite naming the field, storing nothing', async () => {
    const before = await fixture.store.alerts.listSubscriptions();
    const added = await request('POST', '/v1/admin/alerts/subscriptions', {
      kind: 'webhook',
      url: 'https://hooks.example/rbnet',
      suite: '../etc',
    });
    expect(added.status).toBe(400);
    expect(await added.json()).toMatchObject({
      error: { code: 'INVALID', message: expect.stringMatching(/^suite: /) },
    });
    expect(await fixture.store.alerts.listSubscriptions()).toEqual(before);
    const atom = await request('GET', `/v1/alerts/atom?suite=${'s'.repeat(65)}`, undefined, null);
    expect(atom.status).toBe(400);
    expect(((await atom.json()) as { error: { message: string } }).error.message).toMatch(/^suite: /);
  });
});
