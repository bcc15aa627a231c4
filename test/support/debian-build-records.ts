// Debian builds and their really signed results written straight into a test coordinator's store and
// content store, for tests that drive the real app (app.request) without running workers.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  BUILD_LOG_BYPRODUCT_NAME,
  type DebianSourceOrigin,
} from '../../services/attestation/rebuild-statement.ts';
import { signRebuildStatement } from '../../services/attestation/sign-rebuild-statement.ts';
import { newKey, type TestKey } from '../../services/consensus/consensus-test-fixtures.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import type { ClaimedOutput } from '../../services/manifest/manifest.ts';
import { parseAnyManifest } from '../../services/manifest/parse-any-manifest.ts';
import type { BuildStore } from '../../services/storage/build-store.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import type { RegistryStore } from '../../services/storage/registry-store.ts';
import type { ResultStore } from '../../services/storage/result-store.ts';
import { testJobNonce, testKeyid } from './test-identifiers.ts';

/** One rbnet.debian/v1 build to record. */
export interface DebianBuildSpec {
  /** Source package name (the manifest's and the statement's `name`). */
  readonly name: string;
  /** The .buildinfo's Version, epoch included (e.g. `1:2.0-1`). */
  readonly version: string;
  /** Default `amd64`. */
  readonly architecture?: string;
  /** The published non-dbgsym .debs the verdict compares against; at least one. */
  readonly claimedOutputs: readonly ClaimedOutput[];
  /** Operators that must agree; default 2. */
  readonly threshold?: number;
  /** Default 2 attempts and 60 s. */
  readonly policy?: { readonly maxAttempts?: number; readonly decisionDeadlineMs?: number };
  /**
   * Where workers take the source from: the archive (default), or files the submitter uploaded
   * (`--source`), named here by file name and content.
   */
  readonly source?: 'archive' | { readonly dsc: string; readonly files: Readonly<Record<string, string>> };
}

/** One attested .deb of a result; `sizeBytes` defaults to 4096. */
export interface BuiltOutput {
  readonly path: string;
  readonly sha256: Sha256Hex;
  readonly sizeBytes?: number;
}

/** A built result to record for one worker. */
export interface BuiltResultSpec {
  /** The .debs the worker attests (the statement's outputs and the result row's). */
  readonly outputs: readonly BuiltOutput[];
  /** Byproduct blobs: each is stored in the content store and signed by name in the statement. */
  readonly byproducts?: readonly { readonly name: string; readonly bytes: string | Buffer }[];
  /** Key that signs the statement; default the worker's enrolled signing key. */
  readonly signer?: TestKey;
  /**
   * The source origin the worker signs (`internalParameters.debian.source.origin`): by default what
   * the build's manifest asks for (`archive` or `uploaded`); `null` signs no source, as workers did
   * before the field existed.
   */
  readonly sourceOrigin?: DebianSourceOrigin | null;
  /** An attempt the scheduler already assigned to this worker; default a fresh attempt 1, created here. */
  readonly job?: { readonly jobId: string; readonly attempt: number; readonly nonce: string };
}

/** A built result signed for a fresh attempt, not yet recorded: what a worker would post. */
export interface SignedBuiltResult {
  readonly buildId: string;
  readonly workerId: string;
  readonly operator: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly envelopeJson: string;
  readonly envelopeSha256: Sha256Hex;
  readonly outputs: readonly {
    readonly path: string;
    readonly sha256: Sha256Hex;
    readonly sizeBytes: number;
  }[];
  readonly byproducts: readonly { readonly name: string; readonly sha256: Sha256Hex }[];
  readonly logSha256: Sha256Hex;
  readonly environmentSha256: Sha256Hex;
}

interface RecordedBuild {
  readonly name: string;
  readonly manifestSha256: Sha256Hex;
  readonly buildinfoSha256: Sha256Hex;
  readonly version: string;
  readonly sourceOrigin: DebianSourceOrigin;
}

/**
 * Writes operators, workers, Debian builds and built results the way the coordinator would have
 * recorded them after real jobs: every statement is signed (by the enrolled key unless told
 * otherwise) and every blob it names is in the content store. All timestamps are `now`.
 */
export class DebianBuildRecords {
  readonly #registry: RegistryStore;
  readonly #buildStore: BuildStore;
  readonly #results: ResultStore;
  readonly #content: ContentStore;
  readonly #now: Date;
  readonly #keys = new Map<string, TestKey>();
  readonly #authKeys = new Map<string, KeyObject>();
  readonly #operators = new Map<string, string>();
  readonly #builds = new Map<string, RecordedBuild>();
  #jobs = 0;

  constructor(
    deps: {
      readonly registry: RegistryStore;
      readonly builds: BuildStore;
      readonly results: ResultStore;
      readonly content: ContentStore;
    },
    now: Date,
  ) {
    this.#registry = deps.registry;
    this.#buildStore = deps.builds;
    this.#results = deps.results;
    this.#content = deps.content;
    this.#now = now;
  }

  /**
   * Enrols `workerId` of `operator` (adding the operator on its first worker) with a fresh signing
   * key, for Debian builds on `architectures` (default amd64). @returns the worker's signing key.
   */
  async enrol(
    operator: string,
    workerId: string,
    architectures: readonly string[] = ['amd64'],
  ): Promise<TestKey> {
    const key = newKey();
    const auth = generateKeyPairSync('ed25519');
    if (![...this.#operators.values()].includes(operator))
      await this.#registry.addOperator(operator, this.#now);
    await this.#registry.enrolWorker({
      workerId,
      operator,
      signingKeyPem: key.publicKeyPem,
      signingKeyid: key.keyid,
      authKeyPem: auth.publicKey.export({ format: 'pem', type: 'spki' }) as string,
      authKeyid: testKeyid(`auth-${workerId}`),
      architectures: [...architectures],
      backends: ['debian'],
      capacity: { cores: 1, memoryBytes: 1, diskBytes: 1 },
      queueName: `rbnet-w-${workerId}`,
      redisUser: `worker:rbnet:${workerId}`,
      enrolledAt: this.#now,
    });
    this.#keys.set(workerId, key);
    this.#authKeys.set(workerId, auth.privateKey);
    this.#operators.set(workerId, operator);
    return key;
  }

  /** The private half of the auth key `workerId` proves possession of on worker routes. */
  authKeyOf(workerId: string): KeyObject {
    const key = this.#authKeys.get(workerId);
    if (!key) throw new Error(`worker ${workerId} was not enrolled through DebianBuildRecords`);
    return key;
  }

  /** The enrolled signing key of `workerId`. */
  keyOf(workerId: string): TestKey {
    const key = this.#keys.get(workerId);
    if (!key) throw new Error(`worker ${workerId} was not enrolled through DebianBuildRecords`);
    return key;
  }

  /** Stores `bytes` in the content store. @returns its sha256. */
  async putBlob(bytes: string | Buffer): Promise<Sha256Hex> {
    const buffer = Buffer.from(bytes);
    const sha256 = sha256Hex(buffer) as Sha256Hex;
    await this.#content.put(Readable.from([buffer]), { sha256, maxBytes: buffer.length });
    return sha256;
  }

  /** Records a Debian build of `spec` from a parsed rbnet.debian/v1 manifest. @returns its build id. */
  async createBuild(spec: DebianBuildSpec): Promise<string> {
    const architecture = spec.architecture ?? 'amd64';
    const buildinfoSha256 = sha256Hex(`${spec.name}_${spec.version}_${architecture}.buildinfo`) as Sha256Hex;
    const uploaded = spec.source !== undefined && spec.source !== 'archive' ? spec.source : undefined;
    const source = uploaded
      ? {
          from: 'files',
          dsc: uploaded.dsc,
          files: await Promise.all(
            Object.entries(uploaded.files).map(async ([name, text]) => ({
              name,
              sha256: await this.putBlob(text),
            })),
          ),
        }
      : { from: 'archive' };
    const parsed = parseAnyManifest(
      JSON.stringify({
        schema: 'rbnet.debian/v1',
        name: spec.name,
        version: spec.version,
        architecture,
        backend: 'debian',
        buildinfoSha256,
        source,
        claimedOutputs: spec.claimedOutputs,
        timeLimitSeconds: 3600,
      }),
    );
    if (parsed.kind !== 'debian') throw new Error(`expected a debian manifest, got ${parsed.kind}`);
    const buildId = crypto.randomUUID();
    await this.#buildStore.createBuild({
      buildId,
      manifestSha256: parsed.manifestSha256,
      manifestJson: parsed.canonicalJson,
      name: spec.name,
      architecture,
      backend: 'debian',
      claimedOutputs: spec.claimedOutputs,
      policy: {
        threshold: spec.threshold ?? 2,
        maxAttempts: spec.policy?.maxAttempts ?? 2,
        decisionDeadlineMs: spec.policy?.decisionDeadlineMs ?? 60_000,
      },
      submittedBy: 'admin',
      createdAt: this.#now,
    });
    this.#builds.set(buildId, {
      name: spec.name,
      manifestSha256: parsed.manifestSha256,
      buildinfoSha256,
      version: spec.version,
      sourceOrigin: uploaded ? 'uploaded' : 'archive',
    });
    return buildId;
  }

  /**
   * Records attempt 1 of `workerId` on `buildId` and its built, counted result: a statement over
   * `spec.outputs` in the same environment and from the same inputs as every other result recorded
   * here, naming the stored byproducts (indexed as intake indexes them, unless `spec.signer` forges
   * the signature). @returns the stored envelope's sha256.
   */
  async recordBuilt(
    buildId: string,
    workerId: string,
    spec: BuiltResultSpec,
    receivedAt: Date = this.#now,
  ): Promise<Sha256Hex> {
    const signed = await this.signBuilt(buildId, workerId, spec);
    await this.#results.recordResult({
      buildId,
      workerId,
      operator: signed.operator,
      attempt: signed.attempt,
      jobId: signed.jobId,
      envelopeSha256: signed.envelopeSha256,
      kind: 'built',
      outputs: signed.outputs,
      // Intake indexes only what verified against the enrolled key; a forged row is left unindexed.
      ...(spec.signer === undefined && { byproducts: signed.byproducts }),
      environmentSha256: signed.environmentSha256,
      environmentOrigin: 'built-locally',
      inputsKey: 'same',
      logSha256: signed.logSha256,
      counted: true,
      receivedAt,
    });
    return signed.envelopeSha256;
  }

  /**
   * Creates attempt 1 of `workerId` on `buildId` (open, assigned now), stores the log, outputs'
   * byproducts and envelope, and signs the statement a worker would post for it. Records nothing
   * else: post it to `/v1/results`, or use {@link recordBuilt}.
   */
  async signBuilt(buildId: string, workerId: string, spec: BuiltResultSpec): Promise<SignedBuiltResult> {
    const build = this.#builds.get(buildId);
    if (!build) throw new Error(`build ${buildId} was not created through DebianBuildRecords`);
    const operator = this.#operators.get(workerId);
    if (!operator) throw new Error(`worker ${workerId} was not enrolled through DebianBuildRecords`);
    const signer = spec.signer ?? this.keyOf(workerId);
    const sourceOrigin = spec.sourceOrigin === undefined ? build.sourceOrigin : spec.sourceOrigin;
    this.#jobs++;
    const { jobId, attempt, nonce } = spec.job ?? {
      jobId: `job-${this.#jobs}`,
      attempt: 1,
      nonce: testJobNonce(`of-the-test-job-${this.#jobs}`),
    };
    if (!spec.job) {
      await this.#buildStore.createAttempt({
        buildId,
        workerId,
        operator,
        attempt,
        jobId,
        nonce,
        assignedAt: this.#now,
      });
    }
    const byproducts: { name: string; sha256: Sha256Hex }[] = [];
    for (const b of spec.byproducts ?? [])
      byproducts.push({ name: b.name, sha256: await this.putBlob(b.bytes) });
    const outputs = spec.outputs.map((o) => ({
      path: o.path,
      sha256: o.sha256,
      sizeBytes: o.sizeBytes ?? 4096,
    }));
    const logText = `log of ${jobId}`;
    const log = await this.putBlob(logText);
    const environment = sha256Hex('bookworm package list') as Sha256Hex;
    const signed = await signRebuildStatement(
      {
        manifest: { manifestSha256: build.manifestSha256, manifest: { name: build.name } },
        outputs,
        environment: { imageSha256: environment, origin: 'built-locally', recipe: 'rbnet-debian/v1' },
        inputs: [{ path: `${build.name}.buildinfo`, sha256: build.buildinfoSha256 }],
        log: { sha256: log, sizeBytes: Buffer.byteLength(logText), truncated: false },
        worker: { id: workerId, operator, builderUri: `https://rbnet.dev/worker/${operator}/${workerId}` },
        timing: { startedOn: this.#now, finishedOn: this.#now },
        host: {
          kernelVersion: '6.1.0',
          cpuCount: 2,
          engineVersion: '24.0.0',
          storageDriver: 'btrfs',
          clockUtc: this.#now.toISOString(),
          rbnetVersion: '0.1.0',
        },
        job: { jobId, attempt, nonce },
        byproducts,
        debian: {
          imageSha256: sha256Hex('debian engine image') as Sha256Hex,
          extraPackages: [],
          packageCount: 1,
          ...(sourceOrigin !== null && {
            source: {
              name: build.name,
              version: build.version,
              origin: sourceOrigin,
              dscSha256: sha256Hex(`${build.name}_${build.version}.dsc`) as Sha256Hex,
            },
          }),
        },
      },
      signer.signer,
    );
    const envelopeSha256 = await this.putBlob(signed.envelopeJson);
    return {
      buildId,
      workerId,
      operator,
      jobId,
      attempt,
      envelopeJson: signed.envelopeJson,
      envelopeSha256,
      outputs,
      byproducts: [{ name: BUILD_LOG_BYPRODUCT_NAME, sha256: log }, ...byproducts],
      logSha256: log,
      environmentSha256: environment,
    };
  }
}
