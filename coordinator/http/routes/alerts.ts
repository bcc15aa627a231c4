// Alerts: webhook subscriptions and the dead-letter list (admin), and the public Atom feed of alert
// events filtered by maintainer, package, architecture or suite.
import { randomBytes, randomUUID } from 'node:crypto';
import { ATOM_CONTENT_TYPE, renderAtomFeed } from '../../../services/alerts/atom-feed.ts';
import { maxAdminBodyBytes, parseAdminRequest } from '../../../services/api/admin-accounts.ts';
import {
  type AlertDeadLetterList,
  type AlertFilter,
  type AlertSubscriptionAnswer,
  type AlertSubscriptionList,
  alertDeadLetterListType,
  alertSubscriptionAnswerType,
  alertSubscriptionListType,
  alertSubscriptionRemovedType,
  alertSubscriptionRequestType,
} from '../../../services/api/alerts.ts';
import { identifier } from '../../../services/api/wire-type.ts';
import {
  accountNameRule,
  architectureRule,
  type IdentifierRule,
  isUuid,
  packageSourceRule,
  suiteRule,
  uuidRule,
} from '../../../services/identifiers.ts';
import { ApiError } from '../api-error.ts';
import { readBodyBytes } from '../request-body.ts';
import { JSON_CONTENT, type RouteDefinition, type RouteParameter } from '../route.ts';

/** Entries an Atom document holds at most. */
export const maxAtomEntries = 500;

const admin = ['admin'] as const;

const addSubscription: RouteDefinition = {
  method: 'POST',
  path: '/v1/admin/alerts/subscriptions',
  operationId: 'addAlertSubscription',
  tag: 'alerts',
  summary: 'Subscribe a webhook to alert events',
  description:
    'Every alert event matching all the given filters (none: every event) is POSTed to `url`, signed with HMAC-SHA256 under the shared secret (docs/operator-guide.md, "Alerts"). The secret is answered this once and never listed.',
  auth: admin,
  request: {
    contentType: JSON_CONTENT,
    description: `at most ${maxAdminBodyBytes / 1024} KiB`,
    schema: alertSubscriptionRequestType.schema,
  },
  answers: [
    {
      status: 201,
      description: 'subscribed; the secret is shown once',
      contentType: JSON_CONTENT,
      schema: alertSubscriptionAnswerType.schema,
    },
  ],
  errors: ['INVALID', 'AUTH_INVALID', 'TOO_LARGE'],
  handler:
    ({ deps }) =>
    async (c) => {
      const request = parseAdminRequest(
        alertSubscriptionRequestType,
        await readBodyBytes(c, maxAdminBodyBytes),
      );
      const secret = request.secret ?? randomBytes(32).toString('base64url');
      const subscription = await deps.alerts.addSubscription({
        subscriptionId: randomUUID(),
        kind: request.kind,
        url: request.url,
        secret,
        ...(request.maintainer !== undefined && { maintainer: request.maintainer }),
        ...(request.package !== undefined && { package: request.package }),
        ...(request.architecture !== undefined && { architecture: request.architecture }),
        ...(request.suite !== undefined && { suite: request.suite }),
        createdBy: c.get('token')?.subject ?? 'admin',
        createdAt: deps.now(),
      });
      deps.logger.info(
        { subscriptionId: subscription.subscriptionId, host: new URL(subscription.url).host },
        'alert subscription added',
      );
      const answer: AlertSubscriptionAnswer = { subscription, secret };
      return c.json(answer, 201);
    },
};

const listSubscriptions: RouteDefinition = {
  method: 'GET',
  path: '/v1/admin/alerts/subscriptions',
  operationId: 'listAlertSubscriptions',
  tag: 'alerts',
  summary: 'Alert subscriptions (without their secrets)',
  auth: admin,
  answers: [
    {
      status: 200,
      description: 'oldest first',
      contentType: JSON_CONTENT,
      schema: alertSubscriptionListType.schema,
    },
  ],
  errors: ['AUTH_INVALID'],
  handler:
    ({ deps }) =>
    async (c) => {
      const answer: AlertSubscriptionList = { subscriptions: await deps.alerts.listSubscriptions() };
      return c.json(answer);
    },
};

const removeSubscription: RouteDefinition = {
  method: 'POST',
  path: '/v1/admin/alerts/subscriptions/:id/remove',
  operationId: 'removeAlertSubscription',
  tag: 'alerts',
  summary: 'Remove an alert subscription and its pending and dead deliveries',
  auth: admin,
  pathParams: { id: { description: 'the subscription id', schema: identifier(uuidRule).schema } },
  answers: [
    {
      status: 200,
      description: 'removed',
      contentType: JSON_CONTENT,
      schema: alertSubscriptionRemovedType.schema,
    },
  ],
  errors: ['INVALID', 'AUTH_INVALID', 'NOT_FOUND'],
  handler:
    ({ deps }) =>
    async (c) => {
      const subscriptionId = c.req.param('id') ?? '';
      if (!isUuid(subscriptionId)) throw new ApiError('INVALID', `id: expected ${uuidRule.expected}`);
      if (!(await deps.alerts.removeSubscription(subscriptionId)))
        throw new ApiError('NOT_FOUND', `subscription ${subscriptionId} not found`);
      return c.json({ subscriptionId });
    },
};

const listDeadLetters: RouteDefinition = {
  method: 'GET',
  path: '/v1/admin/alerts/dead-letters',
  operationId: 'listAlertDeadLetters',
  tag: 'alerts',
  summary: 'Webhook deliveries given up on, newest first',
  auth: admin,
  query: {
    limit: {
      description: 'entries, 1..1000, default 100',
      schema: { type: 'integer', minimum: 1, maximum: 1000 },
      required: false,
    },
  },
  answers: [
    {
      status: 200,
      description: 'newest first',
      contentType: JSON_CONTENT,
      schema: alertDeadLetterListType.schema,
    },
  ],
  errors: ['INVALID', 'AUTH_INVALID'],
  handler:
    ({ deps }) =>
    async (c) => {
      const answer: AlertDeadLetterList = {
        deadLetters: await deps.alerts.listDeadLetters(limitOf(c.req.query('limit'), 1000)),
      };
      return c.json(answer);
    },
};

function limitOf(value: string | undefined, maximum: number): number {
  if (value === undefined) return Math.min(100, maximum);
  const limit = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= maximum))
    throw new ApiError('INVALID', `limit: expected an integer from 1 to ${maximum}`);
  return limit;
}

/** The feed's filters, in the order they appear in its canonical URL. */
const FEED_FILTERS: readonly (readonly [keyof AlertFilter, IdentifierRule, string])[] = [
  ['maintainer', accountNameRule, 'only builds this account submitted'],
  ['package', packageSourceRule, 'only this package (source) name'],
  ['architecture', architectureRule, 'only this architecture'],
  ['suite', suiteRule, 'only builds a sync profile found in this suite'],
];

const atomQuery: Record<string, RouteParameter> = Object.fromEntries([
  ...FEED_FILTERS.map(([name, rule, description]) => [
    name,
    { description, schema: identifier(rule).schema, required: false },
  ]),
  [
    'limit',
    {
      description: `entries, 1..${maxAtomEntries}, default 100`,
      schema: { type: 'integer', minimum: 1, maximum: maxAtomEntries },
      required: false,
    },
  ],
]);

const atomFeed: RouteDefinition = {
  method: 'GET',
  path: '/v1/alerts/atom',
  operationId: 'getAlertAtomFeed',
  tag: 'alerts',
  summary: 'Alert events as an Atom 1.0 feed',
  description:
    'Regressions, `mismatch-upstream` alarms and builds that could not be honoured, newest first, filtered by every given parameter. Entry ids (`urn:uuid:<eventId>`) and times never change.',
  auth: ['none'],
  query: atomQuery,
  answers: [
    {
      status: 200,
      description: 'an Atom 1.0 document',
      contentType: ATOM_CONTENT_TYPE,
      schema: { type: 'string' },
    },
  ],
  errors: ['INVALID'],
  handler:
    ({ deps }) =>
    async (c) => {
      const filter: Record<string, string> = {};
      const canonical = new URLSearchParams();
      for (const [name, rule] of FEED_FILTERS) {
        const value = c.req.query(name);
        if (value === undefined || value === '') continue;
        if (value.length > rule.maxLength || !rule.pattern.test(value))
          throw new ApiError('INVALID', `${name}: expected ${rule.expected}`);
        filter[name] = value;
        canonical.set(name, value);
      }
      const limit = limitOf(c.req.query('limit'), maxAtomEntries);
      const events = await deps.alerts.listEvents(filter as AlertFilter, limit);
      const query = canonical.toString();
      const described = Object.entries(filter).map(([name, value]) => `${name} ${value}`);
      const xml = renderAtomFeed({
        selfUrl: `${deps.config.publicUrl}/v1/alerts/atom${query === '' ? '' : `?${query}`}`,
        title: `rbnet alerts${described.length === 0 ? '' : `: ${described.join(', ')}`}`,
        entries: events.map((event) => ({
          eventId: event.eventId,
          kind: event.kind,
          summary: event.summary,
          package: event.package,
          version: event.version,
          architecture: event.architecture,
          maintainer: event.maintainer,
          occurredAt: event.occurredAt,
          buildUrl: `${deps.config.publicUrl}/v1/builds/${event.buildId}`,
        })),
      });
      return c.body(xml, 200, { 'content-type': ATOM_CONTENT_TYPE, 'cache-control': 'public, max-age=60' });
    },
};

export const alertRoutes: readonly RouteDefinition[] = [
  addSubscription,
  listSubscriptions,
  removeSubscription,
  listDeadLetters,
  atomFeed,
];
