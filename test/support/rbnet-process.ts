// Runs the real `rbnet` command as a child process, for tests and benchmarks that need real
// processes (to kill them, or to measure them): once to completion, or in the background until ready.
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const RBNET = join(resolve(import.meta.dirname, '..', '..'), 'bin', 'rbnet.mjs');

export interface BackgroundRbnet {
  readonly child: ChildProcess;
  /** stdout and stderr so far (the last 20,000 characters). */
  output(): string;
}

/** Starts `rbnet ARGS` and resolves once its output matches `ready`; rejects if it exits or times out first. */
export function startRbnet(
  args: readonly string[],
  options: { readonly env?: Record<string, string>; readonly ready: RegExp; readonly timeoutMs?: number },
): Promise<BackgroundRbnet> {
  const child = spawn(process.execPath, [RBNET, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`rbnet ${args[0]} not ready: ${out.slice(-500)}`)),
      options.timeoutMs ?? 60_000,
    );
    const onData = (data: Buffer) => {
      out = (out + data.toString()).slice(-20_000);
      if (options.ready.test(out)) {
        clearTimeout(timer);
        resolveReady({ child, output: () => out });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`rbnet ${args[0]} exited ${code ?? signal}: ${out.slice(-500)}`));
    });
  });
}

export interface RbnetRun {
  readonly child: ChildProcess;
  /** Resolves with the exit code once the process closed. */
  readonly exited: Promise<number | null>;
  output(): { stdout: string; stderr: string };
}

/** Runs `rbnet ARGS`, collecting stdout and stderr apart. */
export function runRbnet(args: readonly string[], env: Record<string, string> = {}): RbnetRun {
  const child = spawn(process.execPath, [RBNET, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}
