// Tests for the verdict vocabulary: a closed set with one wire spelling each.
import { describe, expect, it } from 'vitest';
import { ConsensusError } from './consensus-errors.ts';
import { isQuorumVerdict, isVerdict, parseVerdict, VERDICTS, verdictMeanings } from './verdict.ts';

describe('verdicts', () => {
  it('are the ten wire values of the design, each with a meaning', () => {
    expect(VERDICTS).toEqual([
      'reproducible',
      'agreed',
      'mismatch-upstream',
      'diverged',
      'inputs-differ',
      'insufficient-operators',
      'failed',
      'pending',
      'environment-unavailable',
      'source-unavailable',
    ]);
    for (const verdict of VERDICTS) expect(verdictMeanings[verdict]).toMatch(/\w/);
  });

  it('parse only their exact spelling', () => {
    expect(parseVerdict('diverged')).toBe('diverged');
    expect(isVerdict('Diverged')).toBe(false);
    expect(isVerdict('toString')).toBe(false);
    expect(() => parseVerdict('ok', '$.verdict')).toThrow(ConsensusError);
    expect(() => parseVerdict('ok', '$.verdict')).toThrow('$.verdict is "ok"');
  });

  it('quorum verdicts are the three where k operators agree', () => {
    expect(VERDICTS.filter(isQuorumVerdict)).toEqual(['reproducible', 'agreed', 'mismatch-upstream']);
  });
});
