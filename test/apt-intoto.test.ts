// Real apt with Debian's apt-transport-in-toto 0.1.1 / in-toto 1.3.1 against links rbnet signs and a
// layout `rbnet apt setup` writes: what is installed, what is refused, and the method's own messages.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RebuildLinkProduct, signRebuildLink } from '../services/apt/in-toto-rebuild-link.ts';
import { composeRootLayout } from '../services/apt/root-layout.ts';
import { encodeCanonical } from '../services/attestation/securesystemslib-canonical-json.ts';
import {
  type AptIntotoWorld,
  type AptRun,
  type AptRunLimits,
  createAptIntotoWorld,
  createScenario,
  linkKey,
  type OperatorKey,
  type OperatorLinks,
  runCli,
  type ScenarioOptions,
  startStaticRebuilder,
  type TestDeb,
} from './support/apt-intoto-harness.ts';

const SHOW_OUTPUT = process.env.RBNET_SHOW_APT_OUTPUT === '1';

let world: AptIntotoWorld;
let alpha: OperatorKey;
let beta: OperatorKey;
let gamma: OperatorKey;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  world = await createAptIntotoWorld();
  alpha = await world.newOperatorKey('alpha');
  beta = await world.newOperatorKey('beta');
  gamma = await world.newOperatorKey('gamma');
});

afterAll(async () => {
  for (const close of closers) await close();
  await world?.close();
});

function product(deb: TestDeb): RebuildLinkProduct {
  return { aptFileName: deb.aptFileName, sha256: deb.sha256 };
}

/** One operator's links: for each binary (name, version), a link signed by `key` listing `products`. */
async function linksBy(
  key: OperatorKey,
  entries: readonly { deb: TestDeb; products: readonly TestDeb[] }[],
): Promise<OperatorLinks> {
  const links = new Map<string, Awaited<ReturnType<typeof signRebuildLink>>>();
  for (const { deb, products } of entries) {
    links.set(linkKey(deb.name, deb.version), await signRebuildLink(products.map(product), key.signer));
  }
  return links;
}

async function rebuilders(operators: Record<string, OperatorLinks>) {
  const server = await startStaticRebuilder(new Map(Object.entries(operators)));
  closers.push(() => server.close());
  return server;
}

async function install(options: ScenarioOptions, packages: readonly string[], limits?: AptRunLimits) {
  const started = Date.now();
  const scenario = await createScenario(world, options);
  const setupMs = Date.now() - started;
  const result = await scenario.install(packages, limits);
  if (SHOW_OUTPUT) {
    console.log(
      `--- ${options.name}: exit ${result.exitCode}, setup ${setupMs} ms, install ${result.durationMs} ms, total ${Date.now() - started} ms\n${result.output}`,
    );
  }
  return { scenario, result, downloaded: await scenario.downloaded() };
}

function refusedWith(result: AptRun, reason: RegExp): void {
  expect(result.timedOut || result.stoppedAfterPattern, result.output).toBe(false);
  expect(result.exitCode, result.output).toBe(100);
  expect(result.output).toMatch(
    /^E: Failed to fetch intoto:\/\/127\.0\.0\.1:\d+\/\w+\/pool\/main\/\S+\.deb {2}In-toto verification for '\S+' failed, reason was: /m,
  );
  expect(result.output).toMatch(reason);
}

describe('apt-transport-in-toto with rbnet links and `rbnet apt setup`', () => {
  it('installs when at least k operators published matching links (one operator has none)', async () => {
    const hello = world.debs.hello!;
    const server = await rebuilders({
      alpha: await linksBy(alpha, [{ deb: hello, products: [hello] }]),
      beta: await linksBy(beta, [{ deb: hello, products: [hello] }]),
    });
    const { scenario, result, downloaded } = await install(
      {
        name: 'accept',
        archive: 'good',
        threshold: 2,
        operators: [alpha, beta, gamma],
        rebuilderUrls: [server.baseUrl('alpha'), server.baseUrl('beta'), server.baseUrl('gamma')],
      },
      ['hello'],
    );
    expect(result.exitCode, result.output).toBe(0);
    expect(downloaded).toEqual(['hello_1.0-1_amd64.deb']);
    expect(result.output).toContain(
      `In-toto verification for '${scenario.dir}/var/cache/apt/archives/partial/hello_1.0-1_amd64.deb' passed! :)`,
    );
    expect(result.output).toMatch(
      /Could not retrieve in-toto metadata from rebuilder '\S+\/gamma\/', reason was: server response: 404/,
    );
    expect(server.requests.sort()).toEqual([
      '/apt/amd64/alpha/sources/hello/1.0-1/metadata',
      '/apt/amd64/beta/sources/hello/1.0-1/metadata',
      '/apt/amd64/gamma/sources/hello/1.0-1/metadata',
    ]);
    // The packaged /etc/apt/apt.conf.d/intoto (NYU rebuilders, NoFail true) was cleared by our snippet.
    expect(result.output).not.toMatch(/158\.39\.77\.214|nyu\.edu/);
    // The method only understands NoFail "true"; "false" is logged as unknown and means the default.
    expect(result.output).toContain("Skipping unknown config item 'APT::Intoto::NoFail::=false'");
    expect(scenario.setup.sourcesLine).toMatch(/^deb intoto:\/\/127\.0\.0\.1:\d+\/good rbnet-test main$/);
  });

  it('refuses below the threshold with NoFail "false"', async () => {
    const hello = world.debs.hello!;
    const server = await rebuilders({ alpha: await linksBy(alpha, [{ deb: hello, products: [hello] }]) });
    const { result, downloaded } = await install(
      {
        name: 'below-threshold',
        archive: 'good',
        threshold: 2,
        operators: [alpha, beta],
        rebuilderUrls: [server.baseUrl('alpha'), server.baseUrl('beta')],
      },
      ['hello'],
    );
    refusedWith(result, /reason was: Step 'rebuild' requires '2' link metadata file\(s\), found '1'\./);
    expect(downloaded).toEqual([]);
  });

  it('with NoFail "true" installs below the threshold (fail-open), but still refuses wrong bytes', async () => {
    const hello = world.debs.hello!;
    const noFailTrue = (text: string) => text.replace('NoFail {"false"};', 'NoFail {"true"};');
    const server = await rebuilders({
      alpha: await linksBy(alpha, [{ deb: hello, products: [hello] }]),
      beta: await linksBy(beta, [{ deb: hello, products: [hello] }]),
    });
    const missing = await install(
      {
        name: 'nofail-missing',
        archive: 'good',
        threshold: 2,
        operators: [alpha, beta],
        rebuilderUrls: [server.baseUrl('alpha'), server.baseUrl('nobody')],
        editAptConf: noFailTrue,
      },
      ['hello'],
    );
    expect(missing.result.exitCode, missing.result.output).toBe(0);
    expect(missing.downloaded).toEqual(['hello_1.0-1_amd64.deb']);
    expect(missing.result.output).toMatch(/requires '2' link metadata file\(s\), found '1'/);
    expect(missing.result.output).toContain("The 'NoFail' setting was configured, installation continues.");

    const wrongBytes = await install(
      {
        name: 'nofail-wrong-bytes',
        archive: 'evil',
        threshold: 2,
        operators: [alpha, beta],
        rebuilderUrls: [server.baseUrl('alpha'), server.baseUrl('beta')],
        editAptConf: noFailTrue,
      },
      ['hello'],
    );
    refusedWith(wrongBytes.result, /reason was: 'DISALLOW \*\.deb' matched the following artifacts/);
    expect(wrongBytes.downloaded).toEqual([]);
  });

  it('refuses when the archive serves bytes other than those the links list', async () => {
    const hello = world.debs.hello!;
    const server = await rebuilders({
      alpha: await linksBy(alpha, [{ deb: hello, products: [hello] }]),
      beta: await linksBy(beta, [{ deb: hello, products: [hello] }]),
    });
    const { result, downloaded } = await install(
      {
        name: 'wrong-bytes',
        archive: 'evil',
        threshold: 2,
        operators: [alpha, beta],
        rebuilderUrls: [server.baseUrl('alpha'), server.baseUrl('beta')],
      },
      ['hello'],
    );
    refusedWith(
      result,
      /reason was: 'DISALLOW \*\.deb' matched the following artifacts: \['hello_1\.0-1_amd64\.deb'\]\\nFull trace for 'expected_materials' of item 'verify-reprobuilds'/,
    );
    expect(downloaded).toEqual([]);
  });

  it('refuses when a link is signed by a key the layout does not list, or claims a listed keyid', async () => {
    const hello = world.debs.hello!;
    const stranger = await world.newOperatorKey('beta');
    const server = await rebuilders({
      alpha: await linksBy(alpha, [{ deb: hello, products: [hello] }]),
      beta: await linksBy(stranger, [{ deb: hello, products: [hello] }]),
    });
    const { result, downloaded } = await install(
      {
        name: 'unknown-key',
        archive: 'good',
        threshold: 2,
        operators: [alpha, beta],
        rebuilderUrls: [server.baseUrl('alpha'), server.baseUrl('beta')],
      },
      ['hello'],
    );
    refusedWith(result, /requires '2' link metadata file\(s\), found '1'\./);
    expect(downloaded).toEqual([]);

    // The same link relabelled with beta's keyid is filed as beta's, and fails its signature check.
    const strangerLink = await signRebuildLink([product(hello)], stranger.signer);
    const forged = {
      ...strangerLink,
      signatures: [{ ...strangerLink.signatures[0], keyid: beta.signer.keyid }],
    } as typeof strangerLink;
    const forgedServer = await rebuilders({
      alpha: await linksBy(alpha, [{ deb: hello, products: [hello] }]),
      beta: new Map([[linkKey('hello', '1.0-1'), forged]]),
    });
    const relabelled = await install(
      {
        name: 'relabelled-key',
        archive: 'good',
        threshold: 2,
        operators: [alpha, beta],
        rebuilderUrls: [forgedServer.baseUrl('alpha'), forgedServer.baseUrl('beta')],
      },
      ['hello'],
    );
    refusedWith(
      relabelled.result,
      /reason was: Step 'rebuild' requires at least '2' links validly signed by different authorized functionaries\. Only found '1'/,
    );
  });

  it("refuses one operator's two keys making k=2 alone (the layout lists one key per operator)", async () => {
    const hello = world.debs.hello!;
    const alphaSecond = await world.newOperatorKey('alpha');
    // `rbnet apt setup` will not list two keys for one operator...
    const refused = await runCli(
      [
        'apt',
        'setup',
        '--threshold',
        '2',
        '--operator',
        `alpha=${alpha.publicKeyPath}`,
        '--operator',
        `alpha=${alphaSecond.publicKeyPath}`,
        '--layout-key',
        world.consumerKey.fingerprint,
        '--expires',
        '2099-01-01',
        '--rebuilder-url',
        'http://127.0.0.1:1/a/',
        '--rebuilder-url',
        'http://127.0.0.1:1/b/',
        '--out',
        `${world.root}/refused`,
      ],
      world.root,
    );
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/--operator: operator "alpha" is listed twice/);
    // ...so alpha's second key signs a link apt never counts.
    const server = await rebuilders({
      alpha: await linksBy(alpha, [{ deb: hello, products: [hello] }]),
      'alpha-again': await linksBy(alphaSecond, [{ deb: hello, products: [hello] }]),
    });
    const { result, downloaded } = await install(
      {
        name: 'two-keys-one-operator',
        archive: 'good',
        threshold: 2,
        operators: [alpha, beta],
        rebuilderUrls: [server.baseUrl('alpha'), server.baseUrl('alpha-again'), server.baseUrl('beta')],
      },
      ['hello'],
    );
    refusedWith(result, /requires '2' link metadata file\(s\), found '1'\./);
    expect(downloaded).toEqual([]);
  });

  it('installs an epoch + binNMU version and several binaries of one source', async () => {
    const { epoch, multiBin, multiData } = world.debs as Record<string, TestDeb>;
    const source = [multiBin!, multiData!];
    const entries = [
      { deb: epoch!, products: [epoch!] },
      { deb: multiBin!, products: source },
      { deb: multiData!, products: source },
    ];
    const server = await rebuilders({
      alpha: await linksBy(alpha, entries),
      beta: await linksBy(beta, entries),
    });
    const { result, downloaded } = await install(
      {
        name: 'epoch-and-multi',
        archive: 'good',
        threshold: 2,
        operators: [alpha, beta],
        rebuilderUrls: [server.baseUrl('alpha'), server.baseUrl('beta')],
      },
      ['epochpkg', 'multi-bin', 'multi-data'],
    );
    expect(result.exitCode, result.output).toBe(0);
    expect(downloaded).toEqual([
      'epochpkg_2%3a3.1-1+b1_amd64.deb',
      'multi-bin_0.5-2_amd64.deb',
      'multi-data_0.5-2_all.deb',
    ]);
    // apt names the file with %3a; python-urllib3 upper-cases the escape on the wire.
    expect(server.requests).toContain('/apt/amd64/alpha/sources/epochpkg/2%3A3.1-1+b1/metadata');
    expect(server.requests).toContain('/apt/amd64/beta/sources/multi-data/0.5-2/metadata');
  });

  it('refuses when operators list different products for the same package', async () => {
    const { multiBin, multiData } = world.debs as Record<string, TestDeb>;
    const server = await rebuilders({
      alpha: await linksBy(alpha, [{ deb: multiBin!, products: [multiBin!, multiData!] }]),
      beta: await linksBy(beta, [{ deb: multiBin!, products: [multiBin!] }]),
    });
    const { result, downloaded } = await install(
      {
        name: 'different-products',
        archive: 'good',
        threshold: 2,
        operators: [alpha, beta],
        rebuilderUrls: [server.baseUrl('alpha'), server.baseUrl('beta')],
      },
      ['multi-bin'],
    );
    refusedWith(
      result,
      /reason was: Links 'rebuild\.[0-9a-f]{8}\.link' and 'rebuild\.[0-9a-f]{8}\.link' have different artifacts!/,
    );
    expect(downloaded).toEqual([]);
  });

  it('refuses everything when the layout was changed after signing or its key is not in the keyring', async () => {
    const hello = world.debs.hello!;
    const server = await rebuilders({ alpha: await linksBy(alpha, [{ deb: hello, products: [hello] }]) });
    const base = {
      archive: 'good' as const,
      threshold: 1,
      operators: [alpha, beta],
      rebuilderUrls: [server.baseUrl('alpha')],
    };
    const edited = await createScenario(world, { ...base, name: 'layout-edited' });
    const layoutPath = edited.setup.files.layout!;
    const original = await readFile(layoutPath, 'utf8');
    await writeFile(layoutPath, original.replace(/"threshold": 1/, '"threshold": 0'));
    const editedRun = await edited.install(['hello']);
    if (SHOW_OUTPUT) console.log(`--- layout-edited\n${editedRun.output}`);
    refusedWith(editedRun, /reason was: Invalid signature for keyid '[0-9a-f]{40}'/);

    const otherKey = await createScenario(world, {
      ...base,
      name: 'layout-key-missing',
      editAptConf: (text) => text.replace(world.consumerKey.fingerprint, world.archiveKey.fingerprint),
    });
    const otherKeyRun = await otherKey.install(['hello']);
    if (SHOW_OUTPUT) console.log(`--- layout-key-missing\n${otherKeyRun.output}`);
    refusedWith(
      otherKeyRun,
      /reason was: Could not find gpg key '[0-9A-F]{40}' in empty exported key data\./,
    );
    expect(await otherKey.downloaded()).toEqual([]);
  });

  it('hangs for ever on a rebuilder that accepts the connection but never answers', async () => {
    const hello = world.debs.hello!;
    const server = await rebuilders({
      alpha: new Map([[linkKey('hello', '1.0-1'), 'hang' as const]]),
      beta: await linksBy(beta, [{ deb: hello, products: [hello] }]),
    });
    const { result, downloaded } = await install(
      {
        name: 'hanging-rebuilder',
        archive: 'good',
        threshold: 1,
        operators: [alpha, beta],
        rebuilderUrls: [server.baseUrl('alpha'), server.baseUrl('beta')],
      },
      ['hello'],
      // Give it 5 s after it asked alpha; a finished run would have asked beta within milliseconds.
      {
        stopAfter: {
          pattern: /Request in-toto metadata from \S+\/alpha\/sources\/hello\/1\.0-1\/metadata/,
          graceMs: 5_000,
        },
      },
    );
    expect(result.stoppedAfterPattern, result.output).toBe(true);
    expect(result.output).not.toMatch(/\/beta\/sources/);
    expect(downloaded).toEqual([]);
    expect(server.requests).toContain('/apt/amd64/alpha/sources/hello/1.0-1/metadata');
    expect(server.requests).not.toContain('/apt/amd64/beta/sources/hello/1.0-1/metadata');
  });

  it('stalls apt when a setting is written as a scalar instead of list syntax', async () => {
    const server = await rebuilders({});
    const scenario = await createScenario(world, {
      name: 'scalar-setting',
      archive: 'good',
      threshold: 1,
      operators: [alpha],
      rebuilderUrls: [server.baseUrl('alpha')],
      editAptConf: (text) => text.replace('NoFail {"false"};', 'NoFail "false";'),
    });
    // The method reads its configuration when apt starts it, so even `apt-get update` never returns.
    // Still running 5 s after the crash: apt waits for a method whose threads keep it alive.
    const result = await scenario.runApt(['update'], {
      stopAfter: { pattern: /ValueError: not enough values to unpack \(expected 4, got 3\)/, graceMs: 5_000 },
    });
    if (SHOW_OUTPUT) console.log(`--- scalar-setting: ${JSON.stringify(result)}`);
    expect(
      result.stoppedAfterPattern,
      `${result.output}\n--- method log:\n${await scenario.methodLog()}`,
    ).toBe(true);
    expect(result.output).toContain('_, _, config_name, config_value = field_value.split("::")');
  });
});

describe('rbnet apt setup', () => {
  function args(overrides: Record<string, string | string[] | null> = {}): string[] {
    const flags: Record<string, string | string[] | null> = {
      '--threshold': '2',
      '--operator': [`alpha=${alpha.publicKeyPath}`, `beta=${beta.publicKeyPath}`],
      '--layout-key': world.consumerKey.fingerprint,
      '--gnupg-home': world.consumerKey.home,
      '--expires': '2099-01-01',
      '--rebuilder-url': ['https://coord.example/apt/amd64/alpha/', 'https://coord.example/apt/amd64/beta'],
      ...overrides,
    };
    return [
      'apt',
      'setup',
      ...Object.entries(flags).flatMap(([flag, value]) =>
        value === null ? [] : (Array.isArray(value) ? value : [value]).flatMap((v) => [flag, v]),
      ),
    ];
  }

  it('writes the signed layout, keyring, apt.conf snippet and sources line', async () => {
    const out = join(world.root, 'setup-out');
    const result = await runCli([...args(), '--out', out, '--json'], world.root);
    expect(result.exitCode, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({
      installDir: '/etc/intoto/rbnet',
      layoutKeyids: [world.consumerKey.fingerprint],
      threshold: 2,
      expires: '2099-01-01T00:00:00Z',
      operators: [
        { name: 'alpha', keyid: alpha.signer.keyid },
        { name: 'beta', keyid: beta.signer.keyid },
      ],
      rebuilderUrls: ['https://coord.example/apt/amd64/alpha/', 'https://coord.example/apt/amd64/beta/'],
      sourcesLine: 'deb intoto://deb.debian.org/debian bookworm main',
    });
    expect(await readFile(join(out, 'apt.conf.d', 'rbnet-intoto'), 'utf8')).toBe(
      `// Written by rbnet apt setup. apt-transport-in-toto reads only list syntax: Key {"value"};
// This file must sort after /etc/apt/apt.conf.d/intoto (the package's defaults), which it clears.
#clear APT::Intoto;
APT::Intoto {
  LogLevel {"20"};
  Rebuilders {
    "https://coord.example/apt/amd64/alpha/";
    "https://coord.example/apt/amd64/beta/";
  };
  Layout {"/etc/intoto/rbnet/root.layout"};
  Keyids {
    "${world.consumerKey.fingerprint}";
  };
  GPGHomedir {"/etc/intoto/rbnet/gnupg"};
  NoFail {"false"};
};
`,
    );
    const layout = JSON.parse(await readFile(join(out, 'root.layout'), 'utf8'));
    const expected = composeRootLayout({
      operators: [
        { name: 'alpha', publicKeyPem: alpha.publicKeyPem },
        { name: 'beta', publicKeyPem: beta.publicKeyPem },
      ],
      threshold: 2,
      expires: '2099-01-01',
    });
    expect(encodeCanonical(layout.signed)).toBe(encodeCanonical(expected));
    expect(layout.signatures).toHaveLength(1);
    expect(layout.signatures[0].keyid).toBe(world.consumerKey.fingerprint.toLowerCase());
    expect((await stat(join(out, 'gnupg', 'pubring.kbx'))).mode & 0o777).toBe(0o644);
    expect((await stat(join(out, 'root.layout'))).mode & 0o777).toBe(0o644);
    expect(await readFile(join(out, 'sources.list.d', 'rbnet-intoto.list'), 'utf8')).toMatch(
      /^deb intoto:\/\/deb\.debian\.org\/debian bookworm main$/m,
    );

    const derived = await runCli(
      [
        ...args({ '--rebuilder-url': null }),
        '--coordinator',
        'https://coord.example:8470',
        '--out',
        out,
        '--json',
      ],
      world.root,
    );
    expect(derived.exitCode, derived.stderr).toBe(0);
    expect(JSON.parse(derived.stdout).rebuilderUrls).toEqual([
      'https://coord.example:8470/apt/amd64/alpha/',
      'https://coord.example:8470/apt/amd64/beta/',
    ]);
  });

  it('names the bad flag', async () => {
    const out = join(world.root, 'setup-bad');
    const cases: [Record<string, string | string[] | null>, RegExp][] = [
      [{ '--threshold': null }, /--threshold is required/],
      [{ '--threshold': 'two' }, /--threshold two: expected a whole number/],
      [{ '--threshold': '3' }, /--threshold: 3 must be a whole number from 1 to the 2 operator/],
      [{ '--operator': 'alpha' }, /--operator alpha: expected NAME=KEYFILE/],
      [
        { '--operator': [`alpha=${alpha.publicKeyPath}`, `bob=${alpha.publicKeyPath}`] },
        /--operator: operators "alpha" and "bob" give the same key/,
      ],
      [{ '--layout-key': 'ABCD' }, /--layout-key: expected the 40-hex-character fingerprint/],
      [{ '--expires': '2020-01-01' }, /--expires: "2020-01-01" is not in the future/],
      [
        { '--rebuilder-url': ['http://[::1]:8470/apt/amd64/alpha/', 'http://127.0.0.1/b/'] },
        /--rebuilder-url http:\/\/\[::1\]:8470\/apt\/amd64\/alpha\/: .* holds "::"/,
      ],
      [
        { '--rebuilder-url': 'https://coord.example/apt/amd64/alpha/' },
        /--rebuilder-url: 1 rebuilder URL\(s\) can never yield 2 links/,
      ],
      [{ '--rebuilder-url': ['ftp://x/', 'https://y/'] }, /--rebuilder-url ftp:\/\/x\/: must be http/],
    ];
    for (const [change, message] of cases) {
      const result = await runCli([...args(change), '--out', out], world.root);
      expect(result.exitCode, String(message)).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    const https = await runCli(
      [...args(), '--archive', 'https://deb.debian.org/debian', '--out', out],
      world.root,
    );
    expect(https.exitCode).toBe(2);
    expect(https.stderr).toMatch(
      /--archive https:\/\/deb\.debian\.org\/debian: apt-transport-in-toto relays intoto:\/\/ to apt's http method/,
    );
    const spaced = await runCli([...args(), '--install-dir', '/etc/in toto', '--out', out], world.root);
    expect(spaced.exitCode).toBe(2);
    expect(spaced.stderr).toMatch(/--install-dir: "\/etc\/in toto" holds a character/);
    const unknownKey = await runCli([...args({ '--layout-key': 'A'.repeat(40) }), '--out', out], world.root);
    expect(unknownKey.exitCode).toBe(1);
    expect(unknownKey.stderr).toMatch(/\[LAYOUT_SIGNING\]: --layout-key A{40}: /);
    const help = await runCli(['apt', 'setup', '--help'], world.root);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^Usage: rbnet apt setup --threshold K --operator NAME=KEYFILE/);
  });
});
