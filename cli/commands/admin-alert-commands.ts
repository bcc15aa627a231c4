// `rbnet admin alerts ...`: webhook subscriptions to alert events and the dead-letter list, over the API.
import {
  type AlertSubscriptionRequest,
  alertDeadLetterListType,
  alertSubscriptionAnswerType,
  alertSubscriptionListType,
  alertSubscriptionRemovedType,
} from '../../services/api/alerts.ts';
import { type Command, requireFlag, stringFlag } from '../command.ts';
import { apiRequest } from '../coordinator-api.ts';
import { api, COMMON_HELP, COMMON_OPTIONS, noPositionals, onePositional, print } from './admin-commands.ts';

export const adminAlertsAddCommand: Command = {
  path: ['admin', 'alerts', 'add'],
  help: `Usage: rbnet admin alerts add --url URL [--maintainer NAME] [--package NAME] [--architecture ARCH] [--suite S] [--secret SECRET] [options]

Subscribes a webhook to alert events: a regression (a version no longer reproduces when the one
before did), mismatch-upstream (rebuilders agree, the published artifact differs), and a build that
could not be honoured. Only events matching every filter given are sent (none: every event). Each
delivery is signed: header X-Rbnet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">;
X-Rbnet-Event-Id is the same on every retry. The secret is printed once.

Options:
  --url URL            http(s) receiver; non-public addresses only when the coordinator allows them
  --maintainer NAME    only builds this account submitted
  --package NAME       only this package (source) name
  --architecture ARCH  only this architecture
  --suite S            only builds a sync profile found in this suite (never one submitted by hand)
  --secret SECRET      32..256 characters; default: 32 random bytes
${COMMON_HELP}

Exit codes: 0 subscribed; 1 refused; 2 usage.`,
  options: {
    ...COMMON_OPTIONS,
    url: { type: 'string' },
    maintainer: { type: 'string' },
    package: { type: 'string' },
    architecture: { type: 'string' },
    suite: { type: 'string' },
    secret: { type: 'string' },
  },
  async run(args, io) {
    noPositionals(args, 'admin alerts add');
    const body: AlertSubscriptionRequest = {
      kind: 'webhook',
      url: requireFlag(args, 'url', adminAlertsAddCommand),
      ...Object.fromEntries(
        (['maintainer', 'package', 'architecture', 'suite', 'secret'] as const).flatMap((name) => {
          const value = stringFlag(args, name);
          return value === undefined ? [] : [[name, value]];
        }),
      ),
    };
    const answer = await apiRequest(
      api(args, io),
      { method: 'POST', path: '/v1/admin/alerts/subscriptions', body: JSON.stringify(body) },
      alertSubscriptionAnswerType,
    );
    return print(io, args, answer, [
      `subscription ${answer.subscription.subscriptionId} added`,
      `secret: ${answer.secret}`,
      '(shown once; the receiver needs it to check X-Rbnet-Signature)',
    ]);
  },
};

export const adminAlertsListCommand: Command = {
  path: ['admin', 'alerts', 'list'],
  help: `Usage: rbnet admin alerts list [options]\n\nLists alert subscriptions, oldest first (never their secrets).\n\nOptions:\n${COMMON_HELP}\n\nExit codes: 0 listed; 1 refused; 2 usage.`,
  options: COMMON_OPTIONS,
  async run(args, io) {
    noPositionals(args, 'admin alerts list');
    const answer = await apiRequest(
      api(args, io),
      { method: 'GET', path: '/v1/admin/alerts/subscriptions' },
      alertSubscriptionListType,
    );
    return print(
      io,
      args,
      answer,
      answer.subscriptions.map((s) => {
        const filters = (['maintainer', 'package', 'architecture', 'suite'] as const)
          .filter((name) => s[name] !== undefined)
          .map((name) => `${name}=${s[name]}`);
        return `${s.subscriptionId} ${s.kind} ${s.url} ${filters.join(' ') || '(every event)'}`;
      }),
    );
  },
};

export const adminAlertsRemoveCommand: Command = {
  path: ['admin', 'alerts', 'remove'],
  help: `Usage: rbnet admin alerts remove SUBSCRIPTION_ID [options]\n\nRemoves the subscription with its pending and dead deliveries.\n\nOptions:\n${COMMON_HELP}\n\nExit codes: 0 removed; 1 refused (unknown id); 2 usage.`,
  options: COMMON_OPTIONS,
  async run(args, io) {
    const id = onePositional(args, 'SUBSCRIPTION_ID', 'admin alerts remove');
    const answer = await apiRequest(
      api(args, io),
      { method: 'POST', path: `/v1/admin/alerts/subscriptions/${encodeURIComponent(id)}/remove`, body: '{}' },
      alertSubscriptionRemovedType,
    );
    return print(io, args, answer, [`subscription ${answer.subscriptionId} removed`]);
  },
};

export const adminAlertsDeadLettersCommand: Command = {
  path: ['admin', 'alerts', 'dead-letters'],
  help: `Usage: rbnet admin alerts dead-letters [--limit N] [options]\n\nWebhook deliveries given up on (after RBNET_ALERT_MAX_ATTEMPTS attempts, or a refused address), newest first.\n\nOptions:\n  --limit N          1..1000 (default 100)\n${COMMON_HELP}\n\nExit codes: 0 listed; 1 refused; 2 usage.`,
  options: { ...COMMON_OPTIONS, limit: { type: 'string' } },
  async run(args, io) {
    noPositionals(args, 'admin alerts dead-letters');
    const limit = stringFlag(args, 'limit');
    const answer = await apiRequest(
      api(args, io),
      {
        method: 'GET',
        path: `/v1/admin/alerts/dead-letters${limit === undefined ? '' : `?limit=${encodeURIComponent(limit)}`}`,
      },
      alertDeadLetterListType,
    );
    return print(
      io,
      args,
      answer,
      answer.deadLetters.map(
        (d) =>
          `${d.deadAt} ${d.kind} event ${d.eventId} → ${d.url} after ${d.attempts} attempt(s): ${d.lastError}`,
      ),
    );
  },
};
