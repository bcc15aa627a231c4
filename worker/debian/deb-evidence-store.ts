// The worker's evidence store: every .deb it has verified, kept with the signed InRelease and the
// index that vouched for it, so a version that later leaves the mirror stays usable to this worker —
// verified again from that evidence with the pinned keyring on every use, never trusted as cached.
import { mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ArchivePackage } from '../../services/debian/archive-indexes.ts';
import { isDebianPackageName } from '../../services/debian/debian-version.ts';
import { sha256File, sha256Hex } from '../../services/digest.ts';
import { ArchiveError } from '../../services/errors.ts';
import { linkOrCopyNew, writeFileAtomically } from './atomic-file.ts';
import {
  type DebEvidenceSource,
  EVIDENCE_RECORD_SCHEMA,
  type EvidenceRecord,
  type FoundEvidence,
  parseEvidenceRecord,
  refuseEvidence,
} from './deb-evidence-record.ts';
import { architectureMatches } from './debian-archive.ts';
import { KeptIndexVerifier } from './kept-index-verifier.ts';
import type { RequestedPackage } from './resolve-environment-packages.ts';

export interface DebEvidenceStoreOptions {
  /** Directory of the store (created if missing), e.g. `<stateDir>/debian-evidence`. */
  readonly dir: string;
  /** Bytes the store may hold (.debs, InReleases, indexes and records together); least recently used go first. */
  readonly maxBytes: number;
  /** The pinned keyring every kept InRelease is verified against again on use. */
  readonly keyringPath: string;
  /** The build architecture (an unqualified request matches it or `all`). */
  readonly architecture: string;
  readonly logger: Logger;
  /** Largest decompressed index accepted. Default 192 MiB. */
  readonly maxIndexBytes?: number;
}

/** Defaults; units are in the names. */
export const DEB_EVIDENCE_DEFAULTS = Object.freeze({
  maxIndexBytes: 192 * 1024 * 1024,
  maxRecordBytes: 256 * 1024,
  maxInReleaseBytes: 1024 * 1024,
  gpgvTimeoutMs: 30_000,
  decompressTimeoutMs: 120_000,
  /** Verified index views kept in memory at once (each holds a decompressed index). */
  indexViewsInMemory: 2,
  /** A .deb without a record (say a download whose job died) is left alone this long before eviction may take it. */
  orphanGraceMs: 3600_000,
});

/** How many bytes the store holds, by kind. */
export interface DebEvidenceUsage {
  readonly debs: number;
  readonly debBytes: number;
  readonly records: number;
  readonly recordBytes: number;
  readonly releaseBytes: number;
  readonly indexBytes: number;
}

/**
 * The store, one per worker. Layout under `dir`:
 * - `debs/<sha256>.deb`: verified .debs (the archive client downloads straight into this directory);
 * - `records/<name>/<version>_<architecture>_<sha256>.json`: what was verified and where;
 * - `releases/<sha256>.InRelease`: the signed InRelease files the records name;
 * - `indexes/<sha256>`: the compressed Packages indexes those Releases list.
 *
 * On use ({@link DebEvidenceStore.find}) the kept InRelease is verified with gpgv against the pinned
 * keyring and its Suite checked, the kept index is checked against the Release's digest and must list
 * the package with the same sha256 and size, and the .deb is re-hashed. Valid-Until is not checked
 * again: it was checked when the evidence was first accepted, and kept evidence is old by design.
 *
 * Disk is bounded by `maxBytes` ({@link DebEvidenceStore.evict}): the least recently used .debs go
 * first, with their records; InReleases and indexes no remaining record names go with them. .debs in
 * use by a preparation in this process ({@link DebEvidenceStore.withPinned}) are never evicted.
 */
export class DebEvidenceStore {
  readonly debsDir: string;
  private readonly recordsDir: string;
  private readonly releasesDir: string;
  private readonly indexesDir: string;
  private readonly pins = new Map<string, number>();
  private readonly kept: KeptIndexVerifier;

  constructor(private readonly options: DebEvidenceStoreOptions) {
    this.debsDir = join(options.dir, 'debs');
    this.recordsDir = join(options.dir, 'records');
    this.releasesDir = join(options.dir, 'releases');
    this.indexesDir = join(options.dir, 'indexes');
    this.kept = new KeptIndexVerifier(this.releasesDir, this.indexesDir, options.keyringPath, {
      ...DEB_EVIDENCE_DEFAULTS,
      maxIndexBytes: options.maxIndexBytes ?? DEB_EVIDENCE_DEFAULTS.maxIndexBytes,
    });
  }

  private recordName(pkg: Pick<ArchivePackage, 'version' | 'architecture' | 'sha256'>): string {
    return `${pkg.version}_${pkg.architecture}_${pkg.sha256}.json`;
  }

  /**
   * Keeps the evidence for .debs that were just verified against a signed index and are in
   * {@link DebEvidenceStore.debsDir}. The first evidence kept for a .deb is kept; later ones for the
   * same .deb only mark it used.
   */
  async keep(sources: readonly DebEvidenceSource[]): Promise<void> {
    await Promise.all(
      [this.recordsDir, this.releasesDir, this.indexesDir].map((d) => mkdir(d, { recursive: true })),
    );
    for (const source of sources) {
      const { pkg } = source;
      const directory = join(this.recordsDir, pkg.name);
      const path = join(directory, this.recordName(pkg));
      const now = new Date();
      if (await stat(path).catch(() => undefined)) {
        await utimes(path, now, now);
        continue;
      }
      const releaseSha256 = sha256Hex(source.inRelease);
      const releasePath = join(this.releasesDir, `${releaseSha256}.InRelease`);
      if (!(await stat(releasePath).catch(() => undefined)))
        await writeFileAtomically(releasePath, source.inRelease);
      await linkOrCopyNew(source.indexFile, join(this.indexesDir, source.indexDigest.sha256));
      const record: EvidenceRecord = {
        schema: EVIDENCE_RECORD_SCHEMA,
        name: pkg.name,
        version: pkg.version,
        architecture: pkg.architecture,
        sha256: pkg.sha256,
        size: pkg.size,
        stanza: pkg.stanza,
        from: source.from,
        archive: source.archive,
        suite: source.suite,
        ...(source.snapshotTimestamp === undefined ? {} : { snapshotTimestamp: source.snapshotTimestamp }),
        releaseSha256,
        indexPath: source.indexPath,
        indexSha256: source.indexDigest.sha256,
        indexSize: source.indexDigest.size,
        firstVerifiedAt: now.toISOString(),
      };
      await mkdir(directory, { recursive: true });
      await writeFileAtomically(path, `${JSON.stringify(record)}\n`);
    }
  }

  /**
   * The kept package `name` at exactly `version` for `architecture` (undefined: the build architecture
   * or `all`), verified again from its evidence; undefined when nothing usable is kept. Evidence that
   * fails verification is logged and skipped (a .deb whose bytes changed is deleted).
   * @throws ArchiveError ARCHIVE_INDEX when two kept, verified records name different files for it.
   */
  async find(want: RequestedPackage): Promise<FoundEvidence | undefined> {
    if (!isDebianPackageName(want.name)) return undefined;
    const names = await readdir(join(this.recordsDir, want.name)).catch(() => [] as string[]);
    const found: FoundEvidence[] = [];
    for (const file of names) {
      const [version, architecture, rest] = file.split('_');
      if (version !== want.version || !rest?.endsWith('.json') || architecture === undefined) continue;
      if (!architectureMatches(architecture, want.architecture, this.options.architecture)) continue;
      const path = join(this.recordsDir, want.name, file);
      try {
        const verified = await this.verify(path);
        if (verified) found.push(verified);
      } catch (err) {
        this.options.logger.warn({ record: path, err }, 'kept evidence refused; not used');
      }
    }
    const [first, ...rest] = found;
    for (const other of rest) {
      if (other.pkg.sha256 !== first?.pkg.sha256 && other.pkg.architecture === first?.pkg.architecture) {
        throw new ArchiveError(
          'ARCHIVE_INDEX',
          `${want.name} ${want.version} ${first?.pkg.architecture}: kept evidence names two different files`,
        );
      }
    }
    return first;
  }

  private async verify(recordPath: string): Promise<FoundEvidence | undefined> {
    const what = recordPath.slice(this.recordsDir.length + 1);
    const record = parseEvidenceRecord(
      await readFile(recordPath),
      what,
      DEB_EVIDENCE_DEFAULTS.maxRecordBytes,
    );
    if (`${record.name}/${this.recordName(record)}` !== what)
      throw refuseEvidence(what, 'record does not match its file name');
    const release = await this.kept.verifiedRelease(record.releaseSha256, what);
    if (release.suite !== record.suite && release.codename !== record.suite) {
      throw refuseEvidence(
        what,
        `the kept Release is for ${release.suite}/${release.codename}, not ${record.suite}`,
      );
    }
    const listed = release.sha256.get(record.indexPath);
    if (!listed || listed.sha256 !== record.indexSha256 || listed.size !== record.indexSize) {
      throw refuseEvidence(
        what,
        `the kept Release does not list ${record.indexPath} with sha256 ${record.indexSha256}`,
      );
    }
    const plain = release.sha256.get(record.indexPath.replace(/\.xz$/, ''));
    const view = await this.kept.verifiedIndex(listed, plain, what);
    const pkg = view
      .lookup(record.name)
      .find(
        (item) =>
          item.version === record.version &&
          item.architecture === record.architecture &&
          item.sha256 === record.sha256 &&
          item.size === record.size,
      );
    if (!pkg)
      throw refuseEvidence(
        what,
        `the kept index does not list ${record.name} ${record.version} with sha256 ${record.sha256}`,
      );
    const debPath = join(this.debsDir, `${record.sha256}.deb`);
    const info = await stat(debPath).catch(() => undefined);
    if (!info) {
      await rm(recordPath, { force: true });
      return undefined;
    }
    const hashed = info.size === record.size ? (await sha256File(debPath)).sha256 : undefined;
    if (hashed !== record.sha256) {
      this.options.logger.warn({ path: debPath }, 'kept .deb does not match its signed index; deleted');
      await rm(debPath, { force: true });
      await rm(recordPath, { force: true });
      return undefined;
    }
    const now = new Date();
    await utimes(debPath, now, now).catch(() => undefined);
    await utimes(recordPath, now, now).catch(() => undefined);
    return {
      pkg,
      origin: {
        from: 'evidence',
        archive: record.archive,
        suite: record.suite,
        releaseSha256: record.releaseSha256,
        ...(record.snapshotTimestamp === undefined ? {} : { snapshotTimestamp: record.snapshotTimestamp }),
      },
      debPath,
    };
  }

  /**
   * Drops the verified index views held in memory (each is a whole decompressed index); the next use
   * verifies the kept index again. Called when a resolution is done, so an idle worker holds none.
   */
  forgetIndexes(): void {
    this.kept.forgetIndexes();
  }

  /** Runs `work` with these .debs protected from eviction (in this process). */
  async withPinned<T>(sha256s: Iterable<string>, work: () => Promise<T>): Promise<T> {
    const pinned = [...new Set(sha256s)];
    for (const sha of pinned) this.pins.set(sha, (this.pins.get(sha) ?? 0) + 1);
    try {
      return await work();
    } finally {
      for (const sha of pinned) {
        const count = (this.pins.get(sha) ?? 1) - 1;
        if (count <= 0) this.pins.delete(sha);
        else this.pins.set(sha, count);
      }
    }
  }

  /** Every record file, with the .deb it names. */
  private async records(): Promise<{ path: string; sha256: string; mtimeMs: number; size: number }[]> {
    const out: { path: string; sha256: string; mtimeMs: number; size: number }[] = [];
    for (const name of await readdir(this.recordsDir).catch(() => [] as string[])) {
      for (const file of await readdir(join(this.recordsDir, name)).catch(() => [] as string[])) {
        const sha256 = /_([0-9a-f]{64})\.json$/.exec(file)?.[1];
        const path = join(this.recordsDir, name, file);
        const info = await stat(path).catch(() => undefined);
        if (sha256 && info) out.push({ path, sha256, mtimeMs: info.mtimeMs, size: info.size });
      }
    }
    return out;
  }

  private async filesIn(dir: string): Promise<{ name: string; size: number; mtimeMs: number }[]> {
    const out: { name: string; size: number; mtimeMs: number }[] = [];
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const info = await stat(join(dir, name)).catch(() => undefined);
      if (info?.isFile()) out.push({ name, size: info.size, mtimeMs: info.mtimeMs });
    }
    return out;
  }

  /** Bytes held, by kind. */
  async usage(): Promise<DebEvidenceUsage> {
    const debs = (await this.filesIn(this.debsDir)).filter((f) => f.name.endsWith('.deb'));
    const records = await this.records();
    const sum = (list: { size: number }[]) => list.reduce((total, f) => total + f.size, 0);
    return {
      debs: debs.length,
      debBytes: sum(debs),
      records: records.length,
      recordBytes: sum(records),
      releaseBytes: sum(await this.filesIn(this.releasesDir)),
      indexBytes: sum(await this.filesIn(this.indexesDir)),
    };
  }

  /**
   * Brings the store under `maxBytes`: removes the least recently used .debs (by mtime, touched on every
   * use) with their records until it fits, skipping pinned ones and .debs without a record younger than
   * an hour (a download whose evidence is about to be kept), then removes InReleases and indexes no
   * remaining record names. Reads every record only when it has to evict. Returns the bytes removed.
   */
  async evict(): Promise<number> {
    const usage = await this.usage();
    let total = usage.debBytes + usage.recordBytes + usage.releaseBytes + usage.indexBytes;
    if (total <= this.options.maxBytes) return 0;
    const before = total;
    const records = await this.records();
    const recordsBySha = new Map<string, typeof records>();
    for (const record of records) {
      const list = recordsBySha.get(record.sha256) ?? [];
      list.push(record);
      recordsBySha.set(record.sha256, list);
    }
    const now = Date.now();
    const debs = (await this.filesIn(this.debsDir))
      .filter((f) => f.name.endsWith('.deb'))
      .map((f) => {
        const sha256 = f.name.slice(0, -'.deb'.length);
        const kept = recordsBySha.get(sha256) ?? [];
        return {
          ...f,
          sha256,
          kept,
          usedMs: Math.max(f.mtimeMs, ...kept.map((r) => r.mtimeMs)),
        };
      })
      .filter((d) => !this.pins.has(d.sha256))
      .filter((d) => d.kept.length > 0 || now - d.mtimeMs > DEB_EVIDENCE_DEFAULTS.orphanGraceMs)
      .sort((a, b) => a.usedMs - b.usedMs);
    for (const deb of debs) {
      if (total <= this.options.maxBytes) break;
      await rm(join(this.debsDir, deb.name), { force: true });
      total -= deb.size;
      for (const record of deb.kept) {
        await rm(record.path, { force: true });
        total -= record.size;
      }
    }
    // Evidence no record names any more goes too.
    const namedReleases = new Set<string>();
    const namedIndexes = new Set<string>();
    for (const record of await this.records()) {
      try {
        const parsed = parseEvidenceRecord(
          await readFile(record.path),
          record.path,
          DEB_EVIDENCE_DEFAULTS.maxRecordBytes,
        );
        namedReleases.add(`${parsed.releaseSha256}.InRelease`);
        namedIndexes.add(parsed.indexSha256);
      } catch {
        await rm(record.path, { force: true });
      }
    }
    for (const file of await this.filesIn(this.releasesDir)) {
      if (!namedReleases.has(file.name)) {
        await rm(join(this.releasesDir, file.name), { force: true });
        total -= file.size;
      }
    }
    for (const file of await this.filesIn(this.indexesDir)) {
      if (!namedIndexes.has(file.name)) {
        await rm(join(this.indexesDir, file.name), { force: true });
        total -= file.size;
      }
    }
    this.options.logger.info({ removedBytes: before - total, keptBytes: total }, 'evidence store evicted');
    return before - total;
  }
}
