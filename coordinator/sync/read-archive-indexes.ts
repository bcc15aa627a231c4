// A sync profile's poll of its archive: for each suite, the InRelease verified with the profile's
// keyring; for each component, its Sources (when the Release lists one) and its Packages per
// architecture read together whenever one of their digests changed, each streamed, decompressed and
// parsed once; the uploads its rules select recorded per suite in one transaction per index.
import {
  type ArchivePackage,
  packagesIndexStream,
  sourceVersionsStream,
} from '../../services/debian/archive-indexes.ts';
import { verifyClearsignedWithGpgv } from '../../services/debian/gpgv-verify.ts';
import type { IndexStanzaStream } from '../../services/debian/index-stanzas.ts';
import { parseRelease, type ReleaseIndex } from '../../services/debian/release-index.ts';
import { ArchiveError } from '../../services/errors.ts';
import type { SyncProfileRecord } from '../../services/storage/sync-profile-store.ts';
import type { SyncUploadClass } from '../../services/storage/sync-progress-store.ts';
import {
  type ArchiveUpload,
  type SourceVersions,
  UploadGrouper,
  uploadSelection,
} from '../../services/sync/archive-uploads.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import type { ArchiveSyncSettings } from './archive-sync-settings.ts';
import { boundedFetch } from './bounded-fetch.ts';
import { indexChunks, type ListedIndex, listedIndex } from './index-stream.ts';
import { withKeyringFile } from './sync-keyring.ts';

interface IndexRead {
  readonly suite: string;
  readonly index: ListedIndex;
  readonly url: string;
  readonly what: string;
  /** The digest last read, undefined on a first read. */
  readonly seen: string | undefined;
}

async function verifiedRelease(
  base: string,
  suite: string,
  profile: SyncProfileRecord,
  settings: ArchiveSyncSettings,
): Promise<ReleaseIndex> {
  const what = `${suite} InRelease`;
  const fetched = await boundedFetch(`${base}/dists/${suite}/InRelease`, {
    maxBytes: settings.maxInReleaseBytes,
    timeoutMs: settings.fetchTimeoutMs,
    what,
  });
  if (fetched.kind === 'not-found')
    throw new ArchiveError('ARCHIVE_INDEX', `${what}: HTTP ${fetched.status}`);
  const verified = await withKeyringFile(profile.archive.keyring, (keyringPath) =>
    verifyClearsignedWithGpgv({ signedBytes: fetched.bytes, keyringPath, timeoutMs: settings.gpgvTimeoutMs }),
  );
  return parseRelease(verified.plaintext.toString('utf8'));
}

/**
 * Streams one index through `stream`. A parse refusal is kept while the rest is drained, so a file
 * that is not what the Release lists is reported as a digest mismatch, not as the garbage it holds.
 */
async function readIndex<T>(read: IndexRead, stream: IndexStanzaStream<T>, settings: ArchiveSyncSettings) {
  let refusal: unknown;
  const chunks = indexChunks(read.url, read.index, {
    maxPlainBytes: settings.maxIndexBytes,
    timeoutMs: settings.fetchTimeoutMs,
    what: read.what,
  });
  for await (const chunk of chunks) {
    if (refusal !== undefined) continue;
    try {
      stream.push(chunk);
    } catch (err) {
      refusal = err;
    }
  }
  if (refusal !== undefined) throw refusal;
  stream.end();
}

async function readSources(read: IndexRead, settings: ArchiveSyncSettings): Promise<SourceVersions> {
  const sources = new Map<string, Map<string, string | undefined>>();
  await readIndex(
    read,
    sourceVersionsStream(read.what, (source) => {
      const versions = sources.get(source.name) ?? new Map<string, string | undefined>();
      versions.set(source.version, source.section);
      sources.set(source.name, versions);
    }),
    settings,
  );
  return sources;
}

async function readPackages(read: IndexRead, settings: ArchiveSyncSettings): Promise<UploadGrouper> {
  const grouper = new UploadGrouper();
  await readIndex(
    read,
    packagesIndexStream(read.what, (pkg: ArchivePackage) => grouper.add(pkg)),
    settings,
  );
  return grouper;
}

/** Waits for every read (none is left running) and throws the first refusal, in index order. */
async function allRead(reads: readonly Promise<unknown>[]): Promise<void> {
  const refused = (await Promise.allSettled(reads)).find((outcome) => outcome.status === 'rejected');
  if (refused) throw refused.reason;
}

/**
 * THE place where the uploads a suite's index selected are recorded (with the index's digest, in one
 * transaction); @returns how many were new.
 */
async function recordSuiteUploads(
  deps: CoordinatorDeps,
  profile: SyncProfileRecord,
  read: IndexRead,
  uploads: readonly ArchiveUpload[],
): Promise<number> {
  // The first read of an index is backfill; later reads find new uploads.
  const uploadClass: SyncUploadClass = read.seen === undefined ? 'backfill' : 'new';
  return deps.syncProgress.recordIndex(
    profile.name,
    `${read.suite}/${read.index.plain}`,
    read.index.digest,
    uploads,
    uploadClass,
    deps.now(),
    read.suite,
  );
}

/** Reads the profile's indexes whose digest changed and records the uploads they select. */
export async function readArchiveIndexes(
  deps: CoordinatorDeps,
  profile: SyncProfileRecord,
  settings: ArchiveSyncSettings,
): Promise<{ indexesRead: number; uploadsAdded: number }> {
  const base = profile.archive.url.replace(/\/+$/, '');
  const selection = uploadSelection(profile.include, profile.exclude);
  let indexesRead = 0;
  let uploadsAdded = 0;
  for (const suite of profile.archive.suites) {
    const release = await verifiedRelease(base, suite, profile, settings);
    const indexRead = async (index: ListedIndex): Promise<IndexRead> => ({
      suite,
      index,
      url: `${base}/dists/${suite}/${index.path}`,
      what: `${suite} ${index.path}`,
      seen: await deps.syncProgress.getIndexDigest(profile.name, `${suite}/${index.plain}`),
    });
    for (const component of profile.archive.components) {
      const packages: IndexRead[] = [];
      for (const arch of profile.archive.architectures) {
        const plain = `${component}/binary-${arch}/Packages`;
        const index = listedIndex(release, plain);
        if (!index)
          throw new ArchiveError(
            'ARCHIVE_INDEX',
            `${suite} ${plain}: not listed (.xz, .gz or plain) in the Release`,
          );
        packages.push(await indexRead(index));
      }
      const sourcesIndex = listedIndex(release, `${component}/source/Sources`);
      const sources = sourcesIndex && (await indexRead(sourcesIndex));
      // Read together: Sources judges the binaries of every Packages of the component.
      const reads = sources ? [...packages, sources] : packages;
      if (reads.every((read) => read.seen === read.index.digest)) continue;
      // All at once: each index is decompressed by its own xz while this thread parses.
      const sourcesRead = sources ? readSources(sources, settings) : Promise.resolve(undefined);
      const packagesRead = packages.map((read) => readPackages(read, settings));
      await allRead([sourcesRead, ...packagesRead]);
      const sourceVersions = await sourcesRead;
      const groupers = await Promise.all(packagesRead);
      for (const [at, read] of packages.entries()) {
        const uploads = groupers[at]!.uploads(selection, sourceVersions);
        uploadsAdded += await recordSuiteUploads(deps, profile, read, uploads);
        indexesRead++;
      }
      if (sources) {
        await recordSuiteUploads(deps, profile, sources, []);
        indexesRead++;
      }
    }
  }
  return { indexesRead, uploadsAdded };
}
