// A strict parser of Prometheus text format 0.0.4 for tests: refuses what a scraper could misread.

export interface ParsedSample {
  /** The sample's own name (for a histogram, `<family>_bucket`, `_sum` or `_count`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ParsedFamily {
  readonly name: string;
  type?: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help?: string;
  readonly samples: ParsedSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;
const TIMESTAMP = /^-?\d+$/;

/** A line of the exposition broke the grammar; the message names the line. */
export class ExpositionError extends Error {}

function fail(lineNumber: number, line: string, why: string): never {
  throw new ExpositionError(`line ${lineNumber}: ${why}: ${JSON.stringify(line)}`);
}

function parseFloatToken(token: string): number {
  if (token === 'NaN') return Number.NaN;
  if (token.endsWith('Inf')) return token.startsWith('-') ? -Infinity : Infinity;
  return Number(token);
}

/** Reads `\\`, `\"` and `\n` escapes up to the closing quote; any other escape is an error. */
function readLabelValue(text: string, at: number, lineNumber: number, line: string): [string, number] {
  let value = '';
  let i = at;
  for (;;) {
    const ch = text[i];
    if (ch === undefined) fail(lineNumber, line, 'unterminated label value');
    if (ch === '"') return [value, i + 1];
    if (ch === '\\') {
      const next = text[i + 1];
      if (next === '\\') value += '\\';
      else if (next === '"') value += '"';
      else if (next === 'n') value += '\n';
      else fail(lineNumber, line, `invalid escape \\${next ?? ''}`);
      i += 2;
      continue;
    }
    value += ch;
    i += 1;
  }
}

function familyOf(sampleName: string, families: Map<string, ParsedFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sampleName.endsWith(suffix)) {
      const base = sampleName.slice(0, -suffix.length);
      const type = families.get(base)?.type;
      if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base;
    }
  }
  return sampleName;
}

/**
 * Parses an exposition and checks what a scraper relies on: the text ends with a line feed; no blank
 * or free-comment lines; `# HELP` and `# TYPE` at most once per family and before its samples; a
 * family's samples are contiguous; no series appears twice; counters are >= 0; a histogram's buckets
 * carry `le`, are cumulative, end with `le="+Inf"` equal to `_count`, and come with `_sum`.
 * @throws ExpositionError naming the offending line.
 */
export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new ExpositionError('the exposition must end with \\n');
  const lines = text.length === 0 ? [] : text.slice(0, -1).split('\n');
  const families = new Map<string, ParsedFamily>();
  const finished = new Set<string>();
  const seenSeries = new Set<string>();
  let current: string | undefined;
  const enter = (name: string, lineNumber: number, line: string): ParsedFamily => {
    if (current !== name) {
      if (finished.has(name)) fail(lineNumber, line, `family ${name} is not contiguous`);
      if (current !== undefined) finished.add(current);
      current = name;
    }
    let family = families.get(name);
    if (!family) {
      family = { name, samples: [] };
      families.set(name, family);
    }
    return family;
  };

  lines.forEach((line, index) => {
    const n = index + 1;
    if (line === '') fail(n, line, 'blank line');
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (!match) fail(n, line, 'only "# HELP name text" and "# TYPE name type" comments are expected');
      const [, keyword, name, rest] = match as unknown as [string, string, string, string];
      const family = enter(name, n, line);
      if (keyword === 'HELP') {
        if (family.help !== undefined) fail(n, line, 'second HELP');
        if (/\\(?![\\n])/.test(rest.replace(/\\\\/g, ''))) fail(n, line, 'invalid escape in HELP');
        family.help = rest.replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
      } else {
        if (family.type !== undefined) fail(n, line, 'second TYPE');
        if (family.samples.length > 0) fail(n, line, 'TYPE after samples');
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          fail(n, line, `unknown type ${rest}`);
        family.type = rest as ParsedFamily['type'];
      }
      return;
    }
    const nameMatch = METRIC_NAME.exec(line);
    if (!nameMatch) fail(n, line, 'expected a metric name');
    const sampleName = nameMatch[0];
    let i = sampleName.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i += 1;
      while (line[i] !== '}') {
        const labelMatch = LABEL_NAME.exec(line.slice(i));
        if (!labelMatch) fail(n, line, 'expected a label name');
        const label = labelMatch[0];
        if (label in labels) fail(n, line, `label ${label} twice`);
        i += label.length;
        if (line.slice(i, i + 2) !== '="') fail(n, line, `expected =" after ${label}`);
        const [value, next] = readLabelValue(line, i + 2, n, line);
        labels[label] = value;
        i = next;
        if (line[i] === ',') i += 1;
        else if (line[i] !== '}') fail(n, line, 'expected , or }');
      }
      i += 1;
    }
    if (line[i] !== ' ') fail(n, line, 'expected one space before the value');
    const tokens = line.slice(i + 1).split(' ');
    if (tokens.length > 2 || !FLOAT.test(tokens[0] ?? '') || (tokens[1] && !TIMESTAMP.test(tokens[1])))
      fail(n, line, 'expected "value [timestamp]"');
    const value = parseFloatToken(tokens[0]!);
    const family = enter(familyOf(sampleName, families), n, line);
    const key = `${sampleName}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(key)) fail(n, line, 'series twice');
    seenSeries.add(key);
    if (family.type === 'counter' && !(value >= 0)) fail(n, line, 'counter below 0');
    family.samples.push({ name: sampleName, labels, value });
  });

  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

function checkHistogram(family: ParsedFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined || !FLOAT.test(le))
        throw new ExpositionError(`${family.name}: bucket without a numeric le`);
      group.buckets.push([parseFloatToken(le), sample.value]);
    } else if (sample.name === `${family.name}_sum`) group.sum = sample.value;
    else if (sample.name === `${family.name}_count`) group.count = sample.value;
    else throw new ExpositionError(`${family.name}: unexpected sample ${sample.name}`);
  }
  for (const [key, group] of groups) {
    const where = `${family.name}${key}`;
    const last = group.buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new ExpositionError(`${where}: no le="+Inf" bucket last`);
    group.buckets.forEach(([bound, count], i) => {
      const previous = group.buckets[i - 1];
      if (previous && (bound <= previous[0] || count < previous[1]))
        throw new ExpositionError(`${where}: buckets not increasing and cumulative`);
      if (!Number.isInteger(count)) throw new ExpositionError(`${where}: bucket count not an integer`);
    });
    if (group.sum === undefined || group.count === undefined)
      throw new ExpositionError(`${where}: _sum and _count are required`);
    if (group.count !== last[1]) throw new ExpositionError(`${where}: _count differs from the +Inf bucket`);
  }
}

/** The value of one series, or undefined. */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  sampleName: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== sampleName) continue;
      const keys = Object.keys(sample.labels);
      if (keys.length === Object.keys(labels).length && keys.every((k) => sample.labels[k] === labels[k]))
        return sample.value;
    }
  }
  return undefined;
}
