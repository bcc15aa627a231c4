// The build context: a stored manifest is parsed once per digest and its backend bound once; what
// each backend says about a build; and no other part of the coordinator asks which kind a build is.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { parseAnyManifest } from '../../services/manifest/parse-any-manifest.ts';
import { buildContextOf, buildContextOfParsed } from './build-context.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const HELLO = readFileSync(join(REPO_ROOT, 'samples', 'hello', 'manifest.json'), 'utf8');

function debianManifest(version: string) {
  return parseAnyManifest(
    JSON.stringify({
      schema: 'rbnet.debian/v1',
      name: 'hello',
      version,
      architecture: 'amd64',
      backend: 'debian',
      buildinfoSha256: sha256Hex(`hello_${version}_amd64.buildinfo`),
      source: { from: 'archive' },
      claimedOutputs: [],
      timeLimitSeconds: 600,
    }),
  );
}

describe('buildContextOf', () => {
  it('parses a stored manifest once per digest and binds its backend once', () => {
    const parsed = parseAnyManifest(HELLO);
    const stored = { manifestSha256: parsed.manifestSha256, manifestJson: parsed.canonicalJson };
    const first = buildContextOf(stored);
    // Another build of the same manifest, or the same one decided again: the same context.
    expect(buildContextOf({ ...stored })).toBe(first);
    expect(buildContextOfParsed(parseAnyManifest(HELLO))).toBe(first);
    expect(first.manifest.manifestSha256).toBe(parsed.manifestSha256);
  });

  it('binds the generic backend to what the manifest pins, the Debian backend to its .buildinfo', () => {
    const generic = buildContextOfParsed(parseAnyManifest(HELLO));
    if (generic.manifest.kind !== 'generic') throw new Error('hello is a generic manifest');
    const { manifest } = generic.manifest;
    expect(generic.backend.name).toBe('generic');
    expect(generic.backend.expectedInputs).toEqual({
      environmentSha256: manifest.environment.imageSha256,
      inputs: manifest.inputs.map((i) => ({ path: i.path, sha256: i.sha256 })),
    });
    expect(generic.backend.failureEnvironmentSha256).toBe(manifest.environment.imageSha256);
    expect(generic.backend.needs).toEqual({
      resources: manifest.resources,
      timeLimitSeconds: manifest.build.timeLimitSeconds,
    });

    const debian = buildContextOfParsed(debianManifest('2.10-3'));
    expect(debian.backend.name).toBe('debian');
    // Each worker resolves the environment from the .buildinfo: results are compared with each other.
    expect(debian.backend.expectedInputs).toBeUndefined();
    expect(debian.backend.failureEnvironmentSha256).toBe(
      sha256Hex('hello_2.10-3_amd64.buildinfo') as Sha256Hex,
    );
    expect(debian.backend.needs.timeLimitSeconds).toBe(600);
  });
});

describe('backends are picked in one place', () => {
  /** Non-test TypeScript files under `dir`, relative to the repository. */
  function sources(dir: string): string[] {
    return readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((path) => path.endsWith('.ts') && !path.endsWith('.test.ts'))
      .map((path) => relative(REPO_ROOT, join(REPO_ROOT, dir, path)));
  }

  it('no file in coordinator/ outside coordinator/backends/ switches on a manifest kind or backend name', () => {
    const SWITCH =
      /\b(?:kind|backend)\s*[!=]==?\s*'(?:generic|debian)'|'(?:generic|debian)'\s*[!=]==?\s*[\w.]*(?:kind|backend)\b/;
    const found = sources('coordinator')
      .filter((path) => !path.startsWith('coordinator/backends/'))
      .flatMap((path) =>
        readFileSync(join(REPO_ROOT, path), 'utf8')
          .split('\n')
          .map((line, i) => ({ path, line: i + 1, text: line.trim() }))
          .filter(({ text }) => SWITCH.test(text)),
      )
      .map(({ path, line, text }) => `${path}:${line}: ${text}`);
    expect(found, found.join('\n')).toEqual([]);
  });
});
