// `rbnet admin ...`: operators, enrolment tokens, maintainers and worker revocation, over the API.
import {
  type EnrolmentTokenRequest,
  enrolmentTokenAnswerType,
  type MaintainerRequest,
  maintainerAnswerType,
  type OperatorRequest,
  operatorAnswerType,
} from '../../services/api/admin-accounts.ts';
import { type CompromiseRequest, revocationAnswerType } from '../../services/api/admin-workers.ts';
import {
  type GarbageCollectionRequest,
  garbageCollectionAnswerType,
} from '../../services/api/content-store-answers.ts';
import { UsageError } from '../../services/errors.ts';
import {
  type CliIo,
  type Command,
  EXIT,
  type ParsedCommandArgs,
  requireFlag,
  stringFlag,
  writeLine,
} from '../command.ts';
import { apiRequest, coordinatorUrlFrom } from '../coordinator-api.ts';

/** The flags every admin command takes (their help lines). */
export const COMMON_HELP = `  --coordinator URL  default env RBNET_COORDINATOR, else http://127.0.0.1:8470
  --token TOKEN      admin token; default env RBNET_ADMIN_TOKEN
  --json             print the coordinator's answer as JSON`;
export const COMMON_OPTIONS = {
  coordinator: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Where and with which admin token an admin command calls the coordinator. */
export function api(args: ParsedCommandArgs, io: CliIo) {
  const token = stringFlag(args, 'token') ?? io.env.RBNET_ADMIN_TOKEN;
  if (!token) throw new UsageError('USAGE', 'an admin token is needed: --token or RBNET_ADMIN_TOKEN');
  return { coordinator: coordinatorUrlFrom(stringFlag(args, 'coordinator'), io.env), token };
}

export function onePositional(args: ParsedCommandArgs, what: string, command: string): string {
  const value = args.positionals[0];
  if (!value || args.positionals.length > 1)
    throw new UsageError('USAGE', `expected exactly one ${what}. Run \`rbnet ${command} --help\`.`);
  return value;
}

/** @throws UsageError when a command that takes no arguments was given some. */
export function noPositionals(args: ParsedCommandArgs, command: string): void {
  if (args.positionals.length > 0)
    throw new UsageError('USAGE', `expected no arguments. Run \`rbnet ${command} --help\`.`);
}

/** Prints the answer as JSON with --json, else `lines`. */
export function print(io: CliIo, args: ParsedCommandArgs, answer: unknown, lines: string[]): number {
  if (args.values.json) writeLine(io.stdout, JSON.stringify(answer, null, 2));
  else for (const line of lines) writeLine(io.stdout, line);
  return EXIT.ok;
}

export const adminOperatorAddCommand: Command = {
  path: ['admin', 'operator', 'add'],
  help: `Usage: rbnet admin operator add NAME [options]\n\nOptions:\n${COMMON_HELP}\n\nExit codes: 0 added; 1 refused; 2 usage.`,
  options: COMMON_OPTIONS,
  async run(args, io) {
    const name = onePositional(args, 'NAME', 'admin operator add');
    const body: OperatorRequest = { name };
    const answer = await apiRequest(
      api(args, io),
      { method: 'POST', path: '/v1/admin/operators', body: JSON.stringify(body) },
      operatorAnswerType,
    );
    return print(io, args, answer, [`operator ${name} added`]);
  },
};

export const adminTokenCreateCommand: Command = {
  path: ['admin', 'token', 'create'],
  help: `Usage: rbnet admin token create --operator NAME [--ttl-seconds N] [options]\n\nThe token is printed once; hand it to the operator over a private channel.\n\nOptions:\n  --operator NAME    the operator the worker will belong to\n  --ttl-seconds N    validity, 60..2592000 (default 86400)\n${COMMON_HELP}\n\nExit codes: 0 created; 1 refused; 2 usage.`,
  options: { ...COMMON_OPTIONS, operator: { type: 'string' }, 'ttl-seconds': { type: 'string' } },
  async run(args, io) {
    const operator = requireFlag(args, 'operator', adminTokenCreateCommand);
    const ttl = stringFlag(args, 'ttl-seconds');
    const body: EnrolmentTokenRequest = { operator, ...(ttl ? { ttlSeconds: Number(ttl) } : {}) };
    const answer = await apiRequest(
      api(args, io),
      { method: 'POST', path: '/v1/admin/enrolment-tokens', body: JSON.stringify(body) },
      enrolmentTokenAnswerType,
    );
    return print(io, args, answer, [
      answer.token,
      `(single use, for operator ${operator}, expires ${answer.expiresAt})`,
    ]);
  },
};

export const adminMaintainerAddCommand: Command = {
  path: ['admin', 'maintainer', 'add'],
  help: `Usage: rbnet admin maintainer add NAME [options]\n\nPrints the maintainer's API token once (it is stored hashed).\n\nOptions:\n${COMMON_HELP}\n\nExit codes: 0 added; 1 refused; 2 usage.`,
  options: COMMON_OPTIONS,
  async run(args, io) {
    const name = onePositional(args, 'NAME', 'admin maintainer add');
    const body: MaintainerRequest = { name };
    const answer = await apiRequest(
      api(args, io),
      { method: 'POST', path: '/v1/admin/maintainers', body: JSON.stringify(body) },
      maintainerAnswerType,
    );
    return print(io, args, answer, [answer.token, `(API token for maintainer ${name}; shown once)`]);
  },
};

/** `retire` and its older name `revoke`: the worker's earlier results keep counting. */
function retireCommand(word: 'retire' | 'revoke'): Command {
  const command: Command = {
    path: ['admin', 'worker', word],
    help: `Usage: rbnet admin worker ${word} WORKER_ID [options]

Takes a worker out of service for good: it can no longer authenticate, its Redis user and queue are
deleted, and its open attempts are cancelled and reassigned to other operators. Every result the
coordinator received from it before now keeps counting, so no verdict changes. If its signing key
may be in someone else's hands, use \`rbnet admin worker compromised\` instead (also after retiring).

Options:
${COMMON_HELP}

Exit codes: 0 retired; 1 refused; 2 usage.`,
    options: COMMON_OPTIONS,
    async run(args, io) {
      const id = onePositional(args, 'WORKER_ID', `admin worker ${word}`);
      const answer = await apiRequest(
        api(args, io),
        { method: 'POST', path: `/v1/admin/workers/${encodeURIComponent(id)}/retire`, body: '{}' },
        revocationAnswerType,
      );
      return print(io, args, answer, [
        `worker ${id} retired; ${answer.reassignedBuilds.length} build(s) reassigned`,
      ]);
    },
  };
  return command;
}

export const adminWorkerRetireCommand = retireCommand('retire');
export const adminWorkerRevokeCommand = retireCommand('revoke');

export const adminWorkerCompromisedCommand: Command = {
  path: ['admin', 'worker', 'compromised'],
  help: `Usage: rbnet admin worker compromised WORKER_ID --since TIME [options]

Distrusts the worker's signing key from TIME on. Every result the coordinator *received* from that
worker at or after TIME stops counting (the coordinator judges by its own receipt time: a stolen
key can sign any build time it likes); each build it touched is decided again, the change appears
as a new row in that build's history and in the transparency log, and the worker's apt links for
those builds are withdrawn. Results received before TIME keep counting. The worker is also retired
(see \`rbnet admin worker retire\`). Running it again with an earlier TIME moves TIME earlier; a
later TIME changes nothing. Tell consumers who pin this worker's key to drop it.

Options:
  --since TIME       RFC 3339 UTC time, e.g. 2026-11-25T12:00:00Z; not in the future
${COMMON_HELP}

Exit codes: 0 marked; 1 refused; 2 usage.`,
  options: { ...COMMON_OPTIONS, since: { type: 'string' } },
  async run(args, io) {
    const id = onePositional(args, 'WORKER_ID', 'admin worker compromised');
    const since = requireFlag(args, 'since', adminWorkerCompromisedCommand);
    const body: CompromiseRequest = { since };
    const answer = await apiRequest(
      api(args, io),
      {
        method: 'POST',
        path: `/v1/admin/workers/${encodeURIComponent(id)}/compromised`,
        body: JSON.stringify(body),
      },
      revocationAnswerType,
    );
    return print(io, args, answer, [
      `worker ${id} marked compromised since ${since}; ${answer.redecidedBuilds.length} build(s) decided again, ${answer.reassignedBuilds.length} reassigned`,
    ]);
  },
};

export const adminGcCommand: Command = {
  path: ['admin', 'gc'],
  help: `Usage: rbnet admin gc [--dry-run] [options]

Runs one garbage-collection pass of the coordinator's content store now (the coordinator also runs
one every RBNET_GC_INTERVAL_MS). Only blobs an upload created are ever removed, and only when nothing
references them and nobody uploaded or named them for the grace period (RBNET_GC_GRACE_MS, default
24 h). Removing a blob uncharges it from its uploaders' quotas.

Options:
  --dry-run          list what would be removed; remove nothing
${COMMON_HELP}

Exit codes: 0 done; 1 refused; 2 usage.`,
  options: { ...COMMON_OPTIONS, 'dry-run': { type: 'boolean' } },
  async run(args, io) {
    noPositionals(args, 'admin gc');
    const dryRun = args.values['dry-run'] === true;
    const body: GarbageCollectionRequest = { dryRun };
    const answer = await apiRequest(
      api(args, io),
      { method: 'POST', path: '/v1/admin/gc', body: JSON.stringify(body) },
      garbageCollectionAnswerType,
    );
    const verb = answer.dryRun ? 'would remove' : 'removed';
    return print(io, args, answer, [
      ...answer.removed.map(
        (blob) =>
          `${verb} sha256:${blob.sha256} ${blob.sizeBytes} bytes (${blob.owners.join(', ') || 'no owner'})${blob.missing ? ' [file already gone]' : ''}`,
      ),
      `${verb} ${answer.removed.length} blob(s), ${answer.freedBytes} bytes; unwanted since ${answer.cutoff}` +
        `${answer.kept > 0 ? `; ${answer.kept} kept (wanted meanwhile)` : ''}${answer.more ? '; more remain for the next pass' : ''}`,
    ]);
  },
};
