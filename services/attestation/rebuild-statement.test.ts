// Tests for composing and signing the rebuild statement.
import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../digest.ts';
import { AttestationError } from '../errors.ts';
import type { ParsedManifest } from '../manifest/manifest.ts';
import { preAuthEncoding } from './dsse.ts';
import { parseRebuildStatement } from './parse-rebuild-statement.ts';
import {
  inputDependencyUri,
  inputPathFromUri,
  isSafeRelativePath,
  type RebuildFacts,
} from './rebuild-statement.ts';
import { composeRebuildStatement, signRebuildStatement } from './sign-rebuild-statement.ts';
import { Ed25519FileSigner } from './signer.ts';

const digest = (label: string) => sha256Hex(label);

// Built by hand: the manifest parser is written elsewhere, and only these fields are read.
const manifest = {
  manifest: { name: 'hello', schema: 'rbnet.manifest/v1' },
  manifestSha256: digest('manifest'),
  canonicalJson: '{}',
} as unknown as ParsedManifest;

function facts(overrides: Partial<RebuildFacts> = {}): RebuildFacts {
  return {
    manifest,
    outputs: [
      { path: 'out/hello_1.0_amd64.deb', sha256: digest('deb'), sizeBytes: 2048 },
      { path: 'hello', sha256: digest('bin'), sizeBytes: 16 },
    ],
    environment: { imageSha256: digest('image'), origin: 'built-locally', recipe: 'debian-bookworm-2025' },
    inputs: [
      { path: 'src/hello 1.0.tar.gz', sha256: digest('src') },
      { path: 'build.sh', sha256: digest('sh') },
    ],
    log: { sha256: digest('log'), sizeBytes: 512, truncated: false },
    worker: { id: 'w1', operator: 'acme', builderUri: 'https://rbnet.dev/worker/acme/w1' },
    timing: { startedOn: new Date('2025-01-31T12:00:00Z'), finishedOn: new Date('2025-01-31T12:01:30Z') },
    host: {
      kernelVersion: '6.1.0-18-amd64',
      cpuCount: 2,
      engineVersion: '20.10.24',
      storageDriver: 'btrfs',
      clockUtc: '2025-01-31T12:00:00.000Z',
      rbnetVersion: '0.1.0',
    },
    job: { jobId: 'job-42', attempt: 1, nonce: 'n0nce' },
    ...overrides,
  };
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AttestationError);
    expect((error as AttestationError).code).toBe('STATEMENT_INVALID');
    return (error as AttestationError).message;
  }
  throw new Error('expected a throw');
}

describe('composeRebuildStatement', () => {
  it('composes the documented statement', () => {
    const statement = composeRebuildStatement(facts());
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [
        { name: 'hello', digest: { sha256: digest('bin') } },
        { name: 'out/hello_1.0_amd64.deb', digest: { sha256: digest('deb') } },
      ],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: {
          buildType: 'https://rbnet.dev/rebuild/v1',
          externalParameters: {
            manifest: { name: 'hello', digest: { sha256: digest('manifest') } },
            manifestDigest: `sha256:${digest('manifest')}`,
            jobId: 'job-42',
            attempt: 1,
            nonce: 'n0nce',
          },
          internalParameters: {
            worker: { id: 'w1', operator: 'acme' },
            host: facts().host,
            outputSizes: { hello: 16, 'out/hello_1.0_amd64.deb': 2048 },
          },
          resolvedDependencies: [
            {
              uri: 'rbnet:environment',
              digest: { sha256: digest('image') },
              annotations: { origin: 'built-locally', recipe: 'debian-bookworm-2025' },
            },
            { uri: 'rbnet:input/build.sh', digest: { sha256: digest('sh') } },
            { uri: 'rbnet:input/src/hello%201.0.tar.gz', digest: { sha256: digest('src') } },
          ],
        },
        runDetails: {
          builder: { id: 'https://rbnet.dev/worker/acme/w1', version: { rbnet: '0.1.0' } },
          metadata: {
            invocationId: 'job-42',
            startedOn: '2025-01-31T12:00:00.000Z',
            finishedOn: '2025-01-31T12:01:30.000Z',
          },
          byproducts: [
            {
              name: 'build.log',
              digest: { sha256: digest('log') },
              annotations: { sizeBytes: 512, truncated: false },
            },
          ],
        },
      },
    });
  });

  it('is deeply frozen, and parsing its JSON gives back the same JSON', () => {
    const statement = composeRebuildStatement(facts());
    expect(Object.isFrozen(statement.predicate.buildDefinition.resolvedDependencies[0].annotations)).toBe(
      true,
    );
    const json = JSON.stringify(statement);
    expect(JSON.stringify(parseRebuildStatement(JSON.parse(json)))).toBe(json);
  });

  it('without a job, leaves job fields out and invents an invocationId', () => {
    const { job: _job, ...local } = facts();
    const { recipe: _recipe, ...environment } = local.environment;
    const statement = composeRebuildStatement({
      ...local,
      environment: { ...environment, origin: 'fetched' },
    });
    expect(Object.keys(statement.predicate.buildDefinition.externalParameters)).toEqual([
      'manifest',
      'manifestDigest',
    ]);
    expect(statement.predicate.runDetails.metadata.invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(statement.predicate.buildDefinition.resolvedDependencies[0].annotations).toEqual({
      origin: 'fetched',
    });
  });

  it('keeps a path named __proto__ as data', () => {
    const statement = composeRebuildStatement(
      facts({ outputs: [{ path: '__proto__', sha256: digest('p'), sizeBytes: 3 }] }),
    );
    const sizes = statement.predicate.buildDefinition.internalParameters.outputSizes;
    expect(Object.hasOwn(sizes, '__proto__')).toBe(true);
    expect(JSON.stringify(sizes)).toBe('{"__proto__":3}');
  });

  it('signs where a Debian source came from, and reads it back', () => {
    const source = { name: 'hello', version: '2.10-3', origin: 'archive', dscSha256: digest('dsc') } as const;
    const debian = { imageSha256: digest('img'), extraPackages: [], packageCount: 40, source };
    const statement = composeRebuildStatement(facts({ debian }));
    expect(statement.predicate.buildDefinition.internalParameters.debian?.source).toEqual(source);
    const parsed = parseRebuildStatement(JSON.parse(JSON.stringify(statement)));
    expect(parsed.predicate.buildDefinition.internalParameters.debian?.source).toEqual(source);
  });

  it.each([
    ['an origin other than archive or uploaded', { origin: 'mirror' }, /debian\.source\.origin/],
    ['a source name that is no Debian package name', { name: 'Hello World' }, /debian\.source\.name/],
    ['a version that is no Debian version', { version: 'v2.10' }, /debian\.source\.version/],
    ['a .dsc digest that is not sha256 hex', { dscSha256: 'XYZ' }, /debian\.source\.dscSha256/],
  ] as [string, Record<string, unknown>, RegExp][])(
    'refuses a Debian source with %s',
    (_label, change, message) => {
      const source = {
        name: 'hello',
        version: '2.10-3',
        origin: 'archive',
        dscSha256: digest('dsc'),
        ...change,
      };
      const debian = { imageSha256: digest('img'), extraPackages: [], packageCount: 40, source };
      expect(refusal(() => composeRebuildStatement(facts({ debian } as Partial<RebuildFacts>)))).toMatch(
        message,
      );
    },
  );

  it.each([
    ['no outputs', { outputs: [] }, /subject is empty/],
    [
      'an absolute output path',
      { outputs: [{ path: '/etc/passwd', sha256: digest('x'), sizeBytes: 1 }] },
      /safe relative path/,
    ],
    [
      'a .. output path',
      { outputs: [{ path: 'a/../b', sha256: digest('x'), sizeBytes: 1 }] },
      /safe relative path/,
    ],
    [
      'duplicate output paths',
      {
        outputs: [
          { path: 'a', sha256: digest('x'), sizeBytes: 1 },
          { path: 'a', sha256: digest('y'), sizeBytes: 1 },
        ],
      },
      /appears more than once/,
    ],
    [
      'a bad output digest',
      { outputs: [{ path: 'a', sha256: 'ABC' as Sha256Hex, sizeBytes: 1 }] },
      /subject\[0\]\.digest\.sha256/,
    ],
    [
      'a negative size',
      { outputs: [{ path: 'a', sha256: digest('x'), sizeBytes: -1 }] },
      /outputSizes\["a"\]/,
    ],
    [
      'an unsafe input path',
      { inputs: [{ path: '../x', sha256: digest('x') }] },
      /resolvedDependencies\[1\]\.uri/,
    ],
    [
      'finishedOn before startedOn',
      {
        timing: { startedOn: new Date('2025-01-02T00:00:00Z'), finishedOn: new Date('2025-01-01T00:00:00Z') },
      },
      /is before startedOn/,
    ],
    [
      'an invalid Date',
      { timing: { startedOn: new Date(Number.NaN), finishedOn: new Date() } },
      /timing\.startedOn/,
    ],
    ['an empty worker id', { worker: { id: '', operator: 'acme', builderUri: 'https://x/' } }, /worker\.id/],
    [
      'a builder id that is not a URI',
      { worker: { id: 'w', operator: 'acme', builderUri: 'w1' } },
      /builder\.id/,
    ],
    ['a fractional attempt', { job: { jobId: 'j', attempt: 1.5, nonce: 'n' } }, /attempt/],
  ] as [string, Partial<RebuildFacts>, RegExp][])('refuses %s', (_label, overrides, message) => {
    expect(refusal(() => composeRebuildStatement(facts(overrides)))).toMatch(message);
  });
});

describe('Debian parameters: where each package came from', () => {
  const release = digest('InRelease');
  const debian = {
    imageSha256: digest('layer'),
    extraPackages: ['fakeroot:amd64=1.31-1.2'],
    packageCount: 3,
    packageSources: [
      {
        from: 'mirror' as const,
        archive: 'http://deb.debian.org/debian',
        suite: 'bookworm',
        releaseSha256: release,
        packages: ['fakeroot:amd64=1.31-1.2', 'libc6:amd64=2.36-9+deb12u13'],
      },
      {
        from: 'snapshot' as const,
        archive: 'https://snapshot.debian.org/archive/debian/20250101T000000Z',
        suite: 'bookworm',
        releaseSha256: digest('old InRelease'),
        snapshotTimestamp: '20250101T000000Z',
        packages: ['linux-libc-dev:amd64=6.1.192-2'],
      },
    ],
  };

  it('records the groups beside the identity and parses them back', () => {
    const statement = composeRebuildStatement(facts({ debian }));
    expect(statement.predicate.buildDefinition.internalParameters.debian?.packageSources).toEqual(
      debian.packageSources,
    );
    const json = JSON.stringify(statement);
    expect(JSON.stringify(parseRebuildStatement(JSON.parse(json)))).toBe(json);
  });

  it.each([
    ['an unknown origin', { from: 'cache' }, /packageSources\[1\]\.from/],
    ['a snapshot without its timestamp', { snapshotTimestamp: undefined }, /snapshotTimestamp is required/],
    ['a malformed timestamp', { snapshotTimestamp: '2025-01-01' }, /snapshotTimestamp/],
    ['an archive that is not a URI', { archive: 'snapshot' }, /packageSources\[1\]\.archive/],
    ['a bad release digest', { releaseSha256: 'abc' }, /releaseSha256/],
    ['a package label without a version', { packages: ['linux-libc-dev:amd64'] }, /name:arch=version/],
    ['a package named twice', { packages: ['libc6:amd64=2.36-9+deb12u13'] }, /more than once/],
    ['no packages', { packages: [] }, /at least one package/],
  ] as [string, Record<string, unknown>, RegExp][])('refuses %s', (_label, change, message) => {
    const statement = JSON.parse(JSON.stringify(composeRebuildStatement(facts({ debian }))));
    const groups = statement.predicate.buildDefinition.internalParameters.debian.packageSources;
    groups[1] = { ...groups[1], ...change };
    if ('snapshotTimestamp' in change && change.snapshotTimestamp === undefined)
      delete groups[1].snapshotTimestamp;
    expect(refusal(() => parseRebuildStatement(statement))).toMatch(message);
  });
});

describe('input dependency URIs', () => {
  it('percent-encodes segments and decodes only the canonical spelling', () => {
    expect(inputDependencyUri('src/a b#1.tar')).toBe('rbnet:input/src/a%20b%231.tar');
    expect(inputPathFromUri('rbnet:input/src/a%20b%231.tar')).toBe('src/a b#1.tar');
    expect(inputPathFromUri('rbnet:input/src/a b')).toBeUndefined();
    expect(inputPathFromUri('rbnet:input/%2e%2e/x')).toBeUndefined();
    expect(inputPathFromUri('rbnet:input/a%2Fb')).toBeUndefined();
    expect(inputPathFromUri('rbnet:input/%E0%A4%A')).toBeUndefined();
  });

  it('isSafeRelativePath', () => {
    for (const ok of ['a', 'a/b.c', '.hidden', 'a..b']) expect(isSafeRelativePath(ok)).toBe(true);
    for (const bad of ['', '/a', 'a/', 'a//b', './a', 'a/..', 'a\\b', 'a\nb', 'x'.repeat(4097)]) {
      expect(isSafeRelativePath(bad)).toBe(false);
    }
  });
});

describe('signRebuildStatement', () => {
  it('signs JSON.stringify(statement) under the in-toto payloadType', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signer = Ed25519FileSigner.fromKeyObject(privateKey);
    const signed = await signRebuildStatement(facts(), signer);
    expect(signed.envelope.payloadType).toBe('application/vnd.in-toto+json');
    const payload = Buffer.from(signed.envelope.payload, 'base64');
    expect(payload.toString('utf8')).toBe(JSON.stringify(signed.statement));
    expect(signed.envelope.signatures).toHaveLength(1);
    const [signature] = signed.envelope.signatures;
    expect(signature?.keyid).toBe(signer.keyid);
    const pae = preAuthEncoding('application/vnd.in-toto+json', payload);
    expect(verify(null, pae, publicKey, Buffer.from(signature!.sig, 'base64'))).toBe(true);
    expect(JSON.parse(signed.envelopeJson)).toEqual(signed.envelope);
    expect(Object.isFrozen(signed.envelope.signatures[0])).toBe(true);
  });

  it('never calls the signer for facts our verifier would refuse', async () => {
    let calls = 0;
    const signer = {
      keyid: 'k',
      sign: async () => {
        calls++;
        return new Uint8Array(64);
      },
    };
    await expect(signRebuildStatement(facts({ outputs: [] }), signer)).rejects.toThrow(/subject is empty/);
    expect(calls).toBe(0);
  });
});
