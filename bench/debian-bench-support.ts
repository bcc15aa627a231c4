// Helpers of the Debian rebuild benchmark: .dsc facts, .buildinfo files claiming what the archive
// published, an environment preparation timed phase by phase, and a short cause for each miss.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ArchivePackage } from '../services/debian/archive-indexes.ts';
import { fixtureFile, renderBuildinfoFixture } from '../services/debian/buildinfo-fixture.ts';
import { splitClearsigned } from '../services/debian/clearsigned.ts';
import type { DebComparison } from '../services/debian/deb-inspection/compare-deb-listings.ts';
import type { DebInspectionResult } from '../services/debian/deb-inspection/inspection-report.ts';
import { fieldLines, parseDeb822 } from '../services/debian/deb822.ts';
import type { Sha256Hex } from '../services/digest.ts';
import type { InstalledPackage } from '../test/support/debian-fixture.ts';
import type { DebianArchive } from '../worker/debian/debian-archive.ts';

const run = promisify(execFile);

/** Limits a Debian build needs (the test defaults are far too small for dpkg-buildpackage). */
export const DEBIAN_BENCH_LIMITS = Object.freeze({
  memoryBytes: 2 * 1024 ** 3,
  diskBytes: 4 * 1024 ** 3,
  maxBuildTimeSeconds: 1500,
  maxOutputBytes: 512 * 1024 ** 2,
  pidsLimit: 1024,
  maxLogBytes: 8 * 1024 ** 2,
});

/** What the bench reads from a .dsc: Build-Depends* simplified, and the binary packages it lists. */
export interface DscFacts {
  readonly source: string;
  readonly version: string;
  /** First alternative of every Build-Depends, -Indep and -Arch entry, without versions or restrictions. */
  readonly buildDepends: readonly string[];
  /** `deb` packages of Package-List (or Binary when there is none). */
  readonly binaries: readonly string[];
}

/** Drops version constraints, architecture and profile restrictions and `:any`; keeps the first alternative. */
export function simplifyDependsField(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((entry) =>
      (entry.split('|')[0] ?? '')
        .replace(/\([^)]*\)/g, '')
        .replace(/\[[^\]]*\]/g, '')
        .replace(/<[^>]*>/g, '')
        .trim()
        .replace(/:[a-z0-9-]+$/, ''),
    )
    .filter((name) => name !== '');
}

/** Reads a .dsc the archive's signed Sources index vouched for (the signature is not checked here). */
export function readDscFacts(text: string): DscFacts {
  const split = splitClearsigned(text);
  const body = split.kind === 'clearsigned' ? split.signedText : split.text;
  const [paragraph] = parseDeb822(body, 'dsc', { maxFieldsPerParagraph: 128 });
  if (!paragraph) throw new Error('dsc: no paragraph');
  const source = paragraph.get('Source')?.trim() ?? '';
  const version = paragraph.get('Version')?.trim() ?? '';
  const buildDepends = [
    ...new Set(
      ['Build-Depends', 'Build-Depends-Arch', 'Build-Depends-Indep'].flatMap((field) =>
        simplifyDependsField(paragraph.get(field)),
      ),
    ),
  ];
  const packageList = paragraph.get('Package-List');
  const binaries =
    packageList !== undefined
      ? fieldLines(packageList)
          .map((line) => line.split(/\s+/))
          .filter((words) => words[1] === 'deb')
          .map((words) => words[0] ?? '')
      : (paragraph.get('Binary') ?? '').split(',').map((name) => name.trim());
  return { source, version, buildDepends, binaries: binaries.filter((name) => name !== '') };
}

/** The published binaries a .buildinfo for this source can claim, and the version they share. */
export interface PublishedBinaries {
  /** The binaries' Version: the source version, or `<source version>+bN` for a binNMU. */
  readonly version: string;
  readonly binNmu: boolean;
  readonly packages: readonly ArchivePackage[];
  /** Package-List entries with no .deb for this architecture at that version (or left out of a binNMU). */
  readonly skipped: readonly string[];
}

/**
 * The .debs the archive publishes for `facts` on its architecture (or `all`). When the arch-specific
 * ones are a binNMU (`+bN`, Source `name (version)`), only those are claimed: a binNMU rebuilds
 * arch-specific packages alone, and one .buildinfo has one Version.
 */
export function publishedBinariesOf(archive: DebianArchive, facts: DscFacts): PublishedBinaries {
  const exact: ArchivePackage[] = [];
  const rebuiltOnly: ArchivePackage[] = [];
  const skipped: string[] = [];
  for (const name of facts.binaries) {
    const found = archive.findBinary(name, undefined, facts.version);
    if (found) {
      exact.push(found);
      continue;
    }
    const newest = archive.newestBinary(name);
    if (
      newest &&
      newest.source === `${facts.source} (${facts.version})` &&
      newest.version.startsWith(`${facts.version}+b`)
    ) {
      rebuiltOnly.push(newest);
    } else skipped.push(name);
  }
  if (rebuiltOnly.length === 0) return { version: facts.version, binNmu: false, packages: exact, skipped };
  const version = rebuiltOnly[0]!.version;
  const packages = rebuiltOnly.filter((pkg) => pkg.version === version && pkg.architecture !== 'all');
  const left = [...exact, ...rebuiltOnly.filter((pkg) => !packages.includes(pkg))].map((pkg) => pkg.name);
  return { version, binNmu: true, packages, skipped: [...skipped, ...left] };
}

/** The binNMU changelog entry a buildd prepended, read from a published arch-specific .deb. */
export async function binNmuChangelogOf(debPath: string, packageName: string): Promise<string[]> {
  const member = `./usr/share/doc/${packageName}/changelog.Debian.amd64.gz`;
  const { stdout } = await run(
    '/bin/sh',
    ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - "$2" | gzip -dc', 'sh', debPath, member],
    { maxBuffer: 1024 * 1024 },
  );
  return stdout.replace(/\s+$/, '').split('\n');
}

/** A .deb file name as dpkg writes it (no epoch). */
export function debFileName(pkg: ArchivePackage): string {
  return `${pkg.name}_${pkg.version.replace(/^\d+:/, '')}_${pkg.architecture}.deb`;
}

/**
 * Writes `<source>_<version>_amd64.buildinfo` claiming the published .debs, built in `installed`,
 * with what Debian's buildds record in Environment (parallel=2 for this 2-core machine).
 */
export async function writePublishedBuildinfo(
  dir: string,
  args: {
    readonly facts: DscFacts;
    readonly published: PublishedBinaries;
    readonly debPaths: ReadonlyMap<Sha256Hex, string>;
    readonly installed: readonly InstalledPackage[];
    readonly binaryOnlyChanges?: readonly string[];
  },
): Promise<string> {
  const { facts, published } = args;
  const files = [];
  for (const pkg of published.packages) {
    const path = args.debPaths.get(pkg.sha256);
    if (!path) throw new Error(`${pkg.name}: not downloaded`);
    files.push(fixtureFile(debFileName(pkg), await readFile(path)));
  }
  const architectures = [
    ...(published.packages.some((pkg) => pkg.architecture !== 'all') ? ['amd64'] : []),
    ...(published.packages.some((pkg) => pkg.architecture === 'all') ? ['all'] : []),
  ];
  const upstream = facts.version.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
  const text = renderBuildinfoFixture({
    format: '1.0',
    source: facts.source,
    sourceVersion: published.binNmu ? facts.version : undefined,
    binaries: published.packages.map((pkg) => pkg.name),
    architectures,
    version: published.version,
    binaryOnlyChanges: args.binaryOnlyChanges,
    files,
    buildOrigin: 'Debian',
    buildArchitecture: 'amd64',
    buildDate: 'Sun, 02 Oct 2022 12:20:35 +0000',
    buildPath: `/build/reproducible-path/${facts.source}-${upstream}`,
    installedBuildDepends: args.installed.map((p) => ({ name: p.name, version: p.version })),
    environment: [
      ['DEB_BUILD_OPTIONS', 'parallel=2'],
      ['LANG', 'C.UTF-8'],
      ['LC_ALL', 'C.UTF-8'],
    ],
  });
  const path = join(dir, `${facts.source}_${published.version.replace(/^\d+:/, '')}_amd64.buildinfo`);
  await writeFile(path, text);
  return path;
}

function decodeHtml(text: string): string {
  return text
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/[·»]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** One section of a diffoscope report: its title and its first changed lines (published → rebuilt). */
export interface DiffoscopeSection {
  readonly source: string;
  readonly samples: readonly string[];
}

const SAMPLES_PER_SECTION = 3;
const SAMPLE_CHARS = 160;

/**
 * The sections ("sources") of a diffoscope HTML report in order, each with its first few changed,
 * added or removed lines as `published → rebuilt` text. A section's own table comes before its
 * children's titles, so the text up to the next title is the section's own.
 */
export function diffoscopeSections(html: string): DiffoscopeSection[] {
  const parts = html.split(/<span class="source">/).slice(1);
  const sections: DiffoscopeSection[] = [];
  for (const part of parts) {
    const end = part.indexOf('</span>');
    const source = decodeHtml(part.slice(0, end));
    const samples: string[] = [];
    for (const row of part.matchAll(/<tr class="diff(changed|added|deleted)">(.*?)<\/tr>/gs)) {
      if (samples.length >= SAMPLES_PER_SECTION) break;
      const cells = [
        ...(row[2] ?? '').matchAll(/<td class="diff(?:present|deleted|added)?">(.*?)<\/td>/gs),
      ].map((cell) => decodeHtml(cell[1] ?? ''));
      const [left = '', right = ''] = row[1] === 'added' ? ['', cells[0] ?? ''] : cells;
      samples.push(`${left.slice(0, SAMPLE_CHARS)} → ${right.slice(0, SAMPLE_CHARS)}`);
    }
    const known = sections.find((s) => s.source === source);
    if (!known && source) sections.push({ source, samples });
  }
  return sections;
}

/** What differs in one published/rebuilt pair, for the table. */
export interface PairSummary {
  readonly deb: string;
  /** `area:path (kinds)` of each differing member. */
  readonly members: readonly string[];
  readonly hints: readonly string[];
  readonly diffoscope: readonly DiffoscopeSection[];
  readonly cause: string;
}

const ELF_PATH = /^(usr\/)?(s?bin|games|lib|libexec)\//;
const YEAR = /\b(19[89]\d|20\d\d)\b/;

/** Two different years in a changed line, written plainly or as an immediate ($0x7e6 = 2022). */
function yearsIn(sample: string): [number, number] | undefined {
  const [left = '', right = ''] = sample.split(' → ');
  const plain = (side: string) => Number(YEAR.exec(side)?.[1] ?? Number.NaN);
  const immediate = (side: string) => {
    const value = Number.parseInt(/\$0x([0-9a-f]+)/.exec(side)?.[1] ?? '', 16);
    return value >= 1980 && value <= 2099 ? value : Number.NaN;
  };
  for (const read of [plain, immediate]) {
    const a = read(left);
    const b = read(right);
    if (Number.isFinite(a) && Number.isFinite(b) && a !== b) return [a, b];
  }
  return undefined;
}

/**
 * A short cause for one differing pair, from the member list, the inspector's hints and diffoscope's
 * sections. It names the evidence; the write-up checks each one by hand.
 */
export function causeOf(comparison: DebComparison, sections: readonly DiffoscopeSection[]): string {
  const causes: string[] = [];
  const data = comparison.members.filter((m) => m.area === 'data');
  const control = comparison.members.filter((m) => m.area === 'control');
  const contentOnly = data.filter(
    (m) => m.differences.length > 0 && m.differences.every((k) => k === 'sha256' || k === 'size'),
  );
  const years = sections
    .filter((s) => s.source !== 'file list' && !s.source.startsWith('stat '))
    .flatMap((s) => s.samples.map(yearsIn))
    .find((y) => y !== undefined);
  if (years) causes.push(`the build year is embedded (${years[0]} published vs ${years[1]} rebuilt)`);
  const elf = contentOnly.filter((m) => ELF_PATH.test(m.path) && !m.path.endsWith('.gz'));
  if (elf.length > 0) {
    const code = sections.some((s) => /objdump .*--disassemble/.test(s.source));
    const names = elf.map((m) => m.path).join(', ');
    causes.push(
      code
        ? `${names}: machine code (.text) differs`
        : sections.some((s) => /build-id|gnu_debuglink/.test(s.source))
          ? `${names}: only build-id/debuglink differ`
          : `${names} differs`,
    );
  }
  const gz = contentOnly.filter((m) => m.path.endsWith('.gz'));
  if (comparison.hints.some((h) => /gzip/i.test(h))) causes.push('gzip header');
  else if (gz.length > 0)
    causes.push(`compressed file content differs (${gz.map((m) => m.path).join(', ')})`);
  const other = contentOnly.filter((m) => !elf.includes(m) && !gz.includes(m));
  if (other.length > 0) causes.push(`${other.map((m) => m.path).join(', ')}: content differs`);
  if (data.some((m) => m.differences.includes('mtime'))) causes.push('mtime');
  if (data.some((m) => m.differences.some((k) => k === 'mode' || k === 'owner')))
    causes.push('permissions or owners');
  if (data.some((m) => m.only !== undefined)) causes.push('a file exists on one side only');
  if (control.some((m) => m.path === 'control')) causes.push('the control file differs');
  if (comparison.compressionDiffers.length > 0) causes.push('different compression');
  if (comparison.orderDiffers.length > 0) causes.push('member order');
  if (causes.length === 0 && comparison.members.length === 0)
    causes.push('same members; only the compressed bytes differ');
  return causes.join('; ') || comparison.hints.join(' ');
}

/** Summaries of every published/rebuilt pair of an inspection result. */
export function summariseInspection(
  result: DebInspectionResult,
  diffoscopeHtml: ReadonlyMap<string, string>,
): PairSummary[] {
  if (!result.report) return [];
  const fileOf = new Map(result.debs.map((deb) => [deb.label, deb.file]));
  return result.report.comparisons.map((pair) => {
    const html = result.diffoscope.find((d) => d.left === pair.left && d.right === pair.right);
    const sections = html ? diffoscopeSections(diffoscopeHtml.get(html.byproduct) ?? '') : [];
    const comparison = pair.comparison;
    return {
      deb: fileOf.get(pair.right) ?? pair.right,
      members: (comparison?.members ?? []).map(
        (m) =>
          `${m.area}:${m.path}${m.only ? ` (only ${m.only === 'left' ? 'published' : 'rebuilt'})` : ` (${m.differences.join(',')})`}`,
      ),
      hints: comparison?.hints ?? [],
      diffoscope: sections,
      cause: comparison ? causeOf(comparison, sections) : 'not compared (a .deb could not be inspected)',
    };
  });
}
