// The exact `rbnet verify` command a page offers for a build, quoted so that a file name a worker
// chose can never run anything in the reader's shell when the command is pasted.
import type { BuildFacts } from './read-model.ts';

/** Characters a POSIX shell never treats specially in an unquoted word. */
const SHELL_SAFE = /^[A-Za-z0-9._/:=@%+,-]+$/;

/** `text` as one POSIX shell word: unchanged when safe, else single-quoted (`'` as `'\''`). */
export function shellQuote(text: string): string {
  if (text !== '' && SHELL_SAFE.test(text)) return text;
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export interface VerifyCommand {
  /** What the pin says, in words. */
  readonly pin: string;
  /** One line, ready to paste. */
  readonly command: string;
}

/** The file a consumer most likely holds: an agreed output, else a claimed one, else a rebuilt one. */
function exampleFile(facts: BuildFacts): string {
  const path =
    facts.decision?.agreeingOutputs[0]?.path ??
    facts.claimedOutputs[0]?.path ??
    facts.attempts.find((a) => a.outputs.length > 0)?.outputs[0]?.path ??
    'FILE';
  return `./${path.split('/').at(-1) ?? path}`;
}

/**
 * The commands that check a file of this build with keys the reader pinned: for a Debian build
 * whose workers fetched the source from the archive, pinned by source name and version; always,
 * pinned by the manifest digest (docs/consumer-guide.md, "What you must pin").
 */
export function verifyCommands(facts: BuildFacts): VerifyCommand[] {
  const file = shellQuote(exampleFile(facts));
  const tail = `--coordinator ${shellQuote(facts.coordinatorUrl.replace(/\/+$/, ''))}`;
  const commands: VerifyCommand[] = [];
  if (facts.debianSource === 'archive' && facts.version !== undefined) {
    commands.push({
      pin: `the Debian source ${facts.name} ${facts.version}, fetched by each worker from its own signed archive`,
      command: `rbnet verify ${file} --policy policy.json --debian-source ${shellQuote(`${facts.name}=${facts.version}`)} ${tail}`,
    });
  }
  commands.push({
    pin: `the manifest sha256:${facts.manifestSha256} (its inputs, environment and build command)`,
    command: `rbnet verify ${file} --policy policy.json --manifest-sha256 ${facts.manifestSha256} ${tail}`,
  });
  return commands;
}
