// Runs diffoscope on one differing pair inside the inspection container: its own process group under
// a time limit, the HTML cut at a byte cap, and every outcome (written, timed out, failed) a value.
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { rm, stat, truncate } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { DiffoscopeOutcome } from '../../../services/debian/deb-inspection/inspection-report-format.ts';
import type { InspectionJob } from './inspection-job.ts';

/** Where diffoscope is, or undefined; `pathList` is a PATH value. */
export function findExecutable(name: string, pathList: string): string | undefined {
  for (const dir of pathList.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const OUTPUT_TAIL_BYTES = 2048;

export interface DiffoscopeRun {
  readonly jobDiffoscope: NonNullable<InspectionJob['diffoscope']>;
  readonly command: string;
  readonly outFile: string;
  readonly fileName: string;
  readonly left: string;
  readonly right: string;
}

/** Runs diffoscope once; a timeout kills its whole process group. */
export async function runDiffoscope(run: DiffoscopeRun): Promise<DiffoscopeOutcome> {
  const limit = String(run.jobDiffoscope.maxOutputBytes);
  const args = [
    '--html',
    run.outFile,
    '--max-report-size',
    limit,
    '--max-text-report-size',
    limit,
    '--exclude-directory-metadata=no',
    run.left,
    run.right,
  ];
  // Its own process group, so a timeout kills the helpers it started (xz, readelf, …) too.
  const child = spawn(run.command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }, run.jobDiffoscope.timeoutSeconds * 1000);
  const exitCode = await new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      keep(Buffer.from(err.message));
      resolve(null);
    });
    child.once('close', (code) => resolve(code));
  });
  clearTimeout(timer);
  if (timedOut) {
    await rm(run.outFile, { force: true });
    return { status: 'timeout', detail: `diffoscope timed out after ${run.jobDiffoscope.timeoutSeconds} s` };
  }
  const written = await stat(run.outFile).catch(() => undefined);
  if ((exitCode !== 0 && exitCode !== 1) || !written) {
    await rm(run.outFile, { force: true });
    return { status: 'failed', detail: `diffoscope exited with ${exitCode}: ${tail.trim()}` };
  }
  const truncated = written.size > run.jobDiffoscope.maxOutputBytes;
  if (truncated) await truncate(run.outFile, run.jobDiffoscope.maxOutputBytes);
  return {
    status: 'written',
    file: run.fileName,
    bytes: truncated ? run.jobDiffoscope.maxOutputBytes : written.size,
    exitCode,
    truncated,
  };
}
