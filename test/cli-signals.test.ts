// The real `rbnet` process: SIGINT during a build removes the container before the process exits,
// and usage/manifest errors exit non-zero with a message naming the problem.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_WORKER } from '../worker/sandbox/container-labels.ts';
import { runRbnet } from './support/rbnet-process.ts';
import { createRunnerHarness, type RunnerHarness } from './support/runner-harness.ts';

let harness: RunnerHarness;
let scratch: string;
beforeAll(async () => {
  harness = await createRunnerHarness('cli');
  scratch = await mkdtemp(join(tmpdir(), 'rbnet-cli-'));
});
afterAll(async () => {
  await harness?.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

describe('rbnet rebuild as a process', () => {
  it('SIGINT mid-build kills and removes the container, then exits non-zero', async () => {
    const workerDir = join(scratch, 'worker');
    const workerId = `sigint-${process.pid}`;
    const init = runRbnet([
      'worker',
      'init',
      '--operator',
      'test',
      '--id',
      workerId,
      '--worker-dir',
      workerDir,
    ]);
    expect(await init.exited).toBe(0);
    const { path } = await harness.writeManifest({ script: '#!/bin/sh\nsleep 600\n', timeLimitSeconds: 600 });
    const run = runRbnet(['rebuild', path, '--out', join(scratch, 'out'), '--worker-dir', workerDir]);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no [build] line: ${run.output().stderr}`)), 60_000);
      run.child.stderr!.on('data', () => {
        if (run.output().stderr.includes('[build]')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // The phase line comes just before start; wait until the engine reports the container running.
    let running = 0;
    for (let i = 0; i < 100 && running === 0; i += 1) {
      running = (await harness.docker.listContainers({ filters: { label: [`${LABEL_WORKER}=${workerId}`] } }))
        .length;
      if (running === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(running).toBe(1);
    run.child.kill('SIGINT');
    const code = await run.exited;
    expect(code).toBe(1);
    expect(run.output().stderr).toContain('CANCELLED');
    const left = await harness.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_WORKER}=${workerId}`] },
    });
    expect(left).toHaveLength(0);
  });

  it('a malformed manifest exits 1 naming the field, and nothing is built', async () => {
    const { writeFile } = await import('node:fs/promises');
    const bad = join(scratch, 'bad.json');
    await writeFile(bad, '{"schema":"rbnet.manifest/v1","schema":"again"}');
    const run = runRbnet(['rebuild', bad, '--out', join(scratch, 'never')]);
    expect(await run.exited).toBe(1);
    expect(run.output().stderr).toMatch(/MANIFEST_JSON.*schema/);
  });

  it('--help works on every subcommand and unknown flags are usage errors', async () => {
    for (const words of [['rebuild'], ['attestation', 'verify'], ['manifest', 'check'], ['worker', 'init']]) {
      const help = runRbnet([...words, '--help']);
      expect(await help.exited).toBe(0);
      expect(help.output().stdout).toMatch(/^Usage: rbnet /);
    }
    const bad = runRbnet(['rebuild', '--bogus']);
    expect(await bad.exited).toBe(2);
    expect(bad.output().stderr).toContain('--bogus');
  });
});
