// The `rbnet` entry users run (bin/rbnet.mjs): it starts the compiled JavaScript, loads a command's
// module only when that command runs, and refuses a dist/ that is missing or older than the sources.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STAMP_PATH, sourceFingerprint } from '../bin/build-stamp.mjs';

const REPO_ROOT = resolve(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'rbnet-entry-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(
  entry: string,
  args: readonly string[],
  options: { nodeArgs?: readonly string[]; env?: Record<string, string> } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), entry, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

let logCount = 0;
/** The modules `rbnet ARGS` loads through the ES module loader (test/support/record-loads.mjs). */
async function modulesLoadedBy(args: readonly string[]): Promise<{ code: number | null; urls: string[] }> {
  const log = join(scratch, `loads-${++logCount}.txt`);
  writeFileSync(log, '');
  const result = await run(join(REPO_ROOT, 'bin', 'rbnet.mjs'), args, {
    nodeArgs: ['--import', join(REPO_ROOT, 'test', 'support', 'record-loads.mjs')],
    env: { RBNET_LOAD_LOG: log },
  });
  return { code: result.code, urls: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

describe('rbnet as a process starts light', () => {
  for (const args of [['--version'], ['--help']]) {
    it(`\`rbnet ${args.join(' ')}\` runs dist/ and loads no package and no command module`, async () => {
      const { code, urls } = await modulesLoadedBy(args);
      expect(code).toBe(0);
      expect(urls).toContain(`file://${REPO_ROOT}/dist/cli/rbnet.js`);
      expect(urls.filter((url) => url.includes('/node_modules/'))).toEqual([]);
      expect(urls.filter((url) => url.includes('/cli/commands/'))).toEqual([]);
      expect(urls.filter((url) => url.endsWith('.ts'))).toEqual([]);
    });
  }

  it('`rbnet manifest check` loads its own command module, not those of the others', async () => {
    const { code, urls } = await modulesLoadedBy([
      'manifest',
      'check',
      join(REPO_ROOT, 'samples', 'hello', 'manifest.json'),
    ]);
    expect(code).toBe(0);
    expect(urls.filter((url) => url.includes('/cli/commands/'))).toEqual([
      `file://${REPO_ROOT}/dist/cli/commands/manifest-check-command.js`,
    ]);
    expect(
      urls.filter((url) => /\/node_modules\/(bullmq|ioredis|dockerode|better-sqlite3|hono)\//.test(url)),
    ).toEqual([]);
  });
});

describe('bin/rbnet.mjs refuses to run a dist/ that does not match the sources', () => {
  /** A tree shaped like the repository: the real entry, two sources, a dist/ whose main echoes its argv. */
  function fakeInstall(): string {
    const root = mkdtempSync(join(scratch, 'install-'));
    cpSync(join(REPO_ROOT, 'bin'), join(root, 'bin'), { recursive: true });
    const files: Record<string, string> = {
      'services/a.ts': 'export const a = 1;\n',
      'worker/w.ts': 'export const w = 1;\n',
      'coordinator/c.ts': 'export const c = 1;\n',
      'cli/rbnet.ts': 'export const main = 1;\n',
      'cli/rbnet.test.ts': 'export const test = 1;\n',
      'tsconfig.json': '{}\n',
      'tsconfig.build.json': '{}\n',
      'dist/cli/rbnet.js':
        "export async function main(argv) { process.stdout.write('ran ' + argv.join(' ') + '\\n'); return 0; }\n",
    };
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    return root;
  }
  const stamp = (root: string) =>
    writeFileSync(join(root, STAMP_PATH), JSON.stringify(sourceFingerprint(root)));
  const entry = (root: string) => join(root, 'bin', 'rbnet.mjs');

  it('runs a dist/ stamped after the sources', async () => {
    const root = fakeInstall();
    stamp(root);
    const result = await run(entry(root), ['--version']);
    expect(result).toMatchObject({ code: 0, stdout: 'ran --version\n' });
  });

  it('no completed build: exit 1 with NOT_BUILT and the command that fixes it', async () => {
    const root = fakeInstall();
    const result = await run(entry(root), ['--version']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('[NOT_BUILT]: dist/ holds no completed build');
    expect(result.stderr).toContain('npm run build');
  });

  it('a source changed after the build: names it', async () => {
    const root = fakeInstall();
    stamp(root);
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'worker', 'w.ts'), later, later);
    const result = await run(entry(root), ['--version']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[NOT_BUILT]: worker/w.ts changed after the last build of dist/');
  });

  it('a source added or removed since the build (mtimes aside): refuses; a test file does not count', async () => {
    const root = fakeInstall();
    stamp(root);
    const past = new Date(Date.now() - 3_600_000);
    writeFileSync(join(root, 'cli', 'other.test.ts'), 'export {};\n');
    utimesSync(join(root, 'cli'), past, past);
    expect((await run(entry(root), ['--version'])).code).toBe(0);
    rmSync(join(root, 'services', 'a.ts'));
    utimesSync(join(root, 'services'), past, past);
    const result = await run(entry(root), ['--version']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the sources changed since the last build (4 files then, 3 now)');
  });
});
