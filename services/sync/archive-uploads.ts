// From a verified Packages index to the uploads a sync profile rebuilds: which binaries its rules
// select, grouped per source version and architecture (one .buildinfo, so one build, covers them
// all), and where that upload's .buildinfo is published.
import type { SyncRules } from '../api/sync-profiles.ts';
import type { ArchivePackage } from '../debian/archive-indexes.ts';

/** One upload to rebuild: a source version built for one architecture. */
export interface ArchiveUpload {
  readonly source: string;
  /** The source version, epoch included (`1:2.3-1`). */
  readonly version: string;
  /** The Architecture of its binaries: a Debian architecture or `all`. */
  readonly architecture: string;
  /** Binary package names it built, sorted. */
  readonly binaries: readonly string[];
}

function globPattern(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\/-]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${body}$`);
}

/** A compiled include/exclude pair. */
export interface UploadSelection {
  selects(pkg: { readonly name: string; readonly source: string; readonly section?: string }): boolean;
}

/**
 * Include (when it names anything) must match and exclude must not: a name rule matches the binary or
 * source package name, a section rule the Section field.
 */
export function uploadSelection(include: SyncRules, exclude: SyncRules): UploadSelection {
  const compile = (rules: SyncRules) => ({
    names: (rules.names ?? []).map(globPattern),
    sections: (rules.sections ?? []).map(globPattern),
  });
  const inc = compile(include);
  const exc = compile(exclude);
  const matches = (
    rules: ReturnType<typeof compile>,
    pkg: { readonly name: string; readonly source: string; readonly section?: string },
  ) =>
    rules.names.some((re) => re.test(pkg.name) || re.test(pkg.source)) ||
    (pkg.section !== undefined && rules.sections.some((re) => re.test(pkg.section!)));
  const includeAll = inc.names.length === 0 && inc.sections.length === 0;
  return {
    selects: (pkg) => (includeAll || matches(inc, pkg)) && !matches(exc, pkg),
  };
}

const SOURCE_FIELD = /^([a-z0-9][a-z0-9+.-]*)(?: \(([^()\s]+)\))?$/;
const SECTION_LINE = /^Section: *([^\n]*)$/m;

/** The source name and version a binary was built from (its Source field, else itself). */
export function sourceOf(pkg: ArchivePackage): { readonly source: string; readonly version: string } {
  const match = pkg.source === undefined ? undefined : SOURCE_FIELD.exec(pkg.source.trim());
  if (!match) return { source: pkg.name, version: pkg.version };
  return { source: match[1]!, version: match[2] ?? pkg.version };
}

/**
 * The uploads of one Packages index that `selection` keeps. An `all` binary whose source version
 * also built architecture-specific binaries here is folded into that upload: Debian records both in
 * the same .buildinfo, so building it again separately would be a duplicate rebuild.
 */
export function uploadsOf(packages: Iterable<ArchivePackage>, selection: UploadSelection): ArchiveUpload[] {
  type Group = { source: string; version: string; architecture: string; binaries: Set<string> };
  const groups = new Map<string, Group>();
  for (const pkg of packages) {
    const { source, version } = sourceOf(pkg);
    const section = SECTION_LINE.exec(pkg.stanza)?.[1]?.trim();
    if (!selection.selects({ name: pkg.name, source, ...(section !== undefined && { section }) })) continue;
    const key = `${source}\u0000${version}\u0000${pkg.architecture}`;
    let group = groups.get(key);
    if (!group) {
      group = { source, version, architecture: pkg.architecture, binaries: new Set() };
      groups.set(key, group);
    }
    group.binaries.add(pkg.name);
  }
  const archSpecific = new Map<string, Group>();
  for (const group of groups.values())
    if (group.architecture !== 'all') archSpecific.set(`${group.source}\u0000${group.version}`, group);
  const kept: Group[] = [];
  for (const group of groups.values()) {
    const host =
      group.architecture === 'all' ? archSpecific.get(`${group.source}\u0000${group.version}`) : undefined;
    if (host) {
      for (const name of group.binaries) host.binaries.add(name);
      continue;
    }
    kept.push(group);
  }
  // Frozen only now: an `all` group may have added binaries to an upload pushed before it.
  return kept.map((group) =>
    Object.freeze({
      source: group.source,
      version: group.version,
      architecture: group.architecture,
      binaries: Object.freeze([...group.binaries].sort()),
    }),
  );
}

/** Debian's pool prefix: `libf` for `libfoo`, else the first letter. */
export function poolPrefix(source: string): string {
  return source.startsWith('lib') && source.length > 3 ? source.slice(0, 4) : source.slice(0, 1);
}

/**
 * The .buildinfo URL of `upload` from a profile's template: `{version}` loses its epoch, as pool
 * file names do; every value is percent-encoded as one path segment.
 */
export function buildinfoUrlOf(
  template: string,
  upload: Pick<ArchiveUpload, 'source' | 'version' | 'architecture'>,
): string {
  const values: Record<string, string> = {
    source: upload.source,
    prefix: poolPrefix(upload.source),
    version: upload.version.replace(/^[0-9]+:/, ''),
    arch: upload.architecture,
  };
  return template.replace(/\{([a-z]+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? ''));
}
