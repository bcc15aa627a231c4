// The one command-line entry: routes `rbnet <words...>` to a subcommand and maps errors to exit codes.
import { UsageError } from '../services/errors.ts';
import { RBNET_VERSION } from '../services/version.ts';
import { type CliIo, EXIT, parseCommandArgs, reportError, writeLine } from './command.ts';
import { commandEntries, findCommandEntry } from './command-registry.ts';

function topLevelHelp(): string {
  const width = Math.max(...commandEntries.map((c) => c.path.join(' ').length));
  const lines = commandEntries.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`);
  return `rbnet ${RBNET_VERSION}: a reproducible-build rebuilder network

Usage: rbnet <command> [options]    (rbnet <command> --help for details)

Commands:
${lines.join('\n')}

Docs: README.md and docs/ in the repository.`;
}

export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      writeLine(io.stdout, topLevelHelp());
      return argv.length === 0 ? EXIT.usage : EXIT.ok;
    }
    if (argv[0] === '--version') {
      writeLine(io.stdout, RBNET_VERSION);
      return EXIT.ok;
    }
    const found = findCommandEntry(argv);
    if (!found) {
      const group = commandEntries.filter((c) => c.path[0] === argv[0]);
      if (group.length > 0) {
        writeLine(
          io.stderr,
          `rbnet ${argv[0]}: choose one of: ${group.map((c) => c.path.slice(1).join(' ')).join(', ')}`,
        );
        return EXIT.usage;
      }
      throw new UsageError('USAGE', `unknown command "${argv[0]}". Run \`rbnet --help\`.`);
    }
    const command = await found.entry.load();
    const args = parseCommandArgs(command, found.rest);
    if (args.values.help) {
      writeLine(io.stdout, command.help);
      return EXIT.ok;
    }
    return await command.run(args, io);
  } catch (err) {
    return reportError(err, io);
  }
}

function defaultIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}
