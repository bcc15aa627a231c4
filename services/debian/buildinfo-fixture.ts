// Test fixtures: renders .buildinfo text from parts the way dpkg-genbuildinfo writes it (field order,
// continuation lines, quoting), so unit and integration tests can generate good and bad files.
import { createHash } from 'node:crypto';

/** One file of the checksum lists, with all three digests (lowercase hex) and its size in bytes. */
export interface FixtureFile {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly sha1: string;
  readonly md5: string;
}

/** The fields of a .buildinfo; optional ones are left out of the text when undefined. */
export interface BuildinfoParts {
  readonly format: string;
  readonly source: string;
  /** Written as `Source: name (sourceVersion)` when set. */
  readonly sourceVersion?: string | undefined;
  readonly binaries: readonly string[];
  readonly architectures: readonly string[];
  readonly version: string;
  /** Changelog lines; '' is written as ` .`. */
  readonly binaryOnlyChanges?: readonly string[] | undefined;
  readonly files: readonly FixtureFile[];
  readonly buildOrigin?: string | undefined;
  readonly buildArchitecture: string;
  readonly buildDate: string;
  readonly buildKernelVersion?: string | undefined;
  readonly buildPath?: string | undefined;
  readonly buildTaintedBy?: readonly string[] | undefined;
  readonly installedBuildDepends: readonly {
    readonly name: string;
    readonly architecture?: string | undefined;
    readonly version: string;
  }[];
  /** `[name, value]`; values are quoted and `"`/`\` escaped when rendered. */
  readonly environment: readonly (readonly [string, string])[];
  /** Appended after Environment as `Name: value` (unknown fields dpkg may add later). */
  readonly extraFields?: readonly (readonly [string, string])[] | undefined;
}

/** A FixtureFile for `content`, with real digests and size. */
export function fixtureFile(name: string, content: string | Uint8Array): FixtureFile {
  const digest = (algorithm: string) => createHash(algorithm).update(content).digest('hex');
  const size = typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength;
  return { name, size, sha256: digest('sha256'), sha1: digest('sha1'), md5: digest('md5') };
}

/**
 * The parts of a .buildinfo of one upload as a sync profile records it (`source` at `sourceVersion`,
 * binaries at `version`, a binNMU when they differ), on hello's build environment; each .deb a stand-in.
 */
export function uploadBuildinfoParts(upload: {
  readonly source: string;
  readonly sourceVersion: string;
  readonly version: string;
  readonly architecture: string;
  readonly binaries: readonly string[];
}): BuildinfoParts {
  const binNmu = upload.version !== upload.sourceVersion;
  const fileVersion = upload.version.replace(/^[0-9]+:/, '');
  return {
    ...helloBuildinfoParts(),
    source: upload.source,
    ...(binNmu && { sourceVersion: upload.sourceVersion }),
    version: upload.version,
    ...(binNmu && {
      binaryOnlyChanges: [
        `${upload.source} (${upload.version}) bookworm; urgency=low, binary-only=yes`,
        '',
        '  * Binary-only non-maintainer upload; no source changes.',
        '',
        ' -- Build Daemon <buildd@example.org>  Mon, 03 Oct 2022 10:00:00 +0000',
      ],
    }),
    binaries: upload.binaries,
    architectures: [upload.architecture],
    files: upload.binaries.map((name) =>
      fixtureFile(`${name}_${fileVersion}_${upload.architecture}.deb`, `stand-in for ${name}\n`),
    ),
  };
}

const HELLO_BUILD_DEPENDS: readonly [string, string][] = [
  ['autoconf', '2.71-3'],
  ['automake', '1:1.16.5-1.3'],
  ['autopoint', '0.21-12'],
  ['autotools-dev', '20220109.1'],
  ['base-files', '12.4'],
  ['base-passwd', '3.6.1'],
  ['bash', '5.2.15-2+b1'],
  ['binutils', '2.40-2'],
  ['binutils-common', '2.40-2'],
  ['binutils-x86-64-linux-gnu', '2.40-2'],
  ['bsdextrautils', '2.38.1-5+b1'],
  ['bsdutils', '1:2.38.1-5+b1'],
  ['build-essential', '12.9'],
  ['bzip2', '1.0.8-5+b1'],
  ['coreutils', '9.1-1'],
  ['cpp', '4:12.2.0-3'],
  ['cpp-12', '12.2.0-14'],
  ['dash', '0.5.12-2'],
  ['debconf', '1.5.82'],
  ['debhelper', '13.11.4'],
  ['debianutils', '5.7-0.4'],
  ['dh-autoreconf', '20'],
  ['diffutils', '1:3.8-4'],
  ['dpkg', '1.21.22'],
  ['dpkg-dev', '1.21.22'],
  ['g++', '4:12.2.0-3'],
  ['gcc', '4:12.2.0-3'],
  ['gcc-12', '12.2.0-14'],
  ['gettext', '0.21-12'],
  ['grep', '3.8-5'],
  ['gzip', '1.12-1'],
  ['libc-dev-bin', '2.36-9'],
  ['libc6', '2.36-9'],
  ['libc6-dev', '2.36-9'],
  ['libgcc-s1', '12.2.0-14'],
  ['libstdc++6', '12.2.0-14'],
  ['m4', '1.4.19-3'],
  ['make', '4.3-4.1'],
  ['perl', '5.36.0-7'],
  ['sed', '4.9-1'],
  ['tar', '1.34+dfsg-1.2'],
  ['texinfo', '6.8-6+b1'],
  ['util-linux', '2.38.1-5+b1'],
  ['xz-utils', '5.4.1-0.2'],
  ['zlib1g', '1:1.2.13.dfsg-1'],
];

/** A good .buildinfo for hello 2.10-3 built on amd64 (package contents are stand-ins, digests real). */
export function helloBuildinfoParts(): BuildinfoParts {
  return {
    format: '1.0',
    source: 'hello',
    binaries: ['hello', 'hello-dbgsym'],
    architectures: ['amd64'],
    version: '2.10-3',
    files: [
      fixtureFile('hello-dbgsym_2.10-3_amd64.deb', 'stand-in for hello-dbgsym_2.10-3_amd64.deb\n'),
      fixtureFile('hello_2.10-3_amd64.deb', 'stand-in for hello_2.10-3_amd64.deb\n'),
    ],
    buildOrigin: 'Debian',
    buildArchitecture: 'amd64',
    buildDate: 'Sun, 02 Oct 2022 12:20:35 +0000',
    buildPath: '/build/reproducible-path/hello-2.10',
    installedBuildDepends: HELLO_BUILD_DEPENDS.map(([name, version]) => ({ name, version })),
    environment: [
      ['DEB_BUILD_OPTIONS', 'parallel=4'],
      ['LANG', 'C.UTF-8'],
      ['LC_ALL', 'C.UTF-8'],
      ['SOURCE_DATE_EPOCH', '1664547435'],
    ],
  };
}

/** Renders `parts` as dpkg-genbuildinfo would: its field order, one continuation line per entry. */
export function renderBuildinfoFixture(parts: BuildinfoParts): string {
  const fields: (readonly [string, string | undefined])[] = [
    ['Format', parts.format],
    ['Source', parts.sourceVersion === undefined ? parts.source : `${parts.source} (${parts.sourceVersion})`],
    ['Binary', parts.binaries.join(' ')],
    ['Architecture', parts.architectures.join(' ')],
    ['Version', parts.version],
    ['Binary-Only-Changes', lines(parts.binaryOnlyChanges?.map((line) => (line === '' ? '.' : line)))],
    ['Checksums-Md5', lines(parts.files.map((file) => `${file.md5} ${file.size} ${file.name}`))],
    ['Checksums-Sha1', lines(parts.files.map((file) => `${file.sha1} ${file.size} ${file.name}`))],
    ['Checksums-Sha256', lines(parts.files.map((file) => `${file.sha256} ${file.size} ${file.name}`))],
    ['Build-Origin', parts.buildOrigin],
    ['Build-Architecture', parts.buildArchitecture],
    ['Build-Date', parts.buildDate],
    ['Build-Kernel-Version', parts.buildKernelVersion],
    ['Build-Path', parts.buildPath],
    ['Build-Tainted-By', lines(parts.buildTaintedBy)],
    ['Installed-Build-Depends', lines(parts.installedBuildDepends.map(dependencyText), ',')],
    ['Environment', lines(parts.environment.map(([name, value]) => `${name}="${escapeQuoted(value)}"`))],
    ...(parts.extraFields ?? []),
  ];
  return fields
    .filter((field): field is readonly [string, string] => field[1] !== undefined)
    .map(([name, value]) => (value.startsWith('\n') ? `${name}:${value}\n` : `${name}: ${value}\n`))
    .join('');
}

function dependencyText(dependency: BuildinfoParts['installedBuildDepends'][number]): string {
  const arch = dependency.architecture === undefined ? '' : `:${dependency.architecture}`;
  return `${dependency.name}${arch} (= ${dependency.version})`;
}

function escapeQuoted(value: string): string {
  return value.replace(/[\\"]/g, (char) => `\\${char}`);
}

/** A multi-line value: each entry on its own continuation line, `separator` after all but the last. */
function lines(entries: readonly string[] | undefined, separator = ''): string | undefined {
  if (entries === undefined) return undefined;
  return entries.map((entry, index) => `\n ${entry}${index < entries.length - 1 ? separator : ''}`).join('');
}

/**
 * A real, well-framed armored signature (ed25519, SHA512) from a throwaway key. It does not verify
 * over fixture text; it exercises framing, not cryptography.
 */
export const FIXTURE_ARMORED_SIGNATURE = `-----BEGIN PGP SIGNATURE-----

iHUEARYKAB0WIQQ3zeQvuD4/eFDvgd4h0JpNY9HvzgUCawcnMQAKCRAh0JpNY9Hv
zus1AP90TewuIY65lEKfhpdZTEdk8eQ0GChnKARvDG5ma/etcQD8CRTbnewADgER
R1PywRO78At8EIL9CGi6CIOQgBmp/As=
=sIfc
-----END PGP SIGNATURE-----
`;

/**
 * Wraps `text` (which should end in '\n') in OpenPGP cleartext framing as gpg --clearsign does:
 * `Hash:` header, dash-escaped lines, then {@link FIXTURE_ARMORED_SIGNATURE} or `signature`.
 */
export function clearsignFixture(text: string, signature = FIXTURE_ARMORED_SIGNATURE): string {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const escaped = body
    .split('\n')
    .map((line) => (line.startsWith('-') ? `- ${line}` : line))
    .join('\n');
  return `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n${escaped}\n${signature}`;
}
