// The inspection boundary: a worker's rbnet.deb-inspection-result/v1 and the container's report.json
// are hostile data; every refusal names the field and carries a stable code.
import { describe, expect, it } from 'vitest';
import { RbnetError } from '../../errors.ts';
import { InspectionReportError } from './inspection-json-checks.ts';
import { DEB_INSPECTION_RESULT_SCHEMA, parseDebInspectionResult } from './inspection-report.ts';
import { debListing, fileMember, inspectionResult } from './inspection-result-fixture.ts';
import { parseInspectionReport } from './parse-inspection-report.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const DEB = 'hello_2.10-3_amd64.deb';

/** A published hello and a rebuilt one whose binary differs, with a diffoscope report. */
function goodDocument(): Record<string, unknown> {
  return inspectionResult({
    debs: [
      {
        role: 'rebuilt',
        file: DEB,
        listing: debListing(B, { data: [fileMember('usr/bin/hello', 'other')] }),
      },
      { role: 'published', file: DEB, listing: debListing(A) },
    ],
    diffoscopeFor: [DEB],
  });
}

/** The document as the edits below reach into it: any field, at any depth. */
// biome-ignore lint/suspicious/noExplicitAny: hostile edits write fields the types forbid.
type Doc = any;

/** Applies `edit` to a deep copy of the good document and returns its JSON text. */
function edited(edit: (doc: Doc) => void): string {
  const doc: Doc = structuredClone(goodDocument());
  edit(doc);
  return JSON.stringify(doc);
}

function refusal(text: string, maxBytes?: number): InspectionReportError {
  try {
    parseDebInspectionResult(text, maxBytes);
  } catch (err) {
    expect(err).toBeInstanceOf(InspectionReportError);
    expect(err).toBeInstanceOf(RbnetError);
    return err as InspectionReportError;
  }
  throw new Error('expected a refusal');
}

describe('parseDebInspectionResult', () => {
  it('accepts what the worker writes and returns it deeply frozen', () => {
    const result = parseDebInspectionResult(JSON.stringify(goodDocument()));
    expect(result.schema).toBe(DEB_INSPECTION_RESULT_SCHEMA);
    expect(result.debs).toEqual([
      { label: 'r0', role: 'rebuilt', file: DEB },
      { label: 'p1', role: 'published', file: DEB },
    ]);
    expect(result.report!.comparisons[0]!.comparison!.members.map((m) => m.path)).toEqual(['usr/bin/hello']);
    expect(result.diffoscope).toEqual([
      { left: 'p1', right: 'r0', byproduct: 'rbnet/diffoscope-1.html', file: 'diffoscope-1.html' },
    ]);
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(result.report!.debs[0])).toBe(true);
  });

  it('accepts a failed inspection with no report', () => {
    const text = JSON.stringify(
      inspectionResult({
        debs: [{ role: 'rebuilt', file: DEB }],
        failure: { reason: 'timeout', detail: 'inspection failed: time limit of 900 s' },
      }),
    );
    expect(parseDebInspectionResult(text).failure).toEqual({
      reason: 'timeout',
      detail: 'inspection failed: time limit of 900 s',
    });
  });

  it.each<[string, (d: Doc) => void, RegExp]>([
    [
      'wrong schema',
      (d) => {
        d.schema = 'rbnet.deb-inspection-result/v2';
      },
      /^\$\.schema: must be/,
    ],
    [
      'unknown role',
      (d) => {
        d.debs[0].role = 'trusted';
      },
      /^\$\.debs\[0\]\.role: must be one of rebuilt, published/,
    ],
    [
      'unknown top-level field',
      (d) => {
        d.verdict = 'reproducible';
      },
      /^\$\.verdict: unknown field/,
    ],
    [
      'missing diffoscope list',
      (d) => {
        delete d.diffoscope;
      },
      /^\$\.diffoscope: missing/,
    ],
    [
      'label with a path',
      (d) => {
        d.debs[0].label = '../r0';
      },
      /^\$\.debs\[0\]\.label: must match/,
    ],
    [
      'label used twice',
      (d) => {
        d.debs[1].label = 'r0';
      },
      /^\$\.debs\[1\]\.label: "r0" is used twice/,
    ],
    [
      'file with a directory',
      (d) => {
        d.debs[0].file = '../../etc/hello.deb';
      },
      /^\$\.debs\[0\]\.file: must be a plain \.deb/,
    ],
    [
      'file that is no .deb',
      (d) => {
        d.debs[0].file = 'hello.html';
      },
      /^\$\.debs\[0\]\.file/,
    ],
    [
      'no .debs',
      (d) => {
        d.debs = [];
        d.report.debs = [];
      },
      /^\$\.debs: must name at least one/,
    ],
    [
      'both report and failure',
      (d) => {
        d.failure = { reason: 'timeout', detail: '' };
      },
      /^\$: must have exactly one/,
    ],
    [
      'bad listing digest',
      (d) => {
        d.report.debs[0].listing.sha256 = 'A'.repeat(64);
      },
      /^\$\.report\.debs\[0\]\.listing\.sha256: not a sha256/,
    ],
    [
      'bad member digest',
      (d) => {
        d.report.debs[1].listing.data.members[0].sha256 = 'xyz';
      },
      /^\$\.report\.debs\[1\]\.listing\.data\.members\[0\]\.sha256: not a sha256/,
    ],
    [
      'unknown hazard kind',
      (d) => {
        d.report.debs[0].listing.hazards.push({ kind: 'all-fine-trust-me', member: '(ar)', detail: '' });
      },
      /^\$\.report\.debs\[0\]\.listing\.hazards\[0\]\.kind: must be one of/,
    ],
    [
      'report labels out of order',
      (d) => {
        d.report.debs.reverse();
      },
      /^\$\.report\.debs\[0\]\.label: must be "r0"/,
    ],
    [
      'pair naming an unknown label',
      (d) => {
        d.report.comparisons[0].right = 'r9';
      },
      /^\$\.report\.comparisons\[0\]\.right: must be the label/,
    ],
    [
      'pair of two rebuilt .debs',
      (d) => {
        d.debs[1].role = 'rebuilt';
        d.debs[1].file = 'other_1_amd64.deb';
      },
      /^\$\.report\.comparisons\[0\]: must compare a published \.deb/,
    ],
    [
      'member difference of an unknown kind',
      (d) => {
        d.report.comparisons[0].comparison.members[0].differences = ['vibes'];
      },
      /^\$\.report\.comparisons\[0\]\.comparison\.members\[0\]\.differences\[0\]: must be one of/,
    ],
    [
      'diffoscope for a pair the report says has none',
      (d) => {
        delete d.report.comparisons[0].diffoscope;
      },
      /^\$\.diffoscope\[0\]: the report says diffoscope wrote no file/,
    ],
    [
      'diffoscope byproduct renamed',
      (d) => {
        d.diffoscope[0].byproduct = 'rbnet/deb-inspection.json';
      },
      /^\$\.diffoscope\[0\]\.byproduct: must be "rbnet\/diffoscope-1\.html"/,
    ],
    [
      'diffoscope file renamed',
      (d) => {
        d.diffoscope[0].file = '../x.html';
      },
      /^\$\.diffoscope\[0\]\.file/,
    ],
    [
      'diffoscope after a failure',
      (d) => {
        delete d.report;
        d.failure = { reason: 'timeout', detail: 'x' };
      },
      /^\$\.diffoscope: must be an array of at most 0 items/,
    ],
    [
      'failure reason with spaces',
      (d) => {
        delete d.report;
        d.diffoscope = [];
        d.failure = { reason: 'it broke', detail: 'x' };
      },
      /^\$\.failure\.reason: must match/,
    ],
  ])('refuses %s, naming the field', (_name, edit, message) => {
    const error = refusal(edited(edit));
    expect(error.code).toBe('INSPECTION_REPORT_INVALID');
    expect(error.message).toMatch(message);
  });

  it('refuses a document over the size cap before parsing it', () => {
    const text = JSON.stringify(goodDocument());
    const error = refusal(`${text}${' '.repeat(2048)}`, text.length + 100);
    expect(error.code).toBe('INSPECTION_REPORT_TOO_LARGE');
    expect(error.message).toMatch(/^\$: \d+ bytes, over the limit of \d+/);
  });

  it('refuses a huge notes list and overlong strings by their field', () => {
    const notes = refusal(
      edited((d) => {
        d.report.notes = Array.from({ length: 257 }, () => 'n');
      }),
    );
    expect(notes.message).toMatch(/^\$\.report\.notes: must be an array of at most 256 items/);
    const path = refusal(
      edited((d) => {
        d.report.debs[0].listing.data.members[0].path = 'x'.repeat(9000);
      }),
    );
    expect(path.message).toMatch(
      /^\$\.report\.debs\[0\]\.listing\.data\.members\[0\]\.path: must be a string/,
    );
  });

  it('refuses deep nesting, duplicate keys and inherited-looking keys as strict JSON does', () => {
    const deep = refusal(
      edited((d) => {
        d.report.notes = [JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`)];
      }),
    );
    expect(deep.code).toBe('INSPECTION_REPORT_INVALID');
    expect(deep.message).toMatch(/^not strict JSON: .*\$\.report\.notes\[0\].*nesting deeper than 17/);
    const text = JSON.stringify(goodDocument());
    const duplicate = refusal(text.replace('{"schema":', '{"schema":"x","schema":'));
    expect(duplicate.message).toMatch(/^not strict JSON: .*duplicate/i);
    const proto = refusal(text.replace('{"schema":', '{"__proto__":{},"schema":'));
    expect(proto.message).toMatch(/^\$\.__proto__: unknown field/);
    expect(refusal('not json').message).toMatch(/^not strict JSON/);
  });
});

describe('parseInspectionReport', () => {
  const report = (): Doc => structuredClone((goodDocument() as Doc).report);

  it('holds a report to the job it answers: labels, pairs, searched strings, diffoscope', () => {
    const expected = {
      labels: ['r0', 'p1'],
      pairs: [{ left: 'p1', right: 'r0' }],
      buildPaths: [],
      diffoscope: true,
    };
    expect(parseInspectionReport(report(), expected).comparisons).toHaveLength(1);
    expect(() => parseInspectionReport(report(), { ...expected, labels: ['a', 'b'] })).toThrow(
      /^\$\.debs\[0\]\.label: must be "a"/,
    );
    expect(() =>
      parseInspectionReport(report(), { ...expected, pairs: [{ left: 'r0', right: 'p1' }] }),
    ).toThrow(/^\$\.comparisons\[0\]: names another pair than asked/);
    expect(() => parseInspectionReport(report(), { ...expected, diffoscope: false })).toThrow(
      /^\$\.comparisons\[0\]\.diffoscope: diffoscope was not asked for/,
    );
    const found = report();
    found.debs[0].listing.data.members[0].foundStrings = ['/build/secret'];
    expect(() => parseInspectionReport(found, expected)).toThrow(
      /foundStrings: must be an array of at most 0/,
    );
    expect(() => parseInspectionReport(found, { ...expected, buildPaths: ['/build/x'] })).toThrow(
      /foundStrings\[0\]: not a string searched for/,
    );
  });

  it('refuses anything that is not an object, with the path it was given', () => {
    for (const value of [null, [], 'report', 42]) {
      expect(() => parseInspectionReport(value, {}, '$.report')).toThrow(/^\$\.report: must be an object/);
    }
  });
});
