// A build's results as a decision reads them, kept between decisions: result rows and their facts
// never change once written (the schema refuses it), so each decision reads only the rows that
// arrived since the last one instead of materialising the build's whole history again.
import type { VerifiedResultRecord } from '../../../services/storage/result-store.ts';

interface CachedBuild {
  /** The `seq` of the last row read; rows after it are new. */
  lastSeq: number;
  readonly rows: VerifiedResultRecord[];
}

/** Builds kept; a build's entry holds one frozen record per result. */
const MAX_BUILDS = 256;

export class VerifiedResultsCache {
  readonly #builds = new Map<string, CachedBuild>();

  /**
   * The build's rows: the cached ones, then `readAfter(lastSeq)` appended (rows in `seq` order, each
   * with its `seq`). Least recently used builds are forgotten past {@link MAX_BUILDS}.
   */
  rows(
    buildId: string,
    readAfter: (
      lastSeq: number,
    ) => readonly { readonly seq: number; readonly record: VerifiedResultRecord }[],
  ): readonly VerifiedResultRecord[] {
    let entry = this.#builds.get(buildId);
    if (entry === undefined) entry = { lastSeq: 0, rows: [] };
    this.#builds.delete(buildId);
    this.#builds.set(buildId, entry);
    if (this.#builds.size > MAX_BUILDS) this.#builds.delete(this.#builds.keys().next().value!);
    for (const { seq, record } of readAfter(entry.lastSeq)) {
      entry.rows.push(record);
      entry.lastSeq = seq;
    }
    return Object.freeze([...entry.rows]);
  }

  /** Replaces a cached row by the same result with its facts now recorded. */
  replace(buildId: string, record: VerifiedResultRecord): void {
    const rows = this.#builds.get(buildId)?.rows;
    const index = rows?.findIndex((row) => row.envelopeSha256 === record.envelopeSha256) ?? -1;
    if (rows !== undefined && index >= 0) rows[index] = record;
  }
}
