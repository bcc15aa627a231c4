// The closed set of error codes: every code has exactly one status (the type checker refuses a table
// without one), anything else answers a generic 500 and is logged, and only the HTTP layer knows
// statuses (domain code throws domain errors and never imports coordinator/http).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ERROR_CODES, type ApiErrorCode, readApiErrorBody } from '../../services/api/api-error-body.ts';
import { RbnetError, ResultRefusedError, SubmissionError } from '../../services/errors.ts';
import { BuildStoreError } from '../../services/storage/store-error.ts';
import { scanTree } from '../../test/support/architecture-scan.ts';
import {
  createTestCoordinatorDeps,
  type TestCoordinatorDeps,
} from '../../test/support/coordinator-deps-fixture.ts';
import { API_ERROR_STATUS, ApiError, type ErrorStatus, refusalOf } from './api-error.ts';
import { createCoordinatorApp } from './create-app.ts';
import type { RouteDefinition } from './route.ts';

describe('the status table', () => {
  it('gives every code of the closed union exactly one status, and holds nothing else', () => {
    expect(Object.keys(API_ERROR_STATUS).sort()).toEqual([...API_ERROR_CODES].sort());
    expect(new Set(API_ERROR_CODES).size).toBe(API_ERROR_CODES.length);
    for (const code of API_ERROR_CODES)
      expect([400, 401, 403, 404, 409, 413, 422, 429, 500]).toContain(API_ERROR_STATUS[code]);
  });

  it('cannot be written without a status for every code, nor with a code outside the union', () => {
    // @ts-expect-error a table missing codes does not type-check: a new code cannot silently answer 500
    const missing: Record<ApiErrorCode, ErrorStatus> = { INVALID: 400 };
    const unknownCode: Record<ApiErrorCode, ErrorStatus> = {
      ...API_ERROR_STATUS,
      // @ts-expect-error a code outside the union has no place in the table
      NOT_A_CODE: 500,
    };
    expect(Object.keys(missing)).toEqual(['INVALID']);
    expect(unknownCode).toMatchObject({ NOT_A_CODE: 500 });
  });

  it('maps domain errors by their code, and everything else to 500 INTERNAL', () => {
    expect(refusalOf(new ResultRefusedError('NOT_ASSIGNED', 'x'))).toEqual({
      code: 'NOT_ASSIGNED',
      status: 403,
    });
    expect(refusalOf(new ResultRefusedError('RESULT_REFUSED', 'x'))).toEqual({
      code: 'RESULT_REFUSED',
      status: 422,
    });
    expect(refusalOf(new SubmissionError('INPUTS_MISSING', 'x'))).toEqual({
      code: 'INPUTS_MISSING',
      status: 422,
    });
    expect(refusalOf(new BuildStoreError('CONFLICT', 'x'))).toEqual({ code: 'CONFLICT', status: 409 });
    expect(refusalOf(new ApiError('TOO_LARGE', 'x'))).toEqual({ code: 'TOO_LARGE', status: 413 });
    // Codes the API does not answer with: the store's schema trouble, a foreign error.
    expect(refusalOf(new BuildStoreError('SCHEMA', 'x'))).toEqual({ code: 'INTERNAL', status: 500 });
    expect(refusalOf(new RbnetError('HEARTBEAT_INVALID', 'x'))).toEqual({ code: 'INTERNAL', status: 500 });
    expect(refusalOf(new Error('boom'))).toEqual({ code: 'INTERNAL', status: 500 });
  });
});

describe('answering errors', () => {
  let root: string;
  let fixture: TestCoordinatorDeps;
  const logged: { level: number; msg: string; err?: { message?: string; code?: string } }[] = [];

  function throwing(path: string, error: () => unknown): RouteDefinition {
    return {
      method: 'GET',
      path,
      operationId: path.slice(1),
      tag: 'operations',
      summary: 'throws',
      auth: ['none'],
      answers: [],
      errors: [],
      handler: () => () => {
        throw error();
      },
    };
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'rbnet-api-error-'));
    fixture = await createTestCoordinatorDeps(root);
  });
  afterAll(async () => {
    await fixture?.close();
    await rm(root, { recursive: true, force: true });
  });

  async function get(path: string, route: RouteDefinition) {
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          logged.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    const app = createCoordinatorApp({ ...fixture.deps, logger }, [route]);
    const response = await app.request(path);
    return { status: response.status, text: await response.text() };
  }

  it('an unknown error answers 500 INTERNAL with a generic message, and is logged in full', async () => {
    const answer = await get(
      '/boom',
      throwing('/boom', () => new Error('secret detail /var/lib/rbnet')),
    );
    expect(answer.status).toBe(500);
    expect(readApiErrorBody(answer.text)).toEqual({
      code: 'INTERNAL',
      message: 'internal error; see the coordinator log',
    });
    expect(answer.text).not.toContain('secret detail');
    const entry = logged.find((e) => e.err?.message === 'secret detail /var/lib/rbnet');
    expect(entry).toMatchObject({ level: 50, msg: 'request failed' });
  });

  it('an RbnetError whose code the API does not answer with is a 500 too, not a leak of its code', async () => {
    const answer = await get(
      '/schema',
      throwing('/schema', () => new BuildStoreError('SCHEMA', 'database is newer')),
    );
    expect([answer.status, readApiErrorBody(answer.text)?.code]).toEqual([500, 'INTERNAL']);
    expect(answer.text).not.toContain('database is newer');
  });

  it('a refusal answers its code, its status and its message', async () => {
    const answer = await get(
      '/refused',
      throwing('/refused', () => new ResultRefusedError('NOT_ASSIGNED', 'jobId x: no such attempt')),
    );
    expect([answer.status, readApiErrorBody(answer.text)]).toEqual([
      403,
      { code: 'NOT_ASSIGNED', message: 'jobId x: no such attempt' },
    ]);
  });
});

describe('who knows about HTTP', () => {
  it('nothing under coordinator/ but its composition root imports the HTTP layer', () => {
    const repo = resolve(import.meta.dirname, '..', '..');
    const importers = scanTree(repo, ['coordinator'])
      .filter((file) => !file.path.startsWith('coordinator/http/') && !/\.test\.ts$/.test(file.path))
      .filter((file) => file.imports.some((edge) => edge.target?.startsWith('coordinator/http/')))
      .map((file) => file.path);
    expect(importers).toEqual(['coordinator/main.ts']);
  });
});
