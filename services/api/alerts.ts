// The wire contracts of alerts: a subscription as an administrator creates and lists it, the event
// body a webhook receives, and the dead-letter list.
import { ALERT_KINDS, type AlertKind } from '../alerts/alert-event.ts';
import { maxWebhookUrlLength, webhookUrlProblem } from '../alerts/webhook-url.ts';
import { VERDICTS, type Verdict } from '../consensus/verdict.ts';
import {
  accountNameRule,
  architectureRule,
  buildIdRule,
  packageSourceRule,
  suiteRule,
  uuidRule,
} from '../identifiers.ts';
import {
  arrayOf,
  constant,
  identifier,
  integer,
  nullable,
  object,
  oneOf,
  text,
  timestamp,
  type WireFail,
  type WireType,
} from './wire-type.ts';

/** Shortest and longest shared secret, in characters. */
export const minWebhookSecretLength = 32;
export const maxWebhookSecretLength = 256;

/** What a subscription matches: every event when no filter is given; all given filters must match. */
export interface AlertFilter {
  /** The account that submitted the build. */
  readonly maintainer?: string;
  /** The package (source) name. */
  readonly package?: string;
  readonly architecture?: string;
  /**
   * A suite a sync profile found the build in (by the time the alert is raised); a build submitted
   * by hand is in none, so a suite filter never matches it.
   */
  readonly suite?: string;
}

/** `POST /v1/admin/alerts/subscriptions`. */
export interface AlertSubscriptionRequest extends AlertFilter {
  readonly kind: 'webhook';
  readonly url: string;
  /** The HMAC key; the coordinator makes a random one when absent. */
  readonly secret?: string;
}

/** A subscription as listed: never its secret. */
export interface AlertSubscriptionView extends AlertFilter {
  readonly subscriptionId: string;
  readonly kind: 'webhook';
  readonly url: string;
  readonly createdBy: string;
  readonly createdAt: string;
}

export interface AlertSubscriptionAnswer {
  readonly subscription: AlertSubscriptionView;
  /** The shared secret, shown this once. */
  readonly secret: string;
}

export interface AlertSubscriptionList {
  readonly subscriptions: readonly AlertSubscriptionView[];
}

/** The body of a webhook delivery (and what an Atom entry describes). */
export interface AlertEventBody {
  readonly eventId: string;
  readonly kind: AlertKind;
  readonly occurredAt: string;
  readonly summary: string;
  readonly build: {
    readonly buildId: string;
    readonly url: string;
    readonly package: string;
    readonly version: string;
    readonly architecture: string;
    readonly maintainer: string;
    readonly verdict: Verdict;
    readonly previousVerdict: Verdict;
    /**
     * The suites sync profiles had found the build in when the event was recorded (empty for a
     * build submitted by hand); absent in events recorded before suites were.
     */
    readonly suites?: readonly string[];
  };
  /** The previous version of the package on this architecture, when one was submitted. */
  readonly previousVersion: {
    readonly buildId: string;
    readonly version: string;
    readonly verdict: Verdict;
  } | null;
}

export interface AlertDeadLetter {
  readonly subscriptionId: string;
  readonly eventId: string;
  readonly kind: AlertKind;
  readonly url: string;
  readonly attempts: number;
  readonly lastError: string;
  readonly deadAt: string;
}

export interface AlertDeadLetterList {
  readonly deadLetters: readonly AlertDeadLetter[];
}

const webhookUrl: WireType<string> = {
  schema: {
    type: 'string',
    format: 'uri',
    maxLength: maxWebhookUrlLength,
    description: 'http(s), no credentials, no fragment',
  },
  read(value: unknown, field: string, fail: WireFail): string {
    if (typeof value !== 'string') return fail(field, 'expected a URL string');
    const problem = webhookUrlProblem(value);
    if (problem !== undefined) fail(field, problem);
    return value;
  },
};

const filterFields = {
  maintainer: identifier(accountNameRule, 'the account that submitted the build'),
  package: identifier(packageSourceRule, 'the package (source) name'),
  architecture: identifier(architectureRule),
  suite: identifier(suiteRule, 'a suite a sync profile found the build in'),
};

export const alertSubscriptionRequestType: WireType<AlertSubscriptionRequest> = object(
  { kind: constant('webhook'), url: webhookUrl },
  {
    secret: text({
      minLength: minWebhookSecretLength,
      maxLength: maxWebhookSecretLength,
      characters: 'printable',
      description: 'the HMAC-SHA256 key; default: 32 random bytes, base64url',
    }),
    ...filterFields,
  },
);

const answer = { unknown: 'ignore' } as const;
const verdict = oneOf(VERDICTS);

export const alertSubscriptionViewType: WireType<AlertSubscriptionView> = object(
  {
    subscriptionId: identifier(uuidRule),
    kind: constant('webhook'),
    url: text({ maxLength: maxWebhookUrlLength }),
    createdBy: identifier(accountNameRule),
    createdAt: timestamp(),
  },
  filterFields,
  answer,
);

export const alertSubscriptionAnswerType: WireType<AlertSubscriptionAnswer> = object(
  { subscription: alertSubscriptionViewType, secret: text({ maxLength: maxWebhookSecretLength }) },
  {},
  answer,
);

export const alertSubscriptionListType: WireType<AlertSubscriptionList> = object(
  { subscriptions: arrayOf(alertSubscriptionViewType, { maxItems: 10_000 }) },
  {},
  answer,
);

export const alertEventBodyType: WireType<AlertEventBody> = object(
  {
    eventId: identifier(uuidRule, 'the same on every retry: receivers dedupe by it'),
    kind: oneOf(ALERT_KINDS),
    occurredAt: timestamp(),
    summary: text({ maxLength: 1024 }),
    build: object(
      {
        buildId: identifier(buildIdRule),
        url: text({ maxLength: 2048 }),
        package: identifier(packageSourceRule),
        version: text({ maxLength: 256 }),
        architecture: identifier(architectureRule),
        maintainer: identifier(accountNameRule),
        verdict,
        previousVerdict: verdict,
      },
      { suites: arrayOf(identifier(suiteRule), { maxItems: 256 }) },
      answer,
    ),
    previousVersion: nullable(
      object({ buildId: identifier(buildIdRule), version: text({ maxLength: 256 }), verdict }, {}, answer),
    ),
  },
  {},
  answer,
);

export const alertDeadLetterListType: WireType<AlertDeadLetterList> = object(
  {
    deadLetters: arrayOf(
      object(
        {
          subscriptionId: identifier(uuidRule),
          eventId: identifier(uuidRule),
          kind: oneOf(ALERT_KINDS),
          url: text({ maxLength: maxWebhookUrlLength }),
          attempts: integer({ minimum: 0 }),
          lastError: text({ maxLength: 1024 }),
          deadAt: timestamp(),
        },
        {},
        answer,
      ),
      { maxItems: 1000 },
    ),
  },
  {},
  answer,
);

/** The answer to removing a subscription. */
export const alertSubscriptionRemovedType: WireType<{ readonly subscriptionId: string }> = object(
  { subscriptionId: identifier(uuidRule) },
  {},
  answer,
);
