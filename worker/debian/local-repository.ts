// Writes a flat apt repository offering exactly a given set of verified .debs, for mmdebstrap to install from.
import { copyFile, link, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ArchivePackage } from '../../services/debian/archive-indexes.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import { ArchiveError } from '../../services/errors.ts';

export interface LocalRepository {
  /** Absolute path of the repository directory. */
  readonly directory: string;
  /** Absolute path of its Packages file. */
  readonly packagesPath: string;
  /** The sources.list line for it: `deb [trusted=yes] copy://<directory> ./`. */
  readonly sourcesListLine: string;
}

/** Matches the Filename field line of a stanza (field names are case-insensitive; continuation lines start with blanks). */
const FILENAME_LINE = /^filename:[^\n]*$/gim;

/** The stanza with its Filename rewritten to the repository-relative `./<sha256>.deb`. */
function rewriteStanza(pkg: ArchivePackage): string {
  const count = pkg.stanza.match(FILENAME_LINE)?.length ?? 0;
  if (count !== 1) {
    throw new ArchiveError(
      'ARCHIVE_INDEX',
      `${pkg.name} ${pkg.version}: its stanza holds ${count} Filename fields`,
    );
  }
  return pkg.stanza.replace(FILENAME_LINE, `Filename: ./${pkg.sha256}.deb`);
}

/** Hard-links `from` to `to`, copying when a link is impossible (another file system, no permission). */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
    await copyFile(from, to);
  }
}

/**
 * Writes a flat repository into `dir` (created if missing; meant to be a fresh directory): every
 * package's .deb as `<sha256>.deb` (hard-linked from `debPaths`, else copied) and a `Packages` file
 * holding each package's original index stanza with only Filename changed to `./<sha256>.deb`, sorted
 * by name, architecture and version. apt still checks Size and SHA256 from those stanzas when it
 * copies the .debs. `deb [trusted=yes] copy://DIR ./` then offers exactly these packages at exactly
 * these versions. `trusted=yes` is sound here, and only here, because every .deb was verified on the
 * host against a Packages index whose digest a gpgv-verified InRelease listed; the repository adds no
 * new trust, it only repackages what was checked.
 * @throws ArchiveError ARCHIVE_INDEX when a package has no path in `debPaths` or a malformed stanza.
 */
export async function writeLocalRepository(
  packages: readonly ArchivePackage[],
  debPaths: ReadonlyMap<Sha256Hex, string>,
  dir: string,
): Promise<LocalRepository> {
  const directory = resolve(dir);
  const unique = new Map<string, ArchivePackage>();
  for (const pkg of packages) unique.set(pkg.sha256, pkg);
  const order = (a: string, b: string): number => (a === b ? 0 : a < b ? -1 : 1);
  const sorted = [...unique.values()].sort(
    (a, b) => order(a.name, b.name) || order(a.architecture, b.architecture) || order(a.version, b.version),
  );
  const stanzas = sorted.map(rewriteStanza);
  await mkdir(directory, { recursive: true });
  for (const pkg of sorted) {
    const from = debPaths.get(pkg.sha256);
    if (!from)
      throw new ArchiveError(
        'ARCHIVE_INDEX',
        `${pkg.name} ${pkg.version}: no downloaded .deb for ${pkg.sha256}`,
      );
    await linkOrCopy(from, join(directory, `${pkg.sha256}.deb`));
  }
  const packagesPath = join(directory, 'Packages');
  await writeFile(packagesPath, stanzas.length === 0 ? '' : `${stanzas.join('\n\n')}\n`);
  return Object.freeze({
    directory,
    packagesPath,
    sourcesListLine: `deb [trusted=yes] copy://${directory} ./`,
  });
}
