// Tests for the .buildinfo parser: a realistic good file and its variants, and a table of bad files
// each refused with the field at fault.
import { describe, expect, it } from 'vitest';
import { DebianFormatError } from '../errors.ts';
import { type ParsedBuildinfo, parseBuildinfo } from './buildinfo.ts';
import { BUILDINFO_LIMITS } from './buildinfo-fields.ts';
import {
  type BuildinfoParts,
  clearsignFixture,
  FIXTURE_ARMORED_SIGNATURE,
  fixtureFile,
  helloBuildinfoParts,
  renderBuildinfoFixture,
} from './buildinfo-fixture.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);
const render = (changes: Partial<BuildinfoParts> = {}) =>
  renderBuildinfoFixture({ ...helloBuildinfoParts(), ...changes });
const parse = (text: string) => parseBuildinfo(utf8(text));
const good = render();

/** Replaces field `name` (with its continuation lines) by `value` written after the colon, or drops it. */
function replaceField(text: string, name: string, value: string | undefined): string {
  const pattern = new RegExp(`^${name}:.*\\n(?:[ \\t].*\\n)*`, 'm');
  expect(text).toMatch(pattern);
  return text.replace(pattern, value === undefined ? '' : `${name}:${value}\n`);
}

const helloDeb = fixtureFile('hello_2.10-3_amd64.deb', 'stand-in for hello_2.10-3_amd64.deb\n');
const sha256Line = (file = helloDeb) => `${file.sha256} ${file.size} ${file.name}`;

const REQUIRED_FIELDS = [
  'Format',
  'Source',
  'Binary',
  'Architecture',
  'Version',
  'Checksums-Sha256',
  'Build-Architecture',
  'Build-Date',
  'Installed-Build-Depends',
];

const BAD_DOCUMENTS: readonly [string, string | Uint8Array, string][] = [
  // Document level.
  ['a file over 1 MiB', new Uint8Array(BUILDINFO_LIMITS.maxBytes + 1).fill(0x41), 'buildinfo'],
  ['CRLF line ends', good.replace(/\n/g, '\r\n'), 'buildinfo'],
  ['a NUL byte', good.replace('Debian', 'Deb\u0000ian'), 'buildinfo'],
  [
    'binary junk (a gzip header)',
    new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]),
    'buildinfo',
  ],
  [
    'invalid UTF-8',
    new Uint8Array([...utf8(good.slice(0, 40)), 0xc3, 0x28, ...utf8(good.slice(40))]),
    'buildinfo',
  ],
  ['a byte-order mark', new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(good)]), 'buildinfo'],
  ['two paragraphs', `${good}\nFormat: 1.0\n`, 'buildinfo'],
  ['no paragraph at all', '\n\n', 'buildinfo'],
  ['a continuation line before the first field', ` x\n${good}`, 'buildinfo'],
  ['a comment line', `# built by hand\n${good}`, 'buildinfo'],
  ['a duplicate field', `${good}Version: 2.10-3\n`, 'Version'],
  ['a duplicate field in another case', `${good}version: 2.10-3\n`, 'version'],
  // Clearsign framing.
  [
    'an unescaped dash line in signed text',
    clearsignFixture(good).replace('\nFormat:', '\n-Format:'),
    'OpenPGP signature',
  ],
  ['text after the END line', `${clearsignFixture(good)}Format: 1.0\n`, 'OpenPGP signature'],
  [
    'a missing signature block',
    clearsignFixture(good).replace(FIXTURE_ARMORED_SIGNATURE, ''),
    'OpenPGP signature',
  ],
  ['text before BEGIN', `Format: 1.0\n${clearsignFixture(good)}`, 'OpenPGP signature'],
  // Required fields.
  ...REQUIRED_FIELDS.map((field): [string, string, string] => [
    `a missing ${field}`,
    replaceField(good, field, undefined),
    field,
  ]),
  ['an empty Checksums-Sha256', replaceField(good, 'Checksums-Sha256', ''), 'Checksums-Sha256'],
  // Format, Source, Binary, Architecture.
  ['Format 2.0', render({ format: '2.0' }), 'Format'],
  ['a Source that is no package name', render({ source: 'Hello' }), 'Source'],
  ['a Source with a malformed version', render({ sourceVersion: '2.10 3' }), 'Source'],
  ['a Binary listed twice', render({ binaries: ['hello', 'hello'] }), 'Binary'],
  ['a Binary that is no package name', render({ binaries: ['hello', 'Hello_World'] }), 'Binary'],
  ['Architecture only source', render({ architectures: ['source'] }), 'Architecture'],
  ['Architecture any (a wildcard)', render({ architectures: ['any'] }), 'Architecture'],
  ['Architecture listed twice', render({ architectures: ['amd64', 'amd64'] }), 'Architecture'],
  // Version.
  ['an empty Version', render({ version: '' }), 'Version'],
  ['a Version whose upstream starts with a letter', render({ version: 'v2.10-3' }), 'Version'],
  ['a Version with a bad epoch', render({ version: 'e:2.10-3' }), 'Version'],
  ['a Version with bad characters', render({ version: '2.10_1-3' }), 'Version'],
  ['a Version with an empty revision', render({ version: '2.10-' }), 'Version'],
  ['a multi-line Version', replaceField(good, 'Version', ' 2.10-3\n 2.10-4'), 'Version'],
  // Binary-Only-Changes.
  [
    'a +b1 Version without Binary-Only-Changes',
    render({ version: '2.10-3+b1', sourceVersion: '2.10-3' }),
    'Binary-Only-Changes',
  ],
  [
    'Binary-Only-Changes naming another version',
    render({
      version: '2.10-3+b1',
      sourceVersion: '2.10-3',
      binaryOnlyChanges: ['hello (2.10-3+b2) sid; urgency=low'],
    }),
    'Binary-Only-Changes',
  ],
  [
    'Binary-Only-Changes naming another source',
    render({ binaryOnlyChanges: ['hullo (2.10-3) sid; urgency=low'] }),
    'Binary-Only-Changes',
  ],
  [
    'Binary-Only-Changes without a header',
    render({ binaryOnlyChanges: ['  * Rebuild.'] }),
    'Binary-Only-Changes',
  ],
  // Checksums.
  [
    'a short sha256',
    replaceField(good, 'Checksums-Sha256', `\n ${sha256Line().slice(2)}`),
    'Checksums-Sha256',
  ],
  [
    'an uppercase sha256',
    replaceField(good, 'Checksums-Sha256', `\n ${sha256Line().toUpperCase()}`),
    'Checksums-Sha256',
  ],
  ['a negative size', render({ files: [{ ...helloDeb, size: -1 }] }), 'Checksums-Sha256'],
  [
    'a size that is not a safe integer',
    render({ files: [{ ...helloDeb, size: 2 ** 60 }] }),
    'Checksums-Sha256',
  ],
  [
    'two spaces in a checksum line',
    replaceField(good, 'Checksums-Sha256', `\n ${sha256Line().replace(' ', '  ')}`),
    'Checksums-Sha256',
  ],
  [
    'a file name with /',
    render({ files: [{ ...helloDeb, name: 'pool/hello_2.10-3_amd64.deb' }] }),
    'Checksums-Sha256',
  ],
  ['a file name ..', render({ files: [helloDeb, { ...helloDeb, name: '..' }] }), 'Checksums-Sha256'],
  [
    'a file name holding ..',
    render({ files: [{ ...helloDeb, name: 'hello_2.10..3_amd64.deb' }] }),
    'Checksums-Sha256',
  ],
  [
    'a hidden file name',
    render({ files: [helloDeb, { ...helloDeb, name: '.hello.deb' }] }),
    'Checksums-Sha256',
  ],
  [
    'a file name with a space',
    replaceField(good, 'Checksums-Sha256', `\n ${sha256Line()} x`),
    'Checksums-Sha256',
  ],
  ['a duplicate file name', render({ files: [helloDeb, helloDeb] }), 'Checksums-Sha256'],
  ['no .deb at all', render({ files: [fixtureFile('hello_2.10-3.dsc', 'x')] }), 'Checksums-Sha256'],
  [
    'a .deb of an unlisted architecture',
    render({ files: [fixtureFile('hello_2.10-3_i386.deb', 'x')] }),
    'Checksums-Sha256',
  ],
  [
    'a .deb name with an epoch',
    render({ files: [fixtureFile('hello_1:2.10-3_amd64.deb', 'x')] }),
    'Checksums-Sha256',
  ],
  [
    'a .deb name without a version',
    render({ files: [fixtureFile('hello_amd64.deb', 'x')] }),
    'Checksums-Sha256',
  ],
  [
    'Checksums-Sha1 naming a file not in Checksums-Sha256',
    replaceField(good, 'Checksums-Sha1', `\n ${'a'.repeat(40)} 1 other_1.0_amd64.deb`),
    'Checksums-Sha1',
  ],
  [
    'Checksums-Md5 giving another size',
    replaceField(
      render({ files: [helloDeb] }),
      'Checksums-Md5',
      `\n ${helloDeb.md5} ${helloDeb.size + 1} ${helloDeb.name}`,
    ),
    'Checksums-Md5',
  ],
  [
    'Checksums-Sha1 leaving a file out',
    replaceField(good, 'Checksums-Sha1', `\n ${helloDeb.sha1} ${helloDeb.size} ${helloDeb.name}`),
    'Checksums-Sha1',
  ],
  [
    'a 64-character Checksums-Sha1 digest',
    replaceField(render({ files: [helloDeb] }), 'Checksums-Sha1', `\n ${sha256Line()}`),
    'Checksums-Sha1',
  ],
  // Build-*.
  ['Build-Architecture all', render({ buildArchitecture: 'all' }), 'Build-Architecture'],
  ['an unparsable Build-Date', render({ buildDate: '2022-10-02T12:20:35Z' }), 'Build-Date'],
  ['a Build-Date on no such day', render({ buildDate: 'Fri, 30 Feb 2022 12:20:35 +0000' }), 'Build-Date'],
  [
    'a Build-Date with the wrong weekday',
    render({ buildDate: 'Mon, 02 Oct 2022 12:20:35 +0000' }),
    'Build-Date',
  ],
  ['a Build-Date at hour 24', render({ buildDate: 'Sun, 02 Oct 2022 24:20:35 +0000' }), 'Build-Date'],
  ['a relative Build-Path', render({ buildPath: 'build/hello-2.10' }), 'Build-Path'],
  ['a Build-Path with ..', render({ buildPath: '/build/../etc' }), 'Build-Path'],
  ['a Build-Path with //', render({ buildPath: '/build//hello' }), 'Build-Path'],
  ['a Build-Path with a trailing /', render({ buildPath: '/build/hello/' }), 'Build-Path'],
  ['a Build-Path with whitespace', render({ buildPath: '/build/hello\u00a02.10' }), 'Build-Path'],
  ['a Build-Path too long', render({ buildPath: `/${'x'.repeat(4096)}` }), 'Build-Path'],
  [
    'a Build-Tainted-By tag twice',
    render({ buildTaintedBy: ['usr-local-has-programs', 'usr-local-has-programs'] }),
    'Build-Tainted-By',
  ],
  // Installed-Build-Depends.
  [
    'an IBD entry without "="',
    render({ installedBuildDepends: [{ name: 'bash', version: '5.2' }] }).replace('(= 5.2)', '(5.2)'),
    'Installed-Build-Depends',
  ],
  [
    'an IBD entry with ">="',
    render({ installedBuildDepends: [{ name: 'bash', version: '5.2' }] }).replace('(= 5.2)', '(>= 5.2)'),
    'Installed-Build-Depends',
  ],
  [
    'an IBD entry without a version',
    replaceField(good, 'Installed-Build-Depends', '\n bash,\n dash (= 0.5.12-2)'),
    'Installed-Build-Depends',
  ],
  [
    'a duplicated IBD entry',
    render({
      installedBuildDepends: [
        { name: 'bash', version: '5.2' },
        { name: 'bash', version: '5.2' },
      ],
    }),
    'Installed-Build-Depends',
  ],
  [
    'a bad IBD architecture qualifier',
    render({ installedBuildDepends: [{ name: 'libc6', architecture: 'AMD64', version: '2.36-9' }] }),
    'Installed-Build-Depends',
  ],
  [
    'an IBD qualifier :any',
    render({ installedBuildDepends: [{ name: 'libc6', architecture: 'any', version: '2.36-9' }] }),
    'Installed-Build-Depends',
  ],
  [
    'an IBD entry with a bad version',
    render({ installedBuildDepends: [{ name: 'bash', version: 'x5.2' }] }),
    'Installed-Build-Depends',
  ],
  [
    'an IBD entry with a bad name',
    render({ installedBuildDepends: [{ name: 'Bash', version: '5.2' }] }),
    'Installed-Build-Depends',
  ],
  [
    'a trailing comma in IBD',
    replaceField(good, 'Installed-Build-Depends', '\n bash (= 5.2),'),
    'Installed-Build-Depends',
  ],
  // Environment.
  [
    'an Environment value without quotes',
    replaceField(good, 'Environment', '\n LANG=C.UTF-8'),
    'Environment',
  ],
  ['an unterminated Environment quote', replaceField(good, 'Environment', '\n LANG="C.UTF-8'), 'Environment'],
  ['text after an Environment quote', replaceField(good, 'Environment', '\n LANG="C" x'), 'Environment'],
  ['an unknown Environment escape', replaceField(good, 'Environment', '\n LANG="C\\n"'), 'Environment'],
  [
    'a duplicate Environment variable',
    render({
      environment: [
        ['LANG', 'C'],
        ['LANG', 'C.UTF-8'],
      ],
    }),
    'Environment',
  ],
  ['an Environment name starting with a digit', render({ environment: [['1LANG', 'C']] }), 'Environment'],
  ['an Environment line without =', replaceField(good, 'Environment', '\n LANG'), 'Environment'],
  [
    'an Environment value over 64 KiB',
    render({ environment: [['BIG', 'x'.repeat(BUILDINFO_LIMITS.maxEnvironmentValueBytes + 1)]] }),
    'Environment',
  ],
];

const withoutMd5AndSha1 = replaceField(
  replaceField(good, 'Checksums-Md5', undefined),
  'Checksums-Sha1',
  undefined,
);
const LIMIT_DOCUMENTS: readonly [string, string, string][] = [
  [
    'more than 10,000 checksum entries',
    replaceField(
      withoutMd5AndSha1,
      'Checksums-Sha256',
      Array.from({ length: 10_001 }, (_, index) => `\n ${helloDeb.sha256} 1 f${index}_1_amd64.deb`).join(''),
    ),
    'Checksums-Sha256',
  ],
  [
    'more than 10,000 Installed-Build-Depends entries',
    render({
      installedBuildDepends: Array.from({ length: 10_001 }, (_, index) => ({
        name: `p${index}`,
        version: '1',
      })),
    }),
    'Installed-Build-Depends',
  ],
  [
    'more than 1000 Environment variables',
    render({ environment: Array.from({ length: 1001 }, (_, index): [string, string] => [`V${index}`, 'x']) }),
    'Environment',
  ],
  [
    'more than 64 fields',
    render({
      extraFields: Array.from({ length: 64 }, (_, index): [string, string] => [`X-Field-${index}`, 'x']),
    }),
    'buildinfo',
  ],
];

describe('parseBuildinfo refuses documents over its limits', () => {
  it.each(LIMIT_DOCUMENTS)('%s', (_name, document, field) => {
    expect(utf8(document).byteLength).toBeLessThanOrEqual(BUILDINFO_LIMITS.maxBytes);
    let caught: unknown;
    try {
      parse(document);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DebianFormatError);
    expect((caught as DebianFormatError).field).toBe(field);
  });
});

describe('parseBuildinfo refuses bad documents, naming the field at fault', () => {
  it('has a broad table of bad documents', () => {
    expect(BAD_DOCUMENTS.length).toBeGreaterThanOrEqual(35);
    expect(new Set(BAD_DOCUMENTS.map(([name]) => name)).size).toBe(BAD_DOCUMENTS.length);
  });

  it.each(BAD_DOCUMENTS)('%s', (_name, document, field) => {
    const bytes = typeof document === 'string' ? utf8(document) : document;
    let caught: unknown;
    try {
      parseBuildinfo(bytes);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DebianFormatError);
    expect((caught as DebianFormatError).code).toBe('DEBIAN_FORMAT');
    expect((caught as DebianFormatError).field).toBe(field);
    expect((caught as DebianFormatError).message.startsWith(`${field}: `)).toBe(true);
  });
});

function expectDeeplyFrozen(value: unknown, path = 'buildinfo'): void {
  if (typeof value !== 'object' || value === null) return;
  expect(Object.isFrozen(value), path).toBe(true);
  for (const [key, child] of Object.entries(value)) expectDeeplyFrozen(child, `${path}.${key}`);
}

describe('parseBuildinfo reads a good hello 2.10-3 amd64 .buildinfo', () => {
  const parsed = parse(good);

  it('names the source, binaries, architectures and version', () => {
    expect(parsed).toMatchObject({
      format: '1.0',
      source: 'hello',
      sourceVersion: { text: '2.10-3', epoch: 0, upstream: '2.10', revision: '3' },
      binaries: ['hello', 'hello-dbgsym'],
      architectures: ['amd64'],
      hostArchitectures: ['amd64'],
      includesSource: false,
      buildsArchAll: false,
      buildsArchAny: true,
      version: { text: '2.10-3' },
      binNmu: undefined,
      binaryOnlyChanges: undefined,
      signature: undefined,
    });
  });

  it('lists the files with all three digests, and the debs with what their names say', () => {
    const dbgsym = helloBuildinfoParts().files[0]!;
    expect(parsed.files).toEqual([
      { name: dbgsym.name, size: dbgsym.size, sha256: dbgsym.sha256, sha1: dbgsym.sha1, md5: dbgsym.md5 },
      {
        name: helloDeb.name,
        size: helloDeb.size,
        sha256: helloDeb.sha256,
        sha1: helloDeb.sha1,
        md5: helloDeb.md5,
      },
    ]);
    expect(
      parsed.debs.map(({ package: pkg, version, architecture, type, isDbgsym }) => ({
        pkg,
        version: version.text,
        architecture,
        type,
        isDbgsym,
      })),
    ).toEqual([
      { pkg: 'hello-dbgsym', version: '2.10-3', architecture: 'amd64', type: 'deb', isDbgsym: true },
      { pkg: 'hello', version: '2.10-3', architecture: 'amd64', type: 'deb', isDbgsym: false },
    ]);
  });

  it('reads the build fields, with Build-Date in epoch seconds', () => {
    expect(parsed).toMatchObject({
      buildOrigin: 'Debian',
      buildArchitecture: 'amd64',
      buildDate: 'Sun, 02 Oct 2022 12:20:35 +0000',
      buildDateEpochSeconds: 1664713235,
      buildKernelVersion: undefined,
      buildPath: '/build/reproducible-path/hello-2.10',
      buildTaintedBy: [],
    });
  });

  it('reads every Installed-Build-Depends entry with its version', () => {
    expect(parsed.installedBuildDepends).toHaveLength(helloBuildinfoParts().installedBuildDepends.length);
    expect(parsed.installedBuildDepends.find((dep) => dep.name === 'automake')).toEqual({
      name: 'automake',
      architecture: undefined,
      version: { text: '1:1.16.5-1.3', epoch: 1, upstream: '1.16.5', revision: '1.3' },
    });
  });

  it('reads the Environment in order and as a record', () => {
    expect(parsed.environment).toEqual([
      ['DEB_BUILD_OPTIONS', 'parallel=4'],
      ['LANG', 'C.UTF-8'],
      ['LC_ALL', 'C.UTF-8'],
      ['SOURCE_DATE_EPOCH', '1664547435'],
    ]);
    expect(parsed.environmentRecord.SOURCE_DATE_EPOCH).toBe('1664547435');
    expect(Object.getPrototypeOf(parsed.environmentRecord)).toBeNull();
  });

  it('returns a deeply frozen object', () => {
    expectDeeplyFrozen(parsed);
  });
});

describe('parseBuildinfo accepts the variants dpkg writes', () => {
  it('a clearsigned file, keeping its signature and parsing the signed text the same', () => {
    const parsed = parse(clearsignFixture(good));
    const { signature, ...rest } = parsed;
    const { signature: none, ...plain } = parse(good);
    expect(none).toBeUndefined();
    expect(rest).toEqual(plain);
    expect(signature).toEqual({
      armoredSignature: FIXTURE_ARMORED_SIGNATURE,
      signedText: good,
      hashAlgorithms: ['SHA512'],
    });
    expectDeeplyFrozen(parsed);
  });

  it('a binNMU, with Source naming the source version and Binary-Only-Changes kept verbatim', () => {
    const changes = [
      'hello (2.10-3+b1) sid; urgency=low, binary-only=yes',
      '',
      '  * Binary-only non-maintainer upload for amd64; no source changes.',
      '  * Rebuild against libc6 2.36.',
      '',
      ' -- amd64 Build Daemon (x86-conova-01) <buildd_amd64-x86-conova-01@buildd.debian.org>  Mon, 03 Oct 2022 10:00:00 +0000',
    ];
    const parsed = parse(
      render({
        sourceVersion: '2.10-3',
        version: '2.10-3+b1',
        binaryOnlyChanges: changes,
        files: [fixtureFile('hello_2.10-3+b1_amd64.deb', 'binNMU stand-in\n')],
      }),
    );
    expect(parsed.binNmu).toBe(1);
    expect(parsed.version.text).toBe('2.10-3+b1');
    expect(parsed.sourceVersion.text).toBe('2.10-3');
    expect(parsed.binaryOnlyChanges).toBe(changes.join('\n'));
    expect(parsed.debs[0]?.version.text).toBe('2.10-3+b1');
  });

  it('an epoch in Version, absent from the .deb file names', () => {
    const parsed = parse(render({ version: '1:2.10-3' }));
    expect(parsed.version).toEqual({ text: '1:2.10-3', epoch: 1, upstream: '2.10', revision: '3' });
    expect(parsed.debs[1]?.version).toEqual({ text: '2.10-3', epoch: 0, upstream: '2.10', revision: '3' });
  });

  it('architecture-qualified Installed-Build-Depends entries', () => {
    const parsed = parse(
      render({
        installedBuildDepends: [
          { name: 'libc6', architecture: 'amd64', version: '2.36-9' },
          { name: 'libc6', architecture: 'i386', version: '2.36-9' },
          { name: 'libc6', version: '2.36-9' },
          { name: 'tzdata', architecture: 'all', version: '2024a-0+deb12u1' },
        ],
      }),
    );
    expect(parsed.installedBuildDepends.map((dep) => [dep.name, dep.architecture, dep.version.text])).toEqual(
      [
        ['libc6', 'amd64', '2.36-9'],
        ['libc6', 'i386', '2.36-9'],
        ['libc6', undefined, '2.36-9'],
        ['tzdata', 'all', '2024a-0+deb12u1'],
      ],
    );
  });

  it('arch all and any together, with a .udeb and the source', () => {
    const parsed = parse(
      render({
        architectures: ['source', 'all', 'amd64'],
        binaries: ['hello', 'hello-doc', 'hello-udeb'],
        files: [
          fixtureFile('hello_2.10-3.dsc', 'dsc\n'),
          fixtureFile('hello-doc_2.10-3_all.deb', 'doc\n'),
          fixtureFile('hello-udeb_2.10-3_amd64.udeb', 'udeb\n'),
          helloDeb,
        ],
      }),
    );
    expect(parsed).toMatchObject({
      architectures: ['source', 'all', 'amd64'],
      hostArchitectures: ['amd64'],
      includesSource: true,
      buildsArchAll: true,
      buildsArchAny: true,
    });
    expect(parsed.files).toHaveLength(4);
    expect(parsed.debs.map((deb) => [deb.package, deb.architecture, deb.type])).toEqual([
      ['hello-doc', 'all', 'deb'],
      ['hello-udeb', 'amd64', 'udeb'],
      ['hello', 'amd64', 'deb'],
    ]);
  });

  it('an arch-all-only build', () => {
    const parsed = parse(
      render({ architectures: ['all'], files: [fixtureFile('hello-doc_2.10-3_all.deb', 'doc\n')] }),
    );
    expect(parsed).toMatchObject({ hostArchitectures: [], buildsArchAll: true, buildsArchAny: false });
  });

  it('only the required fields', () => {
    let text = good;
    for (const field of ['Checksums-Md5', 'Checksums-Sha1', 'Build-Origin', 'Build-Path', 'Environment']) {
      text = replaceField(text, field, undefined);
    }
    const parsed = parse(text);
    expect(parsed.files[0]).toMatchObject({ sha1: undefined, md5: undefined });
    expect(parsed).toMatchObject({ buildOrigin: undefined, buildPath: undefined, environment: [] });
    expect(Object.keys(parsed.environmentRecord)).toEqual([]);
  });

  it('optional build fields, unknown fields and any field-name case', () => {
    const parsed = parse(
      render({
        buildKernelVersion: '6.1.0-26-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)',
        buildTaintedBy: ['merged-usr-via-aliased-dirs', 'usr-local-has-programs'],
        buildDate: 'Sun, 2 Oct 2022 14:20:35 +0200',
        extraFields: [
          ['X-Future-Field', 'anything at all'],
          ['Build-Launcher', '\n sbuild'],
        ],
      }).replace('Build-Origin:', 'build-origin:'),
    );
    expect(parsed).toMatchObject({
      buildOrigin: 'Debian',
      buildKernelVersion: '6.1.0-26-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)',
      buildTaintedBy: ['merged-usr-via-aliased-dirs', 'usr-local-has-programs'],
      buildDateEpochSeconds: 1664713235,
    });
  });

  it('Environment values with escaped quotes and backslashes, and hostile names as plain keys', () => {
    const environment: [string, string][] = [
      ['DEB_BUILD_OPTIONS', 'nocheck "quoted" back\\slash'],
      ['__proto__', 'x'],
      ['EMPTY', ''],
    ];
    const parsed = parse(render({ environment }));
    expect(parsed.environment).toEqual(environment);
    expect(Object.hasOwn(parsed.environmentRecord, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(parsed.environmentRecord, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(parsed.environmentRecord)).toBeNull();
    expect(parsed.environmentRecord.EMPTY).toBe('');
  });

  it('a file of exactly 1 MiB', () => {
    const padding = `X-Padding:${'\n '.padEnd(1000, 'x').repeat(1100)}\n`;
    const text = `${good}${padding}`.slice(0, BUILDINFO_LIMITS.maxBytes - 1);
    const bytes = utf8(`${text.replace(/\n$/, 'x')}\n`);
    expect(bytes.byteLength).toBe(BUILDINFO_LIMITS.maxBytes);
    expect(parseBuildinfo(bytes).source).toBe('hello');
  });
});

describe('the fixture renders what dpkg-genbuildinfo writes', () => {
  it('in dpkg field order with continuation lines', () => {
    const parts: BuildinfoParts = {
      ...helloBuildinfoParts(),
      version: '2.10-3+b1',
      sourceVersion: '2.10-3',
      binaryOnlyChanges: ['hello (2.10-3+b1) sid; urgency=low, binary-only=yes', '', '  * Rebuild.'],
      buildKernelVersion: '6.1.0',
      buildTaintedBy: ['usr-local-has-programs'],
    };
    const text = renderBuildinfoFixture(parts);
    expect(text.match(/^[A-Za-z0-9-]+(?=:)/gm)).toEqual([
      'Format',
      'Source',
      'Binary',
      'Architecture',
      'Version',
      'Binary-Only-Changes',
      'Checksums-Md5',
      'Checksums-Sha1',
      'Checksums-Sha256',
      'Build-Origin',
      'Build-Architecture',
      'Build-Date',
      'Build-Kernel-Version',
      'Build-Path',
      'Build-Tainted-By',
      'Installed-Build-Depends',
      'Environment',
    ]);
    expect(text).toContain('Source: hello (2.10-3)\n');
    expect(text).toContain(
      'Binary-Only-Changes:\n hello (2.10-3+b1) sid; urgency=low, binary-only=yes\n .\n   * Rebuild.\n',
    );
    expect(text).toContain('Installed-Build-Depends:\n autoconf (= 2.71-3),\n automake (= 1:1.16.5-1.3),\n');
    expect(text).toContain(' zlib1g (= 1:1.2.13.dfsg-1)\nEnvironment:\n DEB_BUILD_OPTIONS="parallel=4"\n');
  });

  it('parses back to the parts it was rendered from', () => {
    const parts = helloBuildinfoParts();
    const parsed: ParsedBuildinfo = parse(renderBuildinfoFixture(parts));
    expect(
      parsed.installedBuildDepends.map((dep) => ({ name: dep.name, version: dep.version.text })),
    ).toEqual(parts.installedBuildDepends);
    expect(parsed.environment).toEqual(parts.environment);
    expect(parsed.files.map((file) => ({ ...file }))).toEqual(parts.files.map((file) => ({ ...file })));
  });
});
