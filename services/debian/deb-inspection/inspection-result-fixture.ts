// Test fixtures: small hand-made .deb listings and rbnet.deb-inspection-result/v1 documents, shaped
// the way the worker writes them (labels r<n>/p<n>, published-vs-rebuilt pairs, diffoscope byproducts).
import { sha256Hex } from '../../digest.ts';
import { compareDebListings } from './compare-deb-listings.ts';
import type { DebHazard, DebListing, TarMember } from './deb-listing.ts';
import { DEB_INSPECTION_RESULT_SCHEMA } from './inspection-report.ts';
import { INSPECTION_REPORT_SCHEMA, type PairReport } from './inspection-report-format.ts';

/** A regular file member: root-owned, 0644, mtime 2023-11-14, content digest from `content`. */
export function fileMember(path: string, content = path, over: Partial<TarMember> = {}): TarMember {
  return {
    path,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    mtimeSeconds: 1_700_000_000,
    size: Buffer.byteLength(content),
    sha256: sha256Hex(content),
    ...over,
  };
}

/** A listing of a .deb whose bytes have `sha256`: xz data.tar, gzip control.tar. */
export function debListing(
  sha256: string,
  parts: {
    readonly control?: readonly TarMember[];
    readonly data?: readonly TarMember[];
    readonly hazards?: readonly DebHazard[];
  } = {},
): DebListing {
  const control = parts.control ?? [fileMember('control', 'Package: hello\n'), fileMember('md5sums')];
  const data = parts.data ?? [fileMember('usr/bin/hello', 'hello binary')];
  const area = (member: string, compression: 'gzip' | 'xz', members: readonly TarMember[]) => ({
    member,
    compression,
    compressedSize: 100,
    decompressedSize: 10_240,
    complete: !(parts.hazards ?? []).some((h) => h.member === member),
    members,
  });
  return {
    sha256,
    size: 4096,
    debianBinary: '2.0\n',
    arMembers: ['debian-binary', 'control.tar.gz', 'data.tar.xz'],
    control: area('control.tar.gz', 'gzip', control),
    data: area('data.tar.xz', 'xz', data),
    hazards: parts.hazards ?? [],
  };
}

/** The listing as fitReport leaves it when the report is too large: member arrays emptied. */
function emptied(listing: DebListing): DebListing {
  const empty = (area: DebListing['control']) => (area ? { ...area, members: [] } : null);
  return { ...listing, control: empty(listing.control), data: empty(listing.data) };
}

export interface FixtureDeb {
  readonly role: 'rebuilt' | 'published';
  readonly file: string;
  readonly listing?: DebListing;
  readonly error?: { readonly code: string; readonly message: string };
  readonly membersOmitted?: boolean;
}

/**
 * An inspection result as the worker writes it: each published .deb is compared with the rebuilt
 * one of the same name (by the real compareDebListings); `diffoscopeFor` names the files for which
 * diffoscope wrote HTML. With `failure`, there is no report.
 */
export function inspectionResult(spec: {
  readonly debs: readonly FixtureDeb[];
  readonly diffoscopeFor?: readonly string[];
  readonly failure?: { readonly reason: string; readonly detail: string };
}): Record<string, unknown> {
  const labelled = spec.debs.map((deb, index) => ({
    ...deb,
    label: `${deb.role === 'published' ? 'p' : 'r'}${index}`,
  }));
  const debs = labelled.map((d) => ({ label: d.label, role: d.role, file: d.file }));
  if (spec.failure)
    return { schema: DEB_INSPECTION_RESULT_SCHEMA, debs, failure: spec.failure, diffoscope: [] };
  const comparisons: PairReport[] = [];
  const diffoscope: Record<string, unknown>[] = [];
  for (const published of labelled.filter((d) => d.role === 'published')) {
    const rebuilt = labelled.find((d) => d.role === 'rebuilt' && d.file === published.file);
    if (!rebuilt) continue;
    const comparison =
      published.listing && rebuilt.listing ? compareDebListings(published.listing, rebuilt.listing) : null;
    const pairIndex = comparisons.length;
    const written = spec.diffoscopeFor?.includes(published.file) && comparison && !comparison.identical;
    comparisons.push({
      left: published.label,
      right: rebuilt.label,
      comparison,
      omittedMemberDifferences: 0,
      ...(written && {
        diffoscope: {
          status: 'written' as const,
          file: `diffoscope-${pairIndex + 1}.html`,
          bytes: 120,
          exitCode: 1,
          truncated: false,
        },
      }),
    });
    if (written) {
      diffoscope.push({
        left: published.label,
        right: rebuilt.label,
        byproduct: `rbnet/diffoscope-${diffoscope.length + 1}.html`,
        file: `diffoscope-${pairIndex + 1}.html`,
      });
    }
  }
  const report = {
    schema: INSPECTION_REPORT_SCHEMA,
    debs: labelled.map((d) =>
      d.listing
        ? {
            label: d.label,
            listing: d.membersOmitted ? emptied(d.listing) : d.listing,
            membersOmitted: !!d.membersOmitted,
          }
        : { label: d.label, error: d.error ?? { code: 'INSPECTION_FAILED', message: 'cannot open' } },
    ),
    comparisons,
    notes: [],
  };
  return { schema: DEB_INSPECTION_RESULT_SCHEMA, debs, report, diffoscope };
}
