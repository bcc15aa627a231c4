// The hermetic runner against the real engine: determinism, hostile builds (each failing for the
// asserted reason), and no container left behind in any case.

import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../services/digest.ts';
import { EngineError, type EnvironmentError, InputError } from '../services/errors.ts';
import { type RebuildResult, rebuildManifest } from '../worker/rebuild-manifest.ts';
import { DockerSandbox } from '../worker/sandbox/docker-sandbox.ts';
import { createRunnerHarness, type RunnerHarness } from './support/runner-harness.ts';

let harness: RunnerHarness;
beforeAll(async () => {
  harness = await createRunnerHarness('runner');
});
afterAll(async () => {
  await harness?.cleanup();
});
afterEach(async () => {
  // Whatever happened in the test, the runner must have removed its container.
  expect(await harness.labelledContainers()).toBe(0);
});

async function rebuild(
  options: Parameters<RunnerHarness['writeManifest']>[0],
  limits: Parameters<RunnerHarness['context']>[0] = {},
): Promise<RebuildResult> {
  const { dir, parsed } = await harness.writeManifest(options);
  return rebuildManifest(harness.context(limits), {
    parsed,
    inputs: harness.inputsFor(dir),
    outDir: await harness.freshOutDir(),
  });
}

function outputsOf(result: RebuildResult): Record<string, string> {
  if (result.kind !== 'built')
    throw new Error(`expected a successful build, got ${result.kind}: ${JSON.stringify(result)}`);
  return Object.fromEntries(result.outputs.map((o) => [o.path, o.sha256]));
}

function failureOf(result: RebuildResult): { reason: string; detail: string } {
  if (result.kind !== 'failed')
    throw new Error(`expected a failed build, got outputs ${JSON.stringify(result)}`);
  return result;
}

const PROBE_SCRIPT = `#!/bin/sh
set -eu
mkdir -p out
date -d "@$SOURCE_DATE_EPOCH" '+%Y-%m-%d %H:%M:%S %Z' > out/date.txt
echo "$SOURCE_DATE_EPOCH" > out/epoch.txt
touch out/umask-probe
stat -c %a out/umask-probe > out/mode.txt
pwd > out/path.txt
echo "LANG=$LANG LC_ALL=$LC_ALL" > out/locale.txt
hostname > out/hostname.txt
id > out/id.txt
`;

describe('determinism', () => {
  it('two rebuilds of the sample manifest give identical digests equal to the claim', async () => {
    const { rebuildManifest: run } = await import('../worker/rebuild-manifest.ts');
    const { parseManifest } = await import('../services/manifest/parse-manifest.ts');
    const path = join(import.meta.dirname, '..', 'samples', 'hello', 'manifest.json');
    const parsed = parseManifest(await readFile(path));
    const results = [];
    for (let i = 0; i < 2; i += 1) {
      results.push(
        await run(harness.context(), {
          parsed,
          inputs: harness.inputsFor(join(import.meta.dirname, '..', 'samples', 'hello')),
          outDir: await harness.freshOutDir(),
        }),
      );
    }
    const [first, second] = results.map(outputsOf);
    expect(first).toEqual(second);
    expect(Object.keys(first!).sort()).toEqual(['doc/MESSAGE.txt', 'hello.txt', 'message.sha256']);
    for (const result of results) expect(result.kind === 'built' && result.claims.status).toBe('match');
  });

  it('the random sample differs in the random file only', async () => {
    const script = await readFile(join(import.meta.dirname, '..', 'samples', 'random', 'build.sh'), 'utf8');
    const a = outputsOf(await rebuild({ script }));
    const b = outputsOf(await rebuild({ script }));
    expect(a['stable.txt']).toBe(b['stable.txt']);
    expect(a['random.bin']).not.toBe(b['random.bin']);
  });

  const baseline = { script: PROBE_SCRIPT, name: 'probe' } as const;
  it.each([
    ['SOURCE_DATE_EPOCH', { sourceDateEpoch: 1_600_000_000 }, 'epoch.txt'],
    ['TZ', { timezone: 'EST5' }, 'date.txt'],
    ['umask', { umask: '0077' }, 'mode.txt'],
    ['build path', { buildPath: '/build/elsewhere' }, 'path.txt'],
    ['locale', { locale: 'POSIX' }, 'locale.txt'],
    ['hostname', { hostname: 'other-host' }, 'hostname.txt'],
    ['uid', { uid: 1234 }, 'id.txt'],
  ])(
    'changing %s in the manifest changes the digest of the output that depends on it',
    async (_label, patch, file) => {
      const reference = outputsOf(await rebuild(baseline));
      const changed = outputsOf(await rebuild({ ...baseline, environment: patch }));
      expect(changed[file]).not.toBe(reference[file]);
      // Everything else stays put: the change is attributable to that one input.
      for (const other of Object.keys(reference).filter(
        (f) => f !== file && !(file === 'epoch.txt' && f === 'date.txt'),
      )) {
        expect({ [other]: changed[other] }).toEqual({ [other]: reference[other] });
      }
    },
  );

  it('records what the build saw: uid, umask and hostname from the manifest', async () => {
    const { dir, parsed } = await harness.writeManifest(baseline);
    const outDir = await harness.freshOutDir();
    await rebuildManifest(harness.context(), { parsed, inputs: harness.inputsFor(dir), outDir });
    expect(await readFile(join(outDir, 'outputs', 'mode.txt'), 'utf8')).toBe('644\n');
    expect(await readFile(join(outDir, 'outputs', 'hostname.txt'), 'utf8')).toBe('rbnet-build\n');
    expect(await readFile(join(outDir, 'outputs', 'id.txt'), 'utf8')).toMatch(/^uid=1000\b.*gid=1000\b/);
  });
});

describe('hostile builds', () => {
  let server: Server;
  let port = 0;
  let connections = 0;
  beforeAll(async () => {
    server = createServer((socket) => {
      connections += 1;
      socket.end('HTTP/1.0 200 OK\r\n\r\nreached');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('has no network: only lo exists, no route, and a connection attempt to the host fails', async () => {
    const result = await rebuild({
      script: `#!/bin/sh
ls /sys/class/net
echo "routes: $(tail -n +2 /proc/net/route | wc -l)"
echo hello | nc -w 3 127.0.0.1 ${port} && exit 0
exit 42`,
    });
    const failure = failureOf(result);
    expect(failure.reason).toBe('exit-code');
    expect(failure.detail).toContain('42');
    const log = await readFile(result.log.path, 'utf8');
    expect(log.split('\n')[0]).toBe('lo');
    expect(log).toContain('routes: 0');
    expect(connections).toBe(0);
  });

  it('a fork bomb is held by the pids limit and stopped at the time limit', async () => {
    const result = await rebuild({
      // PID 1 execs sleep (no fork), so only the bomb's own subtree runs into the pids limit.
      script: `#!/bin/sh
bomb() { while :; do bomb & done; }
bomb &
exec sleep 1000`,
      timeLimitSeconds: 4,
    });
    const log = await readFile(result.log.path, 'utf8');
    expect(failureOf(result).reason).toBe('timeout');
    expect(log).toMatch(/can't fork|Resource temporarily unavailable/);
  });

  it('memory past the limit is an oom failure', async () => {
    const result = await rebuild({
      script: `#!/bin/sh
x=$(head -c 400000000 /dev/zero | tr '\\0' a)
echo survived`,
    });
    expect(failureOf(result).reason).toBe('oom');
  });

  it('a build that never ends is a timeout failure', async () => {
    const result = await rebuild({ script: '#!/bin/sh\nsleep 1000\n', timeLimitSeconds: 2 });
    const failure = failureOf(result);
    expect(failure.reason).toBe('timeout');
    expect(result.durationMs).toBeLessThan(30_000);
  });

  it('writing until the disk cap is a disk failure', async () => {
    const result = await rebuild(
      { script: '#!/bin/sh\nset -e\ndd if=/dev/zero of=/tmp/fill bs=1M count=200\nmkdir -p out\n' },
      { diskBytes: 64 * 1024 ** 2 },
    );
    expect(failureOf(result).reason).toBe('disk');
  });

  it('an output symlink to /etc/passwd is refused', async () => {
    const result = await rebuild({ script: '#!/bin/sh\nmkdir -p out\nln -s /etc/passwd out/passwd\n' });
    const failure = failureOf(result);
    expect(failure.reason).toBe('output-rejected');
    expect(failure.detail).toMatch(/points outside the output directory/);
  });

  it('a relative symlink climbing out of the output directory is refused', async () => {
    const result = await rebuild({ script: '#!/bin/sh\nmkdir -p out/a\nln -s ../../build.sh out/a/x\n' });
    expect(failureOf(result).reason).toBe('output-rejected');
  });

  it('a fifo in the output is refused', async () => {
    const result = await rebuild({ script: '#!/bin/sh\nmkdir -p out\nmkfifo out/pipe\n' });
    const failure = failureOf(result);
    expect(failure.reason).toBe('output-rejected');
    expect(failure.detail).toMatch(/fifo/);
  });

  it('outputs past the size cap are refused', async () => {
    const result = await rebuild(
      { script: '#!/bin/sh\nmkdir -p out\nhead -c 3000000 /dev/zero > out/big\n' },
      { maxOutputBytes: 1024 ** 2 },
    );
    const failure = failureOf(result);
    expect(failure.reason).toBe('output-rejected');
    expect(failure.detail).toMatch(/exceed/);
  });

  it('a missing output directory is refused', async () => {
    expect(failureOf(await rebuild({ script: '#!/bin/sh\ntrue\n' })).reason).toBe('output-rejected');
  });

  it('an empty output directory is refused: an attestation needs at least one output', async () => {
    const failure = failureOf(await rebuild({ script: '#!/bin/sh\nmkdir -p out/empty\n' }));
    expect(failure.reason).toBe('output-rejected');
    expect(failure.detail).toMatch(/holds no files/);
  });

  it('a runaway log is capped, hashed over what was kept, and flagged truncated', async () => {
    const result = await rebuild(
      { script: '#!/bin/sh\nmkdir -p out\necho ok > out/ok\nhead -c 2000000 /dev/zero | tr "\\0" x\n' },
      { maxLogBytes: 4096 },
    );
    expect(result.kind).toBe('built');
    expect(result.log).toMatchObject({ sizeBytes: 4096, totalBytes: 2_000_000, truncated: true });
    expect(result.log.sha256).toBe(sha256Hex('x'.repeat(4096)));
  });
});

describe('preconditions', () => {
  it('an input whose bytes differ from the recorded digest stops before anything runs', async () => {
    const { dir, parsed } = await harness.writeManifest({ script: '#!/bin/sh\nmkdir -p out\n' });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'build.sh'), '#!/bin/sh\nmkdir -p out; echo tampered > out/x\n');
    const err = await rebuildManifest(harness.context(), {
      parsed,
      inputs: harness.inputsFor(dir),
      outDir: await harness.freshOutDir(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('INPUT_DIGEST_MISMATCH');
  });

  it('a missing environment is a clear error saying how to build it', async () => {
    const { dir, parsed } = await harness.writeManifest({
      script: '#!/bin/sh\n',
      environment: { image: { sha256: 'b'.repeat(64) } },
    });
    const err = await rebuildManifest(harness.context(), {
      parsed,
      inputs: harness.inputsFor(dir),
      outDir: await harness.freshOutDir(),
    }).catch((e: unknown) => e);
    expect((err as EnvironmentError).code).toBe('ENVIRONMENT_MISSING');
    expect((err as Error).message).toContain('infra/build-env-busybox.sh');
  });

  it('an image whose layers differ from the manifest digest is refused', async () => {
    const fake = 'c'.repeat(64);
    const { busyboxEnvironmentSha256 } = await import('./support/runner-harness.ts');
    const real = await busyboxEnvironmentSha256();
    await harness.docker.getImage(`rbnet-env:${real}`).tag({ repo: 'rbnet-env', tag: fake });
    try {
      const { dir, parsed } = await harness.writeManifest({
        script: '#!/bin/sh\n',
        environment: { image: { sha256: fake } },
      });
      const err = await rebuildManifest(harness.context(), {
        parsed,
        inputs: harness.inputsFor(dir),
        outDir: await harness.freshOutDir(),
      }).catch((e: unknown) => e);
      expect((err as EnvironmentError).code).toBe('ENVIRONMENT_MISMATCH');
    } finally {
      await harness.docker.getImage(`rbnet-env:${fake}`).remove();
    }
  });

  it('refuses a build as uid 0 on an engine without userns-remap', async () => {
    const context = harness.context();
    const insecure = new DockerSandbox(
      context.docker,
      { ...context.facts, usernsRemap: false },
      pino({ level: 'silent' }),
    );
    const { dir, parsed } = await harness.writeManifest({
      script: '#!/bin/sh\n',
      environment: { uid: 0, gid: 0 },
    });
    const err = await rebuildManifest(
      { ...context, sandbox: insecure },
      { parsed, inputs: harness.inputsFor(dir), outDir: await harness.freshOutDir() },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('ENGINE_INSECURE');
  });

  it('our engine remaps user namespaces and caps container disk', () => {
    const { facts } = harness.context();
    expect(facts.usernsRemap).toBe(true);
    expect(facts.diskLimitSupported).toBe(true);
  });

  it('removes labelled containers a crashed worker left behind', async () => {
    const context = harness.context();
    const { busyboxEnvironmentSha256 } = await import('./support/runner-harness.ts');
    const { buildContainerLabels } = await import('../worker/sandbox/container-labels.ts');
    const { deadProcessOwner } = await import('./support/container-owners.ts');
    await context.docker.createContainer({
      Image: `rbnet-env:${await busyboxEnvironmentSha256()}`,
      Cmd: ['/bin/true'],
      Labels: buildContainerLabels(harness.workerId, 'd'.repeat(64), await deadProcessOwner()),
      HostConfig: { NetworkMode: 'none' },
    });
    expect(await harness.labelledContainers()).toBe(1);
    expect((await context.sandbox.removeOrphans(harness.workerId)).removed).toBe(1);
  });
});
