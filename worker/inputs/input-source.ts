// Where a worker reads the bytes of a manifest's inputs from; every byte is verified by digest later.
import { constants as fsConstants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { InputError } from '../../services/errors.ts';
import type { ManifestInput } from '../../services/manifest/manifest.ts';

export interface OpenedInput {
  readonly stream: Readable;
  readonly sizeBytes: number;
}

/** Opens inputs by location. Implementations never follow a location outside their own root. */
export interface InputSource {
  open(input: ManifestInput): Promise<OpenedInput>;
}

/**
 * Reads `path` locations relative to the manifest's directory and `cas:` locations from a local
 * content-addressed directory laid out as `<casDir>/sha256/<hex>`.
 */
export class LocalInputSource implements InputSource {
  constructor(
    private readonly manifestDir: string,
    private readonly casDir: string | undefined,
  ) {}

  async open(input: ManifestInput): Promise<OpenedInput> {
    const location = input.location;
    let path: string;
    let root: string;
    if (location.kind === 'cas') {
      if (!this.casDir) {
        throw new InputError(
          'INPUT_MISSING',
          `inputs "${input.path}": cas:sha256:${location.sha256} needs a content store, and none is configured`,
        );
      }
      root = this.casDir;
      path = join(this.casDir, 'sha256', location.sha256);
    } else {
      root = this.manifestDir;
      path = resolve(this.manifestDir, location.relativePath);
    }
    let real: string;
    let realRoot: string;
    try {
      [real, realRoot] = await Promise.all([realpath(path), realpath(root)]);
    } catch (cause) {
      throw new InputError('INPUT_MISSING', `inputs "${input.path}": cannot read ${path}`, { cause });
    }
    // A symlink beside the manifest must not let a manifest read arbitrary host files.
    if (!real.startsWith(realRoot + sep)) {
      throw new InputError('INPUT_PATH', `inputs "${input.path}": ${path} resolves outside ${root}`);
    }
    const handle = await open(real, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW).catch((cause: unknown) => {
      throw new InputError('INPUT_MISSING', `inputs "${input.path}": cannot open ${path}`, { cause });
    });
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      throw new InputError('INPUT_PATH', `inputs "${input.path}": ${path} is not a regular file`);
    }
    return { stream: handle.createReadStream(), sizeBytes: stat.size };
  }
}
