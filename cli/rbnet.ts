// The one command-line entry: routes `rbnet <words...>` to a subcommand and maps errors to exit codes.
import { UsageError } from '../services/errors.ts';
import { RBNET_VERSION } from '../services/version.ts';
import { type CliIo, type Command, EXIT, parseCommandArgs, reportError, writeLine } from './command.ts';
import {
  adminGcCommand,
  adminMaintainerAddCommand,
  adminOperatorAddCommand,
  adminTokenCreateCommand,
  adminWorkerRevokeCommand,
} from './commands/admin-commands.ts';
import { aptSetupCommand } from './commands/apt-setup-command.ts';
import { attestationVerifyCommand } from './commands/attestation-verify-command.ts';
import { policyCreateCommand, verifyCommand } from './commands/consumer-commands.ts';
import { coordinatorRunCommand } from './commands/coordinator-run-command.ts';
import { demoCommand } from './commands/demo-command.ts';
import { statusCommand, submitCommand } from './commands/maintainer-commands.ts';
import { manifestCheckCommand } from './commands/manifest-check-command.ts';
import { rebuildCommand } from './commands/rebuild-command.ts';
import { workerDoctorCommand } from './commands/worker-doctor-command.ts';
import { workerInitCommand } from './commands/worker-init-command.ts';
import { workerEnrolCommand, workerRunCommand } from './commands/worker-network-commands.ts';

export const commands: readonly Command[] = [
  rebuildCommand,
  attestationVerifyCommand,
  manifestCheckCommand,
  workerInitCommand,
  coordinatorRunCommand,
  adminOperatorAddCommand,
  adminTokenCreateCommand,
  adminMaintainerAddCommand,
  adminWorkerRevokeCommand,
  adminGcCommand,
  workerEnrolCommand,
  workerRunCommand,
  workerDoctorCommand,
  submitCommand,
  statusCommand,
  verifyCommand,
  policyCreateCommand,
  aptSetupCommand,
  demoCommand,
];

function topLevelHelp(): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  const lines = commands.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`);
  return `rbnet ${RBNET_VERSION}: a reproducible-build rebuilder network

Usage: rbnet <command> [options]    (rbnet <command> --help for details)

Commands:
${lines.join('\n')}

Docs: README.md and docs/ in the repository.`;
}

function findCommand(argv: readonly string[]): { command: Command; rest: readonly string[] } | undefined {
  const sorted = [...commands].sort((a, b) => b.path.length - a.path.length);
  for (const command of sorted) {
    if (command.path.every((word, i) => argv[i] === word))
      return { command, rest: argv.slice(command.path.length) };
  }
  return undefined;
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
    const found = findCommand(argv);
    if (!found) {
      const group = commands.filter((c) => c.path[0] === argv[0]);
      if (group.length > 0) {
        writeLine(
          io.stderr,
          `rbnet ${argv[0]}: choose one of: ${group.map((c) => c.path.slice(1).join(' ')).join(', ')}`,
        );
        return EXIT.usage;
      }
      throw new UsageError('USAGE', `unknown command "${argv[0]}". Run \`rbnet --help\`.`);
    }
    const args = parseCommandArgs(found.command, found.rest);
    if (args.values.help) {
      writeLine(io.stdout, found.command.help);
      return EXIT.ok;
    }
    return await found.command.run(args, io);
  } catch (err) {
    return reportError(err, io);
  }
}

function defaultIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}
