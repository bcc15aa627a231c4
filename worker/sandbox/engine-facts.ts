// What the worker learns from its container engine: the inputs no manifest controls, recorded in
// every attestation, and the security properties the runner insists on.
import type Docker from 'dockerode';
import { EngineError } from '../../services/errors.ts';

export interface EngineFacts {
  readonly engineVersion: string;
  readonly storageDriver: string;
  /** True when the engine runs containers in a remapped user namespace (root inside is not root outside). */
  readonly usernsRemap: boolean;
  readonly kernelVersion: string;
  readonly cpuCount: number;
  readonly memoryBytes: number;
  /** Storage drivers that enforce StorageOpt.size on this kind of setup. */
  readonly diskLimitSupported: boolean;
}

/** Reads /info and /version; an engine that does not answer is an infrastructure error. */
export async function readEngineFacts(docker: Docker): Promise<EngineFacts> {
  let info: Record<string, unknown>;
  let version: Record<string, unknown>;
  try {
    [info, version] = await Promise.all([
      docker.info(),
      docker.version() as Promise<unknown> as Promise<Record<string, unknown>>,
    ]);
  } catch (cause) {
    throw new EngineError(
      'ENGINE_UNREACHABLE',
      'the container engine does not answer; start it with `bash infra/start-dockerd.sh` or set RBNET_DOCKER_HOST',
      { cause },
    );
  }
  const securityOptions = Array.isArray(info.SecurityOptions) ? (info.SecurityOptions as string[]) : [];
  const storageDriver = String(info.Driver ?? 'unknown');
  return Object.freeze({
    engineVersion: String(version.Version ?? 'unknown'),
    storageDriver,
    usernsRemap: securityOptions.some((option) => option.includes('name=userns')),
    kernelVersion: String(info.KernelVersion ?? 'unknown'),
    cpuCount: Number(info.NCPU ?? 0),
    memoryBytes: Number(info.MemTotal ?? 0),
    diskLimitSupported: storageDriver === 'btrfs' || storageDriver === 'zfs',
  });
}
