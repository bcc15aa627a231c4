// Compares two .deb listings member by member and says which members differ and how, with hints
// that name the evidence for the usual causes of unreproducible packages.
import type { Compression, DebArea, DebListing, TarAreaListing, TarMember } from './deb-listing.ts';

/** What differs about a member present on both sides; `owner` covers uid, gid, uname and gname. */
export type MemberDifferenceKind = 'sha256' | 'mode' | 'owner' | 'mtime' | 'size' | 'type' | 'link';

/** One member that is not the same on both sides. */
export interface MemberDifference {
  readonly area: DebArea;
  readonly path: string;
  /** Set when the member exists on one side only; `differences` is then empty. */
  readonly only?: 'left' | 'right';
  readonly differences: readonly MemberDifferenceKind[];
  readonly left?: TarMember;
  readonly right?: TarMember;
}

/** The nested divergence report for one pair of .debs. */
export interface DebComparison {
  /** The two files are byte for byte the same. */
  readonly identical: boolean;
  /** The ar member names (or their order) differ. */
  readonly arMembersDiffer: boolean;
  readonly compressionDiffers: readonly {
    readonly area: DebArea;
    readonly left: Compression | null;
    readonly right: Compression | null;
  }[];
  /** Only members that differ: control first, then data, each in the left archive's order. */
  readonly members: readonly MemberDifference[];
  /** Areas whose common members appear in a different order. */
  readonly orderDiffers: readonly { readonly area: DebArea }[];
  /** Short sentences naming the evidence for likely causes. */
  readonly hints: readonly string[];
}

export interface CompareOptions {
  /** The SOURCE_DATE_EPOCH the builds were given, seconds. */
  readonly sourceDateEpoch?: number;
  /** Build directories; members found to contain one are named in a hint (needs inspectDeb's searchStrings). */
  readonly buildPaths?: readonly string[];
}

const EXAMPLES = 3;

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

function owner(m: TarMember): string {
  return `${m.uname || '?'}:${m.gname || '?'} ${m.uid}:${m.gid}`;
}

function examples<T>(items: readonly T[], show: (item: T) => string): string {
  const shown = items.slice(0, EXAMPLES).map(show).join('; ');
  return items.length > EXAMPLES ? `${shown}; …` : shown;
}

/** "1 member differs", "2 members differ": `verbs` is [singular, plural]. */
function counted(n: number, word: string, verbs: readonly [string, string]): string {
  return n === 1 ? `1 ${word} ${verbs[0]}` : `${n} ${word}s ${verbs[1]}`;
}

/** Members keyed by path, a repeated path keyed by its occurrence so duplicates are compared too. */
function keyed(listing: TarAreaListing | null): Map<string, TarMember> {
  const map = new Map<string, TarMember>();
  const counts = new Map<string, number>();
  for (const member of listing?.members ?? []) {
    const n = (counts.get(member.path) ?? 0) + 1;
    counts.set(member.path, n);
    map.set(n === 1 ? member.path : `${member.path}\u0000${n}`, member);
  }
  return map;
}

function memberDifferences(a: TarMember, b: TarMember): MemberDifferenceKind[] {
  const kinds: MemberDifferenceKind[] = [];
  if (a.type !== b.type) kinds.push('type');
  if (a.sha256 !== b.sha256) kinds.push('sha256');
  if (a.size !== b.size) kinds.push('size');
  if (a.mode !== b.mode) kinds.push('mode');
  if (a.uid !== b.uid || a.gid !== b.gid || a.uname !== b.uname || a.gname !== b.gname) kinds.push('owner');
  if (a.mtimeSeconds !== b.mtimeSeconds) kinds.push('mtime');
  if (a.linkTarget !== b.linkTarget) kinds.push('link');
  return kinds;
}

function compareArea(
  area: DebArea,
  left: TarAreaListing | null,
  right: TarAreaListing | null,
): { members: MemberDifference[]; orderDiffers: boolean; sameSet: boolean } {
  const l = keyed(left);
  const r = keyed(right);
  const members: MemberDifference[] = [];
  for (const [key, a] of l) {
    const b = r.get(key);
    if (!b) {
      members.push({ area, path: a.path, only: 'left', differences: [], left: a });
      continue;
    }
    const differences = memberDifferences(a, b);
    if (differences.length > 0) members.push({ area, path: a.path, differences, left: a, right: b });
  }
  for (const [key, b] of r) {
    if (!l.has(key)) members.push({ area, path: b.path, only: 'right', differences: [], right: b });
  }
  const leftOrder = [...l.keys()].filter((k) => r.has(k));
  const rightOrder = [...r.keys()].filter((k) => l.has(k));
  const orderDiffers = leftOrder.some((k, i) => rightOrder[i] !== k);
  const sameSet = leftOrder.length === l.size && rightOrder.length === r.size;
  return { members, orderDiffers, sameSet };
}

/**
 * Compares two listings (from inspectDeb). Only members that differ are reported. `hints` explain
 * mtimes past or unequal to SOURCE_DATE_EPOCH, order, permissions, owners, gzip headers, build paths
 * found in differing members, md5sums/control differences that follow from data differences,
 * compression differences, and incomplete listings (hazards) that limit what can be said.
 */
export function compareDebListings(
  left: DebListing,
  right: DebListing,
  options: CompareOptions = {},
): DebComparison {
  const identical = left.sha256 === right.sha256;
  const arMembersDiffer =
    left.arMembers.length !== right.arMembers.length ||
    left.arMembers.some((n, i) => right.arMembers[i] !== n);
  const compressionDiffers: DebComparison['compressionDiffers'][number][] = [];
  const members: MemberDifference[] = [];
  const orderDiffers: { area: DebArea }[] = [];
  const sameSets: Partial<Record<DebArea, boolean>> = {};
  for (const area of ['control', 'data'] as const) {
    const a = left[area];
    const b = right[area];
    if ((a?.compression ?? null) !== (b?.compression ?? null)) {
      compressionDiffers.push({ area, left: a?.compression ?? null, right: b?.compression ?? null });
    }
    const result = compareArea(area, a, b);
    members.push(...result.members);
    if (result.orderDiffers) orderDiffers.push({ area });
    sameSets[area] = result.sameSet;
  }
  const comparison = { identical, arMembersDiffer, compressionDiffers, members, orderDiffers };
  const hints = identical ? [] : explain(left, right, comparison, sameSets, options);
  return Object.freeze({ ...comparison, hints: Object.freeze(hints) });
}

function explain(
  left: DebListing,
  right: DebListing,
  c: Omit<DebComparison, 'hints'>,
  sameSets: Partial<Record<DebArea, boolean>>,
  options: CompareOptions,
): string[] {
  const hints: string[] = [];
  for (const [side, listing] of [
    ['left', left],
    ['right', right],
  ] as const) {
    if (listing.hazards.length === 0) continue;
    const counts = new Map<string, number>();
    for (const h of listing.hazards) counts.set(h.kind, (counts.get(h.kind) ?? 0) + 1);
    const incomplete = (['control', 'data'] as const).filter((a) => !listing[a] || !listing[a]!.complete);
    hints.push(
      `The ${side} .deb has hazards (${[...counts].map(([k, n]) => `${k} ×${n}`).join(', ')})` +
        (incomplete.length > 0
          ? `; its ${incomplete.join(' and ')} listing is incomplete, so differences there may be missing.`
          : '.'),
    );
  }
  // Different codecs rename the tar members; only a difference beyond that is worth its own hint.
  const plainNames = (l: DebListing) =>
    l.arMembers.map((n) => n.replace(/^((control|data)\.tar)\.[a-z0-9]+$/, '$1'));
  if (c.arMembersDiffer && plainNames(left).join('/') !== plainNames(right).join('/')) {
    hints.push(`The ar members differ: [${left.arMembers.join(', ')}] vs [${right.arMembers.join(', ')}].`);
  }
  for (const d of c.compressionDiffers) {
    hints.push(
      `${d.area}.tar is compressed differently (${d.left ?? 'absent'} vs ${d.right ?? 'absent'}): the builds used different dpkg-deb versions or -Z options.`,
    );
  }
  const sameStructure =
    left.debianBinary === right.debianBinary && !left.hazards.length && !right.hazards.length;
  if (c.members.length === 0 && c.orderDiffers.length === 0 && sameStructure) {
    hints.push(
      'Every member has the same content and metadata in the same order: the bytes differ in the compression (compressor version or level) or in tar header fields not compared.',
    );
  }
  const withKind = (kind: MemberDifference['differences'][number]) =>
    c.members.filter((m) => m.differences.includes(kind));
  mtimeHint(withKind('mtime'), options.sourceDateEpoch, hints);
  for (const { area } of c.orderDiffers) {
    hints.push(
      sameSets[area]
        ? `The file order in ${area}.tar differs (same members, different order): the tar was not written with sorted names.`
        : `The members both sides have appear in a different order in ${area}.tar: the tar was not written with sorted names.`,
    );
  }
  const modes = withKind('mode');
  if (modes.length > 0) {
    hints.push(
      `${counted(modes.length, 'member', ['differs', 'differ'])} in permissions (${examples(modes, (m) => `${m.path} ${octal(m.left!.mode)} vs ${octal(m.right!.mode)}`)}): the builds ran with different umasks, or the packaging does not set modes.`,
    );
  }
  const owners = withKind('owner');
  if (owners.length > 0) {
    hints.push(
      `${counted(owners.length, 'member', ['differs', 'differ'])} in owner (${examples(owners, (m) => `${m.path} ${owner(m.left!)} vs ${owner(m.right!)}`)}): one build ran without fakeroot (or dpkg-deb --root-owner-group)?`,
    );
  }
  gzipHint(withKind('sha256'), hints);
  buildPathHint(c.members, options.buildPaths ?? [], hints);
  controlHints(c.members, left, right, hints);
  return hints;
}

function mtimeHint(mtimes: readonly MemberDifference[], epoch: number | undefined, hints: string[]): void {
  if (mtimes.length === 0) return;
  const show = (m: MemberDifference) => `${m.path} ${m.left!.mtimeSeconds} vs ${m.right!.mtimeSeconds}`;
  if (epoch === undefined) {
    hints.push(
      `${counted(mtimes.length, 'member', ['differs', 'differ'])} in mtime (${examples(mtimes, show)}): timestamps of the build leak in; set SOURCE_DATE_EPOCH and clamp mtimes to it.`,
    );
    return;
  }
  const later = mtimes.filter((m) => m.left!.mtimeSeconds > epoch || m.right!.mtimeSeconds > epoch);
  if (later.length > 0) {
    hints.push(
      `${counted(later.length, 'member', ['has', 'have'])} mtimes later than SOURCE_DATE_EPOCH=${epoch} (${examples(later, show)}): mtime clamping was not applied.`,
    );
  }
  const other = mtimes.filter((m) => !later.includes(m));
  if (other.length > 0) {
    hints.push(
      `${counted(other.length, 'member', ['differs', 'differ'])} in mtime and not all equal SOURCE_DATE_EPOCH=${epoch} (${examples(other, show)}): the files' own timestamps were kept instead of being set from SOURCE_DATE_EPOCH.`,
    );
  }
}

function gzipHint(contentDiffers: readonly MemberDifference[], hints: string[]): void {
  const found: string[] = [];
  for (const m of contentDiffers) {
    const a = m.left?.gzipHeader;
    const b = m.right?.gzipHeader;
    if (!a || !b) continue;
    const what: string[] = [];
    if (a.mtimeSeconds !== b.mtimeSeconds) what.push(`mtime ${a.mtimeSeconds} vs ${b.mtimeSeconds}`);
    if (a.hasName !== b.hasName || a.name !== b.name) {
      what.push(
        `file name ${a.hasName ? JSON.stringify(a.name ?? '') : 'absent'} vs ${b.hasName ? JSON.stringify(b.name ?? '') : 'absent'}`,
      );
    }
    if (a.os !== b.os) what.push(`OS byte ${a.os} vs ${b.os}`);
    if (what.length > 0) found.push(`${m.path} (${what.join(', ')})`);
  }
  if (found.length > 0) {
    hints.push(
      `gzip headers differ in ${examples(found, (s) => s)}: compress with gzip -n (no name, no timestamp), as dh_compress does.`,
    );
  }
}

function buildPathHint(
  diffs: readonly MemberDifference[],
  buildPaths: readonly string[],
  hints: string[],
): void {
  if (buildPaths.length === 0) return;
  const found: string[] = [];
  for (const m of diffs) {
    for (const [side, member] of [
      ['left', m.left],
      ['right', m.right],
    ] as const) {
      const paths = (member?.foundStrings ?? []).filter((s) => buildPaths.includes(s));
      if (paths.length > 0) found.push(`${m.path} contains ${paths.join(', ')} on the ${side}`);
    }
  }
  if (found.length > 0) {
    hints.push(
      `The build path leaks into differing members (${examples(found, (s) => s)}): build in a fixed path or map it away (-ffile-prefix-map).`,
    );
  }
}

function controlHints(
  diffs: readonly MemberDifference[],
  left: DebListing,
  right: DebListing,
  hints: string[],
): void {
  const control = (path: string) =>
    diffs.find((m) => m.area === 'control' && m.path === path && m.differences.includes('sha256'));
  const dataContent = diffs.filter(
    (m) =>
      m.area === 'data' &&
      (m.only !== undefined || m.differences.includes('sha256')) &&
      (m.left ?? m.right)!.type === 'file',
  );
  if (control('md5sums')) {
    hints.push(
      dataContent.length > 0
        ? `md5sums in control.tar differs because ${counted(dataContent.length, 'data member', ['differs', 'differ'])} in content (${examples(dataContent, (m) => m.path)}); it follows from those, it is not a cause of its own.`
        : 'md5sums in control.tar differs although no data member differs in content: it was generated differently.',
    );
  }
  const sizeOf = (l: DebListing) => (l.data?.members ?? []).reduce((sum, m) => sum + m.size, 0);
  if (control('control') && sizeOf(left) !== sizeOf(right)) {
    hints.push(
      `control in control.tar differs and the data sizes differ (${sizeOf(left)} vs ${sizeOf(right)} bytes), so Installed-Size may be why.`,
    );
  }
}
