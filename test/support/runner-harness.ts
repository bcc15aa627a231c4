// Test harness for the hermetic runner: a real engine (ours, started by infra/start-dockerd.sh), the
// busybox environment pinned by infra/environments/busybox.lock, and manifests written from a script.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type Docker from 'dockerode';
import pino from 'pino';
import { sha256Hex } from '../../services/digest.ts';
import type { ParsedManifest } from '../../services/manifest/manifest.ts';
import { parseManifest } from '../../services/manifest/parse-manifest.ts';
import { initWorkerIdentity } from '../../worker/identity/worker-identity.ts';
import { LocalInputSource } from '../../worker/inputs/input-source.ts';
import { createDockerClient } from '../../worker/main.ts';
import type { RebuildContext } from '../../worker/rebuild-manifest.ts';
import { defaultRunnerLimits, type RunnerLimits } from '../../worker/runner-limits.ts';
import { LABEL_WORKER } from '../../worker/sandbox/container-labels.ts';
import { DockerSandbox } from '../../worker/sandbox/docker-sandbox.ts';
import { readEngineFacts } from '../../worker/sandbox/engine-facts.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const ENGINE_HOST = process.env.RBNET_DOCKER_HOST ?? 'unix:///run/rbnet/docker.sock';
export const STATE_DIR = process.env.RBNET_STATE_DIR ?? '/var/lib/rbnet';

/** The busybox environment digest the samples use, read from the recipe lock. */
export async function busyboxEnvironmentSha256(): Promise<string> {
  const lock = await readFile(join(REPO_ROOT, 'infra', 'environments', 'busybox.lock'), 'utf8');
  const match = /^ENV_TAR_SHA256_amd64=([0-9a-f]{64})$/m.exec(lock);
  if (!match) throw new Error('infra/environments/busybox.lock has no ENV_TAR_SHA256_amd64');
  return match[1]!;
}

/** Test limits: small enough that hostile builds hit them in seconds. */
export const testLimits: RunnerLimits = {
  ...defaultRunnerLimits,
  maxBuildTimeSeconds: 60,
  memoryBytes: 128 * 1024 ** 2,
  pidsLimit: 64,
  diskBytes: 256 * 1024 ** 2,
  maxLogBytes: 64 * 1024,
  maxOutputBytes: 8 * 1024 ** 2,
};

export interface ScriptManifestOptions {
  readonly name?: string;
  readonly script: string;
  readonly extraFiles?: Readonly<Record<string, string>>;
  readonly timeLimitSeconds?: number;
  readonly claimedOutputs?: readonly { path: string; sha256: string }[];
  /** Patches applied to the manifest's `environment` object on the wire. */
  readonly environment?: Readonly<Record<string, unknown>>;
}

export interface RunnerHarness {
  readonly docker: Docker;
  readonly workerId: string;
  readonly context: (limits?: Partial<RunnerLimits>) => RebuildContext;
  /** Writes build.sh (+ extra files) and manifest.json into a fresh dir and parses it. */
  readonly writeManifest: (
    options: ScriptManifestOptions,
  ) => Promise<{ dir: string; parsed: ParsedManifest; path: string }>;
  readonly inputsFor: (dir: string) => LocalInputSource;
  readonly freshOutDir: () => Promise<string>;
  readonly labelledContainers: () => Promise<number>;
  readonly cleanup: () => Promise<void>;
}

export async function createRunnerHarness(prefix: string): Promise<RunnerHarness> {
  const root = await mkdtemp(join(tmpdir(), `rbnet-${prefix}-`));
  const docker = createDockerClient(ENGINE_HOST);
  const facts = await readEngineFacts(docker);
  const workerId = `test-${prefix}-${process.pid}`;
  const loaded = await initWorkerIdentity(join(root, 'worker'), { operator: 'test-operator', id: workerId });
  const logger = pino({ level: 'silent' });
  const environmentSha256 = await busyboxEnvironmentSha256();
  let counter = 0;

  return {
    docker,
    workerId,
    context: (limits = {}) => ({
      docker,
      sandbox: new DockerSandbox(docker, facts, logger),
      facts,
      identity: loaded.identity,
      signer: loaded.signer,
      stateDir: STATE_DIR,
      limits: { ...testLimits, ...limits },
      logger,
    }),
    async writeManifest(options) {
      counter += 1;
      const dir = join(root, `m${counter}`);
      await mkdir(dir, { recursive: true });
      const files: Record<string, string> = { 'build.sh': options.script, ...(options.extraFiles ?? {}) };
      const inputs = [];
      for (const [path, text] of Object.entries(files)) {
        await writeFile(join(dir, path), text);
        inputs.push({
          path,
          sha256: sha256Hex(text),
          location: path,
          ...(path === 'build.sh' ? { mode: '0755' } : {}),
        });
      }
      const name = options.name ?? `test-${counter}`;
      const wire = {
        schema: 'rbnet.manifest/v1',
        name,
        architecture: 'amd64',
        backend: 'generic',
        environment: {
          image: { sha256: environmentSha256 },
          env: { PATH: '/bin', HOME: '/build' },
          locale: 'C.UTF-8',
          timezone: 'UTC',
          umask: '0022',
          uid: 1000,
          gid: 1000,
          hostname: 'rbnet-build',
          buildPath: `/build/${name}`,
          sourceDateEpoch: 1_700_000_000,
          ...(options.environment ?? {}),
        },
        inputs,
        build: {
          argv: ['/bin/sh', 'build.sh'],
          workingDir: '.',
          timeLimitSeconds: options.timeLimitSeconds ?? 60,
        },
        outputDir: 'out',
        claimedOutputs: options.claimedOutputs ?? [],
      };
      const text = `${JSON.stringify(wire, null, 2)}\n`;
      const path = join(dir, 'manifest.json');
      await writeFile(path, text);
      return { dir, parsed: parseManifest(text), path };
    },
    inputsFor: (dir) => new LocalInputSource(dir, join(STATE_DIR, 'cas')),
    async freshOutDir() {
      counter += 1;
      return join(root, `out${counter}`);
    },
    async labelledContainers() {
      const list = await docker.listContainers({
        all: true,
        filters: { label: [`${LABEL_WORKER}=${workerId}`] },
      });
      return list.length;
    },
    async cleanup() {
      await rm(root, { recursive: true, force: true });
    },
  };
}
