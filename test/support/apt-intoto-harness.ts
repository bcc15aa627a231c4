// Real apt + apt-transport-in-toto against a local signed archive and static rebuilders, fully isolated:
// its own apt Dir, keyring and config, a private /tmp, and servers on 127.0.0.1 only.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { main } from '../../cli/rbnet.ts';
import { aptLocalDebName, parseAptMetadataPath } from '../../services/apt/apt-file-name.ts';
import type { SignedRebuildLink } from '../../services/apt/in-toto-rebuild-link.ts';
import { Ed25519FileSigner } from '../../services/attestation/signer.ts';
import { sha256Hex } from '../../services/digest.ts';

const run = promisify(execFile);

/** The suite (and codename) of the test archive. */
export const TEST_SUITE = 'rbnet-test';

/** apt-transport-in-toto's own defaults; copied into every scenario to prove our snippet overrides them. */
const PACKAGE_DEFAULT_CONF = '/etc/apt/apt.conf.d/intoto';

export interface TestDebSpec {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  /** `Source:` field; omitted when the source has the package's name. */
  readonly source?: string;
  /** Distinguishes two builds of the same name and version. */
  readonly payload: string;
}

export interface TestDeb extends TestDebSpec {
  readonly path: string;
  readonly aptFileName: string;
  readonly sha256: string;
}

export interface GpgKey {
  readonly home: string;
  readonly fingerprint: string;
}

export interface OperatorKey {
  readonly name: string;
  readonly signer: Ed25519FileSigner;
  readonly publicKeyPem: string;
  /** SPKI PEM file, like a worker's worker-signing.key.pub. */
  readonly publicKeyPath: string;
}

export interface RunningServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Raw request paths, in arrival order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export interface AptIntotoWorld {
  readonly root: string;
  readonly archiveKey: GpgKey;
  /** The consumer's OpenPGP key that signs root layouts. */
  readonly consumerKey: GpgKey;
  readonly debs: Readonly<Record<string, TestDeb>>;
  /** Serves `/{archive}/dists/...` and `/{archive}/pool/...` for each archive built. */
  readonly archiveServer: RunningServer;
  newOperatorKey(name: string): Promise<OperatorKey>;
  close(): Promise<void>;
}

/**
 * Builds everything scenarios share: GPG keys, .debs, two archives signed by the archive key —
 * `good` (what the rebuilders rebuilt) and `evil` (same package names and versions, different bytes
 * for `hello`) — and the HTTP server for them.
 *
 * The root lives in /var/tmp because apt runs under a private /tmp (see `runApt`); it is mode 0755 so
 * apt's `_apt` sandbox user can read the layout and keyring the way it would in /etc/intoto.
 */
export async function createAptIntotoWorld(
  options: {
    /** More archives, by name, holding .debs made elsewhere (e.g. what rbnet's workers rebuilt). */
    readonly extraArchives?: Readonly<Record<string, readonly TestDeb[]>>;
  } = {},
): Promise<AptIntotoWorld> {
  const root = await mkdtemp('/var/tmp/rbnet-apt-');
  await chmod(root, 0o755);
  const servers: RunningServer[] = [];
  const gpgHomes: string[] = [];
  try {
    const archiveKey = await generateGpgKey(
      join(root, 'gnupg-archive'),
      'rbnet test archive <archive@rbnet.test>',
    );
    gpgHomes.push(archiveKey.home);
    const consumerKey = await generateGpgKey(
      join(root, 'gnupg-consumer'),
      'rbnet consumer <consumer@rbnet.test>',
    );
    gpgHomes.push(consumerKey.home);

    const build = join(root, 'build');
    const specs: Record<string, TestDebSpec> = {
      hello: {
        name: 'hello',
        version: '1.0-1',
        architecture: 'amd64',
        payload: 'hello, rebuilt bit for bit\n',
      },
      helloEvil: {
        name: 'hello',
        version: '1.0-1',
        architecture: 'amd64',
        payload: 'hello, with something the rebuilders never built\n',
      },
      epoch: {
        name: 'epochpkg',
        version: '2:3.1-1+b1',
        architecture: 'amd64',
        payload: 'an epoch and a binNMU\n',
      },
      multiBin: {
        name: 'multi-bin',
        version: '0.5-2',
        architecture: 'amd64',
        source: 'multi',
        payload: 'multi binary one\n',
      },
      multiData: {
        name: 'multi-data',
        version: '0.5-2',
        architecture: 'all',
        source: 'multi',
        payload: 'multi binary two\n',
      },
    };
    const debs: Record<string, TestDeb> = {};
    for (const [key, spec] of Object.entries(specs)) debs[key] = await buildDeb(join(build, key), spec);

    await buildArchive(
      join(root, 'archives', 'good'),
      [debs.hello!, debs.epoch!, debs.multiBin!, debs.multiData!],
      archiveKey,
    );
    await buildArchive(join(root, 'archives', 'evil'), [debs.helloEvil!], archiveKey);
    for (const [name, extra] of Object.entries(options.extraArchives ?? {})) {
      await buildArchive(join(root, 'archives', name), extra, archiveKey);
    }
    const exported = await run('gpg', [
      '--homedir',
      archiveKey.home,
      '--armor',
      '--export',
      archiveKey.fingerprint,
    ]);
    await writeFile(join(root, 'archive-key.asc'), exported.stdout);

    const archiveServer = await startArchiveServer(join(root, 'archives'));
    servers.push(archiveServer);
    const keysDir = join(root, 'operator-keys');
    await mkdir(keysDir);
    return {
      root,
      archiveKey,
      consumerKey,
      debs,
      archiveServer,
      async newOperatorKey(name) {
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        const publicKeyPem = publicKey.export({ format: 'pem', type: 'spki' }) as string;
        const publicKeyPath = join(keysDir, `${name}-${Math.random().toString(36).slice(2, 8)}.pub`);
        await writeFile(publicKeyPath, publicKeyPem);
        return { name, signer: Ed25519FileSigner.fromKeyObject(privateKey), publicKeyPem, publicKeyPath };
      },
      async close() {
        await Promise.all(servers.map((server) => server.close()));
        for (const home of gpgHomes) await killGpgAgent(home);
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(servers.map((server) => server.close()));
    for (const home of gpgHomes) await killGpgAgent(home);
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

async function generateGpgKey(home: string, userId: string): Promise<GpgKey> {
  await mkdir(home, { mode: 0o700 });
  await run('gpg', [
    '--homedir',
    home,
    '--batch',
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    '',
    '--quick-gen-key',
    userId,
    'ed25519',
    'sign',
    'never',
  ]);
  const { stdout } = await run('gpg', ['--homedir', home, '--with-colons', '--list-secret-keys']);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(stdout)?.[1];
  if (!fingerprint) throw new Error(`no fingerprint in gpg output:\n${stdout}`);
  return { home, fingerprint };
}

async function killGpgAgent(home: string): Promise<void> {
  await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
}

async function buildDeb(dir: string, spec: TestDebSpec): Promise<TestDeb> {
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'DEBIAN'), { recursive: true });
  await mkdir(join(tree, 'usr', 'share', 'doc', spec.name), { recursive: true });
  await writeFile(join(tree, 'usr', 'share', 'doc', spec.name, 'payload'), spec.payload);
  const control = [
    `Package: ${spec.name}`,
    ...(spec.source ? [`Source: ${spec.source}`] : []),
    `Version: ${spec.version}`,
    `Architecture: ${spec.architecture}`,
    'Maintainer: rbnet tests <tests@rbnet.test>',
    'Section: misc',
    'Priority: optional',
    `Description: rbnet apt-transport-in-toto test package ${spec.name}`,
    '',
  ].join('\n');
  await writeFile(join(tree, 'DEBIAN', 'control'), control);
  const aptFileName = aptLocalDebName(spec.name, spec.version, spec.architecture);
  // Debian pool names drop the epoch; apt's local name keeps it as %3a.
  const path = join(dir, `${spec.name}_${spec.version.replace(/^\d+:/, '')}_${spec.architecture}.deb`);
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', tree, path], {
    env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
  });
  return { ...spec, path, aptFileName, sha256: sha256Hex(await readFile(path)) };
}

async function buildArchive(dir: string, debs: readonly TestDeb[], key: GpgKey): Promise<void> {
  const pool = join(dir, 'pool', 'main');
  await mkdir(pool, { recursive: true });
  for (const deb of debs) await copyFile(deb.path, join(pool, deb.path.split(sep).at(-1)!));
  const dist = join(dir, 'dists', TEST_SUITE);
  await mkdir(join(dist, 'main', 'binary-amd64'), { recursive: true });
  const packages = await run('apt-ftparchive', ['packages', 'pool/main'], { cwd: dir });
  await writeFile(join(dist, 'main', 'binary-amd64', 'Packages'), packages.stdout);
  const release = await run(
    'apt-ftparchive',
    [
      '-o',
      `APT::FTPArchive::Release::Suite=${TEST_SUITE}`,
      '-o',
      `APT::FTPArchive::Release::Codename=${TEST_SUITE}`,
      '-o',
      'APT::FTPArchive::Release::Architectures=amd64',
      '-o',
      'APT::FTPArchive::Release::Components=main',
      'release',
      '.',
    ],
    { cwd: dist },
  );
  await writeFile(join(dist, 'Release'), release.stdout);
  await run(
    'gpg',
    [
      '--homedir',
      key.home,
      '--batch',
      '--yes',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--local-user',
      key.fingerprint,
      '--digest-algo',
      'SHA512',
      '--clearsign',
      '--output',
      join(dist, 'InRelease'),
      join(dist, 'Release'),
    ],
    { cwd: dist },
  );
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A static file server for `root`: GET only, no directory listings, nothing outside `root`. */
async function startArchiveServer(root: string): Promise<RunningServer> {
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const rawPath = (req.url ?? '/').split('?')[0]!;
    requests.push(rawPath);
    let relative: string;
    try {
      relative = normalize(decodeURIComponent(rawPath)).replace(/^\/+/, '');
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (req.method !== 'GET' || relative.startsWith('..') || relative === '') {
      res.writeHead(404).end();
      return;
    }
    readFile(join(root, relative)).then(
      (body) => res.writeHead(200, { 'content-length': body.length }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  const url = await listen(server);
  return { url, requests, close: () => closeServer(server) };
}

/** What one operator's static rebuilder serves: link per `name version` (decoded), or 'hang'. */
export type OperatorLinks = ReadonlyMap<string, SignedRebuildLink | 'hang'>;

/** The key `startStaticRebuilder` looks links up by: binary name and decoded version. */
export function linkKey(name: string, version: string): string {
  return `${name} ${version}`;
}

/**
 * A static rebuilder on 127.0.0.1 serving, per operator, `/apt/amd64/{operator}/sources/{name}/{version}/metadata`
 * (the layout the coordinator will serve). The version segment is parsed with `parseAptMetadataPath`,
 * so `%3a` and `%3A` both find an epoch version. Unknown paths are 404; 'hang' never answers.
 */
export async function startStaticRebuilder(
  operators: ReadonlyMap<string, OperatorLinks>,
): Promise<RunningServer & { baseUrl(operator: string): string }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const rawPath = (req.url ?? '/').split('?')[0]!;
    requests.push(rawPath);
    const match = /^\/apt\/amd64\/([^/]+)\/sources\/([^/]+)\/([^/]+)\/metadata$/.exec(rawPath);
    if (!match || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    const [, operator, name, version] = match as unknown as [string, string, string, string];
    let found: SignedRebuildLink | 'hang' | undefined;
    try {
      const parsed = parseAptMetadataPath(name, version);
      found = operators.get(operator)?.get(linkKey(parsed.name, parsed.version.text));
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (found === 'hang') return; // Never answer: apt-transport-in-toto's requests.get has no timeout.
    if (!found) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no link"}');
      return;
    }
    const body = JSON.stringify(found);
    res
      .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      .end(body);
  });
  const url = await listen(server);
  return {
    url,
    requests,
    baseUrl: (operator) => `${url}/apt/amd64/${operator}/`,
    close: () => closeServer(server),
  };
}

export interface ScenarioOptions {
  readonly name: string;
  /** `good`, `evil`, or the name of one of the world's extra archives. */
  readonly archive: string;
  readonly threshold: number;
  /** Operators in the layout, one key each (passed as `--operator NAME=KEYFILE`). */
  readonly operators: readonly Pick<OperatorKey, 'name' | 'publicKeyPath'>[];
  readonly rebuilderUrls: readonly string[];
  /** Rewrites the apt.conf snippet `rbnet apt setup` wrote before it is installed. */
  readonly editAptConf?: (text: string) => string;
  /** Packages the isolated dpkg status says are installed (to satisfy dependencies of real .debs). */
  readonly installed?: readonly { readonly name: string; readonly version: string }[];
}

export interface AptRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Killed because `timeoutMs` passed. */
  readonly timedOut: boolean;
  /** Killed by us `graceMs` after `stopAfter.pattern` appeared, still running. */
  readonly stoppedAfterPattern: boolean;
  readonly output: string;
  readonly durationMs: number;
}

export interface Scenario {
  readonly dir: string;
  /** stdout of `rbnet apt setup --json`. */
  readonly setup: { files: Record<string, string>; layoutKeyids: string[]; sourcesLine: string };
  readonly aptConfText: string;
  /** Runs apt-get with this scenario's isolated config (see `runIsolatedApt` for the limits). */
  runApt(args: readonly string[], limits?: AptRunLimits): Promise<AptRun>;
  /** `apt-get install --download-only -y PKG...` after `apt-get update`; the update must succeed. */
  install(packages: readonly string[], limits?: AptRunLimits): Promise<AptRun>;
  /** .deb files apt left in its archive cache. */
  downloaded(): Promise<string[]>;
  /** apt-transport-in-toto's own debug log (/tmp/intoto.log inside the private /tmp). */
  methodLog(): Promise<string>;
}

/**
 * Sets up one isolated apt: `Dir` under the scenario, Dir::Etc with the archive key in
 * trusted.gpg.d, apt-transport-in-toto's packaged default config (to prove ours overrides it), and
 * the files `rbnet apt setup` writes — run in-process through the real CLI entry with --install-dir
 * pointing at its own --out directory.
 */
export async function createScenario(world: AptIntotoWorld, options: ScenarioOptions): Promise<Scenario> {
  const dir = join(world.root, 'scenarios', options.name);
  for (const sub of [
    'etc/apt/apt.conf.d',
    'etc/apt/sources.list.d',
    'etc/apt/trusted.gpg.d',
    'etc/apt/preferences.d',
    'var/lib/apt/lists/partial',
    'var/lib/dpkg',
    'var/cache/apt/archives/partial',
    'var/log/apt',
    'tmp',
  ]) {
    await mkdir(join(dir, sub), { recursive: true, mode: 0o755 });
  }
  await chmod(join(world.root, 'scenarios'), 0o755);
  await chmod(dir, 0o755);
  await chmod(join(dir, 'tmp'), 0o1777);
  await writeFile(
    join(dir, 'var/lib/dpkg/status'),
    (options.installed ?? [])
      .map(
        (p) =>
          `Package: ${p.name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${p.version}\nMaintainer: rbnet tests <tests@rbnet.invalid>\nDescription: stand-in\n\n`,
      )
      .join(''),
  );
  await copyFile(
    join(world.root, 'archive-key.asc'),
    join(dir, 'etc/apt/trusted.gpg.d/rbnet-test-archive.asc'),
  );
  await access(PACKAGE_DEFAULT_CONF, fsConstants.R_OK);
  await copyFile(PACKAGE_DEFAULT_CONF, join(dir, 'etc/apt/apt.conf.d/intoto'));
  const aptConfig = join(dir, 'apt.conf');
  await writeFile(
    aptConfig,
    [
      `Dir "${dir}/";`,
      'APT::Architecture "amd64";',
      'APT::Architectures { "amd64"; };',
      'Acquire::Languages "none";',
      'Acquire::Retries "0";',
      'Acquire::http::Timeout "10";',
      'Acquire::http::Proxy "DIRECT";',
      '',
    ].join('\n'),
  );

  const out = join(dir, 'rbnet');
  const setupArgs = [
    'apt',
    'setup',
    '--threshold',
    String(options.threshold),
    ...options.operators.flatMap((operator) => ['--operator', `${operator.name}=${operator.publicKeyPath}`]),
    '--layout-key',
    world.consumerKey.fingerprint,
    '--gnupg-home',
    world.consumerKey.home,
    '--expires',
    new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString().slice(0, 10),
    ...options.rebuilderUrls.flatMap((url) => ['--rebuilder-url', url]),
    '--archive',
    `${world.archiveServer.url}/${options.archive}`,
    '--suite',
    TEST_SUITE,
    '--component',
    'main',
    '--install-dir',
    out,
    '--out',
    out,
    '--json',
  ];
  const cli = await runCli(setupArgs, dir);
  if (cli.exitCode !== 0) throw new Error(`rbnet apt setup failed (${cli.exitCode}):\n${cli.stderr}`);
  const setup = JSON.parse(cli.stdout) as Scenario['setup'];
  const written = await readFile(setup.files.aptConf!, 'utf8');
  const aptConfText = options.editAptConf ? options.editAptConf(written) : written;
  await writeFile(join(dir, 'etc/apt/apt.conf.d/rbnet-intoto'), aptConfText);
  await copyFile(setup.files.sources!, join(dir, 'etc/apt/sources.list.d/rbnet-intoto.list'));

  const runApt = (args: readonly string[], limits: AptRunLimits = {}) =>
    runIsolatedApt(['apt-get', ...args], { aptConfig, privateTmp: join(dir, 'tmp'), ...limits });
  return {
    dir,
    setup,
    aptConfText,
    runApt,
    async install(packages, limits = {}) {
      const update = await runApt(['update']);
      if (update.exitCode !== 0 || /^(E|W):/m.test(update.output)) {
        throw new Error(`apt-get update failed:\n${update.output}`);
      }
      return runApt(['install', '--download-only', '--no-install-recommends', '-y', ...packages], limits);
    },
    async downloaded() {
      return (await readdir(join(dir, 'var/cache/apt/archives')))
        .filter((name) => name.endsWith('.deb'))
        .sort();
    },
    async methodLog() {
      return readFile(join(dir, 'tmp', 'intoto.log'), 'utf8').catch(() => '');
    },
  };
}

/** Runs `rbnet ARGS` in-process through the CLI's main entry. */
export async function runCli(
  args: readonly string[],
  cwd: string,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const collect = () => {
    const chunks: Buffer[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        chunks.push(Buffer.from(chunk));
        done();
      },
    });
    return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
  };
  const stdout = collect();
  const stderr = collect();
  const exitCode = await main(args, { stdout: stdout.stream, stderr: stderr.stream, env: process.env, cwd });
  return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
}

export interface AptRunLimits {
  /** Kill apt-get and its methods after this long (default 60 s). */
  readonly timeoutMs?: number;
  /**
   * Once `pattern` appears in the output, wait `graceMs` and kill the run if it is still going: how
   * a test shows "apt is stuck after X" without a fixed sleep that a loaded machine could outrun.
   */
  readonly stopAfter?: { readonly pattern: RegExp; readonly graceMs: number };
}

/**
 * Runs a command in a private mount namespace whose /tmp is `privateTmp` (apt-transport-in-toto
 * writes /tmp/intoto.log and its verification directories there), with APT_CONFIG pointing at the
 * scenario. The process gets its own process group, and every kill (timeout or `stopAfter`) is a
 * SIGKILL of the whole group — apt-get and its methods — because a rebuilder that never answers,
 * or a method that crashed on its configuration, leaves apt waiting for ever.
 */
export async function runIsolatedApt(
  argv: readonly string[],
  options: { aptConfig: string; privateTmp: string } & AptRunLimits,
): Promise<AptRun> {
  const { timeoutMs = 60_000, stopAfter } = options;
  const started = Date.now();
  const child: ChildProcess = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      '-c',
      'mount --bind "$0" /tmp && exec "$@"',
      options.privateTmp,
      ...argv,
    ],
    {
      detached: true,
      // The method chdirs back to apt's working directory after verifying; under the private /tmp,
      // a checkout that lives in /tmp would not exist there and the method would crash.
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        APT_CONFIG: options.aptConfig,
        LC_ALL: 'C',
        DEBIAN_FRONTEND: 'noninteractive',
      },
    },
  );
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  let timedOut = false;
  let stoppedAfterPattern = false;
  let exited = false;
  let stopTimer: NodeJS.Timeout | undefined;
  let output = '';
  const onOutput = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (stopAfter && stopTimer === undefined && stopAfter.pattern.test(output)) {
      stopTimer = setTimeout(() => {
        if (exited) return;
        stoppedAfterPattern = true;
        killGroup();
      }, stopAfter.graceMs);
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, timeoutMs);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => {
      exited = true;
    });
    child.once('close', (code, sig) => resolve([code, sig]));
  });
  clearTimeout(timer);
  clearTimeout(stopTimer);
  // Methods left behind by a killed apt-get share its process group.
  killGroup();
  return { exitCode, signal, timedOut, stoppedAfterPattern, output, durationMs: Date.now() - started };
}
