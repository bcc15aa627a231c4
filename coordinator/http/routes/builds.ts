// Build routes: maintainers submit manifests; anyone reads a build's status, its consensus
// attestation and its divergence report.

import type { Context } from 'hono';
import { buildLinksFor } from '../../../services/api/build-links.ts';
import { buildSubmissionAnswerType } from '../../../services/api/build-submission.ts';
import { type BuildView, buildViewType, type ResultView } from '../../../services/api/build-view.ts';
import { identifier } from '../../../services/api/wire-type.ts';
import { buildIdRule, isBuildId } from '../../../services/identifiers.ts';
import { standingOfResults } from '../../consensus/revoked-results.ts';
import type { CoordinatorDeps } from '../../coordinator-deps.ts';
import { submitManifest } from '../../scheduler/submit-manifest.ts';
import { readBlobText } from '../../storage/read-blob.ts';
import { ApiError } from '../api-error.ts';
import { readBodyBytes } from '../request-body.ts';
import { type AppEnv, JSON_CONTENT, type RouteDefinition, type RouteParameter } from '../route.ts';

/** Largest consensus attestation or divergence report served. */
const MAX_DOCUMENT_BYTES = 64 * 1024 ** 2;

export const buildIdParam: RouteParameter = {
  description: 'the build id (a UUID)',
  schema: identifier(buildIdRule).schema,
};

/** Reads `:id`. @throws ApiError INVALID. */
export function buildIdOf(value: string | undefined): string {
  if (!isBuildId(value)) throw new ApiError('INVALID', `build id: expected ${buildIdRule.expected}`);
  return value;
}

async function submitBuild(deps: CoordinatorDeps, c: Context<AppEnv>): Promise<Response> {
  const bytes = await readBodyBytes(c, deps.config.maxManifestBytes);
  const answer = await submitManifest(deps, bytes, { submittedBy: c.get('token')!.subject });
  return c.json(answer, 201);
}

async function viewBuild(deps: CoordinatorDeps, buildId: string): Promise<BuildView> {
  const build = await deps.builds.getBuild(buildId);
  if (!build) throw new ApiError('NOT_FOUND', `build ${buildId} not found`);
  const [attempts, results, history, conflicts] = await Promise.all([
    deps.builds.listAttempts(buildId),
    deps.results.listResults(buildId),
    deps.builds.getVerdictHistory(buildId),
    deps.aptLinks.listAptLinkConflicts(buildId),
  ]);
  const latest = history.at(-1);
  // What a revocation took out since the row was written: rows are append-only, standing is not.
  const revoked = new Map(
    (await standingOfResults(deps.registry, results)).revoked.map((r) => [r.envelopeSha256, r]),
  );
  return {
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
    // The coordinator wrote this JSON itself, from a Decision; it is served as recorded.
    ...(latest && { decision: JSON.parse(latest.decisionJson) }),
    attempts: attempts.map(({ nonce: _nonce, ...attempt }) => attempt),
    results: results.map(
      (r): ResultView => ({
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
          ? `worker ${r.workerId} was marked compromised since ${revoked.get(r.envelopeSha256)?.compromisedSince}; results received from then on do not count`
          : r.refusedReason,
        receivedAt: r.receivedAt,
      }),
    ),
    history: history.map(({ decisionJson: _d, ...entry }) => entry),
    conflicts,
    links: buildLinksFor(buildId),
  };
}

const DOCUMENT_MISSING = {
  consensusEnvelopeSha256: 'no consensus attestation for this build (yet)',
  divergenceReportSha256: 'no divergence report for this build',
} as const;

/** The latest decision's consensus attestation or divergence report, as stored. */
async function latestDocument(
  deps: CoordinatorDeps,
  id: string | undefined,
  document: keyof typeof DOCUMENT_MISSING,
): Promise<string> {
  const digest = (await deps.builds.getVerdictHistory(buildIdOf(id))).at(-1)?.[document];
  if (!digest) throw new ApiError('NOT_FOUND', DOCUMENT_MISSING[document]);
  return (await readBlobText(deps.content, digest, MAX_DOCUMENT_BYTES)) ?? '';
}

const submit: RouteDefinition = {
  method: 'POST',
  path: '/v1/builds',
  operationId: 'submitBuild',
  tag: 'builds',
  summary: 'Submit a manifest for rebuilding',
  description:
    'Parsed strictly (docs/manifest.md); every input must already be in the content store, and as many operators as the threshold must have an eligible worker.',
  auth: ['submit'],
  request: {
    contentType: JSON_CONTENT,
    description: 'the manifest JSON, at most 256 KiB (docs/manifest.md)',
    schema: { type: 'object' },
  },
  answers: [
    {
      status: 201,
      description: 'accepted and assigned',
      contentType: JSON_CONTENT,
      schema: buildSubmissionAnswerType.schema,
    },
  ],
  errors: [
    'MANIFEST_JSON',
    'AUTH_INVALID',
    'TOO_LARGE',
    'MANIFEST_TOO_LARGE',
    'MANIFEST_INVALID',
    'INPUTS_MISSING',
    'INSUFFICIENT_OPERATORS',
  ],
  handler:
    ({ deps }) =>
    (c) =>
      submitBuild(deps, c),
};

const getBuild: RouteDefinition = {
  method: 'GET',
  path: '/v1/builds/:id',
  operationId: 'getBuild',
  tag: 'builds',
  summary: 'Build status: verdict, decision, attempts, results and verdict history',
  auth: ['none'],
  pathParams: { id: buildIdParam },
  answers: [
    {
      status: 200,
      description: 'the build (docs/api.md shows a full example)',
      contentType: JSON_CONTENT,
      schema: buildViewType.schema,
    },
  ],
  errors: ['INVALID', 'NOT_FOUND'],
  handler:
    ({ deps }) =>
    async (c) =>
      c.json(await viewBuild(deps, buildIdOf(c.req.param('id')))),
};

const getAttestation: RouteDefinition = {
  method: 'GET',
  path: '/v1/builds/:id/attestation',
  operationId: 'getConsensusAttestation',
  tag: 'builds',
  summary: 'The consensus attestation: a DSSE envelope of a SLSA VSA v1 (docs/attestations.md)',
  auth: ['none'],
  pathParams: { id: buildIdParam },
  answers: [
    {
      status: 200,
      description: 'the envelope',
      contentType: JSON_CONTENT,
      schema: {
        type: 'object',
        required: ['payloadType', 'payload', 'signatures'],
        properties: {
          payloadType: { type: 'string' },
          payload: { type: 'string', contentEncoding: 'base64' },
          signatures: { type: 'array', items: { type: 'object' } },
        },
      },
    },
  ],
  errors: ['INVALID', 'NOT_FOUND'],
  handler:
    ({ deps }) =>
    async (c) => {
      const text = await latestDocument(deps, c.req.param('id'), 'consensusEnvelopeSha256');
      return c.body(text, 200, { 'content-type': JSON_CONTENT });
    },
};

const getDivergence: RouteDefinition = {
  method: 'GET',
  path: '/v1/builds/:id/divergence',
  operationId: 'getDivergenceReport',
  tag: 'builds',
  summary: 'The divergence report for diverged, inputs-differ and mismatch-upstream builds',
  auth: ['none'],
  pathParams: { id: buildIdParam },
  query: {
    format: {
      description: '`text` for a plain-text rendering; JSON otherwise',
      schema: { type: 'string', enum: ['text'] },
      required: false,
    },
  },
  answers: [
    {
      status: 200,
      description: 'the report (JSON, or text/plain with format=text)',
      contentType: JSON_CONTENT,
      schema: { type: 'object' },
    },
  ],
  errors: ['INVALID', 'NOT_FOUND'],
  handler:
    ({ deps }) =>
    async (c) => {
      const text = await latestDocument(deps, c.req.param('id'), 'divergenceReportSha256');
      if (c.req.query('format') === 'text') {
        const { renderDivergenceText } = await import('../../../services/consensus/divergence-report.ts');
        return c.text(renderDivergenceText(JSON.parse(text || '{}')));
      }
      return c.body(text, 200, { 'content-type': JSON_CONTENT });
    },
};

export const buildRoutes: readonly RouteDefinition[] = [submit, getBuild, getAttestation, getDivergence];
