// A worker's backends: picked by name at start-up, a manifest goes to the backend it names, an unknown
// name is refused, and the Debian backend's code is loaded only by a worker that runs it.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RbnetError } from '../../services/errors.ts';
import type { AnyParsedManifest } from '../../services/manifest/parse-any-manifest.ts';
import {
  type BackendJob,
  type BackendOutcome,
  checkBackendNames,
  type RebuildBackend,
  rebuildBackendsOf,
} from './rebuild-backend.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** A backend we own that records what it was asked to build. */
function recordingBackend<K extends 'generic' | 'debian'>(name: K, seen: string[]): RebuildBackend<K> {
  return {
    name,
    async rebuild(parsed, job): Promise<BackendOutcome> {
      seen.push(`${name}:${parsed.kind}:${job.outDir}`);
      return { kind: 'unavailable', reason: 'environment-unavailable', detail: name };
    },
  };
}

const job: BackendJob = {
  inputs: { open: async () => Promise.reject(new Error('no inputs')) },
  outDir: '/out',
};
const generic = { kind: 'generic' } as AnyParsedManifest;
const debian = { kind: 'debian' } as AnyParsedManifest;

describe('rebuild backends', () => {
  it('hands a manifest to the backend it names', async () => {
    const seen: string[] = [];
    const backends = rebuildBackendsOf([recordingBackend('generic', seen), recordingBackend('debian', seen)]);
    expect(backends.names).toEqual(['generic', 'debian']);
    await backends.forManifest(debian)!(job);
    await backends.forManifest(generic)!(job);
    expect(seen).toEqual(['debian:debian:/out', 'generic:generic:/out']);
  });

  it('has no rebuild for a manifest whose backend this worker does not run', () => {
    const backends = rebuildBackendsOf([recordingBackend('generic', [])]);
    expect(backends.forManifest(debian)).toBeUndefined();
    expect(backends.forManifest(generic)).toBeTypeOf('function');
  });

  it('takes each known name once and refuses an unknown one, naming it', () => {
    expect(checkBackendNames(['debian', 'generic', 'debian'])).toEqual(['debian', 'generic']);
    const refusal = (() => {
      try {
        checkBackendNames(['generic', 'rpm']);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(RbnetError);
    expect((refusal as RbnetError).code).toBe('CONFIG_INVALID');
    expect((refusal as RbnetError).message).toContain('"rpm"');
  });
});

describe('loading backends', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rbnet-backends-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Loads `names` in a fresh Node process and lists the repository modules it loaded. */
  async function modulesLoadedFor(names: readonly string[]): Promise<string[]> {
    const hooks = join(dir, 'hooks.mjs');
    await writeFile(
      hooks,
      `export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  if (r.url.startsWith(${JSON.stringify(pathToFileURL(REPO_ROOT).href)})) process.stderr.write('LOADED ' + r.url + '\\n');
  return r;
}\n`,
    );
    const script = join(dir, `load-${names.join('-')}.mjs`);
    await writeFile(
      script,
      `import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const { loadWorkerConfig } = await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'worker/worker-config.ts')).href)});
const { loadRebuildBackends } = await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'worker/backends/load-rebuild-backends.ts')).href)});
const config = loadWorkerConfig({ env: { RBNET_STATE_DIR: ${JSON.stringify(dir)} } });
const context = { stateDir: config.stateDir, docker: {}, sandbox: {}, identity: { id: 'w1' }, logger: { child: () => context.logger } };
const backends = await loadRebuildBackends(${JSON.stringify(names)}, { context, debian: config.debian });
console.log(JSON.stringify(backends.names));\n`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(names);
    return run.stderr
      .split('\n')
      .filter((line) => line.startsWith('LOADED '))
      .map((line) => line.slice('LOADED '.length).slice(pathToFileURL(REPO_ROOT).href.length + 1));
  }

  it('a generic-only worker never loads the Debian backend or anything under worker/debian/', async () => {
    const loaded = await modulesLoadedFor(['generic']);
    expect(loaded).toContain('worker/backends/generic-backend.ts');
    expect(
      // The statement format's Debian parameters (services/attestation/) are shared parsing, not the backend.
      loaded.filter(
        (path) => path.startsWith('worker/debian/') || path === 'worker/backends/debian-rebuild-backend.ts',
      ),
    ).toEqual([]);
  });

  it('a worker that runs the debian backend loads it', async () => {
    const loaded = await modulesLoadedFor(['generic', 'debian']);
    expect(loaded).toContain('worker/backends/debian-rebuild-backend.ts');
    expect(loaded).toContain('worker/debian/rebuild-debian.ts');
  });
});
