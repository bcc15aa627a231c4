// Which verdict changes raise which alert.
import { describe, expect, it } from 'vitest';
import { alertKindOf } from './alert-event.ts';

const reproducedBefore = { buildId: 'b', version: '1.0-1', verdict: 'reproducible' as const };

describe('alertKindOf', () => {
  it('mismatch-upstream always alarms', () => {
    expect(alertKindOf({ verdict: 'mismatch-upstream', previousVerdict: 'pending' })).toBe(
      'mismatch-upstream',
    );
  });

  it('a build that could not be honoured always alerts', () => {
    for (const verdict of [
      'insufficient-operators',
      'environment-unavailable',
      'source-unavailable',
    ] as const)
      expect(alertKindOf({ verdict, previousVerdict: 'pending' })).toBe('not-honoured');
  });

  it('a regression: the build reproduced before, or the previous version reproduces', () => {
    expect(alertKindOf({ verdict: 'diverged', previousVerdict: 'reproducible' })).toBe('regression');
    expect(alertKindOf({ verdict: 'failed', previousVerdict: 'agreed' })).toBe('regression');
    expect(
      alertKindOf({
        verdict: 'inputs-differ',
        previousVerdict: 'pending',
        previousVersion: reproducedBefore,
      }),
    ).toBe('regression');
  });

  it('no alert for a package that never reproduced, or for good news', () => {
    expect(alertKindOf({ verdict: 'diverged', previousVerdict: 'pending' })).toBeUndefined();
    expect(
      alertKindOf({
        verdict: 'diverged',
        previousVerdict: 'pending',
        previousVersion: { ...reproducedBefore, verdict: 'diverged' },
      }),
    ).toBeUndefined();
    expect(alertKindOf({ verdict: 'reproducible', previousVerdict: 'diverged' })).toBeUndefined();
    expect(alertKindOf({ verdict: 'pending', previousVerdict: 'reproducible' })).toBeUndefined();
  });
});
