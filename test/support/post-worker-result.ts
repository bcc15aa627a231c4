// Posts a signed result to the real coordinator app as its worker would: POST /v1/results with the
// worker's proof of possession of its auth key, through intake, scheduling and the decision.
import type { Hono } from 'hono';
import type { CoordinatorDeps } from '../../coordinator/coordinator-deps.ts';
import { signWorkerRequest } from '../../services/auth/worker-request-auth.ts';
import { sha256Hex } from '../../services/digest.ts';
import type { DebianBuildRecords, SignedBuiltResult } from './debian-build-records.ts';

/** What app.request needs to see a loopback client. */
export const LOOPBACK_ENV = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };

export interface PostedResult {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: API answers are asserted field by field
  readonly json: any;
}

export async function postWorkerResult(
  // biome-ignore lint/suspicious/noExplicitAny: any Hono app built by createCoordinatorApp
  app: Hono<any>,
  deps: Pick<CoordinatorDeps, 'config' | 'now'>,
  records: DebianBuildRecords,
  signed: SignedBuiltResult,
): Promise<PostedResult> {
  const body = JSON.stringify({ jobId: signed.jobId, envelope: signed.envelopeJson });
  const authorization = signWorkerRequest(records.authKeyOf(signed.workerId), {
    workerId: signed.workerId,
    origin: deps.config.publicUrl,
    method: 'POST',
    path: '/v1/results',
    bodySha256: sha256Hex(body),
    bodyLength: Buffer.byteLength(body),
    now: deps.now().getTime(),
  });
  const response = await app.request(
    '/v1/results',
    { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body },
    LOOPBACK_ENV,
  );
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}
