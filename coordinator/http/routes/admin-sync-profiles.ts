// Admin routes of sync profiles (`rbnet admin sync add|list|pause|resume|remove`): the archives the
// coordinator follows by itself. A profile is checked whole before anything is stored: the body by
// its strict wire type, a keyring path on this host by a look at the file.
import { stat } from 'node:fs/promises';
import {
  parseSyncProfileRequest,
  type SyncKeyring,
  type SyncKeyringView,
  type SyncProfileList,
  type SyncProfileView,
  syncProfileDefaults,
  syncProfileLimits,
  syncProfileListType,
  syncProfileRequestType,
  syncProfileViewType,
} from '../../../services/api/sync-profiles.ts';
import { identifier } from '../../../services/api/wire-type.ts';
import { sha256Hex } from '../../../services/digest.ts';
import { isSyncProfileName, syncProfileNameRule } from '../../../services/identifiers.ts';
import { newSyncProfileOf, type SyncProfileRecord } from '../../../services/storage/sync-profile-store.ts';
import { ApiError } from '../api-error.ts';
import { readBodyBytes } from '../request-body.ts';
import {
  JSON_CONTENT,
  type RouteAnswer,
  type RouteContext,
  type RouteDefinition,
  type RouteParameter,
} from '../route.ts';

/** Largest keyring file a profile may name: Debian's archive keyring is about 10 KiB. */
const maxKeyringFileBytes = 1024 * 1024;

function keyringView(keyring: SyncKeyring): SyncKeyringView {
  if ('path' in keyring) return { path: keyring.path };
  return {
    armoredSha256: sha256Hex(keyring.armored),
    armoredBytes: Buffer.byteLength(keyring.armored),
  };
}

/** A stored profile as the API shows it: an armored key by its digest and size. */
function syncProfileViewOf(record: SyncProfileRecord): SyncProfileView {
  return {
    name: record.name,
    archive: { ...record.archive, keyring: keyringView(record.archive.keyring) },
    buildinfo: {
      urlTemplate: record.buildinfo.urlTemplate,
      ...(record.buildinfo.keyring && { keyring: keyringView(record.buildinfo.keyring) }),
    },
    include: record.include,
    exclude: record.exclude,
    priority: record.priority,
    rateLimitPerHour: record.rateLimitPerHour,
    initialDelaySeconds: record.initialDelaySeconds,
    maintainer: record.maintainer,
    paused: record.paused,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** A keyring named by path must be a readable regular file of bounded size on this host, now. */
async function checkKeyringFile(keyring: SyncKeyring | undefined, field: string): Promise<void> {
  if (keyring === undefined || !('path' in keyring)) return;
  const found = await stat(keyring.path).catch(() => undefined);
  if (!found?.isFile())
    throw new ApiError('INVALID', `${field}.path: no regular file ${keyring.path} on the coordinator`);
  if (found.size === 0 || found.size > maxKeyringFileBytes)
    throw new ApiError('INVALID', `${field}.path: ${found.size} bytes, expected 1..${maxKeyringFileBytes}`);
}

/** The profile `:name` names. @throws ApiError INVALID for a malformed name, NOT_FOUND. */
export async function profileNamed(
  deps: RouteContext['deps'],
  value: string | undefined,
): Promise<SyncProfileRecord> {
  const name = profileNameOf(value);
  const record = await deps.syncProfiles.getSyncProfile(name);
  if (!record) throw new ApiError('NOT_FOUND', `sync profile ${name} not found`);
  return record;
}

function profileNameOf(value: string | undefined): string {
  if (!isSyncProfileName(value))
    throw new ApiError('INVALID', `name: expected ${syncProfileNameRule.expected}`);
  return value;
}

export const nameParam: RouteParameter = {
  description: 'the profile name',
  schema: identifier(syncProfileNameRule).schema,
};

const viewAnswer = (status: 200 | 201, description: string): RouteAnswer => ({
  status,
  description,
  contentType: JSON_CONTENT,
  schema: syncProfileViewType.schema,
});

const addSyncProfile: RouteDefinition = {
  method: 'POST',
  path: '/v1/admin/sync-profiles',
  operationId: 'addSyncProfile',
  tag: 'admin',
  summary: 'Add a sync profile: an archive the coordinator follows and submits builds from',
  description: `The maintainer must be registered; a keyring given by path must be a file on the coordinator's host. At most ${syncProfileLimits.maxProfiles} profiles; defaults: priority ${syncProfileDefaults.priority}, ${syncProfileDefaults.rateLimitPerHour} submissions per hour, initial delay ${syncProfileDefaults.initialDelaySeconds} s. \`rbnet admin sync add\`.`,
  auth: ['admin'],
  request: {
    contentType: JSON_CONTENT,
    description: `at most ${syncProfileLimits.maxBodyBytes / 1024} KiB`,
    schema: syncProfileRequestType.schema,
  },
  answers: [viewAnswer(201, 'added, not paused (an armored key shown by its sha256)')],
  errors: ['INVALID', 'AUTH_INVALID', 'NOT_FOUND', 'CONFLICT', 'TOO_LARGE'],
  handler:
    ({ deps }) =>
    async (c) => {
      const request = parseSyncProfileRequest(await readBodyBytes(c, syncProfileLimits.maxBodyBytes));
      await checkKeyringFile(request.archive.keyring, 'archive.keyring');
      await checkKeyringFile(request.buildinfo.keyring, 'buildinfo.keyring');
      const record = await deps.syncProfiles.addSyncProfile(
        newSyncProfileOf(request, syncProfileDefaults),
        deps.now(),
      );
      deps.logger.info(
        { profile: record.name, maintainer: record.maintainer, archive: record.archive.url },
        'sync profile added',
      );
      return c.json(syncProfileViewOf(record), 201);
    },
};

const listSyncProfiles: RouteDefinition = {
  method: 'GET',
  path: '/v1/admin/sync-profiles',
  operationId: 'listSyncProfiles',
  tag: 'admin',
  summary: 'List the sync profiles, highest priority first',
  auth: ['admin'],
  answers: [
    {
      status: 200,
      description: 'every profile',
      contentType: JSON_CONTENT,
      schema: syncProfileListType.schema,
    },
  ],
  errors: ['AUTH_INVALID'],
  handler:
    ({ deps }) =>
    async (c) => {
      const answer: SyncProfileList = {
        profiles: (await deps.syncProfiles.listSyncProfiles()).map(syncProfileViewOf),
      };
      return c.json(answer);
    },
};

const getSyncProfile: RouteDefinition = {
  method: 'GET',
  path: '/v1/admin/sync-profiles/:name',
  operationId: 'getSyncProfile',
  tag: 'admin',
  summary: 'Show one sync profile',
  auth: ['admin'],
  pathParams: { name: nameParam },
  answers: [viewAnswer(200, 'the profile')],
  errors: ['INVALID', 'AUTH_INVALID', 'NOT_FOUND'],
  handler:
    ({ deps }) =>
    async (c) => {
      return c.json(syncProfileViewOf(await profileNamed(deps, c.req.param('name'))));
    },
};

function pauseRoute(action: 'pause' | 'resume'): RouteDefinition {
  return {
    method: 'POST',
    path: `/v1/admin/sync-profiles/:name/${action}`,
    operationId: action === 'pause' ? 'pauseSyncProfile' : 'resumeSyncProfile',
    tag: 'admin',
    summary: action === 'pause' ? 'Pause a sync profile' : 'Resume a paused sync profile',
    description:
      action === 'pause'
        ? 'The coordinator stops polling it and submits nothing more from it; what it has recorded is kept (idempotent).'
        : 'The coordinator polls it again from where it stopped (idempotent).',
    auth: ['admin'],
    pathParams: { name: nameParam },
    answers: [viewAnswer(200, action === 'pause' ? 'paused' : 'resumed')],
    errors: ['INVALID', 'AUTH_INVALID', 'NOT_FOUND'],
    handler:
      ({ deps }) =>
      async (c) => {
        const name = profileNameOf(c.req.param('name'));
        const record = await deps.syncProfiles.setSyncProfilePaused(name, action === 'pause', deps.now());
        deps.logger.info(
          { profile: name },
          action === 'pause' ? 'sync profile paused' : 'sync profile resumed',
        );
        return c.json(syncProfileViewOf(record));
      },
  };
}

const removeSyncProfile: RouteDefinition = {
  method: 'POST',
  path: '/v1/admin/sync-profiles/:name/remove',
  operationId: 'removeSyncProfile',
  tag: 'admin',
  summary: 'Remove a sync profile',
  description: 'Builds it already submitted stay; nothing more is submitted from it.',
  auth: ['admin'],
  pathParams: { name: nameParam },
  answers: [viewAnswer(200, 'removed: the profile as it was')],
  errors: ['INVALID', 'AUTH_INVALID', 'NOT_FOUND'],
  handler:
    ({ deps }) =>
    async (c) => {
      const record = await profileNamed(deps, c.req.param('name'));
      const name = record.name;
      if (!(await deps.syncProfiles.removeSyncProfile(name)))
        throw new ApiError('NOT_FOUND', `sync profile ${name} not found`);
      deps.logger.info({ profile: name }, 'sync profile removed');
      return c.json(syncProfileViewOf(record));
    },
};

export const adminSyncProfileRoutes: readonly RouteDefinition[] = [
  addSyncProfile,
  listSyncProfiles,
  getSyncProfile,
  pauseRoute('pause'),
  pauseRoute('resume'),
  removeSyncProfile,
];
