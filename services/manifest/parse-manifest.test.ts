// Tests for the manifest boundary: every refusal names its field, every accepted manifest is frozen and digested.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../digest.ts';
import { ManifestError } from '../errors.ts';
import { canonicalizeJcs } from '../jcs.ts';
import { defaultManifestLimits, type ManifestLimits, parseManifest } from './parse-manifest.ts';

const SCRIPT_SHA = sha256Hex('#!/bin/sh\necho hello > out/hello.txt\n');
const DATA_SHA = sha256Hex('data');
const OUTPUT_SHA = sha256Hex('hello\n');
const IMAGE_SHA = sha256Hex('rootfs.tar');
const EMPTY_SHA = sha256Hex('');

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely to build malformed manifests.
type Doc = Record<string, any>;

function validDoc(): Doc {
  return {
    schema: 'rbnet.manifest/v1',
    name: 'hello-deterministic',
    architecture: 'amd64',
    backend: 'generic',
    environment: {
      image: { sha256: IMAGE_SHA },
      env: { PATH: '/bin:/usr/bin', HOME: '/build' },
      locale: 'C.UTF-8',
      timezone: 'UTC',
      umask: '0022',
      uid: 1000,
      gid: 1000,
      hostname: 'rbnet-build',
      buildPath: '/build/hello',
      sourceDateEpoch: 1700000000,
    },
    inputs: [
      { path: 'src/build.sh', sha256: SCRIPT_SHA, location: 'inputs/build.sh', mode: '0755' },
      { path: 'src/data.txt', sha256: DATA_SHA, location: `cas:sha256:${DATA_SHA}` },
    ],
    build: { argv: ['/bin/sh', 'src/build.sh'], workingDir: '.', timeLimitSeconds: 300 },
    outputDir: 'out',
    claimedOutputs: [{ path: 'hello.txt', sha256: OUTPUT_SHA }],
  };
}

const validText = JSON.stringify(validDoc(), null, 2);

/** A valid manifest with one change applied. */
function withChange(change: (doc: Doc) => void): string {
  const doc = validDoc();
  change(doc);
  return JSON.stringify(doc);
}

/** The compact valid manifest with a textual edit, for things JSON.stringify cannot produce. */
function withText(from: string, to: string): string {
  const text = JSON.stringify(validDoc());
  if (!text.includes(from)) throw new Error(`fixture does not contain ${from}`);
  return text.replace(from, to);
}

function refusal(input: string | Uint8Array): ManifestError {
  return refusalWith(input, {});
}

function refusalWith(input: string | Uint8Array, limits: Partial<ManifestLimits>): ManifestError {
  try {
    parseManifest(input, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return err as ManifestError;
  }
  throw new Error('expected the manifest to be refused');
}

function nestedArrays(levels: number): string {
  return `${'['.repeat(levels)}${']'.repeat(levels)}`;
}

type Case = [label: string, input: () => string | Uint8Array, code: ManifestError['code'], field: string];

const malformed: Case[] = [
  [
    'duplicate top-level key',
    () => withText('{"schema"', '{"name":"evil","schema"'),
    'MANIFEST_JSON',
    '$.name',
  ],
  [
    'duplicate nested key',
    () => withText('"uid":1000', '"uid":1000,"uid":0'),
    'MANIFEST_JSON',
    '$.environment.uid',
  ],
  [
    'duplicate env key',
    () => withText('"HOME":"/build"', '"HOME":"/build","PATH":"/evil"'),
    'MANIFEST_JSON',
    '$.environment.env.PATH',
  ],
  ['float uid 1000.0', () => withText('"uid":1000', '"uid":1000.0'), 'MANIFEST_JSON', 'environment.uid'],
  ['exponent uid 1e3', () => withText('"uid":1000', '"uid":1e3'), 'MANIFEST_JSON', 'environment.uid'],
  [
    'integer beyond 2^53-1',
    () => withText('"gid":1000', '"gid":9007199254740993'),
    'MANIFEST_JSON',
    'environment.gid',
  ],
  [
    'http URL location',
    () => withChange((d) => (d.inputs[0].location = 'http://example.org/build.sh')),
    'MANIFEST_INVALID',
    'inputs[0].location',
  ],
  [
    'https URL location',
    () => withChange((d) => (d.inputs[0].location = 'https://example.org/x')),
    'MANIFEST_INVALID',
    'inputs[0].location',
  ],
  [
    'file: location',
    () => withChange((d) => (d.inputs[0].location = 'file:///etc/passwd')),
    'MANIFEST_INVALID',
    'inputs[0].location',
  ],
  [
    '//host location',
    () => withChange((d) => (d.inputs[1].location = '//host/x')),
    'MANIFEST_INVALID',
    'inputs[1].location',
  ],
  [
    'data: location',
    () => withChange((d) => (d.inputs[0].location = 'data:text/plain,hi')),
    'MANIFEST_INVALID',
    'inputs[0].location',
  ],
  [
    'ftp: location',
    () => withChange((d) => (d.inputs[0].location = 'ftp:x')),
    'MANIFEST_INVALID',
    'inputs[0].location',
  ],
  [
    'absolute location',
    () => withChange((d) => (d.inputs[0].location = '/etc/passwd')),
    'MANIFEST_INVALID',
    'inputs[0].location',
  ],
  [
    'location with ..',
    () => withChange((d) => (d.inputs[0].location = '../secret')),
    'MANIFEST_INVALID',
    'inputs[0].location',
  ],
  [
    'cas location whose hex differs from sha256',
    () => withChange((d) => (d.inputs[1].location = `cas:sha256:${SCRIPT_SHA}`)),
    'MANIFEST_INVALID',
    'inputs[1].location',
  ],
  [
    'malformed cas location',
    () => withChange((d) => (d.inputs[1].location = 'cas:md5:abc')),
    'MANIFEST_INVALID',
    'inputs[1].location',
  ],
  [
    'input digest equal to a claimed output digest',
    () => withChange((d) => (d.claimedOutputs[0].sha256 = DATA_SHA)),
    'MANIFEST_INVALID',
    'claimedOutputs[0].sha256 equals inputs[1].sha256',
  ],
  [
    'reserved env key TZ',
    () => withChange((d) => (d.environment.env.TZ = 'UTC')),
    'MANIFEST_INVALID',
    'environment.env.TZ',
  ],
  [
    'reserved env key SOURCE_DATE_EPOCH',
    () => withChange((d) => (d.environment.env.SOURCE_DATE_EPOCH = '1')),
    'MANIFEST_INVALID',
    'environment.env.SOURCE_DATE_EPOCH',
  ],
  [
    'reserved env key LC_ALL',
    () => withChange((d) => (d.environment.env.LC_ALL = 'C')),
    'MANIFEST_INVALID',
    'environment.env.LC_ALL',
  ],
  [
    'bad env key',
    () => withChange((d) => (d.environment.env['1BAD'] = 'x')),
    'MANIFEST_INVALID',
    'environment.env["1BAD"]',
  ],
  [
    'env value with NUL',
    () => withChange((d) => (d.environment.env.HOME = 'a\u0000b')),
    'MANIFEST_INVALID',
    'environment.env.HOME',
  ],
  [
    'env value too long',
    () => withChange((d) => (d.environment.env.HOME = 'x'.repeat(4097))),
    'MANIFEST_INVALID',
    'environment.env.HOME',
  ],
  [
    'absolute input path',
    () => withChange((d) => (d.inputs[0].path = '/etc/passwd')),
    'MANIFEST_INVALID',
    'inputs[0].path',
  ],
  [
    '.. in input path',
    () => withChange((d) => (d.inputs[0].path = 'src/../../x')),
    'MANIFEST_INVALID',
    'inputs[0].path',
  ],
  [
    'empty segment in input path',
    () => withChange((d) => (d.inputs[0].path = 'src//x')),
    'MANIFEST_INVALID',
    'inputs[0].path',
  ],
  [
    'backslash in input path',
    () => withChange((d) => (d.inputs[0].path = 'src\\x')),
    'MANIFEST_INVALID',
    'inputs[0].path',
  ],
  [
    'input path too deep',
    () => withChange((d) => (d.inputs[0].path = Array(33).fill('a').join('/'))),
    'MANIFEST_INVALID',
    'inputs[0].path',
  ],
  [
    'duplicate input paths',
    () => withChange((d) => (d.inputs[1].path = 'src/build.sh')),
    'MANIFEST_INVALID',
    'inputs[1].path',
  ],
  [
    'input inside another input',
    () => withChange((d) => (d.inputs[1].path = 'src/build.sh/data.txt')),
    'MANIFEST_INVALID',
    'inputs[1].path',
  ],
  [
    'setuid input mode',
    () => withChange((d) => (d.inputs[0].mode = '4755')),
    'MANIFEST_INVALID',
    'inputs[0].mode',
  ],
  [
    'numeric input mode',
    () => withChange((d) => (d.inputs[0].mode = 493)),
    'MANIFEST_INVALID',
    'inputs[0].mode',
  ],
  [
    'oversize manifest: 300 KiB of "{"',
    () => '{'.repeat(300 * 1024),
    'MANIFEST_TOO_LARGE',
    'maxManifestBytes',
  ],
  [
    'oversize manifest as invalid UTF-8 bytes',
    () => new Uint8Array(300 * 1024).fill(0xff),
    'MANIFEST_TOO_LARGE',
    'maxManifestBytes',
  ],
  [
    'invalid UTF-8 bytes',
    () => {
      const bytes = Buffer.from(withChange((d) => (d.name = 'XX')));
      bytes[bytes.indexOf('XX')] = 0xc3;
      bytes[bytes.indexOf('X')] = 0x28;
      return new Uint8Array(bytes);
    },
    'MANIFEST_JSON',
    'not valid UTF-8',
  ],
  [
    'byte order mark',
    () => new Uint8Array(Buffer.from(`\ufeff${validText}`)),
    'MANIFEST_JSON',
    'byte order mark',
  ],
  ['trailing garbage', () => `${validText}\n{}`, 'MANIFEST_JSON', 'after the end of the JSON value'],
  ['top level is an array', () => '[]', 'MANIFEST_INVALID', '$: expected the manifest to be a JSON object'],
  [
    'unknown top-level field',
    () => withChange((d) => (d.network = true)),
    'MANIFEST_INVALID',
    'network: unknown field',
  ],
  [
    'unknown nested field',
    () => withChange((d) => (d.environment.image.tag = 'latest')),
    'MANIFEST_INVALID',
    'environment.image.tag: unknown field',
  ],
  [
    'unknown field in an input',
    () => withChange((d) => (d.inputs[0].url = 'x')),
    'MANIFEST_INVALID',
    'inputs[0].url',
  ],
  [
    'wrong schema version',
    () => withChange((d) => (d.schema = 'rbnet.manifest/v2')),
    'MANIFEST_INVALID',
    'schema',
  ],
  [
    'missing schema',
    () => withChange((d) => delete d.schema),
    'MANIFEST_INVALID',
    'schema: required field is missing',
  ],
  [
    'missing required nested field',
    () => withChange((d) => delete d.environment.hostname),
    'MANIFEST_INVALID',
    'environment.hostname: required field is missing',
  ],
  [
    'wrong type',
    () => withChange((d) => (d.build.timeLimitSeconds = '300')),
    'MANIFEST_INVALID',
    'build.timeLimitSeconds',
  ],
  [
    'environment not an object',
    () => withChange((d) => (d.environment = [])),
    'MANIFEST_INVALID',
    'environment',
  ],
  ['backend not generic', () => withChange((d) => (d.backend = 'debian')), 'MANIFEST_INVALID', 'backend'],
  ['name with capitals', () => withChange((d) => (d.name = 'Hello')), 'MANIFEST_INVALID', 'name'],
  [
    'architecture with a slash',
    () => withChange((d) => (d.architecture = 'linux/amd64')),
    'MANIFEST_INVALID',
    'architecture',
  ],
  [
    'image digest in capitals',
    () => withChange((d) => (d.environment.image.sha256 = IMAGE_SHA.toUpperCase())),
    'MANIFEST_INVALID',
    'environment.image.sha256',
  ],
  ['negative uid', () => withChange((d) => (d.environment.uid = -1)), 'MANIFEST_INVALID', 'environment.uid'],
  [
    'uid > 65535',
    () => withChange((d) => (d.environment.uid = 65536)),
    'MANIFEST_INVALID',
    'environment.uid',
  ],
  [
    'gid as string',
    () => withChange((d) => (d.environment.gid = '1000')),
    'MANIFEST_INVALID',
    'environment.gid',
  ],
  [
    'timeLimitSeconds 0',
    () => withChange((d) => (d.build.timeLimitSeconds = 0)),
    'MANIFEST_INVALID',
    'build.timeLimitSeconds',
  ],
  [
    'timeLimitSeconds above a day',
    () => withChange((d) => (d.build.timeLimitSeconds = 86_401)),
    'MANIFEST_INVALID',
    'build.timeLimitSeconds',
  ],
  [
    'bad hostname',
    () => withChange((d) => (d.environment.hostname = '-bad-')),
    'MANIFEST_INVALID',
    'environment.hostname',
  ],
  [
    'hostname with underscore',
    () => withChange((d) => (d.environment.hostname = 'a_b')),
    'MANIFEST_INVALID',
    'environment.hostname',
  ],
  [
    'hostname longer than HOST_NAME_MAX',
    () => withChange((d) => (d.environment.hostname = `${'a'.repeat(40)}.${'b'.repeat(40)}`)),
    'MANIFEST_INVALID',
    'environment.hostname',
  ],
  [
    'buildPath /',
    () => withChange((d) => (d.environment.buildPath = '/')),
    'MANIFEST_INVALID',
    'environment.buildPath',
  ],
  [
    'buildPath with ..',
    () => withChange((d) => (d.environment.buildPath = '/build/../etc')),
    'MANIFEST_INVALID',
    'environment.buildPath',
  ],
  [
    'buildPath under /proc',
    () => withChange((d) => (d.environment.buildPath = '/proc/self')),
    'MANIFEST_INVALID',
    'environment.buildPath',
  ],
  [
    'buildPath /usr',
    () => withChange((d) => (d.environment.buildPath = '/usr')),
    'MANIFEST_INVALID',
    'environment.buildPath',
  ],
  [
    'relative buildPath',
    () => withChange((d) => (d.environment.buildPath = 'build')),
    'MANIFEST_INVALID',
    'environment.buildPath',
  ],
  [
    'buildPath with trailing slash',
    () => withChange((d) => (d.environment.buildPath = '/build/')),
    'MANIFEST_INVALID',
    'environment.buildPath',
  ],
  [
    'buildPath with a space',
    () => withChange((d) => (d.environment.buildPath = '/my build')),
    'MANIFEST_INVALID',
    'environment.buildPath',
  ],
  [
    'umask "999"',
    () => withChange((d) => (d.environment.umask = '999')),
    'MANIFEST_INVALID',
    'environment.umask',
  ],
  [
    'umask as a number',
    () => withChange((d) => (d.environment.umask = 22)),
    'MANIFEST_INVALID',
    'environment.umask',
  ],
  [
    'timezone as a path',
    () => withChange((d) => (d.environment.timezone = '/etc/localtime')),
    'MANIFEST_INVALID',
    'environment.timezone',
  ],
  [
    'timezone with ..',
    () => withChange((d) => (d.environment.timezone = '../x')),
    'MANIFEST_INVALID',
    'environment.timezone',
  ],
  [
    'locale with a space',
    () => withChange((d) => (d.environment.locale = 'C UTF-8')),
    'MANIFEST_INVALID',
    'environment.locale',
  ],
  [
    'sourceDateEpoch after year 9999',
    () => withChange((d) => (d.environment.sourceDateEpoch = 253402300800)),
    'MANIFEST_INVALID',
    'environment.sourceDateEpoch',
  ],
  [
    'deep nesting (100 levels)',
    () => withChange((d) => (d.build.extra = '@@')).replace('"@@"', nestedArrays(100)),
    'MANIFEST_JSON',
    '$.build.extra',
  ],
  [
    '__proto__ key (unknown field, no pollution)',
    () => withText('{"schema"', '{"__proto__":{"polluted":true},"schema"'),
    'MANIFEST_INVALID',
    '__proto__: unknown field',
  ],
  ['outputDir "."', () => withChange((d) => (d.outputDir = '.')), 'MANIFEST_INVALID', 'outputDir'],
  [
    "outputDir equal to an input's parent",
    () => withChange((d) => (d.outputDir = 'src')),
    'MANIFEST_INVALID',
    'outputDir',
  ],
  [
    'outputDir equal to an input',
    () => withChange((d) => (d.outputDir = 'src/build.sh')),
    'MANIFEST_INVALID',
    'outputDir',
  ],
  [
    'outputDir inside an input',
    () => withChange((d) => (d.outputDir = 'src/build.sh/out')),
    'MANIFEST_INVALID',
    'outputDir',
  ],
  ['outputDir absolute', () => withChange((d) => (d.outputDir = '/out')), 'MANIFEST_INVALID', 'outputDir'],
  [
    'workingDir is an input file',
    () => withChange((d) => (d.build.workingDir = 'src/build.sh')),
    'MANIFEST_INVALID',
    'build.workingDir',
  ],
  [
    'workingDir with ..',
    () => withChange((d) => (d.build.workingDir = '..')),
    'MANIFEST_INVALID',
    'build.workingDir',
  ],
  ['empty argv', () => withChange((d) => (d.build.argv = [])), 'MANIFEST_INVALID', 'build.argv'],
  ['empty argv[1]', () => withChange((d) => (d.build.argv[1] = '')), 'MANIFEST_INVALID', 'build.argv[1]'],
  [
    'argv entry with NUL',
    () => withChange((d) => (d.build.argv[0] = '/bin/sh\u0000')),
    'MANIFEST_INVALID',
    'build.argv[0]',
  ],
  [
    'claimedOutputs not an array',
    () => withChange((d) => (d.claimedOutputs = {})),
    'MANIFEST_INVALID',
    'claimedOutputs',
  ],
  [
    'duplicate claimed output paths',
    () => withChange((d) => d.claimedOutputs.push({ path: 'hello.txt', sha256: sha256Hex('other') })),
    'MANIFEST_INVALID',
    'claimedOutputs[1].path',
  ],
  [
    'claimed output with ..',
    () => withChange((d) => (d.claimedOutputs[0].path = '../hello.txt')),
    'MANIFEST_INVALID',
    'claimedOutputs[0].path',
  ],
  ['lone surrogate escape', () => withText('"hello-deterministic"', '"\\ud800"'), 'MANIFEST_JSON', '$.name'],
  [
    'resources not an object',
    () => withChange((d) => (d.resources = [])),
    'MANIFEST_INVALID',
    'resources: expected an object',
  ],
  [
    'unknown resources field',
    () => withChange((d) => (d.resources = { minGpus: 1 })),
    'MANIFEST_INVALID',
    'resources.minGpus: unknown field',
  ],
  [
    'resources.minCores 0',
    () => withChange((d) => (d.resources = { minCores: 0 })),
    'MANIFEST_INVALID',
    'resources.minCores: expected an integer 1..1024',
  ],
  [
    'resources.minCores above 1024',
    () => withChange((d) => (d.resources = { minCores: 1025 })),
    'MANIFEST_INVALID',
    'resources.minCores',
  ],
  [
    'resources.minMemoryBytes as a string',
    () => withChange((d) => (d.resources = { minMemoryBytes: '4G' })),
    'MANIFEST_INVALID',
    'resources.minMemoryBytes: expected an integer',
  ],
  [
    'resources.minMemoryBytes negative',
    () => withChange((d) => (d.resources = { minMemoryBytes: -1 })),
    'MANIFEST_INVALID',
    'resources.minMemoryBytes',
  ],
  [
    'resources.minDiskBytes above 2^50',
    () => withChange((d) => (d.resources = { minDiskBytes: 2 ** 50 + 1 })),
    'MANIFEST_INVALID',
    'resources.minDiskBytes',
  ],
  [
    'resources.minDiskBytes null',
    () => withChange((d) => (d.resources = { minDiskBytes: null })),
    'MANIFEST_INVALID',
    'resources.minDiskBytes',
  ],
  [
    'fractional resources.minMemoryBytes',
    () => withText('"outputDir"', '"resources":{"minMemoryBytes":1.5},"outputDir"'),
    'MANIFEST_JSON',
    '$.resources.minMemoryBytes',
  ],
];

describe('parseManifest refuses malformed manifests, naming the field', () => {
  it.each(malformed)('%s', (_label, input, code, field) => {
    const err = refusal(input());
    expect(err.code).toBe(code);
    expect(err.message).toContain(field);
  });

  it('says URLs are never allowed', () => {
    for (const location of ['http://example.org/x', 'file:///x', '//host/x', 'data:,x']) {
      const err = refusal(withChange((d) => (d.inputs[0].location = location)));
      expect(err.message).toContain('URLs are never allowed');
    }
  });

  it('names both fields when a claimed output equals an input', () => {
    const err = refusal(withChange((d) => (d.claimedOutputs[0].sha256 = SCRIPT_SHA)));
    expect(err.message).toMatch(/^claimedOutputs\[0\]\.sha256 equals inputs\[0\]\.sha256: /);
  });

  it('lists the supported versions for another schema version', () => {
    const err = refusal(
      withChange((d) => {
        d.schema = 'rbnet.manifest/v2';
        d.future = 1;
      }),
    );
    expect(err.message).toContain('unsupported manifest schema "rbnet.manifest/v2"');
    expect(err.message).toContain('"rbnet.manifest/v1"');
  });

  it('states the expected umask form', () => {
    expect(refusal(withChange((d) => (d.environment.umask = '999'))).message).toBe(
      'environment.umask: expected a string of 3-4 octal digits like "0022", got "999"',
    );
  });

  it('refuses the oversize manifest before decoding or parsing it', () => {
    // 300 KiB of "{" would be a nesting error if it were parsed; the size check must win.
    const err = refusal('{'.repeat(300 * 1024));
    expect(err.message).toBe(
      `$: manifest is ${300 * 1024} bytes, more than the limit of ${256 * 1024} bytes (maxManifestBytes)`,
    );
  });

  it('counts UTF-8 bytes, not characters, for a string', () => {
    const text = withChange((d) => (d.environment.env.HOME = 'é'.repeat(2000)));
    expect(() => parseManifest(text)).not.toThrow();
    expect(() => parseManifest(text, { maxManifestBytes: text.length + 10 })).toThrow(/maxManifestBytes/);
    expect(refusalWith(text, { maxManifestBytes: text.length + 10 }).code).toBe('MANIFEST_TOO_LARGE');
  });

  it('leaves Object.prototype untouched by a __proto__ key', () => {
    refusal(withText('{"schema"', '{"__proto__":{"polluted":true},"schema"'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('honours lower limits (with the defaults, 256 KiB is reached long before 10,000 inputs)', () => {
    expect(() => parseManifest(validText, { maxInputs: 1 })).toThrow(
      /^inputs: has 2 entries, more than the limit of 1$/,
    );
    expect(() => parseManifest(validText, { maxClaimedOutputs: 0 })).toThrow(
      /^claimedOutputs: has 1 entries/,
    );
    expect(() => parseManifest(validText, { maxManifestBytes: 100 })).toThrow(ManifestError);
    expect(() => parseManifest(validText, { maxJsonDepth: 2 })).toThrow(/nesting deeper than 2/);
  });

  it('has at least 25 malformed cases', () => {
    expect(malformed.length).toBeGreaterThanOrEqual(25);
  });
});

describe('parseManifest accepts a valid manifest', () => {
  it('parses into the typed model', () => {
    const { manifest } = parseManifest(validText);
    expect(manifest).toEqual({
      schema: 'rbnet.manifest/v1',
      name: 'hello-deterministic',
      architecture: 'amd64',
      backend: 'generic',
      environment: {
        imageSha256: IMAGE_SHA,
        env: expect.objectContaining({ HOME: '/build', PATH: '/bin:/usr/bin' }),
        locale: 'C.UTF-8',
        timezone: 'UTC',
        umask: 0o022,
        uid: 1000,
        gid: 1000,
        hostname: 'rbnet-build',
        buildPath: '/build/hello',
        sourceDateEpoch: 1700000000,
      },
      inputs: [
        {
          path: 'src/build.sh',
          sha256: SCRIPT_SHA,
          location: { kind: 'path', relativePath: 'inputs/build.sh' },
          mode: 0o755,
        },
        { path: 'src/data.txt', sha256: DATA_SHA, location: { kind: 'cas', sha256: DATA_SHA }, mode: 0o644 },
      ],
      build: { argv: ['/bin/sh', 'src/build.sh'], workingDir: '.', timeLimitSeconds: 300 },
      outputDir: 'out',
      claimedOutputs: [{ path: 'hello.txt', sha256: OUTPUT_SHA }],
      resources: {},
    });
    expect(Object.keys(manifest.environment.env)).toEqual(['HOME', 'PATH']);
  });

  it('is deeply frozen', () => {
    const parsed = parseManifest(validText);
    const unfrozen: string[] = [];
    const visit = (value: unknown, path: string): void => {
      if (typeof value !== 'object' || value === null) return;
      if (!Object.isFrozen(value)) unfrozen.push(path);
      for (const [key, child] of Object.entries(value)) visit(child, `${path}.${key}`);
    };
    visit(parsed, '$');
    expect(unfrozen).toEqual([]);
    expect(() => {
      (parsed.manifest.inputs as unknown[]).push({});
    }).toThrow(TypeError);
  });

  it('digests the JCS form of the document', () => {
    const parsed = parseManifest(validText);
    expect(parsed.canonicalJson).toBe(canonicalizeJcs(JSON.parse(validText)));
    expect(parsed.manifestSha256).toBe(sha256Hex(parsed.canonicalJson));
    expect(parsed.canonicalJson).not.toMatch(/\n/);
  });

  it('gives the same digest for reordered keys and other whitespace, from a string or bytes', () => {
    const reference = parseManifest(validText);
    const reordered = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reordered);
      if (typeof value !== 'object' || value === null) return value;
      return Object.fromEntries(
        Object.entries(value)
          .reverse()
          .map(([k, v]) => [k, reordered(v)]),
      );
    };
    const text = JSON.stringify(reordered(validDoc()), null, '\t').replace(/\n/g, '\r\n');
    expect(text).not.toBe(validText);
    const again = parseManifest(new TextEncoder().encode(text));
    expect(again.manifestSha256).toBe(reference.manifestSha256);
    expect(again.canonicalJson).toBe(reference.canonicalJson);
    expect(Object.keys(again.manifest.environment.env)).toEqual(['HOME', 'PATH']);
  });

  it.each<[string, (d: Doc) => void]>([
    ['name', (d) => (d.name = 'hello-deterministic2')],
    ['environment.image.sha256', (d) => (d.environment.image.sha256 = sha256Hex('other image'))],
    ['environment.env.PATH', (d) => (d.environment.env.PATH = '/usr/bin:/bin')],
    ['environment.umask', (d) => (d.environment.umask = '0002')],
    ['environment.umask spelling', (d) => (d.environment.umask = '022')],
    ['environment.sourceDateEpoch', (d) => (d.environment.sourceDateEpoch = 1700000001)],
    ['inputs order', (d) => d.inputs.reverse()],
    ['inputs[0].mode', (d) => (d.inputs[0].mode = '0700')],
    ['build.argv[1]', (d) => (d.build.argv[1] = 'src/build2.sh')],
    ['build.timeLimitSeconds', (d) => (d.build.timeLimitSeconds = 301)],
    ['outputDir', (d) => (d.outputDir = 'dist')],
    ['claimedOutputs[0].sha256', (d) => (d.claimedOutputs[0].sha256 = sha256Hex('hello 2\n'))],
    ['resources.minCores', (d) => (d.resources = { minCores: 2 })],
  ])('changes the digest when %s changes', (_field, change) => {
    expect(parseManifest(withChange(change)).manifestSha256).not.toBe(
      parseManifest(validText).manifestSha256,
    );
  });

  it('reads resources when present, keeping only the fields written', () => {
    const { manifest } = parseManifest(
      withChange((d) => (d.resources = { minCores: 2, minMemoryBytes: 4294967296, minDiskBytes: 2 ** 50 })),
    );
    expect(manifest.resources).toEqual({ minCores: 2, minMemoryBytes: 4294967296, minDiskBytes: 2 ** 50 });
    expect(Object.isFrozen(manifest.resources)).toBe(true);
    const partial = parseManifest(withChange((d) => (d.resources = { minMemoryBytes: 1 }))).manifest;
    expect(partial.resources).toEqual({ minMemoryBytes: 1 });
    expect(Object.keys(partial.resources)).toEqual(['minMemoryBytes']);
  });

  it('reads a missing or empty resources as {}, and the digest tells them apart', () => {
    const missing = parseManifest(validText);
    const empty = parseManifest(withChange((d) => (d.resources = {})));
    expect(missing.manifest.resources).toEqual({});
    expect(empty.manifest.resources).toEqual({});
    // The digest covers the document as written, like any other defaulted field.
    expect(empty.manifestSha256).not.toBe(missing.manifestSha256);
  });

  it('defaults a missing mode to 0644 and missing claimedOutputs to []', () => {
    const { manifest } = parseManifest(withChange((d) => delete d.claimedOutputs));
    expect(manifest.claimedOutputs).toEqual([]);
    expect(manifest.inputs[1]!.mode).toBe(0o644);
  });

  it('accepts no inputs, uid 0, an empty env and edge values', () => {
    const { manifest } = parseManifest(
      withChange((d) => {
        d.inputs = [];
        d.environment.uid = 0;
        d.environment.gid = 65535;
        d.environment.env = {};
        d.environment.sourceDateEpoch = 253402300799;
        d.environment.hostname = `${'a'.repeat(63)}`;
        d.environment.timezone = 'Etc/GMT+5';
        d.environment.umask = '777';
        d.build.workingDir = 'src/sub';
        d.build.timeLimitSeconds = 86_400;
      }),
    );
    expect(manifest.environment.uid).toBe(0);
    expect(manifest.environment.umask).toBe(0o777);
  });

  it('keeps an env variable named __proto__ as data', () => {
    const { manifest } = parseManifest(withText('"HOME":"/build"', '"HOME":"/build","__proto__":"x"'));
    expect(Object.hasOwn(manifest.environment.env, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(manifest.environment.env, '__proto__')?.value).toBe('x');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('allows an empty input file and an empty claimed output (copying nothing proves nothing)', () => {
    const text = withChange((d) => {
      d.inputs.push({ path: 'src/empty', sha256: EMPTY_SHA, location: 'inputs/empty' });
      d.claimedOutputs.push({ path: 'empty', sha256: EMPTY_SHA });
    });
    expect(parseManifest(text).manifest.claimedOutputs).toHaveLength(2);
  });

  it('exposes frozen defaults', () => {
    expect(defaultManifestLimits).toEqual({
      maxManifestBytes: 262_144,
      maxJsonDepth: 16,
      maxInputs: 10_000,
      maxClaimedOutputs: 100_000,
    });
    expect(Object.isFrozen(defaultManifestLimits)).toBe(true);
  });
});

// A small subset of JSON Schema 2020-12, enough to hold manifest.schema.json to the parser without a dependency.
// biome-ignore lint/suspicious/noExplicitAny: a schema is walked generically, keyword by keyword.
type SchemaNode = Record<string, any>;
type Schema = SchemaNode | boolean;

function schemaErrors(schema: Schema, value: unknown, root: SchemaNode, path = '$'): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: not allowed`];
  const errors: string[] = [];
  const s = schema;
  if (s.$ref !== undefined) {
    const target = (s.$ref as string).replace('#/$defs/', '');
    errors.push(...schemaErrors(root.$defs[target], value, root, path));
  }
  if ('const' in s && value !== s.const) errors.push(`${path}: expected ${JSON.stringify(s.const)}`);
  if (s.enum !== undefined && !s.enum.includes(value)) errors.push(`${path}: not in enum`);
  if (s.type !== undefined) {
    const actual = Array.isArray(value)
      ? 'array'
      : value === null
        ? 'null'
        : Number.isInteger(value)
          ? 'integer'
          : typeof value;
    if (actual !== s.type && !(s.type === 'number' && actual === 'integer'))
      errors.push(`${path}: expected ${s.type}`);
  }
  if (typeof value === 'string') {
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) errors.push(`${path}: pattern`);
    if (s.minLength !== undefined && [...value].length < s.minLength) errors.push(`${path}: minLength`);
    if (s.maxLength !== undefined && [...value].length > s.maxLength) errors.push(`${path}: maxLength`);
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) errors.push(`${path}: minimum`);
    if (s.maximum !== undefined && value > s.maximum) errors.push(`${path}: maximum`);
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) errors.push(`${path}: minItems`);
    if (s.maxItems !== undefined && value.length > s.maxItems) errors.push(`${path}: maxItems`);
    if (s.items !== undefined) {
      for (const [i, v] of value.entries()) errors.push(...schemaErrors(s.items, v, root, `${path}[${i}]`));
    }
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of s.required ?? []) if (!(key in record)) errors.push(`${path}.${key}: required`);
    if (s.maxProperties !== undefined && Object.keys(record).length > s.maxProperties)
      errors.push(`${path}: maxProperties`);
    for (const [key, v] of Object.entries(record)) {
      if (s.propertyNames !== undefined)
        errors.push(...schemaErrors(s.propertyNames, key, root, `${path}.${key} (name)`));
      // hasOwn, not a lookup: a "__proto__" key must not find Object.prototype as its schema.
      if (s.properties !== undefined && Object.hasOwn(s.properties, key))
        errors.push(...schemaErrors(s.properties[key], v, root, `${path}.${key}`));
      else if (s.additionalProperties !== undefined)
        errors.push(...schemaErrors(s.additionalProperties, v, root, `${path}.${key}`));
    }
  }
  if (s.allOf !== undefined) for (const sub of s.allOf) errors.push(...schemaErrors(sub, value, root, path));
  if (
    s.anyOf !== undefined &&
    !s.anyOf.some((sub: Schema) => schemaErrors(sub, value, root, path).length === 0)
  ) {
    errors.push(`${path}: anyOf`);
  }
  if (s.not !== undefined && schemaErrors(s.not, value, root, path).length === 0) errors.push(`${path}: not`);
  return errors;
}

describe('docs/manifest.md', () => {
  const markdown = readFileSync(new URL('../../docs/manifest.md', import.meta.url), 'utf8');
  const example = /```json\n([\s\S]*?)```/.exec(markdown)?.[1] ?? '';

  it('shows an example that parses to the digest the page states', () => {
    const parsed = parseManifest(example);
    expect(markdown).toContain(`\`${parsed.manifestSha256}\``);
  });

  it('quotes the strict-JSON error the example gives with "uid": 1000.0', () => {
    const err = refusal(example.replace('"uid": 1000', '"uid": 1000.0'));
    expect(markdown).toContain(err.message);
  });
});

describe('manifest.schema.json', () => {
  const schemaText = readFileSync(new URL('./manifest.schema.json', import.meta.url), 'utf8');
  const schema = JSON.parse(schemaText) as SchemaNode;

  it('is JSON Schema 2020-12 whose patterns compile as Unicode regular expressions', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const patterns = [...schemaText.matchAll(/"pattern": ("(?:[^"\\]|\\.)*")/g)].map(
      (m) => JSON.parse(m[1]!) as string,
    );
    expect(patterns.length).toBeGreaterThan(10);
    for (const pattern of patterns) expect(() => new RegExp(pattern, 'u')).not.toThrow();
  });

  it('requires the same top-level keys the valid example has, and allows no others', () => {
    const optional = ['claimedOutputs', 'resources'];
    const topLevel = [...new Set([...Object.keys(validDoc()), ...optional])].sort();
    expect(schema.additionalProperties).toBe(false);
    expect([...schema.required, ...optional].sort()).toEqual(topLevel);
    expect(Object.keys(schema.properties).sort()).toEqual(topLevel);
    expect(Object.keys(schema.$defs.resources.properties).sort()).toEqual([
      'minCores',
      'minDiskBytes',
      'minMemoryBytes',
    ]);
    expect([...schema.$defs.environment.required].sort()).toEqual(Object.keys(validDoc().environment).sort());
  });

  it('accepts the valid example and its edge values', () => {
    expect(schemaErrors(schema, validDoc(), schema)).toEqual([]);
    const edge = validDoc();
    edge.environment.umask = '777';
    edge.environment.hostname = 'a'.repeat(63);
    edge.build.workingDir = 'src/sub';
    edge.resources = { minCores: 1024, minMemoryBytes: 2 ** 50, minDiskBytes: 1 };
    expect(schemaErrors(schema, edge, schema)).toEqual([]);
    expect(() => parseManifest(JSON.stringify(edge))).not.toThrow();
  });

  // Every single-field case the parser refuses with MANIFEST_INVALID, except the rules that relate fields.
  const relational = new Set([
    'cas location whose hex differs from sha256',
    'input digest equal to a claimed output digest',
    'duplicate input paths',
    'input inside another input',
    "outputDir equal to an input's parent",
    'outputDir equal to an input',
    'outputDir inside an input',
    'workingDir is an input file',
    'duplicate claimed output paths',
  ]);
  const singleField = malformed.filter(
    ([label, , code]) => code === 'MANIFEST_INVALID' && !relational.has(label),
  );

  it.each(singleField)('refuses what the parser refuses: %s', (_label, input) => {
    const doc = JSON.parse(input() as string);
    expect(schemaErrors(schema, doc, schema)).not.toEqual([]);
  });
});
