// What a build backend (`generic`, `debian`) decides on the coordinator's side: how a submission is
// checked, what scheduling needs, what results are compared with, and what follows a verdict. One
// is bound to each build from its parsed manifest; nothing outside coordinator/backends/ asks
// which kind a build is.
import type { Logger } from 'pino';
import type { ConsensusResult, Decision, DecisionInput } from '../../services/consensus/decide-verdict.ts';
import type {
  DivergenceReport,
  DivergenceReportOptions,
} from '../../services/consensus/divergence-report.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import type { ManifestResources } from '../../services/manifest/manifest.ts';
import type { AnyParsedManifest } from '../../services/manifest/parse-any-manifest.ts';
import type { AptLinkConflictRecord, AptLinkStore } from '../../services/storage/apt-link-store.ts';
import type { BuildRecord } from '../../services/storage/build-store.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import type { RegistryStore } from '../../services/storage/registry-store.ts';
import type { ResultFacts, ResultStore } from '../../services/storage/result-store.ts';

/** What a backend reads and writes after a decision. */
export interface BackendDeps {
  readonly registry: Pick<RegistryStore, 'getWorker'>;
  readonly results: Pick<ResultStore, 'listResultByproducts'>;
  readonly aptLinks: Pick<AptLinkStore, 'replaceAptLinks'>;
  readonly content: ContentStore;
  readonly logger: Logger;
  readonly now: () => Date;
}

/** A build as it was just decided, with what its results' verification recorded. */
export interface DecidedBuild {
  readonly build: BuildRecord;
  readonly decision: Decision;
  /** The results the decision was taken over, in the order received. */
  readonly results: readonly ConsensusResult[];
  /** The verified facts of each built result, by envelope digest. */
  readonly facts: ReadonlyMap<Sha256Hex, ResultFacts>;
}

/** What follows a recorded verdict, for the transparency-log entry. */
export interface AfterVerdict {
  /** Conflicts that kept this build's apt links from being served (Debian). */
  readonly aptLinkConflicts?: readonly AptLinkConflictRecord[];
}

/** A backend bound to one build's parsed manifest. */
export interface BuildBackend {
  readonly name: AnyParsedManifest['kind'];
  /** The least capacity a worker needs, and the manifest's wall-time limit (seconds) if it has one. */
  readonly needs: { readonly resources: ManifestResources; readonly timeLimitSeconds?: number };
  /**
   * What every result's resolved inputs must equal, when the manifest pins them (generic: the image
   * and inputs it records); undefined when results are only compared with each other (Debian: each
   * worker resolves the environment from the .buildinfo).
   */
  readonly expectedInputs: DecisionInput['expectedInputs'];
  /** The environment a failure report names: what the manifest asked the worker to build in. */
  readonly failureEnvironmentSha256: Sha256Hex;
  /**
   * The version of its package the build is (alerts compare a version with the previous one): the
   * Debian manifest's Version; a generic manifest carries none, so its shortened digest stands in and
   * every different manifest is a new version.
   */
  readonly packageVersion: string;
  /**
   * Checks a submission beyond its manifest's own parse, against what is in the content store.
   * @throws ApiError 422 naming the field.
   */
  checkSubmission(content: ContentStore): Promise<void>;
  /** Sections the divergence report adds for this backend; must never throw (explain instead). */
  divergenceExtras(
    deps: BackendDeps,
    decided: DecidedBuild,
    report: DivergenceReport,
  ): Promise<Pick<DivergenceReportOptions, 'debian'>>;
  /** Publishes (or withdraws) what this backend serves for a decided build. */
  afterVerdict(deps: BackendDeps, decided: DecidedBuild): Promise<AfterVerdict>;
}

/** A backend: binds itself to one parsed manifest of its kind. */
export interface CoordinatorBackend<M extends AnyParsedManifest> {
  readonly name: M['kind'];
  bind(manifest: M): BuildBackend;
}
