import { parseFeed } from '@rowanmanning/feed-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeXml, renderAtomFeed } from '../../../services/alerts/atom-feed.ts';
import { type AlertApp, startAlertApp } from '../../../test/support/alert-app.ts';
import { createAlertBuild, recordVerdicts } from '../../../test/support/alert-fixture.ts';

let world: AlertApp;
/** The store fixture of the app under test. */
let fixture: AlertApp['fixture'];
const request = (...args: Parameters<AlertApp['request']>) => world.request(...args);
const derive = () => world.derive();

beforeAll(async () => {
  world = await startAlertApp('rbnet-alert-routes-');
  fixture = world.fixture;
});
afterAll(async () => world?.close());

describe('alert subscriptions', () => {
  it('refuses malformed subscriptions naming the field, and stores nothing', async () => {
    const valid = { kind: 'webhook', url: 'https://hooks.example/rbnet' };
    const cases: [unknown, RegExp][] = [
      [{ ...valid, url: 'ftp://hooks.example/x' }, /^url: only http and https URLs are allowed$/],
      [{ ...valid, url: 'https://user:pw@hooks.example/x' }, /^url: credentials in the URL are not allowed$/],
      [{ ...valid, url: 'not a url' }, /^url: not an absolute URL$/],
      [{ ...valid, kind: 'email' }, /^kind: expected "webhook"$/],
      [{ url: valid.url }, /^kind: missing$/],
      [{ ...valid, secret: 'short' }, /^secret: expected a string of 32-256 characters$/],
      [{ ...valid, package: '<script>' }, /^package: .*expected a source name/],
      [{ ...valid, maintainer: 'Upper' }, /^maintainer: .*expected a name/],
      [{ ...valid, suite: 'Bookworm/..' }, /^suite: .*expected a suite name/],
      ['{"kind":"webhook","kind":"webhook","url":"https://x.example"}', /duplicate/],
    ];
    for (const [body, message] of cases) {
      const answer = await request('POST', '/v1/admin/alerts/subscriptions', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      const { error } = (await answer.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('INVALID');
      expect(error.message).toMatch(message);
    }
    expect(await fixture.store.alerts.listSubscriptions()).toEqual([]);
  });

  it('needs the admin token', async () => {
    const noToken = await request('POST', '/v1/admin/alerts/subscriptions', {}, null);
    expect(noToken.status).toBe(401);
    expect((await request('GET', '/v1/admin/alerts/dead-letters', undefined, 'rbnet_admin_x')).status).toBe(
      401,
    );
  });

  it('answers the secret once, lists without it, and removes', async () => {
    const added = await request('POST', '/v1/admin/alerts/subscriptions', {
      kind: 'webhook',
      url: 'https://hooks.example/rbnet',
      package: 'hello',
    });
    expect(added.status).toBe(201);
    const answer = (await added.json()) as { subscription: { subscriptionId: string }; secret: string };
    expect(answer.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const listed = await (await request('GET', '/v1/admin/alerts/subscriptions')).text();
    expect(listed).toContain(answer.subscription.subscriptionId);
    expect(listed).not.toContain(answer.secret);
    const path = `/v1/admin/alerts/subscriptions/${answer.subscription.subscriptionId}/remove`;
    expect((await request('POST', path)).status).toBe(200);
    expect((await request('POST', path)).status).toBe(404);
    expect((await request('POST', '/v1/admin/alerts/subscriptions/nope/remove')).status).toBe(400);
    expect(await fixture.store.alerts.listSubscriptions()).toEqual([]);
  });

  it('lists dead letters (none yet)', async () => {
    const answer = await request('GET', '/v1/admin/alerts/dead-letters?limit=5');
    expect(await answer.json()).toEqual({ deadLetters: [] });
    expect((await request('GET', '/v1/admin/alerts/dead-letters?limit=0')).status).toBe(400);
  });
});

describe('GET /v1/alerts/atom', () => {
  it('is read back by a standard feed parser: stable ids, update times, filters', async () => {
    const builds = fixture.store.builds;
    const v1 = await createAlertBuild(builds, { name: 'hello', version: 1, maintainer: 'alice' });
    await recordVerdicts(builds, v1, 'reproducible');
    const v2 = await createAlertBuild(builds, { name: 'hello', version: 2, maintainer: 'alice' });
    await recordVerdicts(builds, v2, 'diverged');
    const other = await createAlertBuild(builds, { name: 'other', version: 1, maintainer: 'bob' });
    await recordVerdicts(builds, other, 'mismatch-upstream');
    await derive();

    const answer = await request('GET', '/v1/alerts/atom?package=hello', undefined, null);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
    const xml = await answer.text();
    const feed = parseFeed(xml);
    expect(feed.meta.type).toBe('atom');
    expect(feed.title).toBe('rbnet alerts: package hello');
    expect(feed.items).toHaveLength(1);
    const [item] = feed.items;
    const [event] = await fixture.store.alerts.listEvents({ package: 'hello' }, 10);
    expect(item!.id).toBe(`urn:uuid:${event!.eventId}`);
    expect(item!.updated?.toISOString()).toBe(event!.occurredAt);
    expect(item!.url).toBe(`${fixture.deps.config.publicUrl}/v1/builds/${v2}`);
    expect(item!.title).toMatch(/^regression: hello manifest-[0-9a-f]{12} \(amd64\)$/);
    expect(item!.description).toMatch(/does not reproduce \(diverged\)/);
    expect(feed.updated?.toISOString()).toBe(event!.occurredAt);
    // The same query reads the same document: ids and times are stable.
    expect(await (await request('GET', '/v1/alerts/atom?package=hello', undefined, null)).text()).toBe(xml);

    const all = parseFeed(await (await request('GET', '/v1/alerts/atom', undefined, null)).text());
    expect(all.items.map((i) => i.title?.split(':')[0])).toEqual(['mismatch-upstream', 'regression']);
    const bob = parseFeed(
      await (await request('GET', '/v1/alerts/atom?maintainer=bob', undefined, null)).text(),
    );
    expect(bob.items).toHaveLength(1);
    const none = parseFeed(
      await (await request('GET', '/v1/alerts/atom?architecture=arm64', undefined, null)).text(),
    );
    expect(none.items).toHaveLength(0);
  });

  it('refuses a malformed filter naming it', async () => {
    for (const [query, field] of [
      ['package=%3Cscript%3E', 'package'],
      ['maintainer=a%26b', 'maintainer'],
      ['architecture=AMD64', 'architecture'],
      ['limit=501', 'limit'],
    ]) {
      const answer = await request('GET', `/v1/alerts/atom?${query}`, undefined, null);
      expect(answer.status).toBe(400);
      expect(((await answer.json()) as { error: { message: string } }).error.message).toMatch(
        new RegExp(`^${field}: `),
      );
    }
  });

  it('escapes hostile text, and drops what XML cannot carry, so a parser reads it back exactly', () => {
    const hostile = `</summary><script>alert("x")</script> & ' ]]> \u0007bell`;
    const xml = renderAtomFeed({
      selfUrl: 'https://rbnet.example/v1/alerts/atom?package=a&maintainer=b',
      title: hostile,
      entries: [
        {
          eventId: '6f1c3b9e-1d1a-4c1e-9f1a-1a2b3c4d5e6f',
          kind: 'regression',
          summary: hostile,
          package: 'p<&>',
          version: '1:2.0~rc1+b1',
          architecture: 'amd64',
          maintainer: 'm"x',
          occurredAt: '2026-12-06T00:00:00.000Z',
          buildUrl: 'https://rbnet.example/v1/builds/x?a=1&b=<2>',
        },
      ],
    });
    expect(xml).not.toContain('<script>');
    expect(escapeXml('\u0007')).toBe('\ufffd');
    const feed = parseFeed(xml);
    const readBack = hostile.replace('\u0007', '\ufffd');
    expect(feed.title).toBe(readBack);
    expect(feed.items[0]!.description).toBe(readBack);
    expect(feed.items[0]!.title).toBe('regression: p<&> 1:2.0~rc1+b1 (amd64)');
    // The parser hands the link back as a URL (normalised): the `&` and `<>` arrived as text.
    expect(feed.items[0]!.url).toBe('https://rbnet.example/v1/builds/x?a=1&b=%3C2%3E');
    expect(feed.items[0]!.authors[0]!.name).toBe('m"x');
  });
});
