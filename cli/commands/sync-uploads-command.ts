// `rbnet admin sync uploads NAME`: what a sync profile selected and why each upload waits, one page
// at a time (GET /v1/admin/sync-profiles/:name/uploads).
import { type SyncUploadView, syncUploadPageType } from '../../services/api/sync-uploads.ts';
import { UsageError } from '../../services/errors.ts';
import { SYNC_REASONS, SYNC_UPLOAD_STATES } from '../../services/storage/sync-progress-store.ts';
import { type Command, stringFlag } from '../command.ts';
import { apiRequest } from '../coordinator-api.ts';
import { api, COMMON_HELP, COMMON_OPTIONS, onePositional, print } from './admin-commands.ts';

function lineOf(upload: SyncUploadView): string {
  const where = upload.suites.length > 0 ? ` [${upload.suites.join(',')}]` : '';
  const why =
    upload.reason === undefined ? '' : `: ${upload.reason}${upload.detail ? ` (${upload.detail})` : ''}`;
  const next =
    upload.state === 'submitted'
      ? ` build ${upload.buildId}`
      : upload.state === 'skipped'
        ? ''
        : `, due ${upload.dueAt}, tries ${upload.tries}`;
  // A binNMU names its own binary version beside the source version it was built from.
  const binNmu = upload.binaryVersion === upload.version ? '' : ` (binNMU ${upload.binaryVersion})`;
  return `${upload.source} ${upload.version}${binNmu} ${upload.architecture}${where} ${upload.state}${why}${next}`;
}

/** A flag that must be one of `allowed` when given. @throws UsageError naming it. */
function choiceFlag(value: string | undefined, name: string, allowed: readonly string[]): string | undefined {
  if (value !== undefined && !allowed.includes(value))
    throw new UsageError('USAGE', `--${name}: expected one of ${allowed.join(', ')}`);
  return value;
}

export const adminSyncUploadsCommand: Command = {
  path: ['admin', 'sync', 'uploads'],
  help: `Usage: rbnet admin sync uploads NAME [--state S] [--reason R] [--limit N] [--cursor C] [options]

Lists what the sync profile NAME selected, by source, version and architecture: each upload's state,
why it waits (the reason and its detail), when it is tried next, the suites it was read in, and the
build it became (docs/operator-guide.md, "Follow an archive").

Options:
  --state S          only ${SYNC_UPLOAD_STATES.join(', ')}
  --reason R         only uploads waiting for this reason: ${SYNC_REASONS.join(', ')}
  --limit N          uploads per page, 1..500 (default 100)
  --cursor C         continue after a previous page (the cursor it printed)
${COMMON_HELP}

Exit codes: 0 listed; 1 refused (unknown profile, bad token); 2 usage.`,
  options: {
    ...COMMON_OPTIONS,
    state: { type: 'string' },
    reason: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
  },
  async run(args, io) {
    const name = onePositional(args, 'NAME', 'admin sync uploads');
    const query = new URLSearchParams();
    const state = choiceFlag(stringFlag(args, 'state'), 'state', SYNC_UPLOAD_STATES);
    const reason = choiceFlag(stringFlag(args, 'reason'), 'reason', SYNC_REASONS);
    const limit = stringFlag(args, 'limit');
    if (limit !== undefined && !/^\d{1,3}$/.test(limit))
      throw new UsageError('USAGE', '--limit: expected a whole number from 1 to 500');
    const cursor = stringFlag(args, 'cursor');
    for (const [key, value] of [
      ['state', state],
      ['reason', reason],
      ['limit', limit],
      ['cursor', cursor],
    ])
      if (value !== undefined) query.set(key!, value);
    const search = query.toString();
    const answer = await apiRequest(
      api(args, io),
      {
        method: 'GET',
        path: `/v1/admin/sync-profiles/${encodeURIComponent(name)}/uploads${search === '' ? '' : `?${search}`}`,
      },
      syncUploadPageType,
    );
    const lines = answer.uploads.length === 0 ? [`no uploads of ${name} match`] : answer.uploads.map(lineOf);
    if (answer.nextCursor !== null) lines.push(`more: --cursor ${answer.nextCursor}`);
    return print(io, args, answer, lines);
  },
};
