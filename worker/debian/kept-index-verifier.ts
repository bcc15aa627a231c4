// The evidence store's kept signed indexes, verified again before use: a kept InRelease with gpgv
// against the pinned keyring, a kept index against the Release's digest and parsed paragraph by
// paragraph. Verified once per process; only a few decompressed indexes are held at once.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ArchivePackage, viewPackagesIndex } from '../../services/debian/archive-indexes.ts';
import { decodeControlText } from '../../services/debian/deb822.ts';
import { verifyClearsignedWithGpgv } from '../../services/debian/gpgv-verify.ts';
import type { ArchiveIndexView } from '../../services/debian/index-stanzas.ts';
import { parseRelease, type ReleaseIndex } from '../../services/debian/release-index.ts';
import { type Sha256Hex, sha256File, sha256Hex } from '../../services/digest.ts';
import { refuseEvidence } from './deb-evidence-record.ts';
import { decompressXzFile } from './xz-decompress.ts';

export interface KeptIndexLimits {
  readonly maxInReleaseBytes: number;
  readonly maxIndexBytes: number;
  readonly gpgvTimeoutMs: number;
  readonly decompressTimeoutMs: number;
  /** Verified index views kept in memory at once (each holds a decompressed index). */
  readonly indexViewsInMemory: number;
}

export class KeptIndexVerifier {
  private readonly verifiedReleases = new Map<string, Promise<ReleaseIndex>>();
  private readonly verifiedIndexes = new Map<string, Promise<ArchiveIndexView<ArchivePackage>>>();

  constructor(
    private readonly releasesDir: string,
    private readonly indexesDir: string,
    private readonly keyringPath: string,
    private readonly limits: KeptIndexLimits,
  ) {}

  /** The kept InRelease `sha256`, verified with gpgv against the pinned keyring (once per process). */
  verifiedRelease(sha256: Sha256Hex, what: string): Promise<ReleaseIndex> {
    let verified = this.verifiedReleases.get(sha256);
    if (!verified) {
      verified = (async () => {
        const bytes = await readFile(join(this.releasesDir, `${sha256}.InRelease`));
        if (bytes.length > this.limits.maxInReleaseBytes || sha256Hex(bytes) !== sha256) {
          throw refuseEvidence(what, `the kept InRelease ${sha256} is not what was kept`);
        }
        const checked = await verifyClearsignedWithGpgv({
          signedBytes: bytes,
          keyringPath: this.keyringPath,
          timeoutMs: this.limits.gpgvTimeoutMs,
        });
        return parseRelease(decodeControlText(checked.plaintext, 'Release', this.limits.maxInReleaseBytes));
      })();
      this.verifiedReleases.set(sha256, verified);
      // A failure (say gpgv timed out) is tried again next time rather than remembered.
      verified.catch(() => this.verifiedReleases.delete(sha256));
    }
    return verified;
  }

  /** The kept index, checked against the Release's digest and every paragraph parsed (a few in memory at once). */
  verifiedIndex(
    listed: { size: number; sha256: Sha256Hex },
    plain: { size: number; sha256: Sha256Hex } | undefined,
    what: string,
  ): Promise<ArchiveIndexView<ArchivePackage>> {
    let view = this.verifiedIndexes.get(listed.sha256);
    if (view) {
      // Most recently used last.
      this.verifiedIndexes.delete(listed.sha256);
      this.verifiedIndexes.set(listed.sha256, view);
      return view;
    }
    view = (async () => {
      const path = join(this.indexesDir, listed.sha256);
      const hashed = await sha256File(path);
      if (hashed.sha256 !== listed.sha256 || hashed.sizeBytes !== listed.size) {
        throw refuseEvidence(what, `the kept index ${listed.sha256} is not what the Release lists`);
      }
      const bytes = await decompressXzFile(path, {
        maxOutputBytes: this.limits.maxIndexBytes,
        timeoutMs: this.limits.decompressTimeoutMs,
        what: `kept index ${listed.sha256}`,
        ...(plain ? { expectedOutputBytes: plain.size } : {}),
      });
      if (plain && sha256Hex(bytes) !== plain.sha256)
        throw refuseEvidence(what, 'the kept index decompresses to other bytes');
      return viewPackagesIndex(bytes, `kept index ${listed.sha256}`, { maxBytes: this.limits.maxIndexBytes });
    })();
    this.verifiedIndexes.set(listed.sha256, view);
    view.catch(() => this.verifiedIndexes.delete(listed.sha256));
    while (this.verifiedIndexes.size > this.limits.indexViewsInMemory) {
      const oldest = this.verifiedIndexes.keys().next().value as string;
      this.verifiedIndexes.delete(oldest);
    }
    return view;
  }

  /** Drops the verified index views held in memory. */
  forgetIndexes(): void {
    this.verifiedIndexes.clear();
  }
}
