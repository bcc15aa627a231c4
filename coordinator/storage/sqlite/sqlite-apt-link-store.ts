// The apt links on SQLite: per (architecture, operator, package, version) the link served to apt,
// and the conflict record. Rows are checked by the schema (migration 8); a compromised worker's links
// are withdrawn by a trigger on its revocation.
import type { Sha256Hex } from '../../../services/digest.ts';
import type {
  AptLinkConflictRecord,
  AptLinkPublication,
  AptLinkRecord,
  AptLinkStore,
  NewAptLink,
} from '../../../services/storage/apt-link-store.ts';
import { frozenArray, iso } from './row-mapping.ts';
import { epochMs, type SqliteConnection } from './sqlite-connection.ts';
import { withFieldPrefix } from './sqlite-errors.ts';

interface AptLinkRow {
  architecture: string;
  operator: string;
  package: string;
  version: string;
  link_sha256: string;
  products_sha256: string;
  build_id: string;
  worker_id: string;
  created_at: number | null;
}

interface AptLinkConflictRow {
  seq: number;
  architecture: string;
  package: string;
  version: string;
  published_build_id: string;
  published_products_sha256: string;
  build_id: string;
  products_sha256: string;
  detected_at: number;
}

function prepare(c: SqliteConnection) {
  const db = c.db;
  return {
    deleteAptLinks: db.prepare<[string]>('DELETE FROM apt_links WHERE build_id = ?'),
    // Never an upsert: a row of another build under the same key is kept (see replaceAptLinks).
    insertAptLink: db.prepare<[AptLinkRow]>(
      `INSERT OR IGNORE INTO apt_links (architecture, operator, package, version, link_sha256,
         products_sha256, build_id, worker_id, created_at)
       VALUES (@architecture, @operator, @package, @version, @link_sha256, @products_sha256,
         @build_id, @worker_id, @created_at)`,
    ),
    publishedProducts: db.prepare<
      [string, string, string, string],
      { build_id: string; products_sha256: string }
    >(
      `SELECT build_id, products_sha256 FROM apt_links
       WHERE architecture = ? AND package = ? AND version = ? AND build_id != ?
       GROUP BY build_id, products_sha256 ORDER BY MIN(created_at), build_id`,
    ),
    insertAptLinkConflict: db.prepare(
      `INSERT OR IGNORE INTO apt_link_conflicts (architecture, package, version, published_build_id,
         published_products_sha256, build_id, products_sha256, detected_at)
       VALUES (@architecture, @package, @version, @published_build_id, @published_products_sha256,
         @build_id, @products_sha256, @detected_at)`,
    ),
    aptLinkConflict: db.prepare<[string, string, string, string, string, string], AptLinkConflictRow>(
      `SELECT * FROM apt_link_conflicts WHERE build_id = ? AND architecture = ? AND package = ?
         AND version = ? AND published_build_id = ? AND products_sha256 = ?`,
    ),
    aptLinkConflictsOf: db.prepare<[string, string], AptLinkConflictRow>(
      'SELECT * FROM apt_link_conflicts WHERE build_id = ? OR published_build_id = ? ORDER BY seq',
    ),
    countAptLinkConflicts: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM apt_link_conflicts'),
    aptLink: db.prepare<[string, string, string, string], AptLinkRow>(
      'SELECT * FROM apt_links WHERE architecture = ? AND operator = ? AND package = ? AND version = ?',
    ),
  };
}

/** The {@link AptLinkStore} on the coordinator's SQLite file. */
export class SqliteAptLinkStore implements AptLinkStore {
  readonly #c: SqliteConnection;
  readonly #s: ReturnType<typeof prepare>;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
    this.#s = prepare(connection);
  }

  /** @inheritdoc */
  async replaceAptLinks(
    buildId: string,
    links: readonly NewAptLink[],
    now: Date = new Date(),
  ): Promise<AptLinkPublication> {
    const nowMs = epochMs(now);
    const rows: AptLinkRow[] = links.map((link) => ({
      architecture: link.architecture,
      operator: link.operator,
      package: link.package,
      version: link.version,
      link_sha256: link.linkSha256,
      products_sha256: link.productsSha256,
      build_id: buildId,
      worker_id: link.workerId,
      created_at: nowMs,
    }));
    const publication = this.#c.write(() => {
      this.#s.deleteAptLinks.run(buildId);
      const conflicts: AptLinkConflictRecord[] = [];
      const checked = new Set<string>();
      rows.forEach((row, i) => {
        const key = JSON.stringify([row.architecture, row.package, row.version, row.products_sha256]);
        if (checked.has(key)) return;
        checked.add(key);
        for (const published of this.#s.publishedProducts.all(
          row.architecture,
          row.package,
          row.version,
          buildId,
        )) {
          if (published.products_sha256 === row.products_sha256) continue;
          withFieldPrefix(`links[${i}].`, () =>
            this.#s.insertAptLinkConflict.run({
              architecture: row.architecture,
              package: row.package,
              version: row.version,
              published_build_id: published.build_id,
              published_products_sha256: published.products_sha256,
              build_id: buildId,
              products_sha256: row.products_sha256,
              detected_at: nowMs,
            }),
          );
          const stored = this.#s.aptLinkConflict.get(
            buildId,
            row.architecture,
            row.package,
            row.version,
            published.build_id,
            row.products_sha256,
          )!;
          conflicts.push(mapAptLinkConflict(stored));
        }
      });
      // A build that contradicts a published version publishes nothing: one of the two is a lie.
      if (conflicts.length > 0) return Object.freeze({ published: 0, conflicts: frozenArray(conflicts) });
      let published = 0;
      rows.forEach((row, i) => {
        published += withFieldPrefix(`links[${i}].`, () => this.#s.insertAptLink.run(row).changes);
      });
      return Object.freeze({ published, conflicts: frozenArray(conflicts) });
    });
    this.#c.aptLinksChanged(buildId);
    return publication;
  }

  /** @inheritdoc */
  watchAptLinks(listener: (buildId?: string) => void): () => void {
    return this.#c.watchAptLinks(listener);
  }

  /** @inheritdoc */
  async listAptLinkConflicts(buildId: string): Promise<readonly AptLinkConflictRecord[]> {
    return frozenArray(this.#s.aptLinkConflictsOf.all(buildId, buildId).map(mapAptLinkConflict));
  }

  /** @inheritdoc */
  async countAptLinkConflicts(): Promise<number> {
    return this.#s.countAptLinkConflicts.get()!.n;
  }

  /** @inheritdoc */
  async getAptLink(
    architecture: string,
    operator: string,
    pkg: string,
    version: string,
  ): Promise<AptLinkRecord | undefined> {
    const row = this.#s.aptLink.get(architecture, operator, pkg, version);
    return row
      ? { linkSha256: row.link_sha256 as Sha256Hex, buildId: row.build_id, workerId: row.worker_id }
      : undefined;
  }
}

function mapAptLinkConflict(row: AptLinkConflictRow): AptLinkConflictRecord {
  return Object.freeze({
    architecture: row.architecture,
    package: row.package,
    version: row.version,
    publishedBuildId: row.published_build_id,
    publishedProductsSha256: row.published_products_sha256 as Sha256Hex,
    contestingBuildId: row.build_id,
    contestingProductsSha256: row.products_sha256 as Sha256Hex,
    detectedAt: iso(row.detected_at),
  });
}
