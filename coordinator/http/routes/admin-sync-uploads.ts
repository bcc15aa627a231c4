// GET /v1/admin/sync-profiles/:name/uploads (`rbnet admin sync uploads`): what a sync profile selected
// and why each upload waits, page by page, filtered by state and reason. An admin read, like the
// other sync profile reads; every query parameter is checked and a bad one refused by name.
import {
  defaultSyncUploadPage,
  maxSyncUploadPage,
  type SyncUploadPage,
  type SyncUploadView,
  syncUploadCursorOf,
  syncUploadKeyOfCursor,
  syncUploadPageType,
} from '../../../services/api/sync-uploads.ts';
import { syncUploadCursorRule } from '../../../services/identifiers.ts';
import {
  type ListedSyncUpload,
  SYNC_REASONS,
  SYNC_UPLOAD_STATES,
  type SyncReason,
  type SyncUploadState,
} from '../../../services/storage/sync-progress-store.ts';
import { ApiError } from '../api-error.ts';
import { pageLimitOf } from '../query-params.ts';
import { JSON_CONTENT, type RouteDefinition } from '../route.ts';
import { nameParam, profileNamed } from './admin-sync-profiles.ts';

/** `value` when it is one of `allowed`. @throws ApiError INVALID naming `field`. */
function oneOfQuery<T extends string>(
  field: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw new ApiError('INVALID', `${field}: expected one of ${allowed.join(', ')}`);
  return value as T;
}

function viewOf(upload: ListedSyncUpload): SyncUploadView {
  return {
    source: upload.source,
    version: upload.version,
    binaryVersion: upload.binaryVersion,
    architecture: upload.architecture,
    binaries: upload.binaries,
    class: upload.class,
    state: upload.state,
    suites: upload.suites,
    firstSeenAt: upload.firstSeenAt,
    dueAt: upload.dueAt,
    tries: upload.tries,
    ...(upload.reason !== undefined && { reason: upload.reason }),
    ...(upload.detail !== undefined && { detail: upload.detail }),
    ...(upload.buildId !== undefined && { buildId: upload.buildId }),
    ...(upload.submittedAt !== undefined && { submittedAt: upload.submittedAt }),
  };
}

const example: SyncUploadPage = {
  profile: 'debian-bookworm',
  uploads: [
    {
      source: 'hello',
      version: '2.10-3',
      binaryVersion: '2.10-3',
      architecture: 'amd64',
      binaries: ['hello', 'hello-dbgsym'],
      class: 'retry',
      state: 'pending',
      suites: ['bookworm'],
      firstSeenAt: '2026-12-01T10:00:00.000Z',
      dueAt: '2026-12-01T12:00:00.000Z',
      tries: 1,
      reason: 'buildinfo-missing',
      detail: 'https://buildinfos.debian.net/buildinfo-pool/h/hello/hello_2.10-3_amd64.buildinfo: HTTP 404',
    },
  ],
  nextCursor: syncUploadCursorOf({
    source: 'hello',
    version: '2.10-3',
    binaryVersion: '2.10-3',
    architecture: 'amd64',
  }),
};

const listSyncUploads: RouteDefinition = {
  method: 'GET',
  path: '/v1/admin/sync-profiles/:name/uploads',
  operationId: 'listSyncUploads',
  tag: 'admin',
  summary: "A sync profile's uploads and why they wait, by source, version, binary version and architecture",
  description:
    'Filters: `state` (pending, submitting, submitted, skipped), `reason` (why a pending upload waits, ' +
    'or a skipped one was skipped). ' +
    'Pass `nextCursor` as `cursor` for the next page; null: the last. `rbnet admin sync uploads`.',
  auth: ['admin'],
  pathParams: { name: nameParam },
  query: {
    state: {
      description: 'only uploads in this state',
      schema: { type: 'string', enum: [...SYNC_UPLOAD_STATES] },
      required: false,
    },
    reason: {
      description: 'only uploads waiting for this reason',
      schema: { type: 'string', enum: [...SYNC_REASONS] },
      required: false,
    },
    cursor: {
      description: 'the `nextCursor` of the previous page',
      schema: { type: 'string', pattern: syncUploadCursorRule.pattern.source },
      required: false,
    },
    limit: {
      description: `uploads per page, 1..${maxSyncUploadPage}, default ${defaultSyncUploadPage}`,
      schema: { type: 'integer', minimum: 1, maximum: maxSyncUploadPage },
      required: false,
    },
  },
  answers: [
    {
      status: 200,
      description: 'one page, in (source, version, architecture) order',
      contentType: JSON_CONTENT,
      schema: syncUploadPageType.schema,
      example,
    },
  ],
  errors: ['INVALID', 'AUTH_INVALID', 'NOT_FOUND'],
  handler:
    ({ deps }) =>
    async (c) => {
      const state = oneOfQuery<SyncUploadState>('state', c.req.query('state'), SYNC_UPLOAD_STATES);
      const reason = oneOfQuery<SyncReason>('reason', c.req.query('reason'), SYNC_REASONS);
      const limit = pageLimitOf(c.req.query('limit'), maxSyncUploadPage, defaultSyncUploadPage);
      const cursor = c.req.query('cursor');
      const after = cursor === undefined ? undefined : syncUploadKeyOfCursor(cursor);
      if (cursor !== undefined && after === undefined)
        throw new ApiError('INVALID', `cursor: expected ${syncUploadCursorRule.expected}`);
      const profile = await profileNamed(deps, c.req.param('name'));
      const { uploads, more } = await deps.syncProgress.listUploadsPage(profile.name, {
        limit,
        ...(state !== undefined && { state }),
        ...(reason !== undefined && { reason }),
        ...(after !== undefined && { after }),
      });
      const last = uploads.at(-1);
      const page: SyncUploadPage = {
        profile: profile.name,
        uploads: uploads.map(viewOf),
        nextCursor: more && last !== undefined ? syncUploadCursorOf(last) : null,
      };
      return c.json(page);
    },
};

export const adminSyncUploadRoutes: readonly RouteDefinition[] = [listSyncUploads];
