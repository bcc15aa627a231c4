// The shape every `rbnet` subcommand has, and the shared handling of flags, help and errors.
import { parseArgs } from 'node:util';
import { RbnetError, UsageError } from '../services/errors.ts';

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

type OptionSpec = {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
};

export interface Command {
  /** Words that select it, e.g. ['attestation', 'verify'] (its one-line summary is in command-registry.ts). */
  readonly path: readonly string[];
  /** Full --help text: usage line, arguments, options, exit codes. */
  readonly help: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  run(args: ParsedCommandArgs, io: CliIo): Promise<number>;
}

export interface ParsedCommandArgs {
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
}

/** Exit codes shared by every subcommand (documented in --help). */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2, mismatch: 3, internal: 70 });

export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedCommandArgs {
  try {
    const { positionals, values } = parseArgs({
      args: [...argv],
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { positionals, values: values as ParsedCommandArgs['values'] };
  } catch (cause) {
    throw new UsageError(
      'USAGE',
      `${(cause as Error).message}\nRun \`rbnet ${command.path.join(' ')} --help\` for usage.`,
      { cause },
    );
  }
}

export function stringFlag(args: ParsedCommandArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function requireFlag(args: ParsedCommandArgs, name: string, command: Command): string {
  const value = stringFlag(args, name);
  if (!value)
    throw new UsageError('USAGE', `--${name} is required. Run \`rbnet ${command.path.join(' ')} --help\`.`);
  return value;
}

export function writeLine(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`);
}

/** Turns an error into the one-line message (plus code) users see, and an exit code. */
export function reportError(err: unknown, io: CliIo): number {
  if (err instanceof RbnetError) {
    writeLine(io.stderr, `rbnet: error [${err.code}]: ${err.message}`);
    return err.code === 'USAGE' ? EXIT.usage : EXIT.failed;
  }
  writeLine(io.stderr, `rbnet: internal error: ${(err as Error)?.stack ?? String(err)}`);
  return EXIT.internal;
}
