// `rbnet worker doctor`'s engine checks: the engine answers with a hardened setup (userns-remap, a
// disk-limiting storage driver, no default networks), free disk, and the environments it holds.
import { readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Sha256Hex } from '../../services/digest.ts';
import { resolveEnvironment } from '../environment/environment-registry.ts';
import { readEngineFacts } from '../sandbox/engine-facts.ts';
import { classifyEngineNetworks, classifyFreeDisk } from './classify-host-facts.ts';
import {
  type DoctorThresholds,
  fail,
  type HostCheck,
  type HostCheckId,
  messageOf,
  ok,
  skip,
  type WorkerHostTarget,
  warn,
  withTimeout,
} from './host-check.ts';

export interface EngineState {
  readonly checks: HostCheck[];
  readonly answered: boolean;
  /** The engine's data root (`DockerRootDir`), when it answered with one. */
  readonly dataRoot?: string;
}

export async function checkEngine(
  target: WorkerHostTarget,
  docker: Docker,
  thresholds: DoctorThresholds,
): Promise<EngineState> {
  const ids: HostCheckId[] = ['userns-remap', 'storage-driver', 'engine-network'];
  let facts: Awaited<ReturnType<typeof readEngineFacts>>;
  let info: { DockerRootDir?: string };
  let networks: Docker.NetworkInspectInfo[];
  try {
    await withTimeout(docker.ping(), thresholds.probeTimeoutMs, 'engine ping');
    [facts, info, networks] = await withTimeout(
      Promise.all([readEngineFacts(docker), docker.info(), docker.listNetworks()]),
      thresholds.probeTimeoutMs,
      'engine /info',
    );
  } catch (err) {
    return {
      answered: false,
      checks: [
        fail(
          'engine',
          `the engine at ${target.dockerHost} does not answer: ${messageOf(err)}`,
          'start it with `bash infra/start-dockerd.sh`, or point --docker-host / RBNET_DOCKER_HOST at it',
        ),
        ...ids.map((id) => skip(id, 'the engine did not answer')),
      ],
    };
  }
  const checks: HostCheck[] = [
    ok(
      'engine',
      `engine ${facts.engineVersion} answers on ${target.dockerHost} (kernel ${facts.kernelVersion}, ${facts.cpuCount} CPUs)`,
    ),
    facts.usernsRemap
      ? ok('userns-remap', 'containers run in a remapped user namespace (root in a build is not root here)')
      : fail(
          'userns-remap',
          'userns-remap is off: root in a build container is root on this host',
          'run the engine with --userns-remap=default (bash infra/start-dockerd.sh does)',
        ),
  ];
  const driverFix =
    'run the engine with --storage-driver=btrfs on a btrfs data root (bash infra/start-dockerd.sh does)';
  if (facts.diskLimitSupported) {
    checks.push(ok('storage-driver', `${facts.storageDriver} enforces a per-container disk limit`));
  } else if (target.requireDiskLimit) {
    checks.push(
      fail(
        'storage-driver',
        `${facts.storageDriver} cannot limit a container's disk, so the worker refuses to build`,
        driverFix,
      ),
    );
  } else {
    checks.push(
      warn(
        'storage-driver',
        `${facts.storageDriver} cannot limit a container's disk (RBNET_REQUIRE_DISK_LIMIT=0): a build can fill it`,
        driverFix,
      ),
    );
  }
  checks.push(classifyEngineNetworks(networks));
  return { checks, answered: true, ...(info.DockerRootDir ? { dataRoot: info.DockerRootDir } : {}) };
}

export async function checkFreeSpace(
  id: 'engine-disk' | 'state-disk',
  path: string,
  thresholds: DoctorThresholds,
): Promise<HostCheck> {
  try {
    const fs = await statfs(path);
    return classifyFreeDisk(id, path, fs.bavail * fs.bsize, thresholds);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (id === 'state-disk' && missing) {
      return fail(
        id,
        `the state directory ${path} does not exist`,
        'build an environment (`bash infra/build-env-busybox.sh`), which creates it, or pass --state-dir',
      );
    }
    return warn(
      id,
      `cannot read free space of ${path}: ${messageOf(err)}`,
      'run the doctor as the user the worker runs as (root for the engine data root)',
    );
  }
}

export async function checkEnvironments(stateDir: string, docker: Docker): Promise<HostCheck> {
  const dir = join(stateDir, 'environments');
  const buildFix = 'build one: `bash infra/build-env-busybox.sh` (or infra/build-env-debian.sh)';
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).sort();
  } catch {
    names = [];
  }
  if (names.length === 0) return fail('environments', `no environment is registered in ${dir}`, buildFix);
  const ready: string[] = [];
  const broken: string[] = [];
  for (const name of names) {
    const sha256 = name.slice(0, 64) as Sha256Hex;
    try {
      const resolved = await resolveEnvironment(docker, stateDir, sha256);
      ready.push(`${resolved.recipe ?? 'unnamed'} (${sha256.slice(0, 12)}…, ${resolved.origin})`);
    } catch (err) {
      broken.push(`${sha256.slice(0, 12)}…: ${messageOf(err).split('. ')[0]}`);
    }
  }
  if (ready.length === 0)
    return fail('environments', `no registered environment is usable: ${broken.join('; ')}`, buildFix);
  if (broken.length > 0) {
    return warn(
      'environments',
      `${ready.length} ready (${ready.join(', ')}); ${broken.length} not: ${broken.join('; ')}`,
      `rebuild or remove the broken ones; ${buildFix}`,
    );
  }
  return ok('environments', `${ready.length} ready: ${ready.join(', ')}`);
}

// ---------------------------------------------------------------- identity and keys
