// `rbnet apt setup`: a consumer writes a GPG-signed in-toto root layout, a keyring, an apt.conf
// snippet and a sources line so Debian's apt-transport-in-toto installs only .debs K operators rebuilt.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import {
  composeRootLayout,
  InTotoLayoutError,
  type RootLayoutSigned,
  unsignedLayoutMetablockJson,
} from '../../services/apt/root-layout.ts';
import { ed25519PublicKeyFromPem, securesystemslibKeyid } from '../../services/attestation/ed25519-key.ts';
import { encodeCanonical } from '../../services/attestation/securesystemslib-canonical-json.ts';
import { UsageError } from '../../services/errors.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import { type Command, EXIT, requireFlag, stringFlag, writeLine } from '../command.ts';
import { coordinatorUrlFrom } from '../coordinator-api.ts';

/** Where the consumer installs root.layout and the layout keyring unless --install-dir says otherwise. */
export const defaultAptInstallDir = '/etc/intoto/rbnet';
/**
 * The apt.conf.d file name. apt reads apt.conf.d in file-name order and apt-transport-in-toto ships
 * /etc/apt/apt.conf.d/intoto (NYU rebuilders, an expired layout, NoFail true): our file must sort after
 * "intoto" so its `#clear APT::Intoto;` removes those settings. "60rbnet-intoto" would sort before.
 */
export const aptConfFileName = 'rbnet-intoto';
export const aptSourcesFileName = 'rbnet-intoto.list';

const FINGERPRINT = /^[0-9A-F]{40}$/;
const ARCHITECTURE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const SUITE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/;
const COMPONENT = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/;
/**
 * Characters a value may hold in the apt.conf snippet. apt hands each item to the method with spaces
 * and non-ASCII percent-quoted (`/a b/ü/` arrives as `/a%20b/%c3%bc/`, and the method never decodes
 * it), the method splits `APT::Intoto::Name::=value` on "::" (so a value holding "::" crashes it),
 * securesystemslib shlex-splits the gpg command line that carries GPGHomedir, and `"`, `;`, `{`, `}`
 * would end the apt.conf string or statement.
 */
const APT_CONF_SAFE = /^[A-Za-z0-9._~:/?&=+,@!$()*%[\]-]+$/;
const toolTimeoutMs = 60_000;

export const aptSetupCommand: Command = {
  path: ['apt', 'setup'],
  help: `Usage: rbnet apt setup --threshold K --operator NAME=KEYFILE [--operator ...] --layout-key FPR
                       --expires DATE [options]

For Debian's apt-transport-in-toto (0.1.1, in-toto 1.3.1). Writes into --out (default: current dir):
  root.layout                 in-toto root layout signed with your OpenPGP key (via in-toto-sign)
  gnupg/pubring.kbx           a keyring holding only that key's public half (apt verifies with it)
  apt.conf.d/${aptConfFileName}        APT::Intoto settings, every key in list syntax, NoFail "false"
  sources.list.d/${aptSourcesFileName}  the archive as an intoto:// source
The layout requires, for every .deb apt downloads, rebuild links from at least K of the operators
whose keys you give, all listing that file with the same sha256. Install as docs/apt-in-toto.md says.

Options:
  --threshold K           distinct operators that must have rebuilt each .deb (1..number of operators)
  --operator NAME=KEYFILE an operator's worker signing public key (worker-signing.key.pub, SPKI PEM);
                          exactly one key per operator
  --layout-key FPR        40-hex fingerprint of YOUR OpenPGP key that signs the layout
  --gnupg-home DIR        GnuPG home holding that secret key (default: gpg's default, GNUPGHOME)
  --expires DATE          2027-01-01 or 2027-01-01T00:00:00Z; apt refuses the layout after it
  --rebuilder-url URL     a rebuilder base URL apt asks for links, normally one per operator, e.g.
                          https://coord.example/apt/amd64/alpha/ (repeatable)
  --coordinator URL       without --rebuilder-url: use COORDINATOR/apt/ARCH/NAME/ for each operator
                          (default env RBNET_COORDINATOR, else http://127.0.0.1:8470)
  --arch ARCH             with --coordinator (default amd64)
  --archive URL           the Debian mirror, http:// only (default http://deb.debian.org/debian)
  --suite NAME            default bookworm
  --component NAME        repeatable (default main)
  --install-dir DIR       where you will install root.layout and gnupg/ (default ${defaultAptInstallDir});
                          written into the apt.conf snippet
  --readme TEXT           the layout's readme (default: names the operators and keyids)
  --out DIR               output directory (created; files in it are replaced)
  --json                  print { files, layoutKeyids, threshold, expires, operators, rebuilderUrls }

Exit codes: 0 written; 1 failed (in-toto-sign, gpg, an invalid key); 2 usage.`,
  options: {
    threshold: { type: 'string' },
    operator: { type: 'string', multiple: true },
    'layout-key': { type: 'string' },
    'gnupg-home': { type: 'string' },
    expires: { type: 'string' },
    'rebuilder-url': { type: 'string', multiple: true },
    coordinator: { type: 'string' },
    arch: { type: 'string' },
    archive: { type: 'string' },
    suite: { type: 'string' },
    component: { type: 'string', multiple: true },
    'install-dir': { type: 'string' },
    readme: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const thresholdText = requireFlag(args, 'threshold', aptSetupCommand);
    if (!/^[1-9][0-9]{0,3}$/.test(thresholdText)) {
      throw usage(`--threshold ${thresholdText}: expected a whole number from 1`);
    }
    const threshold = Number(thresholdText);
    const operatorSpecs = (args.values.operator as string[] | undefined) ?? [];
    if (operatorSpecs.length === 0)
      throw usage('--operator NAME=KEYFILE is required (repeat it per operator)');
    const operators: { name: string; publicKeyPem: string; keyid: string }[] = [];
    for (const spec of operatorSpecs) {
      const eq = spec.indexOf('=');
      if (eq <= 0 || eq === spec.length - 1) throw usage(`--operator ${spec}: expected NAME=KEYFILE`);
      const name = spec.slice(0, eq);
      const file = spec.slice(eq + 1);
      const pem = (
        await readBoundedFile(resolve(io.cwd, file), 64 * 1024, `--operator ${name} key`)
      ).toString('utf8');
      let keyid: string;
      try {
        keyid = securesystemslibKeyid(ed25519PublicKeyFromPem(pem, `--operator ${name}=${file}`));
      } catch (error) {
        throw usage((error as Error).message, error);
      }
      operators.push({ name, publicKeyPem: pem, keyid });
    }
    const layoutKey = requireFlag(args, 'layout-key', aptSetupCommand).replaceAll(' ', '').toUpperCase();
    if (!FINGERPRINT.test(layoutKey)) {
      throw usage(`--layout-key: expected the 40-hex-character fingerprint of your OpenPGP key`);
    }
    const expiresText = requireFlag(args, 'expires', aptSetupCommand);
    const installDir = stringFlag(args, 'install-dir') ?? defaultAptInstallDir;
    checkAptConfPath(installDir, '--install-dir');
    let layout: RootLayoutSigned;
    try {
      layout = composeRootLayout({
        operators: operators.map(({ name, publicKeyPem }) => ({ name, publicKeyPem })),
        threshold,
        expires: expiresText,
        ...(stringFlag(args, 'readme') !== undefined && { readme: stringFlag(args, 'readme') }),
      });
    } catch (error) {
      if (error instanceof InTotoLayoutError) throw usage(flagFor(error.message), error);
      throw error;
    }
    const rebuilderUrls = rebuilderUrlsFrom(args.values, operators, threshold, io.env);
    const sourcesLine = sourcesLineFrom(args.values);

    const outDir = resolve(io.cwd, stringFlag(args, 'out') ?? '.');
    const gnupgHomeFlag = stringFlag(args, 'gnupg-home');
    const gnupgHome = gnupgHomeFlag === undefined ? undefined : resolve(io.cwd, gnupgHomeFlag);
    const env = { ...io.env } as NodeJS.ProcessEnv;
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
    await mkdir(join(outDir, 'apt.conf.d'), { recursive: true });
    await mkdir(join(outDir, 'sources.list.d'), { recursive: true });
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
        throw new InTotoLayoutError(
          'LAYOUT_SIGNING',
          `--layout-key ${layoutKey}: gpg exported no public key`,
        );
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

    const aptConfPath = join(outDir, 'apt.conf.d', aptConfFileName);
    await writeFile(
      aptConfPath,
      aptConfSnippet({
        rebuilderUrls,
        layoutPath: join(installDir, 'root.layout'),
        keyids: [layoutKey],
        gnupgHome: join(installDir, 'gnupg'),
      }),
      { mode: 0o644 },
    );
    await chmod(aptConfPath, 0o644);
    const sourcesPath = join(outDir, 'sources.list.d', aptSourcesFileName);
    await writeFile(
      sourcesPath,
      `# Written by rbnet apt setup. Remove or comment out the plain http(s) line for this archive:
# apt may fetch a package from any source that has it, and only intoto:// sources are checked.
${sourcesLine}
`,
      { mode: 0o644 },
    );
    await chmod(sourcesPath, 0o644);

    const summary = {
      files: {
        layout: layoutPath,
        keyring: join(keyringDir, 'pubring.kbx'),
        aptConf: aptConfPath,
        sources: sourcesPath,
      },
      installDir,
      layoutKeyids: [layoutKey],
      threshold,
      expires: layout.expires,
      operators: operators.map(({ name, keyid }) => ({ name, keyid })),
      rebuilderUrls,
      sourcesLine,
    };
    if (args.values.json) {
      writeLine(io.stdout, JSON.stringify(summary, null, 2));
    } else {
      writeLine(
        io.stdout,
        `root layout   ${layoutPath} (${threshold} of ${operators.length} operators, expires ${layout.expires})`,
      );
      for (const operator of operators)
        writeLine(io.stdout, `  operator ${operator.name}  keyid ${operator.keyid}`);
      writeLine(io.stdout, `layout key    ${layoutKey} (public half in ${join(keyringDir, 'pubring.kbx')})`);
      writeLine(io.stdout, `apt config    ${aptConfPath}`);
      writeLine(io.stdout, `sources       ${sourcesPath}: ${sourcesLine}`);
      writeLine(io.stdout, 'Install (see docs/apt-in-toto.md):');
      writeLine(io.stdout, `  install -d -m 0755 ${installDir} ${join(installDir, 'gnupg')}`);
      writeLine(io.stdout, `  install -m 0644 ${layoutPath} ${join(installDir, 'root.layout')}`);
      writeLine(
        io.stdout,
        `  install -m 0644 ${join(keyringDir, 'pubring.kbx')} ${join(installDir, 'gnupg', 'pubring.kbx')}`,
      );
      writeLine(io.stdout, `  install -m 0644 ${aptConfPath} /etc/apt/apt.conf.d/${aptConfFileName}`);
      writeLine(io.stdout, `  install -m 0644 ${sourcesPath} /etc/apt/sources.list.d/${aptSourcesFileName}`);
    }
    return EXIT.ok;
  },
};

export interface AptConfSnippetOptions {
  readonly rebuilderUrls: readonly string[];
  readonly layoutPath: string;
  readonly keyids: readonly string[];
  readonly gnupgHome: string;
}

/**
 * The APT::Intoto block. Every key uses list syntax (`Key {"value"};`): apt then sends
 * `APT::Intoto::Key::=value`, which the method splits into four parts on "::"; a scalar
 * (`Key "value";`) arrives as `APT::Intoto::Key=value`, three parts, and the method's config parser
 * raises, leaving apt waiting forever. `#clear` first drops the package's own defaults.
 */
export function aptConfSnippet(options: AptConfSnippetOptions): string {
  const list = (values: readonly string[]) => values.map((value) => `    "${value}";`).join('\n');
  return `// Written by rbnet apt setup. apt-transport-in-toto reads only list syntax: Key {"value"};
// This file must sort after /etc/apt/apt.conf.d/intoto (the package's defaults), which it clears.
#clear APT::Intoto;
APT::Intoto {
  LogLevel {"20"};
  Rebuilders {
${list(options.rebuilderUrls)}
  };
  Layout {"${options.layoutPath}"};
  Keyids {
${list(options.keyids)}
  };
  GPGHomedir {"${options.gnupgHome}"};
  NoFail {"false"};
};
`;
}

function rebuilderUrlsFrom(
  values: Readonly<Record<string, unknown>>,
  operators: readonly { name: string }[],
  threshold: number,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const given = (values['rebuilder-url'] as string[] | undefined) ?? [];
  let urls: { url: string; flag: string }[];
  if (given.length > 0) {
    if (values.coordinator !== undefined)
      throw usage('give either --rebuilder-url or --coordinator, not both');
    urls = given.map((url) => ({ url, flag: `--rebuilder-url ${url}` }));
  } else {
    const arch = (values.arch as string | undefined) ?? 'amd64';
    if (!ARCHITECTURE.test(arch)) throw usage(`--arch ${arch}: not a Debian architecture name`);
    const coordinator = coordinatorUrlFrom(values.coordinator as string | undefined, env);
    urls = operators.map(({ name }) => ({
      url: `${coordinator}/apt/${arch}/${name}/`,
      flag: `--coordinator ${coordinator} (operator ${name})`,
    }));
  }
  const normalized = urls.map(({ url, flag }) => normalizeRebuilderUrl(url, flag));
  const seen = new Set<string>();
  for (const url of normalized) {
    if (seen.has(url)) throw usage(`--rebuilder-url ${url}: given twice`);
    seen.add(url);
  }
  if (normalized.length < threshold) {
    throw usage(
      `--rebuilder-url: ${normalized.length} rebuilder URL(s) can never yield ${threshold} links; give one per operator`,
    );
  }
  return normalized;
}

function normalizeRebuilderUrl(text: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw usage(`${flag}: not a URL`, error);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usage(`${flag}: must be http:// or https://`);
  if (url.username || url.password || url.search || url.hash) {
    throw usage(`${flag}: must not carry credentials, a query or a fragment`);
  }
  const href = url.href.endsWith('/') ? url.href : `${url.href}/`;
  checkAptConfValue(href, flag);
  return href;
}

function sourcesLineFrom(values: Readonly<Record<string, unknown>>): string {
  const archiveText = (values.archive as string | undefined) ?? 'http://deb.debian.org/debian';
  let archive: URL;
  try {
    archive = new URL(archiveText);
  } catch (error) {
    throw usage(`--archive ${archiveText}: not a URL`, error);
  }
  if (archive.protocol === 'https:') {
    throw usage(
      `--archive ${archiveText}: apt-transport-in-toto relays intoto:// to apt's http method, so the archive is fetched over plain HTTP; give an http:// mirror (apt still checks the archive's Release signature)`,
    );
  }
  if (archive.protocol !== 'http:' && archive.protocol !== 'intoto:') {
    throw usage(`--archive ${archiveText}: must be an http:// URL`);
  }
  if (archive.username || archive.password || archive.search || archive.hash) {
    throw usage(`--archive ${archiveText}: must not carry credentials, a query or a fragment`);
  }
  const uri = `intoto://${archive.host}${archive.pathname.replace(/\/+$/, '')}`;
  if (!/^[\x21-\x7e]+$/.test(uri)) throw usage(`--archive ${archiveText}: unusual characters`);
  const suite = (values.suite as string | undefined) ?? 'bookworm';
  if (!SUITE.test(suite)) throw usage(`--suite ${suite}: not a suite name`);
  const components = (values.component as string[] | undefined) ?? ['main'];
  for (const component of components) {
    if (!COMPONENT.test(component)) throw usage(`--component ${component}: not a component name`);
  }
  return `deb ${uri} ${suite} ${components.join(' ')}`;
}

function checkAptConfPath(path: string, flag: string): void {
  if (!isAbsolute(path)) throw usage(`${flag} ${path}: must be an absolute path`);
  checkAptConfValue(path, flag);
}

function checkAptConfValue(value: string, flag: string): void {
  if (!APT_CONF_SAFE.test(value)) {
    throw usage(
      `${flag}: ${JSON.stringify(value)} holds a character apt-transport-in-toto cannot take (space, quote, ;, {, }, non-ASCII)`,
    );
  }
  if (value.includes('::')) {
    throw usage(
      `${flag}: ${JSON.stringify(value)} holds "::", which apt-transport-in-toto's config parser splits on`,
    );
  }
}

/** Maps a composeRootLayout field name back to the flag the user typed. */
function flagFor(message: string): string {
  return message
    .replace(/^operators\[\d+\]\.name: /, '--operator: ')
    .replace(/^operators\[\d+\]\.publicKeyPem: /, '--operator: ')
    .replace(/^operators: /, '--operator: ')
    .replace(/^threshold: /, '--threshold: ')
    .replace(/^expires: /, '--expires: ')
    .replace(/^readme: /, '--readme: ');
}

function usage(message: string, cause?: unknown): UsageError {
  return new UsageError('USAGE', message, cause === undefined ? undefined : { cause });
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
