// `rbnet admin sync add|list|pause|resume|remove`: the archives the coordinator follows by itself.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type SyncKeyring,
  type SyncProfileRequest,
  type SyncProfileView,
  type SyncRules,
  syncProfileLimits,
  syncProfileListType,
  syncProfileViewType,
} from '../../services/api/sync-profiles.ts';
import { UsageError } from '../../services/errors.ts';
import { type CliIo, type Command, type ParsedCommandArgs, requireFlag, stringFlag } from '../command.ts';
import { apiRequest } from '../coordinator-api.ts';
import { api, COMMON_HELP, COMMON_OPTIONS, noPositionals, onePositional, print } from './admin-commands.ts';

function listFlag(args: ParsedCommandArgs, name: string): string[] {
  const value = args.values[name];
  const values = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  // `--suite bookworm,bookworm-updates` and `--suite bookworm --suite bookworm-updates` are the same.
  return values.flatMap((v) => v.split(',')).filter((v) => v !== '');
}

function integerFlag(args: ParsedCommandArgs, name: string): number | undefined {
  const value = stringFlag(args, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new UsageError('USAGE', `--${name}: expected a whole number`);
  return Number(value);
}

/** A keyring on the coordinator's host (`--X PATH`) or a local armored key file sent whole (`--X-armored FILE`). */
async function keyringFlag(
  args: ParsedCommandArgs,
  io: CliIo,
  name: string,
): Promise<SyncKeyring | undefined> {
  const path = stringFlag(args, name);
  const armoredFile = stringFlag(args, `${name}-armored`);
  if (path !== undefined && armoredFile !== undefined)
    throw new UsageError('USAGE', `give --${name} or --${name}-armored, not both`);
  if (path !== undefined) return { path };
  if (armoredFile === undefined) return undefined;
  const bytes = await readFile(resolve(io.cwd, armoredFile));
  if (bytes.byteLength > syncProfileLimits.maxArmoredKeyBytes)
    throw new UsageError('USAGE', `--${name}-armored: over ${syncProfileLimits.maxArmoredKeyBytes} bytes`);
  return { armored: bytes.toString('utf8') };
}

function rulesOf(args: ParsedCommandArgs, which: 'include' | 'exclude'): SyncRules | undefined {
  const names = listFlag(args, which);
  const sections = listFlag(args, `${which}-section`);
  if (names.length === 0 && sections.length === 0) return undefined;
  return { ...(names.length > 0 && { names }), ...(sections.length > 0 && { sections }) };
}

function summary(profile: SyncProfileView): string {
  const { archive } = profile;
  return `${profile.name}${profile.paused ? ' [paused]' : ''}: ${archive.url} ${archive.suites.join(',')} ${archive.components.join(',')} ${archive.architectures.join(',')} as ${profile.maintainer}, priority ${profile.priority}, ${profile.rateLimitPerHour}/h`;
}

const many = { type: 'string', multiple: true } as const;

export const adminSyncAddCommand: Command = {
  path: ['admin', 'sync', 'add'],
  help: `Usage: rbnet admin sync add NAME --archive URL --suite S --component C --arch A
         (--keyring PATH | --keyring-armored FILE) --buildinfo-url TEMPLATE --maintainer NAME [options]

Adds a sync profile: the coordinator polls the archive, verifies its InRelease with the keyring,
reads the Packages indices of each suite/component/architecture when they changed, fetches each new
upload's .buildinfo and submits it as MAINTAINER (docs/operator-guide.md, "Follow an archive").

Options:
  --archive URL               the mirror's root (dists/ and pool/ under it), http or https
  --suite S                   a suite or codename; repeat or comma-separate (at most ${syncProfileLimits.maxSuites})
  --component C               e.g. main; repeat or comma-separate
  --arch A                    e.g. amd64; repeat or comma-separate
  --keyring PATH              a keyring file ON THE COORDINATOR'S HOST that signs InRelease
  --keyring-armored FILE      or a local ASCII-armored public key file, sent with the profile
  --buildinfo-url TEMPLATE    where a .buildinfo is: {source} {prefix} {version} {arch}, e.g.
                              https://buildinfos.debian.net/buildinfo-pool/{prefix}/{source}/{source}_{version}_{arch}.buildinfo
  --buildinfo-keyring PATH    .buildinfo files must be clearsigned by this keyring (coordinator host)
  --buildinfo-keyring-armored FILE
  --include NAME              only these source or binary package names (globs * ?); repeatable
  --include-section S         only these sections (globs); repeatable
  --exclude NAME              never these names; --exclude-section S never these sections
  --priority N                0..1000, higher first (default 100)
  --rate-limit-per-hour N     submissions per hour at most (default 600)
  --initial-delay-seconds N   how long a missing .buildinfo is waited for (default 3600)
  --maintainer NAME           a registered maintainer the builds are submitted as
${COMMON_HELP}

Exit codes: 0 added; 1 refused; 2 usage.`,
  options: {
    ...COMMON_OPTIONS,
    archive: { type: 'string' },
    suite: many,
    component: many,
    arch: many,
    keyring: { type: 'string' },
    'keyring-armored': { type: 'string' },
    'buildinfo-url': { type: 'string' },
    'buildinfo-keyring': { type: 'string' },
    'buildinfo-keyring-armored': { type: 'string' },
    include: many,
    'include-section': many,
    exclude: many,
    'exclude-section': many,
    priority: { type: 'string' },
    'rate-limit-per-hour': { type: 'string' },
    'initial-delay-seconds': { type: 'string' },
    maintainer: { type: 'string' },
  },
  async run(args, io) {
    const name = onePositional(args, 'NAME', 'admin sync add');
    const keyring = await keyringFlag(args, io, 'keyring');
    if (!keyring)
      throw new UsageError(
        'USAGE',
        '--keyring or --keyring-armored is required. Run `rbnet admin sync add --help`.',
      );
    const buildinfoKeyring = await keyringFlag(args, io, 'buildinfo-keyring');
    const include = rulesOf(args, 'include');
    const exclude = rulesOf(args, 'exclude');
    const priority = integerFlag(args, 'priority');
    const rateLimitPerHour = integerFlag(args, 'rate-limit-per-hour');
    const initialDelaySeconds = integerFlag(args, 'initial-delay-seconds');
    const body: SyncProfileRequest = {
      name,
      archive: {
        url: requireFlag(args, 'archive', adminSyncAddCommand),
        suites: listFlag(args, 'suite'),
        components: listFlag(args, 'component'),
        architectures: listFlag(args, 'arch'),
        keyring,
      },
      buildinfo: {
        urlTemplate: requireFlag(args, 'buildinfo-url', adminSyncAddCommand),
        ...(buildinfoKeyring && { keyring: buildinfoKeyring }),
      },
      maintainer: requireFlag(args, 'maintainer', adminSyncAddCommand),
      ...(include && { include }),
      ...(exclude && { exclude }),
      ...(priority !== undefined && { priority }),
      ...(rateLimitPerHour !== undefined && { rateLimitPerHour }),
      ...(initialDelaySeconds !== undefined && { initialDelaySeconds }),
    };
    const answer = await apiRequest(
      api(args, io),
      { method: 'POST', path: '/v1/admin/sync-profiles', body: JSON.stringify(body) },
      syncProfileViewType,
    );
    return print(io, args, answer, [`sync profile added: ${summary(answer)}`]);
  },
};

export const adminSyncListCommand: Command = {
  path: ['admin', 'sync', 'list'],
  help: `Usage: rbnet admin sync list [options]\n\nLists the sync profiles, highest priority first.\n\nOptions:\n${COMMON_HELP}\n\nExit codes: 0 listed; 1 refused; 2 usage.`,
  options: COMMON_OPTIONS,
  async run(args, io) {
    noPositionals(args, 'admin sync list');
    const answer = await apiRequest(
      api(args, io),
      { method: 'GET', path: '/v1/admin/sync-profiles' },
      syncProfileListType,
    );
    return print(
      io,
      args,
      answer,
      answer.profiles.length === 0 ? ['no sync profiles'] : answer.profiles.map(summary),
    );
  },
};

/** pause, resume and remove: one profile by name, one POST. */
function profileActionCommand(action: 'pause' | 'resume' | 'remove', help: string, done: string): Command {
  return {
    path: ['admin', 'sync', action],
    help: `Usage: rbnet admin sync ${action} NAME [options]\n\n${help}\n\nOptions:\n${COMMON_HELP}\n\nExit codes: 0 ${done}; 1 refused; 2 usage.`,
    options: COMMON_OPTIONS,
    async run(args, io) {
      const name = onePositional(args, 'NAME', `admin sync ${action}`);
      const answer = await apiRequest(
        api(args, io),
        { method: 'POST', path: `/v1/admin/sync-profiles/${encodeURIComponent(name)}/${action}`, body: '{}' },
        syncProfileViewType,
      );
      return print(io, args, answer, [`sync profile ${name} ${done}`]);
    },
  };
}

export const adminSyncPauseCommand = profileActionCommand(
  'pause',
  'Stops polling the profile; what it recorded is kept (idempotent).',
  'paused',
);
export const adminSyncResumeCommand = profileActionCommand(
  'resume',
  'Polls the profile again from where it stopped (idempotent).',
  'resumed',
);
export const adminSyncRemoveCommand = profileActionCommand(
  'remove',
  'Removes the profile; builds it already submitted stay.',
  'removed',
);
