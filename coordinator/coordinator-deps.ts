// What the coordinator's routes and services are built from: interfaces, so tests can start the real
// coordinator through the same constructor production uses, and swap only what rbnet itself owns.
import type { Logger } from 'pino';
import type { Signer } from '../services/attestation/signer.ts';
import type { NonceStore } from '../services/auth/worker-request-auth.ts';
import type { AlertStore } from '../services/storage/alert-store.ts';
import type { AptLinkStore } from '../services/storage/apt-link-store.ts';
import type { BlobLedger } from '../services/storage/blob-ledger.ts';
import type { BuildStore } from '../services/storage/build-store.ts';
import type { ConsensusFeed } from '../services/storage/consensus-feed.ts';
import type { ContentStore } from '../services/storage/content-store.ts';
import type { RegistryStore } from '../services/storage/registry-store.ts';
import type { ResultStore } from '../services/storage/result-store.ts';
import type { SyncProfileStore } from '../services/storage/sync-profile-store.ts';
import type { SyncProgressStore } from '../services/storage/sync-progress-store.ts';
import type { TransparencyLog } from '../services/storage/transparency-log.ts';
import type { CoordinatorConfig } from './coordinator-config.ts';
import type { CoordinatorMetrics } from './metrics/coordinator-metrics.ts';
import type { CoordinatorLog } from './tlog/coordinator-log.ts';
import type { WebAggregates } from './web/web-aggregates.ts';

/** The job a worker receives; see services/queue/queue-contract.ts for its strict parser. */
export interface DispatchedJob {
  readonly buildId: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly nonce: string;
  readonly manifestSha256: string;
  readonly manifestJson: string;
}

/** Puts jobs on, and takes them off, one worker's own queue. */
export interface JobQueues {
  enqueue(workerId: string, job: DispatchedJob): Promise<void>;
  remove(workerId: string, jobId: string): Promise<void>;
  depth(workerId: string): Promise<number>;
}

/** Creates and removes the Redis users that confine each worker to its own queue. */
export interface WorkerQueueAccess {
  queueNameFor(workerId: string): string;
  /**
   * Creates the worker's user on the Redis shard of its operator; `url` is what the worker connects
   * to (that shard's worker-facing URL).
   */
  grant(
    workerId: string,
    operator: string,
  ): Promise<{
    readonly username: string;
    readonly password: string;
    readonly passwordSha256: string;
    readonly url: string;
  }>;
  /** Re-creates a worker's user from its stored password hash (Redis lost its data). */
  restore(workerId: string, passwordSha256: string): Promise<void>;
  revoke(workerId: string, username: string): Promise<void>;
}

export interface CoordinatorDeps {
  readonly config: CoordinatorConfig;
  /** Operators, maintainers, tokens, workers (docs/storage.md lists what each store holds). */
  readonly registry: RegistryStore;
  /** Builds, attempts and verdicts. */
  readonly builds: BuildStore;
  /** Results, their verified facts and byproducts, the artifact index. */
  readonly results: ResultStore;
  /** The transparency log. */
  readonly log: TransparencyLog;
  /** Apt links served to apt-transport-in-toto, and their conflicts. */
  readonly aptLinks: AptLinkStore;
  /** Verdict changes in order, and builds per package version: what release tools read. */
  readonly feed: ConsensusFeed;
  /** The archives the coordinator follows by itself (`rbnet admin sync`). */
  readonly syncProfiles: SyncProfileStore;
  /** What each profile has read, selected and submitted. */
  readonly syncProgress: SyncProgressStore;
  readonly content: ContentStore;
  readonly queues: JobQueues;
  readonly queueAccess: WorkerQueueAccess;
  /** The coordinator's own key: signs consensus attestations only. */
  readonly signer: Signer;
  readonly logger: Logger;
  /** The durable replay record of worker request proofs. */
  readonly nonces: NonceStore;
  /** Who made the content store keep which blob (quotas), and what names it (garbage collection). */
  readonly blobs: BlobLedger;
  readonly now: () => Date;
  /** Counters and gauges served at /metrics. */
  readonly metrics: CoordinatorMetrics;
  /** What the public web pages read besides the build store: aggregates kept on write (docs/web.md). */
  readonly webAggregates: WebAggregates;
  /** The witnessed, tiled transparency log; absent in tests that do not serve it. */
  readonly tlog?: CoordinatorLog;
  /** Alert subscriptions, events and webhook deliveries. */
  readonly alerts: AlertStore;
}
