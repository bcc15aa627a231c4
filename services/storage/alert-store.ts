// The alerts aggregate: subscriptions, the verdict changes still to be turned into events (queued in
// the verdict's own transaction), the append-only events, and each event's delivery per webhook.
import type { AlertKind } from '../alerts/alert-event.ts';
import type { AlertDeadLetter, AlertFilter, AlertSubscriptionView } from '../api/alerts.ts';
import type { Verdict } from '../consensus/verdict.ts';
import type { Sha256Hex } from '../digest.ts';
import type { IsoTimestamp } from './store-error.ts';

export interface NewAlertSubscription extends AlertFilter {
  readonly subscriptionId: string;
  readonly kind: 'webhook';
  readonly url: string;
  readonly secret: string;
  readonly createdBy: string;
  readonly createdAt: Date;
}

/** A subscription as the store lists it (never its secret): exactly what the admin route answers. */
export type AlertSubscriptionRecord = AlertSubscriptionView;

/** A recorded verdict change that may raise an alert, waiting for the deriver. */
export interface PendingAlertVerdict {
  readonly buildId: string;
  readonly sequence: number;
  readonly verdict: Verdict;
  readonly previousVerdict: Verdict;
  readonly decidedAt: IsoTimestamp;
}

/** The latest verdict of an earlier build of the same package name, architecture and backend. */
export interface EarlierBuild {
  readonly buildId: string;
  readonly manifestSha256: Sha256Hex;
  readonly manifestJson: string;
  readonly verdict: Verdict;
}

export interface NewAlertEvent {
  readonly eventId: string;
  readonly kind: AlertKind;
  readonly buildId: string;
  readonly verdictSequence: number;
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
  readonly maintainer: string;
  readonly verdict: Verdict;
  readonly summary: string;
  /** The exact bytes every delivery of it sends (a retry is byte-identical). */
  readonly bodyJson: string;
  readonly occurredAt: Date;
}

export interface AlertEventRecord {
  /** Position in the outbox: strictly increasing. */
  readonly seq: number;
  readonly eventId: string;
  readonly kind: AlertKind;
  readonly buildId: string;
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
  readonly maintainer: string;
  readonly verdict: Verdict;
  readonly summary: string;
  readonly bodyJson: string;
  readonly occurredAt: IsoTimestamp;
}

/** One delivery that is due, with what sending it needs. */
export interface DueDelivery {
  readonly subscriptionId: string;
  readonly eventSeq: number;
  readonly eventId: string;
  readonly url: string;
  readonly secret: string;
  readonly bodyJson: string;
  /** Attempts made so far. */
  readonly attempts: number;
}

/** How one attempt ended: delivered, or failed with a retry time or for good (dead letter). */
export type DeliveryOutcome =
  | { readonly state: 'delivered'; readonly at: Date }
  | { readonly state: 'retry'; readonly at: Date; readonly error: string; readonly nextAttemptAt: Date }
  | { readonly state: 'dead'; readonly at: Date; readonly error: string };

/** A dead letter as the store lists it: exactly what the admin route answers. */
export type AlertDeadLetterRecord = AlertDeadLetter;

export interface AlertStore {
  /** @throws BuildStoreError `CONFLICT` when the id exists. */
  addSubscription(input: NewAlertSubscription): Promise<AlertSubscriptionRecord>;
  listSubscriptions(): Promise<readonly AlertSubscriptionRecord[]>;
  /** Removes it and its pending and dead deliveries; false when there was none. */
  removeSubscription(subscriptionId: string): Promise<boolean>;

  /** The oldest verdict changes not yet derived, at most `limit`. */
  listPendingVerdicts(limit: number): Promise<readonly PendingAlertVerdict[]>;
  /** The suites sync profiles found `buildId` in, by name (none for a build submitted by hand). */
  listBuildSuites(buildId: string): Promise<readonly string[]>;
  /** Up to `limit` earlier builds (submitted before `buildId`) of the same name, architecture, backend, newest first. */
  listEarlierBuilds(buildId: string, limit: number): Promise<readonly EarlierBuild[]>;
  /**
   * In one transaction: records `event` (when given; a second event for the same verdict change is
   * ignored), queues one delivery per matching webhook subscription due at `event.occurredAt`, and
   * takes the verdict change off the pending list.
   */
  settlePendingVerdict(
    pending: Pick<PendingAlertVerdict, 'buildId' | 'sequence'>,
    event?: NewAlertEvent,
  ): Promise<void>;

  /** Events matching `filter`, newest first, at most `limit` (1..1000). */
  listEvents(filter: AlertFilter, limit: number): Promise<readonly AlertEventRecord[]>;

  /** Pending deliveries due at `now`, oldest first, at most `limit`, except those in `exclude` (`subscriptionId:eventSeq`). */
  listDueDeliveries(now: Date, limit: number, exclude: ReadonlySet<string>): Promise<readonly DueDelivery[]>;
  /** Records one attempt's outcome (attempts + 1); a delivery already finished is left as it is. */
  recordDeliveryAttempt(subscriptionId: string, eventSeq: number, outcome: DeliveryOutcome): Promise<void>;
  /** Dead letters, newest first, at most `limit` (1..1000). */
  listDeadLetters(limit: number): Promise<readonly AlertDeadLetterRecord[]>;
}

/** The key a delivery is known by while in flight. */
export function deliveryKey(delivery: Pick<DueDelivery, 'subscriptionId' | 'eventSeq'>): string {
  return `${delivery.subscriptionId}:${delivery.eventSeq}`;
}
