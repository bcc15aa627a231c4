// Text format 0.0.4 rendering: escaping, cumulative histogram buckets, output a strict parser accepts.
import { describe, expect, it } from 'vitest';
import { parseExposition, sampleValue } from '../../test/support/prometheus-text-parser.ts';
import { CoordinatorMetrics } from './coordinator-metrics.ts';
import {
  escapeHelp,
  escapeLabelValue,
  formatSampleValue,
  MetricsError,
  MetricsRegistry,
} from './prometheus-text.ts';

describe('escaping', () => {
  it('escapes backslash, double quote and line feed in label values, and nothing else', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeLabelValue('tab\there ünïcode {x}')).toBe('tab\there ünïcode {x}');
  });

  it('escapes backslash and line feed in HELP, but not double quotes', () => {
    expect(escapeHelp('a "b"\\c\nd')).toBe('a "b"\\\\c\\nd');
  });

  it('round-trips awkward label values and help text through the strict parser', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({
      name: 'x_total',
      help: 'two\nlines \\ and "quotes"',
      labelNames: ['v'],
    });
    const awkward = ['a\\b', 'say "hi"', 'line\nbreak', '\\n literally', '', 'trailing\\'];
    for (const v of awkward) counter.inc({ v });
    const text = registry.render();
    expect(text).toContain('x_total{v="a\\\\b"} 1\n');
    expect(text).toContain('x_total{v="say \\"hi\\""} 1\n');
    expect(text).toContain('x_total{v="line\\nbreak"} 1\n');
    const family = parseExposition(text).get('x_total')!;
    expect(family.help).toBe('two\nlines \\ and "quotes"');
    expect(family.samples.map((s) => s.labels.v).sort()).toEqual([...awkward].sort());
  });

  it('formats special floats as the format spells them', () => {
    expect(formatSampleValue(Infinity)).toBe('+Inf');
    expect(formatSampleValue(-Infinity)).toBe('-Inf');
    expect(formatSampleValue(Number.NaN)).toBe('NaN');
    expect(formatSampleValue(0.25)).toBe('0.25');
    expect(formatSampleValue(3)).toBe('3');
  });
});

describe('families', () => {
  it('writes HELP and TYPE once per family, before its samples, and ends with a line feed', () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: 'a_total', help: 'A.' }).inc();
    registry.gauge({ name: 'b', help: 'B.', labelNames: ['k'] }).set({ k: 'x' }, -2.5);
    expect(registry.render()).toBe(
      '# HELP a_total A.\n# TYPE a_total counter\na_total 1\n# HELP b B.\n# TYPE b gauge\nb{k="x"} -2.5\n',
    );
  });

  it('renders an unlabelled family at 0 before any event, and a labelled one with no series as HELP/TYPE only', () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: 'never_total', help: 'N.' });
    registry.counter({ name: 'labelled_total', help: 'L.', labelNames: ['x'] });
    const families = parseExposition(registry.render());
    expect(sampleValue(families, 'never_total')).toBe(0);
    expect(families.get('labelled_total')?.samples).toEqual([]);
    expect(families.get('labelled_total')?.type).toBe('counter');
  });

  it('orders series by label values, so two scrapes of the same state are identical', () => {
    const registry = new MetricsRegistry();
    const gauge = registry.gauge({ name: 'g', help: 'G.', labelNames: ['w'] });
    for (const w of ['c', 'a', 'b']) gauge.set({ w }, 1);
    const lines = registry
      .render()
      .split('\n')
      .filter((l) => l.startsWith('g{'));
    expect(lines).toEqual(['g{w="a"} 1', 'g{w="b"} 1', 'g{w="c"} 1']);
  });

  it('gauge reset drops labelled series', () => {
    const registry = new MetricsRegistry();
    const gauge = registry.gauge({ name: 'g', help: 'G.', labelNames: ['w'] });
    gauge.set({ w: 'gone' }, 5);
    gauge.reset();
    expect(registry.render()).not.toContain('gone');
  });

  it('refuses bad names, reserved labels, wrong label sets, shrinking counters and duplicate families', () => {
    const registry = new MetricsRegistry();
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err instanceof MetricsError ? err.code : 'other';
      }
      return 'none';
    };
    expect(code(() => registry.counter({ name: '1bad', help: '' }))).toBe('METRIC_INVALID');
    expect(code(() => registry.counter({ name: 'ok_total', help: '', labelNames: ['__x'] }))).toBe(
      'METRIC_INVALID',
    );
    expect(code(() => registry.histogram({ name: 'h', help: '', labelNames: ['le'], buckets: [1] }))).toBe(
      'METRIC_INVALID',
    );
    expect(code(() => registry.histogram({ name: 'h2', help: '', buckets: [2, 1] }))).toBe('METRIC_INVALID');
    const counter = registry.counter({ name: 'c_total', help: '', labelNames: ['a'] });
    expect(code(() => counter.inc({ b: 'x' }))).toBe('METRIC_INVALID');
    expect(code(() => counter.inc({ a: 'x' }, -1))).toBe('METRIC_INVALID');
    expect(code(() => registry.gauge({ name: 'c_total', help: '' }))).toBe('METRIC_INVALID');
  });
});

describe('histograms', () => {
  it('counts cumulatively with upper bounds inclusive, ends with +Inf, and writes _sum and _count', () => {
    const registry = new MetricsRegistry();
    const histogram = registry.histogram({ name: 'd_seconds', help: 'D.', buckets: [1, 2, 5] });
    for (const v of [0.5, 1, 3, 100]) histogram.observe(v);
    expect(histogram.cumulative()).toEqual([2, 2, 3, 4]);
    const text = registry.render();
    expect(text).toContain(
      [
        'd_seconds_bucket{le="1"} 2',
        'd_seconds_bucket{le="2"} 2',
        'd_seconds_bucket{le="5"} 3',
        'd_seconds_bucket{le="+Inf"} 4',
        'd_seconds_sum 104.5',
        'd_seconds_count 4',
      ].join('\n'),
    );
    parseExposition(text);
  });

  it('puts le after the family labels, per series, and parses', () => {
    const registry = new MetricsRegistry();
    const histogram = registry.histogram({
      name: 'size_bytes',
      help: 'S.',
      labelNames: ['kind'],
      buckets: [10, 100],
    });
    histogram.observe(50, { kind: 'log' });
    histogram.observe(5, { kind: 'output' });
    const text = registry.render();
    expect(text).toContain(
      'size_bytes_bucket{kind="log",le="10"} 0\nsize_bytes_bucket{kind="log",le="100"} 1\n',
    );
    const families = parseExposition(text);
    expect(sampleValue(families, 'size_bytes_count', { kind: 'output' })).toBe(1);
    expect(sampleValue(families, 'size_bytes_bucket', { kind: 'output', le: '+Inf' })).toBe(1);
  });
});

describe('the strict parser used by these tests', () => {
  // The parser is only worth trusting if it refuses what a scraper would misread.
  it.each([
    ['a missing final line feed', '# TYPE a counter\na 1', /must end with/],
    ['a bad escape', 'a{x="\\t"} 1\n', /invalid escape/],
    ['an unterminated label value', 'a{x="y} 1\n', /unterminated/],
    ['two spaces before the value', 'a  1\n', /value \[timestamp\]/],
    ['a non-float value', 'a one\n', /value \[timestamp\]/],
    ['a TYPE after samples', 'a 1\n# TYPE a counter\n', /TYPE after samples/],
    ['interleaved families', 'a 1\nb 1\na{x="1"} 1\n', /not contiguous/],
    ['a series twice', 'a{x="1"} 1\na{x="1"} 2\n', /series twice/],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /\+Inf/],
    [
      'non-cumulative buckets',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      /cumulative/,
    ],
    [
      'a _count that differs from +Inf',
      '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
      /_count differs/,
    ],
    ['a blank line', 'a 1\n\nb 1\n', /blank line/],
  ])('refuses %s', (_what, text, reason) => {
    expect(() => parseExposition(text)).toThrow(reason);
  });
});

describe('CoordinatorMetrics instruments', () => {
  it('pre-creates every attempt outcome and result kind at 0, and counts events', () => {
    const metrics = new CoordinatorMetrics();
    metrics.attempt('assigned');
    metrics.attempt('assigned');
    metrics.result('built', true);
    metrics.leaseExpired();
    metrics.jobDuration(42);
    const families = parseExposition(metrics.registry.render());
    expect(sampleValue(families, 'rbnet_attempts_total', { outcome: 'assigned' })).toBe(2);
    expect(sampleValue(families, 'rbnet_attempts_total', { outcome: 'expired' })).toBe(0);
    expect(sampleValue(families, 'rbnet_results_total', { kind: 'built', counted: 'true' })).toBe(1);
    expect(sampleValue(families, 'rbnet_results_total', { kind: 'failed', counted: 'false' })).toBe(0);
    expect(sampleValue(families, 'rbnet_lease_expiries_total')).toBe(1);
    expect(sampleValue(families, 'rbnet_job_duration_seconds_bucket', { le: '60' })).toBe(1);
    expect(sampleValue(families, 'rbnet_job_duration_seconds_bucket', { le: '30' })).toBe(0);
  });

  it('counts refusal codes that do not look like stable codes as OTHER, so series stay bounded', () => {
    const metrics = new CoordinatorMetrics();
    metrics.refusal('NOT_ASSIGNED');
    metrics.refusal('something a client sent\n');
    const families = parseExposition(metrics.registry.render());
    expect(sampleValue(families, 'rbnet_intake_refusals_total', { code: 'NOT_ASSIGNED' })).toBe(1);
    expect(sampleValue(families, 'rbnet_intake_refusals_total', { code: 'OTHER' })).toBe(1);
  });
});
