// A coordinator's records with a build of every verdict, hostile names and logs, and some history,
// written the way intake and the decision write them: really signed results in the store and the
// content store, then the real decideBuild. For the web pages' tests, screenshots and benches.
import { Readable } from 'node:stream';
import { type DecideDeps, decideBuild } from '../../coordinator/consensus/decide-build.ts';
import { BUILD_LOG_BYPRODUCT_NAME } from '../../services/attestation/rebuild-statement.ts';
import { signRebuildStatement } from '../../services/attestation/sign-rebuild-statement.ts';
import type { Verdict } from '../../services/consensus/verdict.ts';
import {
  debListing,
  fileMember,
  inspectionResult,
} from '../../services/debian/deb-inspection/inspection-result-fixture.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { parseManifest } from '../../services/manifest/parse-manifest.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import { DebianBuildRecords } from './debian-build-records.ts';
import { genericBuild } from './generic-build.ts';
import { testJobNonce } from './test-identifiers.ts';

const DAY_MS = 86_400_000;

/** Text that must stay text: markup, quotes, an RTL override, a C0 control stripped by the store. */
export const HOSTILE_NAME = `<script>window.__pwned=1</script>"'&<img src=x onerror="window.__pwned=2">\u202Egpj.exe`;
/** An output path a worker signed: markup, quotes, a shell substitution, an RTL override, 200 characters. */
export const HOSTILE_PATH = `"><svg onload=window.__pwned=3>$(touch pwned)'\`x\`\u202Efdp.${'w'.repeat(120)}.exe`;
/** Log lines: markup, a colour sequence, an RTL override, and one very long unbroken line. */
export const HOSTILE_LOG = [
  'make: building',
  '<script>window.__pwned=4</script><img src=x onerror=window.__pwned=5>',
  '\u001b[31merror:\u001b[0m \u202Eevil reversed text',
  `${'L'.repeat(6000)}`,
  'make: *** [all] Error 2',
].join('\n');

/** What a page should show for the diverged Debian build. */
export const DIVERGED_DEB = 'random_1.0-1_amd64.deb';
export const DIFFOSCOPE_HTML =
  '<!DOCTYPE html><html><head><style>body{color:#036}</style></head><body><script>window.parent.__pwned=6</script><p>usr/bin/random differs</p></body></html>\n';

export type WorldRole =
  | 'reproducible'
  | 'agreed'
  | 'mismatch-upstream'
  | 'diverged'
  | 'inputs-differ'
  | 'failed'
  | 'insufficient-operators'
  | 'environment-unavailable'
  | 'source-unavailable'
  | 'pending'
  | 'regression'
  | 'hostile';

export interface WebWorld {
  /** A build id per role; the role is the verdict it reached (regression: diverged, hostile: diverged). */
  readonly builds: Readonly<Record<WorldRole, string>>;
  readonly expected: Readonly<Record<WorldRole, Verdict>>;
  /** The package names of the roles. */
  readonly names: Readonly<Record<WorldRole, string>>;
  /** Each operator's signing public key (PEM): what a consumer pins in a policy. */
  readonly operatorKeys: Readonly<Record<string, string>>;
}

type WorldDeps = DecideDeps & { readonly content: ContentStore };

const deb = (label: string) => sha256Hex(label) as Sha256Hex;

async function putBlob(content: ContentStore, bytes: string): Promise<Sha256Hex> {
  const buffer = Buffer.from(bytes);
  const sha256 = sha256Hex(buffer) as Sha256Hex;
  await content.put(Readable.from([buffer]), { sha256, maxBytes: buffer.length });
  return sha256;
}

/**
 * Records generic (rbnet.manifest/v1) results: signed statements by the enrolled keys of `records`,
 * with the log, outputs and environment given, or failures with a reason.
 */
class GenericResults {
  #jobs = 0;
  constructor(
    private readonly deps: WorldDeps,
    private readonly records: DebianBuildRecords,
    private readonly now: Date,
  ) {}

  async #attempt(buildId: string, workerId: string, operator: string, startedAgoMs: number) {
    this.#jobs++;
    const jobId = `generic-job-${this.#jobs}-${buildId.slice(0, 8)}`;
    const nonce = testJobNonce(`web world job ${this.#jobs}`);
    const assignedAt = new Date(this.now.getTime() - startedAgoMs - 5_000);
    await this.deps.builds.createAttempt({
      buildId,
      workerId,
      operator,
      attempt: 1,
      jobId,
      nonce,
      assignedAt,
    });
    const startedAt = new Date(this.now.getTime() - startedAgoMs);
    await this.deps.builds.renewRunningLeases(workerId, [jobId], {
      now: startedAt,
      runningUntil: new Date(startedAt.getTime() + 3_600_000),
      queuedUntil: new Date(startedAt.getTime() + 3_600_000),
    });
    return { jobId, nonce };
  }

  /** The result's key: attempt 1 of `workerId` on `buildId`. */
  #key(buildId: string, workerId: string, operator: string, jobId: string) {
    return { buildId, workerId, operator, attempt: 1, jobId };
  }

  async built(
    buildId: string,
    workerId: string,
    operator: string,
    spec: { outputs: { path: string; sha256: Sha256Hex }[]; log: string; environment?: Sha256Hex },
  ): Promise<void> {
    const build = (await this.deps.builds.getBuild(buildId))!;
    const parsed = parseManifest(build.manifestJson);
    const { jobId, nonce } = await this.#attempt(buildId, workerId, operator, 95_000);
    const log = await putBlob(this.deps.content, spec.log);
    const environment = spec.environment ?? parsed.manifest.environment.imageSha256;
    const outputs = spec.outputs.map((o) => ({ ...o, sizeBytes: 2048 }));
    const signed = await signRebuildStatement(
      {
        manifest: parsed,
        outputs,
        environment: { imageSha256: environment, origin: 'built-locally' },
        inputs: parsed.manifest.inputs.map((i) => ({ path: i.path, sha256: i.sha256 })),
        log: { sha256: log, sizeBytes: Buffer.byteLength(spec.log), truncated: false },
        worker: { id: workerId, operator, builderUri: `https://rbnet.dev/worker/${operator}/${workerId}` },
        timing: { startedOn: new Date(this.now.getTime() - 95_000), finishedOn: this.now },
        host: {
          kernelVersion: '6.1.0',
          cpuCount: 2,
          engineVersion: '24.0.0',
          storageDriver: 'btrfs',
          clockUtc: this.now.toISOString(),
          rbnetVersion: '0.1.0',
        },
        job: { jobId, attempt: 1, nonce },
      },
      this.records.keyOf(workerId).signer,
    );
    const envelopeSha256 = await putBlob(this.deps.content, signed.envelopeJson);
    await this.deps.results.recordResult({
      ...this.#key(buildId, workerId, operator, jobId),
      envelopeSha256,
      kind: 'built',
      outputs,
      byproducts: [{ name: BUILD_LOG_BYPRODUCT_NAME, sha256: log }],
      environmentSha256: environment,
      environmentOrigin: 'built-locally',
      inputsKey: `env-${environment.slice(0, 16)}`,
      logSha256: log,
      counted: true,
      receivedAt: this.now,
    });
  }

  async failed(
    buildId: string,
    workerId: string,
    operator: string,
    reason: string,
    log: string,
  ): Promise<void> {
    const { jobId } = await this.#attempt(buildId, workerId, operator, 40_000);
    const logSha = await putBlob(this.deps.content, log);
    await this.deps.results.recordResult({
      ...this.#key(buildId, workerId, operator, jobId),
      envelopeSha256: await putBlob(this.deps.content, `failure report of ${jobId}`),
      kind: 'failed',
      failureReason: reason,
      outputs: [],
      environmentSha256: sha256Hex('environment') as Sha256Hex,
      environmentOrigin: 'built-locally',
      inputsKey: 'same',
      logSha256: logSha,
      counted: true,
      receivedAt: this.now,
    });
  }
}

/**
 * Enrols operators alpha, beta and gamma (one worker each) and records the world. `now` is the
 * instant results arrive; history reaches 45 days back from it.
 */
export async function seedWebWorld(deps: WorldDeps, now: Date): Promise<WebWorld> {
  const records = new DebianBuildRecords(deps, now);
  for (const operator of ['alpha', 'beta', 'gamma']) await records.enrol(operator, `${operator}-1`);
  const generic = new GenericResults(deps, records, now);
  const decide = (id: string) => decideBuild(deps, id, { maxAttemptsReached: true });
  const builds: Partial<Record<WorldRole, string>> = {};
  const names: Partial<Record<WorldRole, string>> = {};

  // History first (older seq): verdicts only, on past days, for the trend and the package timelines.
  for (let day = 45; day >= 1; day--) {
    const past = new Date(now.getTime() - day * DAY_MS);
    const name = ['hello', 'coreutils', 'zlib', 'openssl', 'bash'][day % 5]!;
    const version = `1.${45 - day}-1`;
    const id = await new DebianBuildRecords(deps, past).createBuild({
      name,
      version,
      claimedOutputs: [{ path: `${name}_${version}_amd64.deb`, sha256: deb(`${name} ${version}`) }],
    });
    const verdict: Verdict = day % 7 === 0 ? 'diverged' : day % 11 === 0 ? 'failed' : 'reproducible';
    await deps.builds.recordVerdict({
      buildId: id,
      verdict,
      decisionJson: JSON.stringify({
        verdict,
        countedOperators: ['alpha', 'beta'],
        agreeingOperators: verdict === 'reproducible' ? ['alpha', 'beta'] : [],
        notCounted: [],
        explanation: `recorded history (${verdict})`,
      }),
      decidedAt: new Date(past.getTime() + 3_600_000),
    });
  }

  // reproducible: three operators rebuild what the archive published.
  names.reproducible = 'hello';
  const helloDeb = { path: 'hello_2.10-3_amd64.deb', sha256: deb('hello 2.10-3') };
  builds.reproducible = await records.createBuild({
    name: 'hello',
    version: '2.10-3',
    claimedOutputs: [helloDeb],
  });
  for (const w of ['alpha-1', 'beta-1', 'gamma-1'])
    await records.recordBuilt(builds.reproducible, w, { outputs: [helloDeb] });

  // mismatch-upstream: operators agree, the archive's .deb differs.
  names['mismatch-upstream'] = 'wrong-claim';
  builds['mismatch-upstream'] = await records.createBuild({
    name: 'wrong-claim',
    version: '1.0-1',
    claimedOutputs: [{ path: 'wrong-claim_1.0-1_amd64.deb', sha256: deb('what was published') }],
  });
  for (const w of ['alpha-1', 'beta-1'])
    await records.recordBuilt(builds['mismatch-upstream'], w, {
      outputs: [{ path: 'wrong-claim_1.0-1_amd64.deb', sha256: deb('what everyone rebuilt') }],
    });

  // diverged: alpha and beta differ; alpha's worker looked inside and ran diffoscope.
  names.diverged = 'random';
  builds.diverged = await records.createBuild({
    name: 'random',
    version: '1.0-1',
    claimedOutputs: [{ path: DIVERGED_DEB, sha256: deb('published random') }],
  });
  const inspection = inspectionResult({
    debs: [
      {
        role: 'rebuilt',
        file: DIVERGED_DEB,
        listing: debListing(deb('alpha random'), {
          data: [fileMember('usr/bin/random', 'random bytes of alpha')],
        }),
      },
      { role: 'published', file: DIVERGED_DEB, listing: debListing(deb('published random')) },
    ],
    diffoscopeFor: [DIVERGED_DEB],
  });
  await records.recordBuilt(builds.diverged, 'alpha-1', {
    outputs: [{ path: DIVERGED_DEB, sha256: deb('alpha random') }],
    byproducts: [
      { name: 'rbnet/deb-inspection.json', bytes: JSON.stringify(inspection) },
      { name: 'rbnet/diffoscope-1.html', bytes: DIFFOSCOPE_HTML },
    ],
  });
  await records.recordBuilt(builds.diverged, 'beta-1', {
    outputs: [{ path: DIVERGED_DEB, sha256: deb('beta random') }],
  });

  // regression: libfoo 1.0-1 reproduced, 1.0-2 diverges.
  names.regression = 'libfoo';
  const good = { path: 'libfoo_1.0-1_amd64.deb', sha256: deb('libfoo 1.0-1') };
  const libfooGood = await records.createBuild({ name: 'libfoo', version: '1.0-1', claimedOutputs: [good] });
  for (const w of ['alpha-1', 'beta-1']) await records.recordBuilt(libfooGood, w, { outputs: [good] });
  await decide(libfooGood);
  builds.regression = await records.createBuild({
    name: 'libfoo',
    version: '1.0-2',
    claimedOutputs: [{ path: 'libfoo_1.0-2_amd64.deb', sha256: deb('libfoo 1.0-2') }],
  });
  await records.recordBuilt(builds.regression, 'alpha-1', {
    outputs: [{ path: 'libfoo_1.0-2_amd64.deb', sha256: deb('libfoo 1.0-2') }],
  });
  await records.recordBuilt(builds.regression, 'beta-1', {
    outputs: [{ path: 'libfoo_1.0-2_amd64.deb', sha256: deb('libfoo 1.0-2 with a timestamp') }],
  });

  // environment- and source-unavailable: every worker says so.
  for (const [role, reason] of [
    ['environment-unavailable', 'environment-unavailable'],
    ['source-unavailable', 'source-unavailable'],
  ] as const) {
    names[role] = role === 'environment-unavailable' ? 'old-toolchain' : 'vanished-source';
    builds[role] = await records.createBuild({
      name: names[role],
      version: '0.9-1',
      claimedOutputs: [{ path: `${names[role]}_0.9-1_amd64.deb`, sha256: deb(names[role]) }],
    });
    for (const [w, op] of [
      ['alpha-1', 'alpha'],
      ['beta-1', 'beta'],
    ] as const)
      await generic.failed(builds[role], w, op, reason, `${reason}: nothing was built\n`);
  }

  // Generic builds: agreed (nothing claimed), inputs-differ, failed, insufficient-operators, pending, hostile.
  // The store takes any printable name (a manifest's own name is stricter): the pages must cope.
  const create = async (role: WorldRole, name: string, policy = {}) => {
    const build = {
      ...genericBuild(role.replaceAll('-', ''), { createdAt: new Date(now.getTime() - 120_000), policy }),
      name,
    };
    await deps.builds.createBuild(build);
    names[role] = name;
    builds[role] = build.buildId;
    return build.buildId;
  };
  const out = (label: string) => [{ path: 'out/tool.bin', sha256: deb(label) }];
  const agreed = await create('agreed', 'toolchain-notes');
  for (const [w, op] of [
    ['alpha-1', 'alpha'],
    ['gamma-1', 'gamma'],
  ] as const)
    await generic.built(agreed, w, op, { outputs: out('same tool'), log: 'built tool.bin\n' });
  const inputs = await create('inputs-differ', 'inputs-vary');
  await generic.built(inputs, 'alpha-1', 'alpha', { outputs: out('v'), log: 'ok\n' });
  await generic.built(inputs, 'beta-1', 'beta', {
    outputs: out('v'),
    log: 'ok\n',
    environment: deb('another image'),
  });
  const failed = await create('failed', 'ftbfs');
  for (const [w, op] of [
    ['alpha-1', 'alpha'],
    ['beta-1', 'beta'],
  ] as const)
    await generic.failed(
      failed,
      w,
      op,
      'exit-code',
      'gcc: error: missing.h: No such file or directory\nmake: *** [all] Error 1\n',
    );
  const lonely = await create('insufficient-operators', 'lonely');
  await generic.built(lonely, 'gamma-1', 'gamma', { outputs: out('lonely'), log: 'ok\n' });
  const hostile = await create('hostile', HOSTILE_NAME);
  await generic.built(hostile, 'alpha-1', 'alpha', {
    outputs: [{ path: HOSTILE_PATH, sha256: deb('hostile a') }],
    log: HOSTILE_LOG,
  });
  await generic.built(hostile, 'beta-1', 'beta', {
    outputs: [{ path: HOSTILE_PATH, sha256: deb('hostile b') }],
    log: 'fine\n',
  });

  for (const role of [
    'reproducible',
    'mismatch-upstream',
    'diverged',
    'regression',
    'environment-unavailable',
    'source-unavailable',
    'agreed',
    'inputs-differ',
    'failed',
    'insufficient-operators',
    'hostile',
  ] as const)
    await decide(builds[role]!);

  // pending: one attempt running, one waiting for its worker; a day to go.
  const pending = await create('pending', 'waiting', { decisionDeadlineMs: DAY_MS });
  await deps.builds.createAttempt({
    buildId: pending,
    workerId: 'alpha-1',
    operator: 'alpha',
    attempt: 1,
    jobId: `pending-run-${pending.slice(0, 8)}`,
    nonce: testJobNonce(`web world running ${pending}`),
    assignedAt: now,
  });
  await deps.builds.renewRunningLeases('alpha-1', [`pending-run-${pending.slice(0, 8)}`], {
    now,
    runningUntil: new Date(now.getTime() + DAY_MS),
    queuedUntil: new Date(now.getTime() + DAY_MS),
  });
  await deps.builds.createAttempt({
    buildId: pending,
    workerId: 'beta-1',
    operator: 'beta',
    attempt: 1,
    jobId: `pending-queue-${pending.slice(0, 8)}`,
    nonce: testJobNonce(`web world queued ${pending}`),
    assignedAt: now,
  });

  const expected: Record<WorldRole, Verdict> = {
    reproducible: 'reproducible',
    agreed: 'agreed',
    'mismatch-upstream': 'mismatch-upstream',
    diverged: 'diverged',
    'inputs-differ': 'inputs-differ',
    failed: 'failed',
    'insufficient-operators': 'insufficient-operators',
    'environment-unavailable': 'environment-unavailable',
    'source-unavailable': 'source-unavailable',
    pending: 'pending',
    regression: 'diverged',
    hostile: 'diverged',
  };
  return {
    builds: builds as Record<WorldRole, string>,
    expected,
    names: names as Record<WorldRole, string>,
    operatorKeys: Object.fromEntries(
      ['alpha', 'beta', 'gamma'].map((operator) => [operator, records.keyOf(`${operator}-1`).publicKeyPem]),
    ),
  };
}
