// `rbnet apt setup`: a consumer writes a GPG-signed in-toto root layout, a keyring, an apt.conf
// snippet and a sources line so Debian's apt-transport-in-toto installs only .debs K operators rebuilt.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  composeRootLayout,
  InTotoLayoutError,
  type RootLayoutSigned,
} from '../../services/apt/root-layout.ts';
import { ed25519PublicKeyFromPem, securesystemslibKeyid } from '../../services/attestation/ed25519-key.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import {
  aptConfSnippet,
  checkAptConfPath,
  rebuilderUrlsFrom,
  sourcesLineFrom,
  usage,
} from '../apt-config-files.ts';
import { signRootLayout } from '../apt-layout-signing.ts';
import { type Command, EXIT, requireFlag, stringFlag, writeLine } from '../command.ts';

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

    const { layoutPath, keyringPath } = await signRootLayout({ layout, layoutKey, gnupgHome, env, outDir });
    await mkdir(join(outDir, 'apt.conf.d'), { recursive: true });
    await mkdir(join(outDir, 'sources.list.d'), { recursive: true });
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
        keyring: keyringPath,
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
      writeLine(io.stdout, `layout key    ${layoutKey} (public half in ${keyringPath})`);
      writeLine(io.stdout, `apt config    ${aptConfPath}`);
      writeLine(io.stdout, `sources       ${sourcesPath}: ${sourcesLine}`);
      writeLine(io.stdout, 'Install (see docs/apt-in-toto.md):');
      writeLine(io.stdout, `  install -d -m 0755 ${installDir} ${join(installDir, 'gnupg')}`);
      writeLine(io.stdout, `  install -m 0644 ${layoutPath} ${join(installDir, 'root.layout')}`);
      writeLine(io.stdout, `  install -m 0644 ${keyringPath} ${join(installDir, 'gnupg', 'pubring.kbx')}`);
      writeLine(io.stdout, `  install -m 0644 ${aptConfPath} /etc/apt/apt.conf.d/${aptConfFileName}`);
      writeLine(io.stdout, `  install -m 0644 ${sourcesPath} /etc/apt/sources.list.d/${aptSourcesFileName}`);
    }
    return EXIT.ok;
  },
};

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
