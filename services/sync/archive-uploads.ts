// From a verified Packages index (and the suite's Sources, when the Release lists one) to the uploads
// a sync profile rebuilds: which binaries its rules select, grouped per source version, binary
// version and architecture (one .buildinfo, so one build, covers them all; a binNMU has its own), and
// where that upload's .buildinfo is published.
import type { SyncRules } from '../api/sync-profiles.ts';
import type { ArchivePackage } from '../debian/archive-indexes.ts';

/** One upload to rebuild: a source version built for one architecture (a binNMU is another one). */
export interface ArchiveUpload {
  readonly source: string;
  /** The source version, epoch included (`1:2.3-1`). */
  readonly version: string;
  /**
   * The Version of its binaries: `version` for a sourceful upload, `1:2.3-1+b1` for a binNMU (whose
   * .buildinfo is `{source}_2.3-1+b1_{arch}.buildinfo` in Debian's pool).
   */
  readonly binaryVersion: string;
  /** The Architecture of its binaries: a Debian architecture or `all`. */
  readonly architecture: string;
  /** Binary package names it built, sorted. */
  readonly binaries: readonly string[];
  /** Set when it is recorded but not submitted: its source version is not in the suite's Sources. */
  readonly cruft?: string;
}

/** What a suite's Sources index says: each source name's versions, with the section of each. */
export type SourceVersions = ReadonlyMap<string, ReadonlyMap<string, string | undefined>>;

function globPattern(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\/-]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${body}$`);
}

/** What a rule is matched against: names, and the binary's and its source's Section fields. */
export interface SelectedPackage {
  readonly name: string;
  readonly source: string;
  readonly section?: string;
  readonly sourceSection?: string;
}

/** A compiled include/exclude pair. */
export interface UploadSelection {
  selects(pkg: SelectedPackage): boolean;
}

/**
 * Include (when it names anything) must match and exclude must not: a name rule matches the binary or
 * source package name, a section rule the binary's Section field or its source's (from Sources).
 */
export function uploadSelection(include: SyncRules, exclude: SyncRules): UploadSelection {
  const compile = (rules: SyncRules) => ({
    names: (rules.names ?? []).map(globPattern),
    sections: (rules.sections ?? []).map(globPattern),
  });
  const inc = compile(include);
  const exc = compile(exclude);
  const matches = (rules: ReturnType<typeof compile>, pkg: SelectedPackage) =>
    rules.names.some((re) => re.test(pkg.name) || re.test(pkg.source)) ||
    rules.sections.some(
      (re) =>
        (pkg.section !== undefined && re.test(pkg.section)) ||
        (pkg.sourceSection !== undefined && re.test(pkg.sourceSection)),
    );
  const includeAll = inc.names.length === 0 && inc.sections.length === 0;
  return {
    selects: (pkg) => (includeAll || matches(inc, pkg)) && !matches(exc, pkg),
  };
}

const SOURCE_FIELD = /^([a-z0-9][a-z0-9+.-]*)(?: \(([^()\s]+)\))?$/;

/** The source name and version a binary was built from (its Source field, else itself). */
export function sourceOf(pkg: Pick<ArchivePackage, 'name' | 'version' | 'source'>): {
  readonly source: string;
  readonly version: string;
} {
  const match = pkg.source === undefined ? undefined : SOURCE_FIELD.exec(pkg.source.trim());
  if (!match) return { source: pkg.name, version: pkg.version };
  return { source: match[1]!, version: match[2] ?? pkg.version };
}

type Group = {
  source: string;
  version: string;
  binaryVersion: string;
  architecture: string;
  /** Binary name → its Section. */
  binaries: Map<string, string | undefined>;
};

/**
 * Groups the binaries of one Packages index, added one at a time as the index is parsed, into
 * uploads; which of them a profile's rules keep is decided at the end, when the suite's Sources (read
 * at the same time) is known too.
 */
export class UploadGrouper {
  readonly #groups = new Map<string, Group>();

  add(pkg: Pick<ArchivePackage, 'name' | 'version' | 'architecture' | 'source' | 'section'>): void {
    const { source, version } = sourceOf(pkg);
    const key = `${source}\u0000${version}\u0000${pkg.version}\u0000${pkg.architecture}`;
    let group = this.#groups.get(key);
    if (!group) {
      group = {
        source,
        version,
        binaryVersion: pkg.version,
        architecture: pkg.architecture,
        binaries: new Map(),
      };
      this.#groups.set(key, group);
    }
    group.binaries.set(pkg.name, pkg.section);
  }

  /**
   * The uploads `selection` keeps (a binary is kept when the rules select it by its name, its
   * source's name, its Section or, with `sources`, its source's Section). An `all` binary whose source
   * version also built architecture-specific binaries here (not as a binNMU) is folded into that
   * upload: Debian records both in the same .buildinfo, so building it again separately would be a
   * duplicate rebuild; a binNMU never rebuilds `all`. With the suite's Sources, an upload whose source
   * version is not in it (cruft Debian has not removed yet) is marked `cruft`, never submitted.
   */
  uploads(selection: UploadSelection, sources?: SourceVersions): ArchiveUpload[] {
    const kept = new Map<Group, Set<string>>();
    for (const group of this.#groups.values()) {
      const sourceSection = sources?.get(group.source)?.get(group.version);
      const names = new Set<string>();
      for (const [name, section] of group.binaries) {
        const pkg: SelectedPackage = {
          name,
          source: group.source,
          ...(section !== undefined && { section }),
          ...(sourceSection !== undefined && { sourceSection }),
        };
        if (selection.selects(pkg)) names.add(name);
      }
      if (names.size > 0) kept.set(group, names);
    }
    const sourceful = new Map<string, Set<string>>();
    for (const [group, names] of kept)
      if (group.architecture !== 'all' && group.binaryVersion === group.version)
        sourceful.set(`${group.source}\u0000${group.version}`, names);
    const uploads: (Omit<ArchiveUpload, 'binaries'> & { names: Set<string> })[] = [];
    for (const [group, names] of kept) {
      const host =
        group.architecture === 'all' ? sourceful.get(`${group.source}\u0000${group.version}`) : undefined;
      if (host) {
        for (const name of names) host.add(name);
        continue;
      }
      const cruft =
        sources && !sources.get(group.source)?.has(group.version)
          ? `source ${group.source} ${group.version} is not in the suite's Sources`
          : undefined;
      uploads.push({
        source: group.source,
        version: group.version,
        binaryVersion: group.binaryVersion,
        architecture: group.architecture,
        names,
        ...(cruft !== undefined && { cruft }),
      });
    }
    // Frozen only now: an `all` group may have added binaries to an upload pushed before it.
    return uploads.map(({ names, ...upload }) =>
      Object.freeze({ ...upload, binaries: Object.freeze([...names].sort()) }),
    );
  }
}

/** The uploads of a whole Packages index (see {@link UploadGrouper}). */
export function uploadsOf(
  packages: Iterable<ArchivePackage>,
  selection: UploadSelection,
  sources?: SourceVersions,
): ArchiveUpload[] {
  const grouper = new UploadGrouper();
  for (const pkg of packages) grouper.add(pkg);
  return grouper.uploads(selection, sources);
}

/** Debian's pool prefix: `libf` for `libfoo`, else the first letter. */
export function poolPrefix(source: string): string {
  return source.startsWith('lib') && source.length > 3 ? source.slice(0, 4) : source.slice(0, 1);
}

/**
 * The .buildinfo URL of `upload` from a profile's template: `{version}` is the version its .buildinfo
 * file is named after (the binaries' version, a binNMU's `+bN` included) without its epoch, as pool
 * file names are; every value is percent-encoded as one path segment, except `+`, which Debian's
 * pool writes literally (`foo_1.2-3+b1_amd64.buildinfo`) and which a path segment may hold as it is.
 */
export function buildinfoUrlOf(
  template: string,
  upload: Pick<ArchiveUpload, 'source' | 'binaryVersion' | 'architecture'>,
): string {
  const values: Record<string, string> = {
    source: upload.source,
    prefix: poolPrefix(upload.source),
    version: upload.binaryVersion.replace(/^[0-9]+:/, ''),
    arch: upload.architecture,
  };
  return template.replace(/\{([a-z]+)\}/g, (_, name: string) =>
    encodeURIComponent(values[name] ?? '').replaceAll('%2B', '+'),
  );
}
