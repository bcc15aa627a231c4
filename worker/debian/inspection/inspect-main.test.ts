// The in-container entry point: job validation, the report it writes, diffoscope outcomes (written,
// timed out, missing) and the report size cap.
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeb, fileEntry, sampleData } from './deb-fixture.ts';
import { type InspectionJob, InspectionJobError, parseInspectionJob } from './inspection-job.ts';
import { findExecutable } from './run-diffoscope.ts';
import { runInspectionJob } from './run-inspection-job.ts';

let dir: string;
let counter = 0;
let left: string;
let right: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbnet-inspect-main-'));
  left = join(dir, 'left.deb');
  right = join(dir, 'right.deb');
  await writeFile(left, await buildDeb({ data: sampleData() }));
  await writeFile(right, await buildDeb({ data: [...sampleData(), fileEntry('./usr/bin/extra', 'x')] }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const limits = {
  maxDecompressedBytes: 1024 ** 3,
  maxMembers: 1000,
  timeoutMs: 60_000,
  maxReportBytes: 1024 ** 2,
};

function job(over: Partial<InspectionJob> = {}): InspectionJob {
  return {
    debs: [
      { label: 'left', path: left ?? 'left.deb' },
      { label: 'right', path: right ?? 'right.deb' },
    ],
    compare: [{ left: 'left', right: 'right' }],
    limits,
    ...over,
  };
}

async function fakeDiffoscope(script: string): Promise<string> {
  counter += 1;
  const path = join(dir, `fake-diffoscope-${counter}`);
  await writeFile(path, `#!/bin/sh\n${script}\n`);
  await chmod(path, 0o755);
  return path;
}

const outDir = () => {
  counter += 1;
  return join(dir, `out${counter}`);
};

describe('parseInspectionJob', () => {
  it('accepts a full job and freezes it', () => {
    const parsed = parseInspectionJob(
      JSON.stringify(
        job({
          sourceDateEpoch: 5,
          buildPaths: ['/build/x'],
          diffoscope: { timeoutSeconds: 5, maxOutputBytes: 4096 },
        }),
      ),
    );
    expect(parsed.debs.map((d) => d.label)).toEqual(['left', 'right']);
    expect(Object.isFrozen(parsed)).toBe(true);
  });

  it.each([
    ['an unknown field', { ...job(), extra: 1 }, /\$\.extra: unknown field/],
    [
      'a label used twice',
      job({
        debs: [
          { label: 'a', path: 'x' },
          { label: 'a', path: 'y' },
        ],
        compare: [],
      }),
      /used twice/,
    ],
    [
      'a bad label',
      job({ debs: [{ label: '../a', path: 'x' }], compare: [] }),
      /\$\.debs\[0\]\.label: must match/,
    ],
    [
      'a pair naming an unknown label',
      job({ compare: [{ left: 'left', right: 'nope' }] }),
      /no \.deb is labelled "nope"/,
    ],
    ['a limit out of range', job({ limits: { ...limits, timeoutMs: 0 } }), /timeoutMs: must be an integer/],
  ])('refuses %s', (_what, value, message) => {
    const err = (() => {
      try {
        parseInspectionJob(JSON.stringify(value));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InspectionJobError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('runInspectionJob', () => {
  it('writes report.json with both listings and the comparison; diffoscope HTML when it works', async () => {
    const out = outDir();
    const diffoscope = await fakeDiffoscope('echo "<html>$8 vs $9</html>" > "$2"; exit 1');
    const report = await runInspectionJob(
      job({ diffoscope: { timeoutSeconds: 10, maxOutputBytes: 4096 } }),
      out,
      {
        diffoscopePath: diffoscope,
      },
    );
    expect(JSON.parse(await readFile(join(out, 'report.json'), 'utf8'))).toEqual(
      JSON.parse(JSON.stringify(report)),
    );
    expect(report.comparisons[0]!.comparison!.members.map((m) => m.path)).toEqual([
      'md5sums',
      'usr/bin/extra',
    ]);
    expect(report.comparisons[0]!.diffoscope).toMatchObject({
      status: 'written',
      file: 'diffoscope-1.html',
      exitCode: 1,
    });
    expect(await readFile(join(out, 'diffoscope-1.html'), 'utf8')).toBe(`<html>${left} vs ${right}</html>\n`);
  });

  it('kills a diffoscope that runs past its timeout and notes it', async () => {
    const out = outDir();
    const diffoscope = await fakeDiffoscope('echo partial > "$2"; sleep 30');
    const started = Date.now();
    const report = await runInspectionJob(
      job({ diffoscope: { timeoutSeconds: 1, maxOutputBytes: 4096 } }),
      out,
      {
        diffoscopePath: diffoscope,
      },
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(report.comparisons[0]!.diffoscope).toEqual({
      status: 'timeout',
      detail: 'diffoscope timed out after 1 s',
    });
    expect(report.notes).toEqual(['diffoscope timed out for left vs right after 1 s']);
    await expect(stat(join(out, 'diffoscope-1.html'))).rejects.toThrow();
  });

  it('cuts oversized HTML, and says when diffoscope is not installed', async () => {
    const big = await fakeDiffoscope('head -c 100000 /dev/zero > "$2"; exit 1');
    const out = outDir();
    const report = await runInspectionJob(
      job({ diffoscope: { timeoutSeconds: 10, maxOutputBytes: 5000 } }),
      out,
      {
        diffoscopePath: big,
      },
    );
    expect(report.comparisons[0]!.diffoscope).toMatchObject({
      status: 'written',
      bytes: 5000,
      truncated: true,
    });
    expect((await stat(join(out, 'diffoscope-1.html'))).size).toBe(5000);

    const none = await runInspectionJob(
      job({ diffoscope: { timeoutSeconds: 10, maxOutputBytes: 5000 } }),
      outDir(),
    );
    expect(none.comparisons[0]!.diffoscope).toMatchObject({ status: 'unavailable' });
    expect(findExecutable('definitely-not-installed-rbnet', '/usr/bin:/bin')).toBeUndefined();
    expect(findExecutable('sh', '/nonexistent:/bin')).toBe('/bin/sh');
  });

  it('records a .deb it cannot open as an error entry and keeps going', async () => {
    const report = await runInspectionJob(
      job({
        debs: [
          { label: 'left', path: left },
          { label: 'right', path: join(dir, 'missing.deb') },
        ],
      }),
      outDir(),
    );
    expect(report.debs[1]).toEqual({
      label: 'right',
      error: { code: 'INSPECTION_FAILED', message: expect.stringMatching(/cannot open/) },
    });
    expect(report.comparisons[0]).toEqual({
      left: 'left',
      right: 'right',
      comparison: null,
      omittedMemberDifferences: 0,
    });
  });

  it('fits the report under maxReportBytes: listings first, then member differences', async () => {
    const many = Array.from({ length: 300 }, (_, i) => fileEntry(`./usr/share/f${i}`, `${i}`));
    const wide = join(dir, 'wide.deb');
    await writeFile(wide, await buildDeb({ data: [...sampleData(), ...many] }));
    const out = outDir();
    const report = await runInspectionJob(
      job({
        debs: [
          { label: 'left', path: left },
          { label: 'right', path: wide },
        ],
        limits: { ...limits, maxReportBytes: 30_000 },
      }),
      out,
    );
    const text = await readFile(join(out, 'report.json'), 'utf8');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(30_000);
    expect(
      report.debs.every((d) => 'listing' in d && d.membersOmitted && d.listing.data!.members.length === 0),
    ).toBe(true);
    const pair = report.comparisons[0]!;
    expect(pair.omittedMemberDifferences).toBeGreaterThan(0);
    expect(pair.comparison!.members.length + pair.omittedMemberDifferences).toBe(301);
    expect(report.notes).toHaveLength(2);
  });
});
