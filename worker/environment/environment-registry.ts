// The worker's record of environments it built itself from its pinned trust root, and the check that
// an engine image is exactly the environment a manifest names (by layer digest, never by tag or ID).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Sha256Hex } from '../../services/digest.ts';
import { EnvironmentError } from '../../services/errors.ts';

export type EnvironmentOrigin = 'built-locally' | 'fetched';

export interface ResolvedEnvironment {
  readonly imageSha256: Sha256Hex;
  /** The engine's image ID to create the container from (pinned, so a retag cannot swap it). */
  readonly imageId: string;
  readonly origin: EnvironmentOrigin;
  readonly recipe?: string;
  /** Bytes the image occupies; the engine's disk quota counts them too. */
  readonly imageSizeBytes: number;
}

/** Tag under which infra/build-env-*.sh import an environment. The tag is a lookup hint only. */
export function environmentImageTag(imageSha256: string): string {
  return `rbnet-env:${imageSha256}`;
}

interface RegistryEntry {
  readonly origin: EnvironmentOrigin;
  readonly recipe?: string;
}

const MAX_REGISTRY_ENTRY_BYTES = 1024 * 1024;

async function readRegistryEntry(
  stateDir: string,
  imageSha256: Sha256Hex,
): Promise<RegistryEntry | undefined> {
  const path = join(stateDir, 'environments', `${imageSha256}.json`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  if (text.length > MAX_REGISTRY_ENTRY_BYTES) {
    throw new EnvironmentError(
      'ENVIRONMENT_REGISTRY',
      `${path}: larger than ${MAX_REGISTRY_ENTRY_BYTES} bytes`,
    );
  }
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch (cause) {
    throw new EnvironmentError('ENVIRONMENT_REGISTRY', `${path}: not JSON`, { cause });
  }
  const record = entry as Record<string, unknown>;
  if (record.sha256 !== imageSha256) {
    throw new EnvironmentError('ENVIRONMENT_REGISTRY', `${path}: sha256 field does not match the file name`);
  }
  if (record.origin !== 'built-locally' && record.origin !== 'fetched') {
    throw new EnvironmentError(
      'ENVIRONMENT_REGISTRY',
      `${path}: origin must be "built-locally" or "fetched"`,
    );
  }
  return { origin: record.origin, recipe: typeof record.recipe === 'string' ? record.recipe : undefined };
}

/**
 * Finds the engine image for `imageSha256` and proves its only layer is that tarball.
 * Origin is `built-locally` only when this worker's registry says it built it; anything else is `fetched`.
 */
export async function resolveEnvironment(
  docker: Docker,
  stateDir: string,
  imageSha256: Sha256Hex,
): Promise<ResolvedEnvironment> {
  const tag = environmentImageTag(imageSha256);
  let inspect: Docker.ImageInspectInfo;
  try {
    inspect = await docker.getImage(tag).inspect();
  } catch (cause) {
    if ((cause as { statusCode?: number }).statusCode === 404) {
      throw new EnvironmentError(
        'ENVIRONMENT_MISSING',
        `environment.image.sha256 ${imageSha256}: no such image in this engine. Build it from the pinned archive with ` +
          '`bash infra/build-env-busybox.sh` (or infra/build-env-debian.sh), whose last line prints the sha256 it produced',
        { cause },
      );
    }
    throw cause;
  }
  const layers = inspect.RootFS?.Layers ?? [];
  if (layers.length !== 1 || layers[0] !== `sha256:${imageSha256}`) {
    throw new EnvironmentError(
      'ENVIRONMENT_MISMATCH',
      `environment.image.sha256 ${imageSha256}: image ${tag} has layers ${JSON.stringify(layers)}, expected exactly ["sha256:${imageSha256}"]`,
    );
  }
  const entry = await readRegistryEntry(stateDir, imageSha256);
  return Object.freeze({
    imageSha256,
    imageId: inspect.Id,
    imageSizeBytes: inspect.Size ?? 0,
    origin: entry?.origin ?? 'fetched',
    ...(entry?.recipe ? { recipe: entry.recipe } : {}),
  });
}
