// Debian test fixtures made at test time against today's archive (it keeps only current versions):
// an installed-package set resolved by the host's real apt, and .buildinfo files built from it.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type FixtureFile,
  fixtureFile,
  renderBuildinfoFixture,
} from '../../services/debian/buildinfo-fixture.ts';

const run = promisify(execFile);

/** bookworm's Essential: yes packages; dpkg-genbuildinfo always lists them in Installed-Build-Depends. */
export const BOOKWORM_ESSENTIAL: readonly string[] = [
  'base-files',
  'base-passwd',
  'bash',
  'bsdutils',
  'coreutils',
  'dash',
  'debianutils',
  'diffutils',
  'dpkg',
  'findutils',
  'grep',
  'gzip',
  'hostname',
  'init-system-helpers',
  'libc-bin',
  'login',
  'ncurses-base',
  'ncurses-bin',
  'perl-base',
  'sed',
  'sysvinit-utils',
  'tar',
  'util-linux',
];

export interface InstalledPackage {
  readonly name: string;
  readonly architecture: string;
  readonly version: string;
}

/**
 * What apt would install on an empty system for `packages` plus the essential set, as the host's
 * real apt resolves it today (no recommends): the Installed-Build-Depends of a fresh build.
 */
export async function resolveInstallSet(packages: readonly string[]): Promise<InstalledPackage[]> {
  const { stdout } = await run(
    'apt-get',
    [
      '-s',
      '-o',
      'Dir::State::status=/dev/null',
      '-o',
      'APT::Install-Recommends=false',
      'install',
      ...BOOKWORM_ESSENTIAL,
      ...packages,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const installed: InstalledPackage[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^Inst (\S+) \((\S+) .*\[(\S+)\]\)/.exec(line);
    if (match) installed.push({ name: match[1]!, version: match[2]!, architecture: match[3]! });
  }
  if (installed.length < 50)
    throw new Error(`apt resolved only ${installed.length} packages:\n${stdout.slice(0, 2000)}`);
  return installed.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** A binary package as the archive holds it today (the host apt's candidate), and its source version. */
export interface CurrentPackage {
  readonly name: string;
  readonly version: string;
  /** The source version: equal to `version` unless the binary is a binNMU. */
  readonly sourceVersion: string;
  /** `version` without its epoch, as dpkg writes it in file names. */
  readonly fileVersion: string;
}

/**
 * The version of `name` the archive holds today, read from the host apt's Packages lists at test
 * time, so no test assumes what the archive held when it was written.
 */
export async function currentPackage(name: string): Promise<CurrentPackage> {
  const { stdout } = await run('apt-cache', ['show', '--no-all-versions', name]);
  const version = /^Version: (\S+)$/m.exec(stdout)?.[1];
  if (!version) throw new Error(`apt knows no version of ${name}:\n${stdout.slice(0, 500)}`);
  const sourceVersion = /^Source: \S+ \((\S+)\)$/m.exec(stdout)?.[1] ?? version;
  return { name, version, sourceVersion, fileVersion: version.replace(/^\d+:/, '') };
}

/** A version of the same package that no archive holds (and none ever will): `~rbnet.absent` sorts it first. */
export function absentVersionOf(version: string): string {
  return `${version}~rbnet.absent`;
}

export interface GeneratedBuildinfo {
  readonly path: string;
  readonly text: string;
}

/** Writes a .buildinfo for `source` `version` claiming `debs`, built in `installed`. */
export async function writeBuildinfo(
  dir: string,
  args: {
    readonly source: string;
    readonly version: string;
    readonly binaries: readonly string[];
    readonly architectures: readonly string[];
    readonly debs: readonly FixtureFile[];
    readonly installed: readonly InstalledPackage[];
    readonly buildPath?: string;
    readonly environment?: readonly (readonly [string, string])[];
  },
): Promise<GeneratedBuildinfo> {
  const text = renderBuildinfoFixture({
    format: '1.0',
    source: args.source,
    binaries: args.binaries,
    architectures: args.architectures,
    version: args.version,
    files: args.debs,
    buildOrigin: 'Debian',
    buildArchitecture: 'amd64',
    buildDate: 'Sun, 02 Oct 2022 12:20:35 +0000',
    buildPath:
      args.buildPath ??
      `/build/reproducible-path/${args.source}-${args.version.replace(/-[^-]*$/, '').replace(/^\d+:/, '')}`,
    installedBuildDepends: args.installed.map((p) => ({ name: p.name, version: p.version })),
    environment: args.environment ?? [
      ['LANG', 'C.UTF-8'],
      ['LC_ALL', 'C.UTF-8'],
    ],
  });
  const path = join(dir, `${args.source}_${args.version.replace(/^\d+:/, '')}_amd64.buildinfo`);
  await writeFile(path, text);
  return { path, text };
}

/** Downloads `name`=`version` with the host's real apt and returns its checksums as published. */
export async function downloadPublishedDeb(
  dir: string,
  name: string,
  version: string,
): Promise<FixtureFile & { path: string }> {
  await run('apt-get', ['download', `${name}=${version}`], { cwd: dir });
  const aptName = `${name}_${version.replace(/^(\d+):/, '$1%3a')}_amd64.deb`;
  // dpkg names built files without the epoch, and so does a .buildinfo.
  const fileName = `${name}_${version.replace(/^\d+:/, '')}_amd64.deb`;
  const path = join(dir, aptName);
  const bytes = await readFile(path);
  return { ...fixtureFile(fileName, bytes), path };
}

/**
 * A native source package whose `debian/rules binary` writes a hostile .deb by hand: a data.tar
 * member that climbs out of the root (`../../etc/evil`) and 200 MB of zeros that xz squeezes to a
 * few kilobytes (a decompression bomb for an inspector capped below that). Built deterministically,
 * so every operator makes the same bytes. Returns the .dsc path (its files sit beside it).
 */
export async function writeHostileSourcePackage(dir: string): Promise<string> {
  const files: Record<string, string> = {
    'debian/source/format': '3.0 (native)\n',
    'debian/changelog':
      'rbnet-hostile (1.0) unstable; urgency=medium\n\n  * A .deb made to attack the inspector.\n\n -- rbnet tests <tests@rbnet.invalid>  Sun, 02 Oct 2022 12:20:35 +0000\n',
    'debian/control':
      'Source: rbnet-hostile\nSection: misc\nPriority: optional\nMaintainer: rbnet tests <tests@rbnet.invalid>\nRules-Requires-Root: no\n\nPackage: rbnet-hostile\nArchitecture: any\nDescription: hostile test package\n hostile test package\n',
    'debian/rules': [
      '#!/usr/bin/make -f',
      'build build-arch build-indep clean:',
      '\t@:',
      'binary binary-arch binary-indep:',
      '\tsh debian/make-hostile-deb.sh',
      '',
    ].join('\n'),
    'debian/make-hostile-deb.sh': [
      'set -eu',
      'top=$(pwd)',
      'w=$(mktemp -d)',
      'cd "$w"',
      "printf '2.0\\n' > debian-binary",
      'mkdir c d',
      "printf 'Package: rbnet-hostile\\nVersion: 1.0\\nArchitecture: amd64\\nMaintainer: rbnet tests <tests@rbnet.invalid>\\nDescription: hostile\\n' > c/control",
      'TAR="tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner"',
      '$TAR -C c -cf - ./control | gzip -n > control.tar.gz',
      'echo evil > d/evil',
      'head -c 200000000 /dev/zero > d/zeros',
      "$TAR -C d -cPf data.tar --transform 's,^\\./evil$,../../etc/evil,' ./evil ./zeros",
      'xz -0 -T1 data.tar',
      'ar rcD "$top/../rbnet-hostile_1.0_amd64.deb" debian-binary control.tar.gz data.tar.xz',
      'cd "$top"',
      'dpkg-distaddfile rbnet-hostile_1.0_amd64.deb misc optional',
      'rm -rf "$w"',
      '',
    ].join('\n'),
  };
  return buildNativeSourcePackage(dir, 'rbnet-hostile', '1.0', files);
}

/**
 * Writes `files` into `<dir>/<source>-<version>/`, makes debian/rules executable and builds the
 * native source package with the host's dpkg-source; returns the .dsc path (its files sit beside it).
 */
export async function buildNativeSourcePackage(
  dir: string,
  source: string,
  version: string,
  files: Readonly<Record<string, string>>,
): Promise<string> {
  const { mkdir, chmod } = await import('node:fs/promises');
  const tree = join(dir, `${source}-${version}`);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(tree, path, '..'), { recursive: true });
    await writeFile(join(tree, path), text);
  }
  await chmod(join(tree, 'debian', 'rules'), 0o755);
  await run('dpkg-source', ['-b', `${source}-${version}`], { cwd: dir });
  return join(dir, `${source}_${version}.dsc`);
}
