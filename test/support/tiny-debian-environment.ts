// A tiny but real Debian build environment, made at test time: the essential set plus dpkg-dev,
// fakeroot and make as the host's apt resolves them today, each .deb fetched and verified against
// Debian's signed archive, plus an empty stand-in for build-essential. A test re-serves these from a
// mirror and a snapshot archive it signs itself.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openDebianArchive } from '../../worker/debian/debian-archive.ts';
import type { FixtureDeb } from '../../worker/debian/snapshot-server-fixture.ts';
import { defaultWorkerDebianConfig } from '../../worker/worker-config.ts';
import { resolveInstallSet } from './debian-fixture.ts';

const run = promisify(execFile);

/** The control paragraph of an index stanza: Filename, Size and SHA256 are the fixture's to write. */
function controlOf(stanza: string): string {
  return stanza
    .split('\n')
    .filter((line) => !/^(Filename|Size|SHA256):/i.test(line))
    .join('\n');
}

/**
 * dpkg-checkbuilddeps always wants build-essential; the real one pulls in a compiler a tiny build
 * never uses, so the environment holds an empty stand-in, made as a real .deb with dpkg-deb.
 */
async function standInBuildEssential(dir: string): Promise<FixtureDeb> {
  const tree = join(dir, 'build-essential');
  await mkdir(join(tree, 'DEBIAN'), { recursive: true });
  const control =
    'Package: build-essential\nVersion: 12.9+rbnet1\nArchitecture: amd64\nMaintainer: rbnet tests <tests@rbnet.invalid>\n' +
    'Priority: optional\nDescription: stand-in for build-essential\n the test build needs no compiler\n';
  await writeFile(join(tree, 'DEBIAN', 'control'), control);
  const deb = join(dir, 'build-essential_12.9+rbnet1_amd64.deb');
  await run('dpkg-deb', ['--root-owner-group', '--build', tree, deb], {
    env: { ...process.env, SOURCE_DATE_EPOCH: '1664713235' },
  });
  return {
    name: 'build-essential',
    version: '12.9+rbnet1',
    architecture: 'amd64',
    bytes: await readFile(deb),
    control: control.trimEnd(),
  };
}

/**
 * The environment's .debs, in `dir` (a scratch directory): what apt installs today for `extra` on top
 * of bookworm's essential set, verified against Debian's signed archive, plus the stand-in.
 */
export async function tinyDebianEnvironment(
  dir: string,
  extra: readonly string[] = ['dpkg-dev', 'fakeroot', 'make'],
): Promise<FixtureDeb[]> {
  const installed = await resolveInstallSet(extra);
  const config = defaultWorkerDebianConfig;
  const bookworm = await openDebianArchive({
    mirrorUrl: config.mirrorUrl,
    suites: config.suites,
    keyringPath: config.keyringPath,
    archives: [
      { mirrorUrl: config.securityMirrorUrl, suites: config.securitySuites, keyringPath: config.keyringPath },
    ],
    cacheDir: join(dir, 'bookworm'),
    architecture: 'amd64',
  });
  const packages = installed.map((p) => {
    const found = bookworm.findBinary(p.name, p.architecture, p.version);
    if (!found) throw new Error(`${p.name} ${p.version} is not in Debian's signed indexes today`);
    return found;
  });
  const paths = await bookworm.downloadDebs(packages);
  const environment: FixtureDeb[] = [];
  for (const pkg of packages) {
    environment.push({
      name: pkg.name,
      version: pkg.version,
      architecture: pkg.architecture,
      bytes: await readFile(paths.get(pkg.sha256)!),
      control: controlOf(pkg.stanza),
    });
  }
  environment.push(await standInBuildEssential(dir));
  return environment;
}
