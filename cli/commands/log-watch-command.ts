// `rbnet log watch`: monitors an rbnet transparency log served as C2SP tlog-tiles at any URL,
// remembering the last checkpoint it verified, and exits non-zero on anything the log cannot be
// honest about (a fork, a rollback, a rewrite, a hidden dissent, a witness shown another tree).

import { resolve } from 'node:path';
import { parseTrustPolicy } from '../../services/consensus/trust-policy.ts';
import { RbnetError, UsageError } from '../../services/errors.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import { readFileIfExists, writeFileDurably } from '../../services/tlog/durable-file.ts';
import {
  MONITOR_STATE_SCHEMA,
  type MonitorEvent,
  type MonitorState,
  watchOnce,
} from '../../services/tlog/monitor/log-monitor.ts';
import { maxTlogPolicyBytes, parseTlogPolicy, type TlogPolicy } from '../../services/tlog/tlog-policy.ts';
import { type CliIo, type Command, EXIT, requireFlag, stringFlag, writeLine } from '../command.ts';
import { httpTlogSource, httpWitnessReader } from '../log-watch/http-tlog-source.ts';

export const logWatchCommand: Command = {
  path: ['log', 'watch'],
  help: `Usage: rbnet log watch --url URL --policy FILE --state FILE [--once] [--interval SECONDS] [--json]

Monitors the transparency log served at URL (the C2SP tlog-tiles prefix: URL/checkpoint,
URL/tile/...; any static mirror will do). Each round it:
  - verifies the checkpoint: signed by the log key of your policy, cosigned by its witness quorum
    within max-checkpoint-age (a cosignature under a witness's name that does not verify, on a
    checkpoint the log signed, is an alarm: a forged cosignature);
  - proves it extends the last checkpoint verified (kept in the state file), from the log's tiles;
  - reads every new entry, rebuilds the root from them, and checks the level-0 tiles against them;
  - applies the rule that every verdict accounts for every result of its build logged before it
    (a result logged and left out of the verdict is a hidden dissent), never cites an unlogged or
    altered result, and never counts differing outputs or a compromised key in a quorum (results
    the upgrade backfilled: docs/transparency-log.md);
  - asks each witness of the policy that has a URL for the checkpoint it last cosigned, and checks
    the log's tree extends it.
The state file moves on only after a round without alarm; an alarm prints the evidence (the
checkpoints, signed by the log, that cannot both be honest).

Options:
  --url URL            the log's prefix URL
  --policy FILE        a tlog policy (log, witness, group, quorum, max-checkpoint-age lines;
                       docs/transparency-log.md), or a trust policy JSON with "transparencyLog"
  --state FILE         where the last verified checkpoint and the monitor's state are kept
  --once               one round, then exit (default: a round every --interval until SIGINT/SIGTERM)
  --interval SECONDS   default 60
  --timeout SECONDS    per request (default 30)
  --no-witnesses       do not ask the witnesses for their checkpoints
  --json               one JSON event per line: checkpoint, unchanged, entries, witness, alarm, error

Exit codes: 0 no misbehaviour found (--once) or stopped by a signal; 3 an alarm (the log or a
witness misbehaved; the message says how); 1 a round could not be completed (--once only: the
log was unreachable, or its checkpoint not signed or witnessed as your policy requires); 2 usage.`,
  options: {
    url: { type: 'string' },
    policy: { type: 'string' },
    state: { type: 'string' },
    once: { type: 'boolean' },
    interval: { type: 'string' },
    timeout: { type: 'string' },
    'no-witnesses': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const url = requireFlag(args, 'url', logWatchCommand);
    if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError('USAGE', `--url ${url}: expected an http(s) URL`);
    const policy = await loadTlogPolicy(resolve(io.cwd, requireFlag(args, 'policy', logWatchCommand)));
    const statePath = resolve(io.cwd, requireFlag(args, 'state', logWatchCommand));
    const intervalSeconds = seconds(stringFlag(args, 'interval'), 60, 'interval');
    const timeoutMs = seconds(stringFlag(args, 'timeout'), 30, 'timeout') * 1000;
    const source = httpTlogSource(url, timeoutMs);
    const readWitnessCheckpoint = args.values['no-witnesses'] ? undefined : httpWitnessReader(timeoutMs);
    // Read once: after that this process is the state file's only writer, and keeps it in memory.
    let state = await loadState(statePath);
    let stopped = false;
    const stop = () => {
      stopped = true;
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      for (;;) {
        try {
          const result = await watchOnce({
            source,
            policy,
            state,
            now: new Date(),
            ...(readWitnessCheckpoint && { readWitnessCheckpoint }),
          });
          for (const event of result.events) report(io, args.values.json === true, event);
          if (result.alarmed) return EXIT.mismatch;
          if (result.state && result.state !== state) {
            await writeFileDurably(statePath, `${JSON.stringify(result.state)}\n`);
            state = result.state;
          }
        } catch (error) {
          if (!(error instanceof RbnetError)) throw error;
          report(io, args.values.json === true, { event: 'error', code: error.code, message: error.message });
          if (args.values.once) return EXIT.failed;
        }
        if (args.values.once) return EXIT.ok;
        for (let waited = 0; waited < intervalSeconds * 10 && !stopped; waited++)
          await new Promise((r) => setTimeout(r, 100));
        if (stopped) return EXIT.ok;
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};

type Reported = MonitorEvent | { readonly event: 'error'; readonly code: string; readonly message: string };

function report(io: CliIo, json: boolean, event: Reported): void {
  if (json) {
    writeLine(io.stdout, JSON.stringify({ time: new Date().toISOString(), ...event }));
    return;
  }
  const out = event.event === 'alarm' || event.event === 'error' ? io.stderr : io.stdout;
  switch (event.event) {
    case 'checkpoint':
      writeLine(
        out,
        `checkpoint ${event.origin} size ${event.size} (was ${event.previousSize}), cosigned by ${event.cosignedBy.join(', ') || 'no witness'}: consistent`,
      );
      break;
    case 'unchanged':
      writeLine(out, `checkpoint ${event.origin} size ${event.size}: unchanged`);
      break;
    case 'entries':
      writeLine(
        out,
        `entries ${event.from}..${event.to - 1}: ${
          Object.entries(event.types)
            .map(([type, n]) => `${n} ${type}`)
            .join(', ') || 'none'
        }`,
      );
      break;
    case 'witness':
      writeLine(
        out,
        `witness ${event.witness}: ${event.status}${event.size !== undefined ? ` at size ${event.size}` : ''}`,
      );
      break;
    case 'alarm':
      writeLine(out, `rbnet: ALARM [${event.kind}]: ${event.message}`);
      for (const evidence of event.evidence ?? [])
        writeLine(out, `  evidence:\n${evidence.replace(/^/gm, '    ')}`);
      break;
    case 'error':
      writeLine(out, `rbnet: error [${event.code}]: ${event.message}`);
      break;
  }
}

async function loadTlogPolicy(path: string): Promise<TlogPolicy> {
  const bytes = await readBoundedFile(path, 1024 * 1024, 'policy');
  const text = bytes.toString('utf8');
  if (!text.trimStart().startsWith('{')) {
    if (bytes.length > maxTlogPolicyBytes)
      throw new UsageError('USAGE', `--policy ${path}: a tlog policy is at most ${maxTlogPolicyBytes} bytes`);
    return parseTlogPolicy(text);
  }
  const trust = parseTrustPolicy(bytes, new Date());
  if (!trust.transparencyLog)
    throw new UsageError('USAGE', `--policy ${path}: the trust policy has no "transparencyLog"`);
  return trust.transparencyLog;
}

async function loadState(path: string): Promise<MonitorState | undefined> {
  const bytes = await readFileIfExists(path);
  if (!bytes) return undefined;
  let state: Partial<MonitorState>;
  try {
    state = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new UsageError('USAGE', `--state ${path}: not a monitor state file (not JSON)`, { cause });
  }
  if (
    state.schema !== MONITOR_STATE_SCHEMA ||
    typeof state.checkpoint !== 'string' ||
    typeof state.origin !== 'string' ||
    !state.range ||
    !state.accounting
  )
    throw new UsageError('USAGE', `--state ${path}: not a ${MONITOR_STATE_SCHEMA} state file`);
  return state as MonitorState;
}

function seconds(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  if (!/^[1-9][0-9]{0,5}$/.test(text))
    throw new UsageError('USAGE', `--${name}: expected whole seconds, 1 to 999999`);
  return Number(text);
}
