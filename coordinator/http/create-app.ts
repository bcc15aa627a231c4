// Builds the coordinator's HTTP API (hono). Tested with app.request() without a socket; main.ts serves it.
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { type ArtifactBuildsPage, isBuildId } from '../../services/api/artifact-builds-page.ts';
import { DIFFOSCOPE_BYPRODUCT_PATTERN } from '../../services/debian/deb-inspection/inspection-report.ts';
import { isSha256Hex, type Sha256Hex } from '../../services/digest.ts';
import { RbnetError } from '../../services/errors.ts';
import { manifestStoredInputs, parseAnyManifest } from '../../services/manifest/parse-any-manifest.ts';
import {
  type HeartbeatAnswer,
  HeartbeatError,
  type HeartbeatRequest,
  parseHeartbeatRequest,
} from '../../services/queue/heartbeat-contract.ts';
import { storeNamePattern } from '../../services/storage/build-store.ts';
import { readVerifiedResult } from '../consensus/decide-build.ts';
import { standingOfResults } from '../consensus/revoked-results.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { acceptResult } from '../intake/accept-result.ts';
import { checkDebianSubmission } from '../intake/check-debian-submission.ts';
import { eligibleOperatorCount, explainIneligible } from '../scheduler/build-scheduler.ts';
import { progressBuild } from '../scheduler/progress-build.ts';
import { collectGarbage } from '../storage/collect-garbage.ts';
import { readBlobText } from '../storage/read-blob.ts';
import { registerWebPages } from '../web/register-web-pages.ts';
import { ApiError, errorResponse } from './api-error.ts';
import { registerAptLinkRoute } from './apt-link-route.ts';
import { type AuthVariables, requireToken, requireWorker } from './auth-middleware.ts';
import { requireBlobWriter, uploadBlob } from './blob-upload.ts';
import { enrolWorker } from './enrol-worker.ts';
import { INERT_BLOB_HEADERS, INERT_HTML_HEADERS } from './inert-content-headers.ts';
import { registerOpsRoutes } from './ops-routes.ts';
import { parseJsonObject, readBodyBytes, readJsonObject, stringField } from './request-body.ts';
import { readCompromise, revokeWorker } from './revoke-worker.ts';

type Env = { Variables: AuthVariables };

/** Largest diffoscope HTML served as a page; workers cut theirs at 8 MiB. */
const MAX_DIFFOSCOPE_HTML_BYTES = 16 * 1024 ** 2;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function digestParam(value: string | undefined): Sha256Hex {
  if (!isSha256Hex(value))
    throw new ApiError(400, 'DIGEST_INVALID', 'digest: expected 64 lowercase hex characters');
  return value;
}

/** `?limit=`: 1..1000 builds per page, default 100. */
function pageLimitParam(value: string | undefined): number {
  if (value === undefined) return 100;
  const limit = Number(value);
  if (!/^[0-9]{1,4}$/.test(value) || limit < 1 || limit > 1000)
    throw new ApiError(400, 'INVALID', 'limit: expected an integer from 1 to 1000');
  return limit;
}

function buildIdParam(value: string | undefined): string {
  if (!value || !UUID.test(value)) throw new ApiError(400, 'INVALID', 'build id: expected a UUID');
  return value;
}

export function createCoordinatorApp(deps: CoordinatorDeps): Hono<Env> {
  const app = new Hono<Env>();
  const log = deps.logger;

  app.onError((err, c) => {
    const isKnown = err instanceof RbnetError;
    if (isKnown && c.req.path === '/v1/results') deps.metrics.refusal(err.code);
    const level = isKnown ? 'warn' : 'error';
    log[level](
      {
        err: isKnown ? { code: err.code, message: err.message } : err,
        method: c.req.method,
        path: c.req.path,
      },
      'request refused',
    );
    return errorResponse(c, err);
  });
  app.notFound((c) =>
    c.json({ error: { code: 'NOT_FOUND', message: `no route for ${c.req.method} ${c.req.path}` } }, 404),
  );

  app.get('/healthz', (c) => c.json({ ok: true }));

  // ---- admin (admin-scoped bearer token)
  const admin = requireToken(deps, 'admin');
  app.post('/v1/admin/operators', admin, async (c) => {
    const value = await readJsonObject(c, 4096);
    const record = await deps.store.addOperator(stringField(value, 'name', storeNamePattern), deps.now());
    return c.json(record, 201);
  });
  app.post('/v1/admin/enrolment-tokens', admin, async (c) => {
    const value = await readJsonObject(c, 4096);
    const operator = stringField(value, 'operator', storeNamePattern);
    const ttlSeconds =
      typeof value.ttlSeconds === 'number' ? value.ttlSeconds : deps.config.enrolmentTokenTtlSeconds;
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > 30 * 86_400) {
      throw new ApiError(400, 'INVALID', 'ttlSeconds: expected an integer from 60 to 2592000');
    }
    const expiresAt = new Date(deps.now().getTime() + ttlSeconds * 1000);
    const token = await deps.store.createToken({
      kind: 'enrolment',
      subject: operator,
      scopes: ['enrol'],
      singleUse: true,
      expiresAt,
      createdAt: deps.now(),
    });
    return c.json(
      { token: token.secret, tokenId: token.tokenId, operator, expiresAt: expiresAt.toISOString() },
      201,
    );
  });
  app.post('/v1/admin/maintainers', admin, async (c) => {
    const value = await readJsonObject(c, 4096);
    const name = stringField(value, 'name', storeNamePattern);
    await deps.store.addMaintainer(name, deps.now());
    const token = await deps.store.createToken({
      kind: 'maintainer',
      subject: name,
      scopes: ['submit'],
      singleUse: false,
      createdAt: deps.now(),
    });
    return c.json({ name, token: token.secret, tokenId: token.tokenId }, 201);
  });
  app.post('/v1/admin/gc', admin, async (c) => {
    const value = await readJsonObject(c, 4096);
    if (value.dryRun !== undefined && typeof value.dryRun !== 'boolean')
      throw new ApiError(400, 'INVALID', 'dryRun: expected a boolean');
    const report = await collectGarbage(deps, {
      now: deps.now(),
      graceMs: deps.config.gc.graceMs,
      dryRun: value.dryRun === true,
      maxBlobs: deps.config.gc.maxBlobsPerPass,
    });
    log.info(
      {
        dryRun: report.dryRun,
        removed: report.removed.length,
        freedBytes: report.freedBytes,
        kept: report.kept,
      },
      'content-store garbage collection',
    );
    return c.json(report);
  });
  // `revoke` is the older name of `retire`.
  for (const action of ['retire', 'revoke'] as const) {
    app.post(`/v1/admin/workers/:id/${action}`, admin, async (c) =>
      c.json(await revokeWorker(deps, c.req.param('id'), { kind: 'retired' })),
    );
  }
  app.post('/v1/admin/workers/:id/compromised', admin, async (c) =>
    c.json(await revokeWorker(deps, c.req.param('id'), await readCompromise(c))),
  );

  // ---- worker enrolment (single-use enrolment token + proof of possession of the new auth key)
  app.post('/v1/workers/enrol', async (c) => enrolWorker(deps, c));

  // ---- content store: anyone reads by digest; maintainers (token) and workers (PoP) write
  app.get('/v1/cas/sha256/:digest', async (c) => {
    const digest = digestParam(c.req.param('digest'));
    const stat = await deps.content.stat(digest);
    const stream = stat ? await deps.content.open(digest) : undefined;
    if (!stat || !stream) throw new ApiError(404, 'NOT_FOUND', `sha256:${digest} is not in the store`);
    return new Response(Readable.toWeb(stream) as ReadableStream, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(stat.sizeBytes),
        ...INERT_BLOB_HEADERS,
        'cache-control': 'public, max-age=31536000, immutable',
      },
    });
  });
  // Writers: a maintainer token (inputs) or a worker proof (outputs, logs); quotas per principal.
  app.put('/v1/cas/sha256/:digest', requireBlobWriter(deps), uploadBlob(deps));

  // ---- maintainers submit builds
  app.post('/v1/builds', requireToken(deps, 'submit'), async (c) => {
    const bytes = await readBodyBytes(c, deps.config.maxManifestBytes);
    const parsed = parseAnyManifest(bytes, { maxManifestBytes: deps.config.maxManifestBytes });
    const manifest = parsed.manifest;
    const missing: string[] = [];
    // Wanted before checked: a garbage-collection pass either sees this and keeps the inputs, or
    // has already taken them out of sight and the check below refuses.
    await deps.blobs.markWanted(
      manifestStoredInputs(parsed).map((input) => input.sha256),
      deps.now(),
    );
    for (const input of manifestStoredInputs(parsed))
      if (!(await deps.content.has(input.sha256))) missing.push(input.sha256);
    if (missing.length > 0) {
      throw new ApiError(
        422,
        'INPUTS_MISSING',
        `inputs not in the content store (upload them first): ${missing.map((d) => `sha256:${d}`).join(', ')}`,
      );
    }
    if (parsed.kind === 'debian') await checkDebianSubmission(deps.content, parsed.manifest);
    const threshold = deps.config.policy.threshold;
    const operators = await eligibleOperatorCount(deps.store, manifest);
    if (operators < threshold) {
      throw new ApiError(
        422,
        'INSUFFICIENT_OPERATORS',
        `the policy needs ${threshold} operators: ${await explainIneligible(deps.store, manifest)}`,
      );
    }
    const buildId = crypto.randomUUID();
    const build = await deps.store.createBuild({
      buildId,
      manifestSha256: parsed.manifestSha256,
      manifestJson: parsed.canonicalJson,
      name: manifest.name,
      architecture: manifest.architecture,
      backend: manifest.backend,
      claimedOutputs: manifest.claimedOutputs,
      policy: {
        threshold,
        maxAttempts: deps.config.policy.maxAttempts,
        decisionDeadlineMs: deps.config.policy.decisionDeadlineMs,
      },
      submittedBy: c.get('token')!.subject,
      createdAt: deps.now(),
    });
    const scheduling = await progressBuild(deps, buildId);
    log.info(
      { buildId, manifestSha256: parsed.manifestSha256, assigned: scheduling.assigned.length },
      'build submitted',
    );
    return c.json(
      {
        buildId,
        manifestSha256: build.manifestSha256,
        verdict: build.verdict,
        assigned: scheduling.assigned,
        links: buildLinks(buildId),
      },
      201,
    );
  });

  // ---- workers report results
  app.post('/v1/results', requireWorker(deps, 'json'), async (c) => {
    const body = parseJsonObject(c.get('bodyBytes')!);
    const outcome = await acceptResult(deps, c.get('worker')!, body);
    if (!outcome.duplicate) {
      deps.metrics.result(outcome.kind, outcome.counted);
      deps.metrics.jobDuration(outcome.durationMs / 1000);
    }
    if (!outcome.duplicate) await progressBuild(deps, outcome.buildId);
    const build = await deps.store.getBuild(outcome.buildId);
    log.info(
      {
        buildId: outcome.buildId,
        workerId: c.get('worker')!.workerId,
        duplicate: outcome.duplicate,
        counted: outcome.counted,
      },
      'result accepted',
    );
    return c.json({ accepted: true, ...outcome, verdict: build?.verdict }, outcome.duplicate ? 200 : 202);
  });

  // ---- workers keep their leases alive and check an attempt is still theirs before signing
  const JOB_ID = /^[A-Za-z0-9:_-]{1,128}$/;

  app.post('/v1/heartbeats', requireWorker(deps, 'json'), async (c) => {
    let heartbeat: HeartbeatRequest;
    try {
      heartbeat = parseHeartbeatRequest(c.get('bodyBytes')!.toString('utf8'));
    } catch (err) {
      if (err instanceof HeartbeatError) throw new ApiError(400, 'INVALID', err.message);
      throw err;
    }
    const worker = c.get('worker')!;
    const now = deps.now();
    const { leaseTimeoutMs, pickupTimeoutMs } = deps.config.policy;
    // Only what the worker names as running (and signs) is renewed; everything else it was given
    // runs down to its pickup deadline or lease end, however often it beats.
    const renewed = await deps.store.renewRunningLeases(worker.workerId, heartbeat.running, {
      now,
      runningUntil: new Date(now.getTime() + leaseTimeoutMs),
      queuedUntil: new Date(now.getTime() + pickupTimeoutMs),
    });
    // Named jobs that are not renewed (expired, cancelled, past their run limit, someone else's):
    // the worker should stop them.
    const renewedSet = new Set(renewed);
    const stale = heartbeat.running.filter((jobId) => !renewedSet.has(jobId));
    const answer: HeartbeatAnswer = { leaseTimeoutMs, pickupTimeoutMs, renewed, stale };
    return c.json(answer);
  });
  app.post('/v1/attempts/current', requireWorker(deps, 'json'), async (c) => {
    const body = parseJsonObject(c.get('bodyBytes')!);
    const jobId = body.jobId;
    if (typeof jobId !== 'string' || !JOB_ID.test(jobId))
      throw new ApiError(400, 'INVALID', 'jobId: expected a job id');
    const attempt = await deps.store.getAttemptByJobId(jobId);
    const mine = !!attempt && attempt.workerId === c.get('worker')!.workerId;
    return c.json({
      jobId,
      current: mine && attempt.state === 'open',
      state: mine ? attempt.state : 'not-assigned',
    });
  });

  // ---- public reads (no account)
  app.get('/v1/builds/:id', async (c) => {
    const buildId = buildIdParam(c.req.param('id'));
    const build = await deps.store.getBuild(buildId);
    if (!build) throw new ApiError(404, 'NOT_FOUND', `build ${buildId} not found`);
    const [attempts, results, history, conflicts] = await Promise.all([
      deps.store.listAttempts(buildId),
      deps.store.listResults(buildId),
      deps.store.getVerdictHistory(buildId),
      deps.store.listAptLinkConflicts(buildId),
    ]);
    const latest = history.at(-1);
    // What a revocation took out since the row was written: rows are append-only, standing is not.
    const revoked = new Map(
      (await standingOfResults(deps.store, results)).revoked.map((r) => [r.envelopeSha256, r]),
    );
    return c.json({
      buildId,
      name: build.name,
      manifestSha256: build.manifestSha256,
      architecture: build.architecture,
      backend: build.backend,
      claimedOutputs: build.claimedOutputs,
      policy: build.policy,
      retryPolicy: {
        leaseTimeoutMs: deps.config.policy.leaseTimeoutMs,
        buildFailureRetries: deps.config.policy.buildFailureRetries,
        infrastructureRetries: deps.config.policy.infrastructureRetries,
        retryBackoffMs: deps.config.policy.retryBackoffMs,
      },
      createdAt: build.createdAt,
      verdict: build.verdict,
      decision: latest ? JSON.parse(latest.decisionJson) : undefined,
      attempts: attempts.map(({ nonce: _nonce, ...attempt }) => attempt),
      results: results.map((r) => ({
        workerId: r.workerId,
        operator: r.operator,
        attempt: r.attempt,
        kind: r.kind,
        failureReason: r.failureReason,
        outputs: r.outputs,
        environmentSha256: r.environmentSha256,
        environmentOrigin: r.environmentOrigin,
        envelopeSha256: r.envelopeSha256,
        logSha256: r.logSha256,
        counted: r.counted && !revoked.has(r.envelopeSha256),
        refusedReason: revoked.has(r.envelopeSha256)
          ? `worker ${r.workerId} was marked compromised since ${revoked.get(r.envelopeSha256)!.compromisedSince}; results received from then on do not count`
          : r.refusedReason,
        receivedAt: r.receivedAt,
      })),
      history: history.map(({ decisionJson: _d, ...entry }) => entry),
      conflicts,
      links: buildLinks(buildId),
    });
  });
  app.get('/v1/builds/:id/attestation', async (c) => {
    const latest = (await deps.store.getVerdictHistory(buildIdParam(c.req.param('id')))).at(-1);
    if (!latest?.consensusEnvelopeSha256)
      throw new ApiError(404, 'NOT_FOUND', 'no consensus attestation for this build (yet)');
    const text = await readBlobText(deps.content, latest.consensusEnvelopeSha256, 64 * 1024 ** 2);
    return c.body(text ?? '', 200, { 'content-type': 'application/json' });
  });
  app.get('/v1/builds/:id/divergence', async (c) => {
    const latest = (await deps.store.getVerdictHistory(buildIdParam(c.req.param('id')))).at(-1);
    if (!latest?.divergenceReportSha256)
      throw new ApiError(404, 'NOT_FOUND', 'no divergence report for this build');
    const text = await readBlobText(deps.content, latest.divergenceReportSha256, 64 * 1024 ** 2);
    if (c.req.query('format') === 'text') {
      const { renderDivergenceText } = await import('../../services/consensus/divergence-report.ts');
      return c.text(renderDivergenceText(JSON.parse(text ?? '{}')));
    }
    return c.body(text ?? '', 200, { 'content-type': 'application/json' });
  });
  app.get('/v1/builds/:id/diffoscope/:digest', async (c) => {
    const buildId = buildIdParam(c.req.param('id'));
    const digest = digestParam(c.req.param('digest'));
    const build = await deps.store.getBuild(buildId);
    if (!build) throw new ApiError(404, 'NOT_FOUND', `build ${buildId} not found`);
    // Only HTML a verified result of this build signs as its diffoscope report is served as a page:
    // intake verified each envelope once and indexed what it signs, so this reads the rows for this
    // one digest. Results recorded before that index existed are verified here, and only those.
    let signed = (await deps.store.findResultByproducts(buildId, digest)).some((b) =>
      DIFFOSCOPE_BYPRODUCT_PATTERN.test(b.name),
    );
    for (const row of signed ? [] : await deps.store.listUnindexedBuiltResults(buildId)) {
      const read = await readVerifiedResult(deps, build, row).catch((err: unknown) => {
        log.warn({ err, buildId, workerId: row.workerId }, 'stored result does not verify');
        return undefined;
      });
      signed = !!read?.verified.byproducts.some(
        (b) => b.sha256 === digest && DIFFOSCOPE_BYPRODUCT_PATTERN.test(b.name),
      );
      if (signed) break;
    }
    if (!signed)
      throw new ApiError(404, 'NOT_FOUND', `sha256:${digest} is not a diffoscope report of build ${buildId}`);
    const stat = await deps.content.stat(digest);
    if (stat && stat.sizeBytes > MAX_DIFFOSCOPE_HTML_BYTES) {
      throw new ApiError(
        413,
        'TOO_LARGE',
        `diffoscope report: ${stat.sizeBytes} bytes, over the limit of ${MAX_DIFFOSCOPE_HTML_BYTES}; fetch it from /v1/cas/sha256/${digest}`,
      );
    }
    const stream = stat ? await deps.content.open(digest) : undefined;
    if (!stat || !stream) throw new ApiError(404, 'NOT_FOUND', `sha256:${digest} is not in the store`);
    return new Response(Readable.toWeb(stream) as ReadableStream, {
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-length': String(stat.sizeBytes),
        // No scripts, no loads, no same origin, no forms: the HTML came out of a container that read hostile bytes.
        ...INERT_HTML_HEADERS,
        'cache-control': 'public, max-age=31536000, immutable',
      },
    });
  });
  app.get('/v1/artifacts/sha256/:digest', async (c) => {
    const digest = digestParam(c.req.param('digest'));
    const limit = pageLimitParam(c.req.query('limit'));
    const cursor = c.req.query('cursor');
    if (cursor !== undefined && !isBuildId(cursor))
      throw new ApiError(400, 'INVALID', 'cursor: expected the nextCursor of a previous page');
    const builds = await deps.store.findBuildsByArtifact(digest, {
      limit,
      ...(cursor !== undefined && { after: cursor }),
    });
    // A full page says whether another follows, so the last page is never an empty one.
    const last = builds.length === limit ? builds.at(-1)!.buildId : undefined;
    const more =
      last !== undefined &&
      (await deps.store.findBuildsByArtifact(digest, { limit: 1, after: last })).length > 0;
    const page: ArtifactBuildsPage = {
      sha256: digest,
      builds: builds.map((b) => ({
        buildId: b.buildId,
        name: b.name,
        manifestSha256: b.manifestSha256,
        verdict: b.verdict,
        ...(b.verdictAt !== undefined && { verdictAt: b.verdictAt }),
        links: buildLinks(b.buildId),
      })),
      nextCursor: more ? last : null,
    };
    return c.json(page);
  });
  app.get('/v1/log', async (c) => {
    const from = Number(c.req.query('from') ?? '0');
    const limit = Number(c.req.query('limit') ?? '100');
    if (
      !Number.isSafeInteger(from) ||
      from < 0 ||
      !Number.isSafeInteger(limit) ||
      limit < 1 ||
      limit > 1000
    ) {
      throw new ApiError(400, 'INVALID', 'from: integer >= 0; limit: integer 1..1000');
    }
    return c.json({ entries: await deps.store.getLogEntries(from, limit) });
  });
  registerAptLinkRoute(app, deps);
  registerOpsRoutes(app, deps);
  registerWebPages(app, deps);
  return app;
}

function buildLinks(buildId: string) {
  return {
    self: `/v1/builds/${buildId}`,
    attestation: `/v1/builds/${buildId}/attestation`,
    divergence: `/v1/builds/${buildId}/divergence`,
  };
}
