// Signing \`rbnet apt setup\`'s root layout with the consumer's own OpenPGP key through in-toto-sign, and a
// keyring holding only that key's public half; checked the way apt will check it before anything is kept.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  InTotoLayoutError,
  type RootLayoutSigned,
  unsignedLayoutMetablockJson,
} from '../services/apt/root-layout.ts';
import { encodeCanonical } from '../services/attestation/securesystemslib-canonical-json.ts';

const toolTimeoutMs = 60_000;

/**
 * Signs \`layout\` with the secret key \`layoutKey\` (in \`gnupgHome\`, else gpg's default) into
 * \`<outDir>/root.layout\` and writes \`<outDir>/gnupg/pubring.kbx\` with only its public half, after
 * checking that the signature verifies with that keyring and that in-toto kept the layout as composed.
 * @throws InTotoLayoutError LAYOUT_SIGNING naming what failed (no such key, gpg or in-toto-sign).
 */
export async function signRootLayout(options: {
  readonly layout: RootLayoutSigned;
  readonly layoutKey: string;
  readonly gnupgHome: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly outDir: string;
}): Promise<{ readonly layoutPath: string; readonly keyringPath: string }> {
  const { layout, layoutKey, gnupgHome, env, outDir } = options;
  const homeArgs = gnupgHome === undefined ? [] : ['--homedir', gnupgHome];
  const secret = await runTool(
    'gpg',
    [...homeArgs, '--batch', '--with-colons', '--list-secret-keys', layoutKey],
    env,
  ).catch((error: unknown) => {
    throw new InTotoLayoutError(
      'LAYOUT_SIGNING',
      `--layout-key ${layoutKey}: no such secret key in ${gnupgHome ?? 'the default GnuPG home'} (${firstLine(error)})`,
      { cause: error },
    );
  });
  if (!secret.stdout.toString('utf8').includes(`:${layoutKey}:`)) {
    throw new InTotoLayoutError(
      'LAYOUT_SIGNING',
      `--layout-key ${layoutKey}: not the fingerprint of a secret key in ${gnupgHome ?? 'the default GnuPG home'}`,
    );
  }

  await mkdir(outDir, { recursive: true });
  const layoutPath = join(outDir, 'root.layout');
  const keyringDir = join(outDir, 'gnupg');
  const work = await mkdtemp(join(outDir, '.rbnet-apt-setup-'));
  try {
    // 1. Sign: in-toto-sign loads the layout through in-toto's own model and signs its canonical bytes.
    const unsigned = join(work, 'unsigned.layout');
    await writeFile(unsigned, unsignedLayoutMetablockJson(layout), { mode: 0o600 });
    const signed = join(work, 'root.layout');
    await runTool(
      'in-toto-sign',
      ['-f', unsigned, '--gpg', layoutKey, ...(gnupgHome ? ['--gpg-home', gnupgHome] : []), '-o', signed],
      env,
    );

    // 2. A keyring with only the layout key's public half, for APT::Intoto::GPGHomedir.
    const exported = await runTool(
      'gpg',
      [...homeArgs, '--batch', '--no-autostart', '--export', layoutKey],
      env,
    );
    if (exported.stdout.length === 0) {
      throw new InTotoLayoutError('LAYOUT_SIGNING', `--layout-key ${layoutKey}: gpg exported no public key`);
    }
    const keyringWork = join(work, 'gnupg');
    await mkdir(keyringWork, { mode: 0o700 });
    // --no-autostart: importing a public key needs no agent, and an agent socket path under a deep
    // --out would exceed the 108-byte socket path limit.
    await runTool(
      'gpg',
      ['--homedir', keyringWork, '--batch', '--quiet', '--no-autostart', '--import'],
      env,
      exported.stdout,
    );

    // 3. Check what apt will check: the signature verifies with that keyring, and in-toto wrote back
    //    exactly the layout we composed (its model silently drops fields it does not know).
    await runTool(
      'in-toto-sign',
      ['-f', signed, '--gpg', layoutKey, '--gpg-home', keyringWork, '--verify'],
      env,
    ).catch((error: unknown) => {
      throw new InTotoLayoutError(
        'LAYOUT_SIGNING',
        `the signed layout does not verify with the exported keyring: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    });
    const written = JSON.parse(await readFile(signed, 'utf8')) as {
      signed?: unknown;
      signatures?: unknown[];
    };
    if (encodeCanonical(written.signed) !== encodeCanonical(layout) || written.signatures?.length !== 1) {
      throw new InTotoLayoutError(
        'LAYOUT_SIGNING',
        'in-toto-sign wrote a layout different from the one composed',
      );
    }

    await mkdir(keyringDir, { recursive: true });
    await chmod(keyringDir, 0o755);
    await chmod(join(keyringWork, 'pubring.kbx'), 0o644);
    await rename(join(keyringWork, 'pubring.kbx'), join(keyringDir, 'pubring.kbx'));
    await chmod(signed, 0o644);
    await rename(signed, layoutPath);
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  return { layoutPath, keyringPath: join(keyringDir, 'pubring.kbx') };
}

/** A tool (gpg, in-toto-sign) failed; `stderr` is kept for the message the caller builds. */
class ToolError extends InTotoLayoutError {
  constructor(
    message: string,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super('LAYOUT_SIGNING', stderr.trim() ? `${message}: ${lastLines(stderr)}` : message, options);
  }
}

/** Runs a tool with an argument array (never a shell); rejects with its stderr on failure. */
function runTool(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input?: Uint8Array,
): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      file,
      [...args],
      { env, encoding: 'buffer', timeout: toolTimeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const stderrText = stderr.toString('utf8');
        if (error) {
          const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
          reject(
            new ToolError(
              missing
                ? `${file} not found on PATH (apt-get install ${file === 'gpg' ? 'gnupg' : 'in-toto'})`
                : `${file} ${args.join(' ')} failed: ${error.message.split('\n')[0]}`,
              stderrText,
              { cause: error },
            ),
          );
          return;
        }
        resolvePromise({ stdout, stderr: stderrText });
      },
    );
    child.stdin?.end(input);
  });
}

function firstLine(error: unknown): string {
  return (error as Error).message.split('\n')[0] ?? '';
}

function lastLines(stderr: string): string {
  return stderr.trim().split('\n').slice(-3).join(' | ');
}
