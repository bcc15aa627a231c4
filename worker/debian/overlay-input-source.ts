// An InputSource that serves some digests from local files (generated scripts, sources this worker
// fetched and verified itself) and asks another source for the rest. Digests are still verified
// by the input archive as the bytes stream into the container.
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Sha256Hex } from '../../services/digest.ts';
import { InputError } from '../../services/errors.ts';
import type { ManifestInput } from '../../services/manifest/manifest.ts';
import type { InputSource, OpenedInput } from '../inputs/input-source.ts';

export class OverlayInputSource implements InputSource {
  private readonly localBySha256 = new Map<Sha256Hex, string>();
  constructor(private readonly fallback: InputSource) {}

  addLocalFile(sha256: Sha256Hex, path: string): void {
    this.localBySha256.set(sha256, path);
  }

  async open(input: ManifestInput): Promise<OpenedInput> {
    const local = this.localBySha256.get(input.sha256);
    if (local === undefined) return this.fallback.open(input);
    const handle = await open(local, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW).catch(
      (cause: unknown) => {
        throw new InputError('INPUT_MISSING', `inputs "${input.path}": cannot open ${local}`, { cause });
      },
    );
    const stat = await handle.stat();
    return { stream: handle.createReadStream(), sizeBytes: stat.size };
  }
}
