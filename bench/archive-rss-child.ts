// Child process of debian-snapshot.bench.ts: opens Debian's real bookworm archive (bookworm,
// bookworm-updates, bookworm-security) with the archive client found under <root> (this tree, or
// another commit's exported for comparison), resolves the packages listed in <packages file>, and
// reports this process's peak RSS, so the parent's memory does not blur the figure. The peak is
// VmHWM from /proc: getrusage's maxrss carries the parent's peak over fork and exec.
// Usage: node --import tsx bench/archive-rss-child.ts <root> <cacheDir> <packages.json>
//        (<packages.json> holds [{ "name", "version" }]; "-" for none: the baseline that only imports)
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const [root, cacheDir, packagesFile] = process.argv.slice(2) as [string, string, string];
const archiveModule = await import(join(root, 'worker/debian/debian-archive.ts'));
const resolveModule = await import(join(root, 'worker/debian/resolve-environment-packages.ts'));
const started = performance.now();
let resolved = 0;
if (packagesFile !== '-') {
  const requested = JSON.parse(await readFile(packagesFile, 'utf8')) as { name: string; version: string }[];
  const keyringPath = '/usr/share/keyrings/debian-archive-keyring.gpg';
  const archive = await archiveModule.openDebianArchive({
    mirrorUrl: 'http://deb.debian.org/debian',
    suites: ['bookworm', 'bookworm-updates'],
    keyringPath,
    archives: [
      { mirrorUrl: 'http://deb.debian.org/debian-security', suites: ['bookworm-security'], keyringPath },
    ],
    cacheDir,
    architecture: 'amd64',
  });
  const resolution = resolveModule.resolveEnvironmentPackages(archive, requested, [
    'fakeroot',
    'libfakeroot',
  ]);
  if (resolution.kind !== 'resolved') throw new Error(`unresolved: ${JSON.stringify(resolution.missing)}`);
  resolved = resolution.packages.length + resolution.extras.length;
}
console.log(
  JSON.stringify({
    ms: Math.round(performance.now() - started),
    resolved,
    maxRssKiB: Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]),
    heapUsedKiB: Math.round(process.memoryUsage().heapUsed / 1024),
  }),
);
