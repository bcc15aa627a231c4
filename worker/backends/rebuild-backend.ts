// What every rebuild backend of a worker offers (`generic`, `debian`): one rebuild of a manifest of its
// kind into a result directory. A worker picks its backends once at start-up (load-rebuild-backends.ts);
// callers hand a parsed manifest to the backend it names and never switch on the manifest kind.
import type { Sha256Hex } from '../../services/digest.ts';
import { ConfigError } from '../../services/errors.ts';
import type { AnyParsedManifest } from '../../services/manifest/parse-any-manifest.ts';
import type { InputSource } from '../inputs/input-source.ts';
import type { RebuildPhase, RebuildResult } from '../rebuild-manifest.ts';

/** A backend's name: the `backend` a manifest names and a worker enrols with. */
export type BackendName = AnyParsedManifest['kind'];

/** Every backend this worker can run, in the order `rbnet worker enrol --backend` documents them. */
export const BACKEND_NAMES: readonly BackendName[] = Object.freeze(['generic', 'debian']);

/**
 * `names` as backend names, each once, in order.
 * @throws ConfigError CONFIG_INVALID naming the first name this worker has no backend for.
 */
export function checkBackendNames(names: readonly string[]): BackendName[] {
  const checked: BackendName[] = [];
  for (const name of new Set(names)) {
    if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
      throw new ConfigError(
        'CONFIG_INVALID',
        `backends: this worker has no backend ${JSON.stringify(name)} (it has ${BACKEND_NAMES.join(', ')})`,
      );
    }
    checked.push(name as BackendName);
  }
  return checked;
}

/** A manifest of the kind `K` names, as parsed at the boundary. */
export type ParsedManifestOf<K extends BackendName> = Extract<AnyParsedManifest, { readonly kind: K }>;

/** Phases a backend reports; the Debian backend adds resolving, fetching the source and inspecting. */
export type BackendPhase = RebuildPhase | 'resolve' | 'source' | 'inspect';

/** Everything about one rebuild except the manifest: where inputs come from and where results go. */
export interface BackendJob {
  /** Reads the manifest's inputs (and content-store files it pins), verifying digests. */
  readonly inputs: InputSource;
  /** Result directory; must not exist or be empty. */
  readonly outDir: string;
  readonly signal?: AbortSignal;
  readonly onPhase?: (phase: BackendPhase) => void;
  /** Called after the build, before anything is signed; throwing stops the rebuild unsigned. */
  readonly beforeSign?: () => Promise<void>;
  /** Present when the network assigned the rebuild: signed into the statement so it cannot be replayed. */
  readonly job?: { readonly jobId: string; readonly attempt: number; readonly nonce: string };
}

/** A file the build also made, recorded (by digest) in the statement but not one of its subjects. */
export interface ByproductFile {
  readonly name: string;
  readonly path: string;
  readonly sha256: Sha256Hex;
}

/**
 * What a backend did: `rebuilt` carries the rebuild result (built or failed), the byproducts to upload
 * and the local folder holding the outputs under their subject paths; `unavailable` means the record
 * cannot be honoured exactly, and nothing was built.
 */
export type BackendOutcome =
  | {
      readonly kind: 'rebuilt';
      readonly result: RebuildResult;
      readonly byproductFiles: readonly ByproductFile[];
      /** Local directory holding each output under its subject path. */
      readonly outputsDir: string;
    }
  | {
      readonly kind: 'unavailable';
      readonly reason: 'environment-unavailable' | 'source-unavailable';
      readonly detail: string;
    };

/** One backend: rebuilds manifests of kind `K` on this worker. */
export interface RebuildBackend<K extends BackendName = BackendName> {
  readonly name: K;
  rebuild(parsed: ParsedManifestOf<K>, job: BackendJob): Promise<BackendOutcome>;
}

/** A backend of any kind. */
export type AnyRebuildBackend = { readonly [K in BackendName]: RebuildBackend<K> }[BackendName];

/** The backends a worker runs, chosen once at start-up. */
export interface RebuildBackends {
  readonly names: readonly BackendName[];
  /**
   * The rebuild of `parsed` by the backend its manifest names, or undefined when this worker does not
   * run that backend (the coordinator should never have sent it such a job).
   */
  forManifest(parsed: AnyParsedManifest): ((job: BackendJob) => Promise<BackendOutcome>) | undefined;
}

/** The set of `backends`, each found by its name. */
export function rebuildBackendsOf(backends: readonly AnyRebuildBackend[]): RebuildBackends {
  const byName = new Map<BackendName, AnyRebuildBackend>(backends.map((backend) => [backend.name, backend]));
  return Object.freeze({
    names: Object.freeze(backends.map((backend) => backend.name)),
    forManifest(parsed: AnyParsedManifest) {
      // Keyed by the name each backend was built for, so the one found takes manifests of this kind
      // (a correlation TypeScript cannot follow through the union by itself).
      const backend = byName.get(parsed.kind) as RebuildBackend | undefined;
      return backend ? (job: BackendJob) => backend.rebuild(parsed, job) : undefined;
    },
  });
}
