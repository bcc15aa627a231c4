// Shared bits of the benchmarks: timing, medians, ratios, peak RSS and a markdown row printer.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../test/support/runner-harness.ts';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export async function timeMs(run: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Runs a command to completion; rejects on a non-zero exit. Returns stdout. */
export function runCommand(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) =>
      code === 0 || code === 3 ? resolve(stdout) : reject(new Error(`${command} exited ${code}: ${stderr}`)),
    );
  });
}

export function formatRow(cells: readonly (string | number)[]): string {
  return `| ${cells.map((c) => (typeof c === 'number' ? c.toFixed(c >= 100 ? 0 : 2) : c)).join(' | ')} |`;
}

/**
 * The baseline every rebuild benchmark compares with: `samples/hello` run by a plain
 * `docker run --rm --network none` of the same script and inputs, minus everything rbnet adds.
 */
export async function rawHelloDockerRunArgs(sampleDir: string, imageSha256: string): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const script = (await readFile(join(sampleDir, 'build.sh'), 'utf8')).replace(/#!\/bin\/sh\n/, '');
  const message = await readFile(join(sampleDir, 'message.txt'), 'utf8');
  return [
    'run',
    '--rm',
    '--network',
    'none',
    '--user',
    '1000:1000',
    '-e',
    'SOURCE_DATE_EPOCH=1700000000',
    '-e',
    'PATH=/bin',
    '--workdir',
    '/tmp',
    `rbnet-env:${imageSha256}`,
    '/bin/sh',
    '-c',
    `printf '%s' "$0" > message.txt && ${script}`,
    message,
  ];
}

/**
 * Starts a real `rbnet coordinator run` process on a random loopback port over `dataDir` and
 * `redisUrl`, and resolves once it listens. The caller kills the returned child.
 */
export async function startCoordinatorProcess(
  dataDir: string,
  redisUrl: string,
): Promise<{ child: ChildProcessWithoutNullStreams; baseUrl: string }> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin', 'rbnet.mjs'),
      'coordinator',
      'run',
      '--data-dir',
      dataDir,
      '--listen',
      `127.0.0.1:${port}`,
      '--redis',
      redisUrl,
      '--log-level',
      'warn',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.once('exit', () => reject(new Error('coordinator exited')));
  });
  return { child, baseUrl: `http://127.0.0.1:${port}` };
}
