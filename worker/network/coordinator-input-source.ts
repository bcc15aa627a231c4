// Inputs for network jobs: every input is fetched from the coordinator's content store by its
// recorded sha256 (the manifest's location is the maintainer's; the digest is the identity).
import { constants as fsConstants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestInput } from '../../services/manifest/manifest.ts';
import type { InputSource, OpenedInput } from '../inputs/input-source.ts';
import type { CoordinatorClient } from './coordinator-client.ts';

export class CoordinatorInputSource implements InputSource {
  constructor(
    private readonly client: CoordinatorClient,
    /** Verified blobs are kept here by digest, so a retry does not download them again. */
    private readonly cacheDir: string,
    private readonly maxInputBytes: number,
  ) {}

  async open(input: ManifestInput): Promise<OpenedInput> {
    const path = join(this.cacheDir, input.sha256);
    try {
      await access(path, fsConstants.R_OK);
    } catch {
      await this.client.downloadFile(input.sha256, path, this.maxInputBytes);
    }
    // The runner hashes again while packing, so a cache file altered on disk is still caught.
    const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    const stat = await handle.stat();
    return { stream: handle.createReadStream(), sizeBytes: stat.size };
  }
}
