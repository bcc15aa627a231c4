// A tiny metrics registry (counters, gauges, fixed-bucket histograms) rendering Prometheus text format 0.0.4.
import { RbnetError } from '../../services/errors.ts';

/** The `Content-Type` a scraper expects for text format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A metric or label was declared or used against the format's rules (a programming error). */
export class MetricsError extends RbnetError<'METRIC_INVALID'> {}

/** Label name → value; a series must give exactly the labels its family declared. */
export type Labels = Readonly<Record<string, string>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escapes a label value: backslash, double quote and line feed are the only characters the format escapes. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escapes HELP text: backslash and line feed (a double quote stays as it is there). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Formats a sample value as the format's float: `+Inf`, `-Inf`, `NaN`, else the shortest decimal. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function renderLabels(pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return '';
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

interface FamilyOptions {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`; by convention `rbnet_<what>_<unit>` and `_total` for counters. */
  readonly name: string;
  readonly help: string;
  /** Declared once; every update names exactly these. Default none. */
  readonly labelNames?: readonly string[];
}

/** Series state shared by every family: one entry per distinct label-value tuple. */
abstract class MetricFamily<S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly series = new Map<string, { readonly values: readonly string[]; state: S }>();

  constructor(
    readonly type: 'counter' | 'gauge' | 'histogram',
    options: FamilyOptions,
  ) {
    if (!METRIC_NAME.test(options.name))
      throw new MetricsError('METRIC_INVALID', `metric name ${JSON.stringify(options.name)}: not allowed`);
    const labelNames = options.labelNames ?? [];
    for (const label of labelNames) {
      // Names starting with __ are reserved for Prometheus itself.
      if (!LABEL_NAME.test(label) || label.startsWith('__'))
        throw new MetricsError('METRIC_INVALID', `${options.name}: label name ${JSON.stringify(label)}`);
    }
    if (new Set(labelNames).size !== labelNames.length)
      throw new MetricsError('METRIC_INVALID', `${options.name}: duplicate label names`);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = Object.freeze([...labelNames]);
  }

  /**
   * A family without labels always has its one series, so a scraper sees 0 rather than nothing.
   * Subclasses call it last in their constructor, once `initial()` can run.
   */
  protected seedUnlabelled(): void {
    if (this.labelNames.length === 0) this.entry({});
  }

  protected abstract initial(): S;

  /** The series for `labels`, created on first use. */
  protected entry(labels: Labels): { readonly values: readonly string[]; state: S } {
    const given = Object.keys(labels);
    if (
      given.length !== this.labelNames.length ||
      !this.labelNames.every((name) => typeof labels[name] === 'string')
    ) {
      throw new MetricsError(
        'METRIC_INVALID',
        `${this.name}: expected labels {${this.labelNames.join(', ')}}, got {${given.join(', ')}}`,
      );
    }
    const values = this.labelNames.map((name) => labels[name]!);
    const key = JSON.stringify(values);
    let found = this.series.get(key);
    if (!found) {
      found = { values, state: this.initial() };
      this.series.set(key, found);
    }
    return found;
  }

  /** Series sorted by label values, so a scrape is deterministic. */
  protected sortedSeries(): { readonly values: readonly string[]; state: S }[] {
    return [...this.series.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, entry]) => entry);
  }

  protected pairs(values: readonly string[]): [string, string][] {
    return this.labelNames.map((name, i) => [name, values[i]!]);
  }

  /** The sample lines, without HELP and TYPE. */
  abstract sampleLines(): string[];

  /** HELP, TYPE and sample lines, each ending in a line feed. */
  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    return `${[...lines, ...this.sampleLines()].join('\n')}\n`;
  }
}

/** A value that only goes up (resets only when the process restarts). */
export class Counter extends MetricFamily<{ value: number }> {
  constructor(options: FamilyOptions) {
    super('counter', options);
    this.seedUnlabelled();
  }
  protected initial() {
    return { value: 0 };
  }
  /** Adds `amount` (default 1; must be finite and >= 0) to the series for `labels`. */
  inc(labels: Labels = {}, amount = 1): void {
    if (!Number.isFinite(amount) || amount < 0)
      throw new MetricsError('METRIC_INVALID', `${this.name}: a counter only grows, got ${amount}`);
    this.entry(labels).state.value += amount;
  }
  /** Creates the series at 0 if missing, so rates work before the first event. */
  touch(labels: Labels = {}): void {
    this.entry(labels);
  }
  get(labels: Labels = {}): number {
    return this.entry(labels).state.value;
  }
  sampleLines(): string[] {
    return this.sortedSeries().map(
      (s) => `${this.name}${renderLabels(this.pairs(s.values))} ${formatSampleValue(s.state.value)}`,
    );
  }
}

/** A value that goes up and down; scrape-time gauges are `reset()` and set again on every scrape. */
export class Gauge extends MetricFamily<{ value: number }> {
  constructor(options: FamilyOptions) {
    super('gauge', options);
    this.seedUnlabelled();
  }
  protected initial() {
    return { value: 0 };
  }
  set(labels: Labels, value: number): void {
    this.entry(labels).state.value = value;
  }
  get(labels: Labels = {}): number {
    return this.entry(labels).state.value;
  }
  /** Drops every labelled series (a worker that left must not linger with its last value). */
  reset(): void {
    this.series.clear();
    this.seedUnlabelled();
  }
  sampleLines(): string[] {
    return this.sortedSeries().map(
      (s) => `${this.name}${renderLabels(this.pairs(s.values))} ${formatSampleValue(s.state.value)}`,
    );
  }
}

interface HistogramState {
  /** Observations per bucket, not cumulative; index = bucket, the last one is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into fixed buckets, rendered as cumulative `_bucket{le}`, `_sum` and `_count`. */
export class Histogram extends MetricFamily<HistogramState> {
  /** Finite upper bounds, strictly increasing; +Inf is implicit. */
  readonly buckets: readonly number[];

  constructor(options: FamilyOptions & { readonly buckets: readonly number[] }) {
    const buckets = [...options.buckets];
    const bad =
      buckets.length === 0 ||
      buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!)) ||
      (options.labelNames ?? []).includes('le');
    if (bad) {
      throw new MetricsError(
        'METRIC_INVALID',
        `${options.name}: buckets must be finite and strictly increasing, and "le" is reserved`,
      );
    }
    super('histogram', options);
    this.buckets = Object.freeze(buckets);
    this.seedUnlabelled();
  }

  protected initial(): HistogramState {
    const size = this.buckets.length + 1;
    return { counts: new Array<number>(size).fill(0), sum: 0, count: 0 };
  }

  /** Records one observation (not NaN) for `labels`. */
  observe(value: number, labels: Labels = {}): void {
    if (Number.isNaN(value)) throw new MetricsError('METRIC_INVALID', `${this.name}: cannot observe NaN`);
    const state = this.entry(labels).state;
    let index = this.buckets.findIndex((bound) => value <= bound);
    if (index === -1) index = this.buckets.length;
    state.counts[index]! += 1;
    state.sum += value;
    state.count += 1;
  }

  /** Cumulative count of observations <= each bound, ending with +Inf (= count). */
  cumulative(labels: Labels = {}): number[] {
    const state = this.entry(labels).state;
    let running = 0;
    return state.counts.map((n) => {
      running += n;
      return running;
    });
  }

  sampleLines(): string[] {
    const lines: string[] = [];
    const bounds = [...this.buckets.map(formatSampleValue), '+Inf'];
    for (const s of this.sortedSeries()) {
      const pairs = this.pairs(s.values);
      let running = 0;
      s.state.counts.forEach((n, i) => {
        running += n;
        lines.push(`${this.name}_bucket${renderLabels([...pairs, ['le', bounds[i]!]])} ${running}`);
      });
      lines.push(`${this.name}_sum${renderLabels(pairs)} ${formatSampleValue(s.state.sum)}`);
      lines.push(`${this.name}_count${renderLabels(pairs)} ${s.state.count}`);
    }
    return lines;
  }
}

/** Holds metric families in registration order and renders them as one exposition. */
export class MetricsRegistry {
  private readonly families = new Map<string, { readonly name: string; render(): string }>();

  private add<F extends { readonly name: string; render(): string }>(family: F): F {
    if (this.families.has(family.name))
      throw new MetricsError('METRIC_INVALID', `${family.name}: registered twice`);
    this.families.set(family.name, family);
    return family;
  }

  counter(options: FamilyOptions): Counter {
    return this.add(new Counter(options));
  }

  gauge(options: FamilyOptions): Gauge {
    return this.add(new Gauge(options));
  }

  histogram(options: FamilyOptions & { readonly buckets: readonly number[] }): Histogram {
    return this.add(new Histogram(options));
  }

  /** The whole exposition: one block per family, every line ending in a line feed. */
  render(): string {
    return [...this.families.values()].map((family) => family.render()).join('');
  }
}
