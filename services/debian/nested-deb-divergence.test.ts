// The nested .deb section of a Debian divergence report, from small hand-made inspection results.
import { describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../digest.ts';
import { buildNestedDebDivergence } from './build-nested-deb-divergence.ts';
import { type DebInspectionResult, parseDebInspectionResult } from './deb-inspection/inspection-report.ts';
import {
  debListing,
  type FixtureDeb,
  fileMember,
  inspectionResult,
} from './deb-inspection/inspection-result-fixture.ts';
import type { NestedDebResult } from './nested-deb-divergence.ts';
import { renderNestedDebDivergenceText } from './render-nested-deb-divergence.ts';

const DEB = 'hello_2.10-3_amd64.deb';
const DOC = 'hello-doc_2.10-3_all.deb';
const PUBLISHED = 'a'.repeat(64) as Sha256Hex;
const REBUILT = 'b'.repeat(64) as Sha256Hex;
const OTHER = 'c'.repeat(64) as Sha256Hex;
const DOC_SHA = 'd'.repeat(64) as Sha256Hex;

/** The archive's hello: control (control, md5sums) and one binary. */
const publishedListing = debListing(PUBLISHED);
/** A rebuild whose binary (and so md5sums) differs in content only. */
const rebuiltListing = debListing(REBUILT, {
  control: [fileMember('control', 'Package: hello\n'), fileMember('md5sums', 'md5sumz')],
  data: [fileMember('usr/bin/hello', 'hello binarz')],
});

function parsed(spec: Parameters<typeof inspectionResult>[0]): DebInspectionResult {
  return parseDebInspectionResult(JSON.stringify(inspectionResult(spec)));
}

function result(
  operator: string,
  outputs: Readonly<Record<string, Sha256Hex>>,
  inspection?: DebInspectionResult,
  extra: Partial<NestedDebResult> = {},
): NestedDebResult {
  const workerId = `${operator}-1`;
  return {
    operator,
    workerId,
    counted: true,
    outputs: Object.entries(outputs).map(([path, sha256]) => ({ path, sha256 })),
    ...(inspection && { inspection }),
    byproducts: [
      { name: 'rbnet/deb-inspection.json', sha256: sha256Hex(`${workerId} inspection`) },
      ...(inspection?.diffoscope ?? []).map((d) => ({
        name: d.byproduct,
        sha256: sha256Hex(`${workerId} ${d.byproduct}`),
      })),
    ],
    ...extra,
  };
}

const published = (listing = publishedListing): FixtureDeb => ({ role: 'published', file: DEB, listing });
const rebuilt = (listing = rebuiltListing, file = DEB): FixtureDeb => ({ role: 'rebuilt', file, listing });

describe('buildNestedDebDivergence: published vs rebuilt', () => {
  it('groups workers with the same rebuilt digest and shows their member differences once, with hints and diffoscope', () => {
    const inspection = parsed({ debs: [rebuilt(), published()], diffoscopeFor: [DEB] });
    const section = buildNestedDebDivergence({
      results: [
        result('alpha', { [DEB]: REBUILT }, inspection),
        result('beta', { [DEB]: REBUILT }, inspection),
      ],
      claimedOutputs: [{ path: DEB, sha256: PUBLISHED }],
    });
    expect(section.uninspected).toEqual([]);
    expect(section.debs).toHaveLength(1);
    const deb = section.debs[0]!;
    expect(deb).toMatchObject({ path: DEB, differs: true, claimedSha256: PUBLISHED, hazards: [], notes: [] });
    expect(deb.variants).toEqual([
      {
        sha256: REBUILT,
        builds: [
          { operator: 'alpha', workerId: 'alpha-1', counted: true },
          { operator: 'beta', workerId: 'beta-1', counted: true },
        ],
      },
    ]);
    expect(deb.publishedVsRebuilt).toHaveLength(1);
    const comparison = deb.publishedVsRebuilt[0]!;
    expect(comparison.reportedBy.map((b) => b.workerId)).toEqual(['alpha-1', 'beta-1']);
    expect(comparison).toMatchObject({
      publishedSha256: PUBLISHED,
      rebuiltSha256: REBUILT,
      membersOmitted: 0,
    });
    expect(comparison.members).toEqual([
      { area: 'control', path: 'md5sums', differences: ['sha256'] },
      { area: 'data', path: 'usr/bin/hello', differences: ['sha256'] },
    ]);
    expect(comparison.hints.some((h) => h.startsWith('md5sums in control.tar differs because'))).toBe(true);
    expect(deb.rebuiltVsRebuilt).toEqual([]);
    expect(deb.diffoscope).toEqual([
      {
        operator: 'alpha',
        workerId: 'alpha-1',
        counted: true,
        byproduct: 'rbnet/diffoscope-1.html',
        sha256: sha256Hex('alpha-1 rbnet/diffoscope-1.html'),
        rebuiltSha256: REBUILT,
        truncated: false,
      },
      expect.objectContaining({ workerId: 'beta-1', sha256: sha256Hex('beta-1 rbnet/diffoscope-1.html') }),
    ]);

    const text = renderNestedDebDivergenceText(section);
    expect(text).toContain(
      `${DEB}: published vs rebuilt (alpha/alpha-1, beta/beta-1): control.tar md5sums differs (sha256); data.tar usr/bin/hello differs (sha256)\n`,
    );
    expect(text).toMatch(
      /\n {2}hint: md5sums in control\.tar differs because 1 data member differs in content/,
    );
    expect(text).toContain(
      `${DEB}: diffoscope by alpha/alpha-1: rbnet/diffoscope-1.html sha256:${sha256Hex('alpha-1 rbnet/diffoscope-1.html')}`,
    );
  });

  it('notes a worker whose comparison of the same bytes says otherwise, and one that could not fetch the published .deb', () => {
    const honest = parsed({ debs: [rebuilt(), published()] });
    const odd = parsed({
      debs: [
        rebuilt(),
        published(debListing(PUBLISHED, { data: [fileMember('usr/bin/hello', 'hello binarz')] })),
      ],
    });
    const unfetched = parsed({ debs: [rebuilt()] });
    const section = buildNestedDebDivergence({
      results: [
        result('alpha', { [DEB]: REBUILT }, honest),
        result('beta', { [DEB]: REBUILT }, odd),
        result('gamma', { [DEB]: REBUILT }, unfetched),
      ],
      claimedOutputs: [{ path: DEB, sha256: PUBLISHED }],
    });
    const deb = section.debs[0]!;
    expect(deb.publishedVsRebuilt[0]!.reportedBy.map((b) => b.operator)).toEqual(['alpha', 'beta']);
    expect(deb.notes).toEqual([
      expect.stringMatching(/^gamma\/gamma-1: did not compare .* with the published \.deb/),
      expect.stringMatching(
        /^beta\/beta-1: its comparison with the published \.deb differs from alpha\/alpha-1's/,
      ),
    ]);
  });

  it('ignores listings whose digests are not the signed or claimed ones', () => {
    const lying = parsed({ debs: [rebuilt(debListing(OTHER)), published(debListing(OTHER))] });
    const section = buildNestedDebDivergence({
      results: [result('alpha', { [DEB]: REBUILT }, lying)],
      claimedOutputs: [{ path: DEB, sha256: PUBLISHED }],
    });
    const deb = section.debs[0]!;
    expect(deb.publishedVsRebuilt).toEqual([]);
    expect(deb.notes).toEqual([
      `alpha/alpha-1: its inspection lists a rebuilt .deb with sha256 ${OTHER}, not the signed ${REBUILT}; ignored`,
      `alpha/alpha-1: its inspection lists a published .deb with sha256 ${OTHER}, not the claimed ${PUBLISHED}; ignored`,
      'alpha/alpha-1: its comparison with the published .deb is ignored (listing digests do not match)',
    ]);
  });

  it('caps the member differences per .deb and counts the rest', () => {
    const many = (content: string) =>
      Array.from({ length: 30 }, (_, i) =>
        fileMember(`usr/share/hello/${String(i).padStart(2, '0')}`, content),
      );
    const inspection = parsed({
      debs: [
        rebuilt(debListing(REBUILT, { data: many('left') })),
        published(debListing(PUBLISHED, { data: many('rite') })),
      ],
    });
    const section = buildNestedDebDivergence({
      results: [result('alpha', { [DEB]: REBUILT }, inspection)],
      claimedOutputs: [{ path: DEB, sha256: PUBLISHED }],
      maxMembersPerDeb: 5,
    });
    const comparison = section.debs[0]!.publishedVsRebuilt[0]!;
    expect(comparison.members).toHaveLength(5);
    expect(comparison.membersOmitted).toBe(25);
    expect(section.maxMembersPerDeb).toBe(5);
    expect(renderNestedDebDivergenceText(section)).toContain('; 25 more member differences not listed');
  });
});

describe('buildNestedDebDivergence: rebuilt vs rebuilt', () => {
  it('compares the listings of workers whose rebuilt digests differ', () => {
    const alpha = parsed({ debs: [rebuilt()] });
    const extra = debListing(OTHER, {
      control: rebuiltListing.control!.members,
      data: [
        ...rebuiltListing.data!.members,
        fileMember('usr/share/doc/hello/build-id', 'x', { mtimeSeconds: 1 }),
      ],
    });
    const gamma = parsed({ debs: [rebuilt(extra)] });
    const section = buildNestedDebDivergence({
      results: [
        result('alpha', { [DEB]: REBUILT }, alpha),
        result('beta', { [DEB]: REBUILT }, alpha),
        result('gamma', { [DEB]: OTHER }, gamma),
      ],
      claimedOutputs: [],
    });
    const deb = section.debs[0]!;
    expect(deb.differs).toBe(true);
    expect(deb.publishedVsRebuilt).toEqual([]);
    expect(deb.rebuiltVsRebuilt).toHaveLength(1);
    const comparison = deb.rebuiltVsRebuilt[0]!;
    expect(comparison.left.sha256).toBe(REBUILT);
    expect(comparison.left.builds.map((b) => b.operator)).toEqual(['alpha', 'beta']);
    expect(comparison.right).toEqual({
      sha256: OTHER,
      builds: [{ operator: 'gamma', workerId: 'gamma-1', counted: true }],
    });
    expect(comparison.members).toEqual([
      { area: 'data', path: 'usr/share/doc/hello/build-id', only: 'right', differences: [] },
    ]);
    expect(renderNestedDebDivergenceText(section)).toContain(
      `${DEB}: rebuilt sha256:bbbbbbbbbbbb… (alpha/alpha-1, beta/beta-1) vs sha256:cccccccccccc… (gamma/gamma-1): data.tar usr/share/doc/hello/build-id only in gamma/gamma-1\n`,
    );
  });

  it('says why two digests were not compared when a listing has no members', () => {
    const section = buildNestedDebDivergence({
      results: [
        result('alpha', { [DEB]: REBUILT }, parsed({ debs: [rebuilt()] })),
        result(
          'gamma',
          { [DEB]: OTHER },
          parsed({ debs: [{ ...rebuilt(debListing(OTHER)), membersOmitted: true }] }),
        ),
      ],
      claimedOutputs: [],
    });
    const deb = section.debs[0]!;
    expect(deb.rebuiltVsRebuilt).toEqual([]);
    expect(deb.notes).toEqual([
      'rebuilt sha256:bbbbbbbbbbbb… vs sha256:cccccccccccc… not compared: the listings of sha256:cccccccccccc… have no members (omitted to fit the report)',
    ]);
  });
});

describe('buildNestedDebDivergence: hazards', () => {
  const hostile = debListing(OTHER, {
    hazards: [
      { kind: 'path-traversal', member: 'data.tar.xz', path: '../../etc/evil', detail: 'escapes the root' },
      { kind: 'decompression-bomb', member: 'data.tar.xz', detail: 'ratio over 2000' },
    ],
  });

  it('reports hazards of rebuilt listings first and prominently, once per hazard with every finder', () => {
    const inspection = parsed({ debs: [rebuilt(hostile), rebuilt(debListing(DOC_SHA), DOC)] });
    const section = buildNestedDebDivergence({
      results: [
        result('alpha', { [DEB]: OTHER, [DOC]: DOC_SHA }, inspection),
        result('beta', { [DEB]: OTHER, [DOC]: DOC_SHA }, inspection),
      ],
      claimedOutputs: [
        { path: DEB, sha256: OTHER },
        { path: DOC, sha256: DOC_SHA },
      ],
    });
    // hello agrees everywhere but is listed for its hazards; hello-doc agrees and is clean, so absent.
    expect(section.debs.map((d) => [d.path, d.differs])).toEqual([[DEB, false]]);
    const deb = section.debs[0]!;
    expect(deb.hazards).toEqual([
      {
        role: 'rebuilt',
        kind: 'path-traversal',
        member: 'data.tar.xz',
        path: '../../etc/evil',
        detail: 'escapes the root',
        foundBy: [
          { operator: 'alpha', workerId: 'alpha-1', counted: true },
          { operator: 'beta', workerId: 'beta-1', counted: true },
        ],
      },
      expect.objectContaining({ kind: 'decompression-bomb', detail: 'ratio over 2000' }),
    ]);
    const lines = renderNestedDebDivergenceText(section).split('\n');
    expect(lines[0]).toBe(
      `HAZARD path-traversal in data.tar.xz: ../../etc/evil  [rebuilt ${DEB}, found by alpha/alpha-1, beta/beta-1]`,
    );
    expect(lines[1]).toMatch(/^HAZARD decompression-bomb in data\.tar\.xz: ratio over 2000 /);
  });

  it('caps hazards per .deb and escapes control characters of hostile names', () => {
    const flood = debListing(OTHER, {
      hazards: Array.from({ length: 12 }, (_, i) => ({
        kind: 'path-traversal' as const,
        member: 'data.tar.xz',
        path: `../${i}\u001b[2J\n`,
        detail: 'escapes the root',
      })),
    });
    const section = buildNestedDebDivergence({
      results: [result('alpha', { [DEB]: OTHER }, parsed({ debs: [rebuilt(flood)] }))],
      claimedOutputs: [],
      maxHazardsPerDeb: 10,
    });
    expect(section.debs[0]!.hazards).toHaveLength(10);
    expect(section.debs[0]!.hazardsOmitted).toBe(2);
    const text = renderNestedDebDivergenceText(section);
    expect(text).not.toMatch(/\u001b/);
    expect(text).toContain('HAZARD path-traversal in data.tar.xz: ../0\\u001b[2J\\u000a');
    expect(text).toContain(`HAZARD 2 more in ${DEB} not listed`);
  });
});

describe('buildNestedDebDivergence: missing inspections', () => {
  it('says why a result has no inspection: no image, a refused document, a failed container', () => {
    const section = buildNestedDebDivergence({
      results: [
        result('alpha', { [DEB]: REBUILT }),
        result('beta', { [DEB]: REBUILT }, undefined, {
          inspectionUnavailable:
            'rbnet/deb-inspection.json refused: $.schema: must be "rbnet.deb-inspection-result/v1"',
        }),
        result(
          'gamma',
          { [DEB]: OTHER },
          parsed({ debs: [rebuilt()], failure: { reason: 'timeout', detail: 'too slow' } }),
        ),
      ],
      claimedOutputs: [{ path: DEB, sha256: PUBLISHED }],
    });
    expect(section.uninspected).toEqual([
      {
        operator: 'alpha',
        workerId: 'alpha-1',
        counted: true,
        reason: 'no rbnet/deb-inspection.json byproduct: the worker ran no inspection (no inspection image)',
      },
      expect.objectContaining({
        operator: 'beta',
        reason: expect.stringMatching(/^rbnet\/deb-inspection\.json refused: \$\.schema/),
      }),
      expect.objectContaining({ operator: 'gamma', reason: 'the inspection failed (timeout): too slow' }),
    ]);
    const deb = section.debs[0]!;
    expect(deb.publishedVsRebuilt).toEqual([]);
    expect(deb.notes.slice(0, 3)).toEqual([
      'alpha/alpha-1: no inspection: no rbnet/deb-inspection.json byproduct: the worker ran no inspection (no inspection image)',
      expect.stringMatching(/^beta\/beta-1: no inspection: rbnet\/deb-inspection\.json refused/),
      'gamma/gamma-1: no inspection: the inspection failed (timeout): too slow',
    ]);
    expect(deb.notes[3]).toMatch(
      /not compared: no worker listed sha256:bbbbbbbbbbbb…; no worker listed sha256:cccc/,
    );
    const text = renderNestedDebDivergenceText(section);
    expect(text).toContain(
      `${DEB}: note: alpha/alpha-1: no inspection: no rbnet/deb-inspection.json byproduct`,
    );
  });

  it('notes a diffoscope report the statement does not sign, and ignores paths that are not .debs', () => {
    const inspection = parsed({ debs: [rebuilt(), published()], diffoscopeFor: [DEB] });
    const section = buildNestedDebDivergence({
      results: [
        result('alpha', { [DEB]: REBUILT, 'hello.buildinfo': OTHER }, inspection, { byproducts: [] }),
        result('beta', { [DEB]: REBUILT, 'hello.buildinfo': DOC_SHA }, inspection, { byproducts: [] }),
      ],
      claimedOutputs: [{ path: DEB, sha256: PUBLISHED }],
    });
    expect(section.debs.map((d) => d.path)).toEqual([DEB]);
    expect(section.debs[0]!.diffoscope).toEqual([]);
    expect(section.debs[0]!.notes).toContain(
      'alpha/alpha-1: its inspection names rbnet/diffoscope-1.html, which its statement does not sign',
    );
  });

  it('is empty when nothing differs and nothing is hostile', () => {
    const inspection = parsed({ debs: [rebuilt(debListing(PUBLISHED))] });
    const section = buildNestedDebDivergence({
      results: [result('alpha', { [DEB]: PUBLISHED }, inspection)],
      claimedOutputs: [{ path: DEB, sha256: PUBLISHED }],
    });
    expect(section).toEqual({ maxMembersPerDeb: 200, debs: [], uninspected: [] });
    expect(renderNestedDebDivergenceText(section)).toBe('');
  });
});
