#!/usr/bin/env node
// `npm run build` (and npm's `prepare`, so `npm ci` builds too): compiles services/, worker/,
// coordinator/ and cli/ with tsc into dist/, which is what `rbnet` (bin/rbnet.mjs) runs.
//
// The new tree is compiled beside the old one and swapped in only when complete, under a lock, so
// several callers at once (a test run, the demo) never see a half-written dist/ and build only once.
// Type checking is not this script's job (`npm run typecheck`, `npm test`): tsc emits with --noCheck.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { DIST_DIR, distProblem, STAMP_PATH, sourceFingerprint } from '../bin/build-stamp.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const WORK_DIR = join(ROOT, '.rbnet');
const LOCK_PATH = join(WORK_DIR, 'dist-build.lock');
const LOCK_WAIT_MS = 10 * 60_000;
const LOCK_POLL_MS = 200;

function usage() {
  return `Usage: node infra/build-dist.mjs [--if-stale]    (normally: npm run build)

Compiles the TypeScript sources into dist/ (tsc -p tsconfig.build.json) and writes
dist/.build-stamp.json, which bin/rbnet.mjs checks at every start.
  --if-stale   do nothing when dist/ already matches the sources`;
}

function log(message) {
  process.stderr.write(`[build-dist] ${message}\n`);
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Takes .rbnet/dist-build.lock (O_EXCL); waits while a live builder holds it, takes over a dead one's. */
async function acquireLock() {
  mkdirSync(WORK_DIR, { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(LOCK_PATH, 'wx', 0o644);
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(readFileSync(LOCK_PATH, 'utf8').trim(), 10);
    if (!Number.isInteger(holder) || !pidAlive(holder)) {
      rmSync(LOCK_PATH, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${LOCK_PATH} still held by pid ${holder}`);
    if (!announced) log(`waiting for the build of pid ${holder}`);
    announced = true;
    await new Promise((done) => setTimeout(done, LOCK_POLL_MS));
  }
}

function releaseLock() {
  rmSync(LOCK_PATH, { force: true });
}

function tscPath() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch (cause) {
    throw new Error('the TypeScript compiler is not installed: run `npm ci` in the repository first', {
      cause,
    });
  }
}

function build() {
  // Taken before compiling: a source saved during the build makes the result stale, as it is.
  const fingerprint = sourceFingerprint(ROOT);
  const staging = join(WORK_DIR, `dist-staging-${process.pid}`);
  const retired = join(WORK_DIR, `dist-retired-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const started = Date.now();
  const tsc = spawnSync(process.execPath, [tscPath(), '-p', 'tsconfig.build.json', '--outDir', staging], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`tsc exited ${tsc.status ?? tsc.signal}`);
  }
  const stampPath = join(staging, STAMP_PATH.slice(DIST_DIR.length + 1));
  mkdirSync(dirname(stampPath), { recursive: true });
  const builtAt = new Date().toISOString();
  writeFileSync(stampPath, `${JSON.stringify({ ...fingerprint, builtAt }, null, 2)}\n`);
  const dist = join(ROOT, DIST_DIR);
  try {
    renameSync(dist, retired);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  renameSync(staging, dist);
  rmSync(retired, { recursive: true, force: true });
  log(`compiled ${fingerprint.sourceCount} sources into ${DIST_DIR}/ in ${Date.now() - started} ms`);
}

async function mainBuild(argv) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--if-stale');
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument ${unknown[0]}\n${usage()}\n`);
    return 2;
  }
  const ifStale = argv.includes('--if-stale');
  if (ifStale && !distProblem(ROOT)) return 0;
  await acquireLock();
  try {
    // Another caller may have built while this one waited for the lock.
    const problem = distProblem(ROOT);
    if (ifStale && !problem) return 0;
    if (problem) log(`building: ${problem}`);
    build();
    return 0;
  } finally {
    releaseLock();
  }
}

try {
  process.exitCode = await mainBuild(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`[build-dist] error: ${err.message}\n`);
  process.exitCode = 1;
}
