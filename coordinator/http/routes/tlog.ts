// The witnessed transparency log's API routes: a C2SP tlog-proof per entry, a build's entries with
// their indexes, and the bundle a consumer carries to verify offline. The tiles themselves are
// served by tlog-tiles-app.ts, as a static mirror would serve them.
import { maxConsensusEnvelopeBytesDefault } from '../../../services/consensus/consensus-attestation.ts';
import { sha256Hex } from '../../../services/digest.ts';
import {
  type LogEntry,
  parseLogEntry,
  RESULT_ENTRY,
  resultKeyText,
  VERDICT_ENTRY,
} from '../../../services/tlog/log-entry.ts';
import { assembleBundle, RBNET_BUNDLE_MEDIA_TYPE } from '../../../services/tlog/rbnet-bundle.ts';
import { TlogError } from '../../../services/tlog/tlog-errors.ts';
import type { CoordinatorDeps } from '../../coordinator-deps.ts';
import { readBlobText } from '../../storage/read-blob.ts';
import type { CoordinatorLog } from '../../tlog/coordinator-log.ts';
import { ApiError } from '../api-error.ts';
import { JSON_CONTENT, type RouteDefinition } from '../route.ts';
import { buildIdOf, buildIdParam } from './builds.ts';

const TEXT_CONTENT = 'text/plain; charset=utf-8';
/** A proof is under the checkpoint served now: a client asks again rather than keep it. */
const PROOF_INIT: ResponseInit = Object.freeze({
  status: 200,
  headers: Object.freeze({ 'content-type': TEXT_CONTENT, 'cache-control': 'no-cache' }),
});

function logOf(deps: CoordinatorDeps): CoordinatorLog {
  if (!deps.tlog) throw new ApiError('NOT_FOUND', 'this coordinator serves no transparency log');
  return deps.tlog;
}

/** Answers a log refusal (an index past the log, a missing tile, no witnessed checkpoint over it yet) as NOT_FOUND. */
async function orNotFound<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TlogError && (error.code === 'PROOF_INVALID' || error.code === 'QUORUM_NOT_MET'))
      throw new ApiError('NOT_FOUND', error.message, { cause: error });
    throw error;
  }
}

/** Every entry about a build, parsed, in log order (integrating first what is only sequenced). */
async function buildEntries(
  log: CoordinatorLog,
  buildId: string,
): Promise<{ index: number; entry: LogEntry }[]> {
  const sequenced = log.entriesOfBuild(buildId);
  if (sequenced.length > 0 && sequenced.at(-1)!.index >= log.size) await log.integrate();
  return Promise.all(
    sequenced.map(async ({ index }) => ({ index, entry: parseLogEntry(await log.entry(index)) })),
  );
}

const getLogProof: RouteDefinition = {
  method: 'GET',
  path: '/v1/log/proofs/:index',
  operationId: 'getLogProof',
  tag: 'transparency',
  summary: 'A C2SP tlog-proof of one log entry (the entry in its extra line) under the cosigned checkpoint',
  auth: ['none'],
  pathParams: { index: { description: 'the entry index, from 0', schema: { type: 'integer', minimum: 0 } } },
  answers: [{ status: 200, description: 'c2sp.org/tlog-proof@v1 text', contentType: TEXT_CONTENT }],
  errors: ['INVALID', 'NOT_FOUND'],
  handler:
    ({ deps }) =>
    (c) => {
      const text = c.req.param('index') ?? '';
      const index = Number(text);
      if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(index))
        throw new ApiError('INVALID', 'index: expected an integer from 0');
      const log = logOf(deps);
      // Most proofs come from what is in memory: answered without a promise hop. The Response is
      // made directly: c.body would build a Headers object for the two headers, per request.
      const cached = log.tlogProofNow(index);
      if (cached !== undefined) return new Response(cached, PROOF_INIT);
      return orNotFound(() => log.tlogProof(index)).then((proof) => new Response(proof, PROOF_INIT));
    },
};

const entrySchema = {
  type: 'object',
  required: ['index', 'entry'],
  properties: { index: { type: 'integer', minimum: 0 }, entry: { type: 'object' } },
} as const;

const getBuildLogEntries: RouteDefinition = {
  method: 'GET',
  path: '/v1/builds/:id/log-entries',
  operationId: 'getBuildLogEntries',
  tag: 'transparency',
  summary: "A build's transparency-log entries (every result and verdict) with their indexes",
  auth: ['none'],
  pathParams: { id: buildIdParam },
  answers: [
    {
      status: 200,
      description: 'entries in log order; fetch each proof at /v1/log/proofs/{index}',
      contentType: JSON_CONTENT,
      schema: {
        type: 'object',
        required: ['origin', 'entries'],
        properties: { origin: { type: 'string' }, entries: { type: 'array', items: entrySchema } },
      },
    },
  ],
  errors: ['INVALID', 'NOT_FOUND'],
  handler:
    ({ deps }) =>
    async (c) => {
      const buildId = buildIdOf(c.req.param('id'));
      const log = logOf(deps);
      return c.json({ origin: log.origin, entries: await buildEntries(log, buildId) });
    },
};

const getBuildBundle: RouteDefinition = {
  method: 'GET',
  path: '/v1/builds/:id/bundle',
  operationId: 'getBuildBundle',
  tag: 'transparency',
  summary:
    'The offline bundle: the consensus attestation and the tlog-proofs of its verdict and of every result that verdict lists',
  auth: ['none'],
  pathParams: { id: buildIdParam },
  answers: [
    {
      status: 200,
      description: 'rbnet bundle (docs/transparency-log.md)',
      contentType: RBNET_BUNDLE_MEDIA_TYPE,
    },
  ],
  errors: ['INVALID', 'NOT_FOUND'],
  handler:
    ({ deps }) =>
    async (c) => {
      const buildId = buildIdOf(c.req.param('id'));
      const log = logOf(deps);
      const latest = await deps.builds.getLatestVerdict(buildId);
      const digest = latest?.consensusEnvelopeSha256;
      if (!digest) throw new ApiError('NOT_FOUND', 'no consensus attestation for this build (yet)');
      const envelope = await readBlobText(deps.content, digest, maxConsensusEnvelopeBytesDefault);
      if (envelope === undefined || sha256Hex(envelope) !== digest)
        throw new ApiError(
          'NOT_FOUND',
          `the consensus attestation sha256:${digest} is not in the content store`,
        );
      const entries = await buildEntries(log, buildId);
      const verdict = entries
        .filter((e) => e.entry.type === VERDICT_ENTRY && e.entry.consensusEnvelopeSha256 === digest)
        .at(-1);
      if (!verdict || verdict.entry.type !== VERDICT_ENTRY)
        throw new ApiError('NOT_FOUND', 'the verdict naming this attestation is not in the log');
      const listed = new Set(verdict.entry.results.map(resultKeyText));
      const results = entries.filter(
        (e) => e.entry.type === RESULT_ENTRY && listed.has(resultKeyText(e.entry)),
      );
      const proofs = await orNotFound(() =>
        Promise.all([verdict, ...results].map(({ index }) => log.tlogProof(index))),
      );
      return c.body(assembleBundle(envelope, proofs), 200, { 'content-type': RBNET_BUNDLE_MEDIA_TYPE });
    },
};

export const tlogRoutes: readonly RouteDefinition[] = [getLogProof, getBuildLogEntries, getBuildBundle];
