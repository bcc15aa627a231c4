// The results aggregate on SQLite: results, their verified facts and byproducts, and the artifact
// index. Rows are checked, outputs indexed and attempts marked reported by the schema (migration 8).
import type { Sha256Hex } from '../../../services/digest.ts';
import { isSha256Hex } from '../../../services/digest.ts';
import type { BuildRecord, ListBuildsOptions } from '../../../services/storage/build-store.ts';
import type {
  NewResult,
  ResultByproduct,
  ResultByproductRecord,
  ResultFacts,
  ResultRecord,
  ResultStore,
  VerifiedResultRecord,
} from '../../../services/storage/result-store.ts';
import { BuildStoreError } from '../../../services/storage/store-error.ts';
import { type BuildRow, mapBuild } from './build-rows.ts';
import { pageLimit } from './page-arguments.ts';
import { mapFacts, mapResult, type ResultRow, type ResultWithFactsRow } from './result-rows.ts';
import { frozenArray } from './row-mapping.ts';
import { epochMs, type SqliteConnection } from './sqlite-connection.ts';
import { withFieldPrefix } from './sqlite-errors.ts';
import { VerifiedResultsCache } from './verified-results-cache.ts';

interface ByproductRow {
  build_id: string;
  sha256: string;
  envelope_sha256: string;
  name: string;
}

function prepare(c: SqliteConnection) {
  const db = c.db;
  return {
    insertResult: db.prepare(
      `INSERT INTO results (build_id, worker_id, operator, attempt, job_id, envelope_sha256, kind,
         failure_reason, outputs_json, environment_sha256, environment_origin, inputs_key, log_sha256,
         counted, refused_reason, received_at)
       VALUES (@build_id, @worker_id, @operator, @attempt, @job_id, @envelope_sha256, @kind,
         @failure_reason, @outputs_json, @environment_sha256, @environment_origin, @inputs_key, @log_sha256,
         @counted, @refused_reason, @received_at)`,
    ),
    resultByKey: db.prepare<[string, string, number], ResultRow>(
      'SELECT * FROM results WHERE build_id = ? AND worker_id = ? AND attempt = ?',
    ),
    listResults: db.prepare<[string], ResultRow>('SELECT * FROM results WHERE build_id = ? ORDER BY seq'),
    verifiedResultsAfter: db.prepare<[string, number], ResultWithFactsRow>(
      `SELECT r.*, f.keyid, f.inputs_json, f.log_size_bytes, f.debian_source_json
       FROM results r LEFT JOIN result_facts f ON f.envelope_sha256 = r.envelope_sha256
       WHERE r.build_id = ? AND r.seq > ? ORDER BY r.seq`,
    ),
    insertFacts: db.prepare(
      `INSERT INTO result_facts (envelope_sha256, keyid, inputs_json, log_size_bytes, debian_source_json, recorded_at)
       VALUES (@envelope_sha256, @keyid, @inputs_json, @log_size_bytes, @debian_source_json, @recorded_at)`,
    ),
    factsOf: db.prepare<[string], ResultWithFactsRow>(
      `SELECT r.*, f.keyid, f.inputs_json, f.log_size_bytes, f.debian_source_json
       FROM results r LEFT JOIN result_facts f ON f.envelope_sha256 = r.envelope_sha256
       WHERE r.envelope_sha256 = ?`,
    ),
    insertBlobRef: db.prepare<[string, string]>(
      'INSERT OR IGNORE INTO blob_refs (sha256, holder) VALUES (?, ?)',
    ),
    insertByproduct: db.prepare<[ByproductRow]>(
      `INSERT OR IGNORE INTO result_byproducts (build_id, sha256, envelope_sha256, name)
       VALUES (@build_id, @sha256, @envelope_sha256, @name)`,
    ),
    byproductsByDigest: db.prepare<[string, string], ByproductRow>(
      'SELECT * FROM result_byproducts WHERE build_id = ? AND sha256 = ? ORDER BY envelope_sha256, name',
    ),
    byproductsOfBuild: db.prepare<[string], ByproductRow>(
      'SELECT * FROM result_byproducts WHERE build_id = ? ORDER BY envelope_sha256, name',
    ),
    unindexedBuiltResults: db.prepare<[string], ResultRow>(
      `SELECT * FROM results r WHERE r.build_id = ? AND r.kind = 'built' AND NOT EXISTS
         (SELECT 1 FROM result_byproducts b WHERE b.envelope_sha256 = r.envelope_sha256)
       ORDER BY r.seq`,
    ),
    buildIdsWithResultsFrom: db.prepare<[string, number], { build_id: string }>(
      `SELECT build_id FROM results WHERE worker_id = ? AND received_at >= ?
       GROUP BY build_id ORDER BY MIN(received_at), build_id`,
    ),
    seqOf: db.prepare<[string], { seq: number }>('SELECT seq FROM builds WHERE build_id = ?'),
    buildsByArtifact: db.prepare<[string, number, number], BuildRow>(
      `SELECT * FROM builds WHERE build_id IN (SELECT build_id FROM artifacts WHERE sha256 = ?)
         AND seq < ? ORDER BY seq DESC LIMIT ?`,
    ),
  };
}

/** The {@link ResultStore} on the coordinator's SQLite file. */
export class SqliteResultStore implements ResultStore {
  readonly #c: SqliteConnection;
  readonly #s: ReturnType<typeof prepare>;
  readonly #verified = new VerifiedResultsCache();

  constructor(connection: SqliteConnection) {
    this.#c = connection;
    this.#s = prepare(connection);
  }

  /** @inheritdoc */
  async recordResult(input: NewResult): Promise<ResultRecord & { readonly duplicate: boolean }> {
    return this.#c.write(() => {
      // The idempotency key decides first: a retried post must succeed even after its attempt expired.
      const existing = this.#s.resultByKey.get(input.buildId, input.workerId, input.attempt);
      if (existing !== undefined) {
        if (existing.envelope_sha256 !== input.envelopeSha256) {
          throw new BuildStoreError(
            'CONFLICT',
            `envelopeSha256: attempt ${input.attempt} of worker ${input.workerId} on build ${input.buildId} ` +
              `already has result ${existing.envelope_sha256}`,
          );
        }
        return Object.freeze({ ...mapResult(existing), duplicate: true });
      }
      const receivedAt = epochMs(input.receivedAt);
      this.#s.insertResult.run({
        build_id: input.buildId,
        worker_id: input.workerId,
        operator: input.operator,
        attempt: input.attempt,
        job_id: input.jobId,
        envelope_sha256: input.envelopeSha256,
        kind: input.kind,
        failure_reason: input.failureReason ?? null,
        outputs_json: JSON.stringify(
          (input.outputs ?? []).map((o) => ({ path: o.path, sha256: o.sha256, sizeBytes: o.sizeBytes })),
        ),
        environment_sha256: input.environmentSha256,
        environment_origin: input.environmentOrigin,
        inputs_key: input.inputsKey,
        log_sha256: input.logSha256,
        counted: input.counted ? 1 : 0,
        refused_reason: input.refusedReason ?? null,
        received_at: receivedAt,
      });
      (input.referencedBlobs ?? []).forEach((sha256, i) => {
        withFieldPrefix(`referencedBlobs[${i}].`, () =>
          this.#s.insertBlobRef.run(sha256, `result:${input.jobId}`),
        );
      });
      if (input.facts !== undefined) this.#insertFacts(input.envelopeSha256, input.facts, receivedAt ?? 0);
      this.#insertByproducts(input.buildId, input.envelopeSha256, input.byproducts ?? []);
      return Object.freeze({
        ...mapResult(this.#s.resultByKey.get(input.buildId, input.workerId, input.attempt)!),
        duplicate: false,
      });
    });
  }

  /** @inheritdoc */
  async recordResultFacts(
    envelopeSha256: Sha256Hex,
    facts: ResultFacts,
    byproducts: readonly ResultByproduct[],
  ): Promise<void> {
    this.#c.write(() => {
      const row = this.#s.factsOf.get(envelopeSha256);
      if (row === undefined)
        throw new BuildStoreError('NOT_FOUND', `envelopeSha256: no result with envelope ${envelopeSha256}`);
      if (row.keyid === null) {
        this.#insertFacts(envelopeSha256, facts, Date.now());
        this.#verified.replace(row.build_id, verifiedRecord(this.#s.factsOf.get(envelopeSha256)!));
      } else if (JSON.stringify(mapFacts(row)) !== JSON.stringify(mapFacts(factsRow(facts)))) {
        throw new BuildStoreError('CONFLICT', `facts: result ${envelopeSha256} already has other facts`);
      }
      this.#insertByproducts(row.build_id, envelopeSha256, byproducts);
    });
  }

  #insertFacts(envelopeSha256: Sha256Hex, facts: ResultFacts, recordedAt: number): void {
    this.#s.insertFacts.run({ envelope_sha256: envelopeSha256, ...factsRow(facts), recorded_at: recordedAt });
  }

  #insertByproducts(
    buildId: string,
    envelopeSha256: Sha256Hex,
    byproducts: readonly ResultByproduct[],
  ): void {
    byproducts.forEach((byproduct, i) => {
      withFieldPrefix(`byproducts[${i}].`, () =>
        this.#s.insertByproduct.run({
          build_id: buildId,
          sha256: byproduct.sha256,
          envelope_sha256: envelopeSha256,
          name: byproduct.name,
        }),
      );
    });
  }

  /** @inheritdoc */
  async listResults(buildId: string): Promise<readonly ResultRecord[]> {
    return Object.freeze(this.#s.listResults.all(buildId).map(mapResult));
  }

  /** @inheritdoc */
  async listVerifiedResults(buildId: string): Promise<readonly VerifiedResultRecord[]> {
    // Rows and facts are immutable: only the rows that arrived since the last read are read.
    return this.#verified.rows(buildId, (lastSeq) =>
      this.#s.verifiedResultsAfter.all(buildId, lastSeq).map((row) => ({
        seq: row.seq,
        record: verifiedRecord(row),
      })),
    );
  }

  /** @inheritdoc */
  async findResultByproducts(buildId: string, sha256: Sha256Hex): Promise<readonly ResultByproductRecord[]> {
    if (!isSha256Hex(sha256))
      throw new BuildStoreError('INVALID', 'sha256: expected 64 lowercase hex characters');
    return frozenArray(this.#s.byproductsByDigest.all(buildId, sha256).map(mapByproduct));
  }

  /** @inheritdoc */
  async listResultByproducts(buildId: string): Promise<readonly ResultByproductRecord[]> {
    return frozenArray(this.#s.byproductsOfBuild.all(buildId).map(mapByproduct));
  }

  /** @inheritdoc */
  async listUnindexedBuiltResults(buildId: string): Promise<readonly ResultRecord[]> {
    return Object.freeze(this.#s.unindexedBuiltResults.all(buildId).map(mapResult));
  }

  /** @inheritdoc */
  async listBuildIdsWithResultsFrom(workerId: string, since: Date): Promise<readonly string[]> {
    return Object.freeze(
      this.#s.buildIdsWithResultsFrom.all(workerId, since.getTime()).map((r) => r.build_id),
    );
  }

  /** @inheritdoc */
  async findBuildsByArtifact(
    sha256: Sha256Hex,
    options: ListBuildsOptions = {},
  ): Promise<readonly BuildRecord[]> {
    if (!isSha256Hex(sha256))
      throw new BuildStoreError('INVALID', 'sha256: expected a sha256 digest as 64 lowercase hex characters');
    const limit = pageLimit(options.limit, 100);
    let before = Number.MAX_SAFE_INTEGER;
    if (options.after !== undefined) {
      const cursor = this.#s.seqOf.get(options.after);
      if (cursor === undefined) throw new BuildStoreError('NOT_FOUND', `after: no build ${options.after}`);
      before = cursor.seq;
    }
    return Object.freeze(this.#s.buildsByArtifact.all(sha256, before, limit).map(mapBuild));
  }
}

/** The facts columns of a result, as stored. */
function factsRow(facts: ResultFacts) {
  return {
    keyid: facts.keyid,
    inputs_json: JSON.stringify(facts.inputs.map((i) => ({ path: i.path, sha256: i.sha256 }))),
    log_size_bytes: facts.logSizeBytes,
    debian_source_json: facts.debianSource === undefined ? null : JSON.stringify(facts.debianSource),
  };
}

function verifiedRecord(row: ResultWithFactsRow): VerifiedResultRecord {
  return Object.freeze({ ...mapResult(row), ...(row.keyid !== null && { facts: mapFacts(row) }) });
}

function mapByproduct(row: ByproductRow): ResultByproductRecord {
  return {
    buildId: row.build_id,
    sha256: row.sha256 as Sha256Hex,
    envelopeSha256: row.envelope_sha256 as Sha256Hex,
    name: row.name,
  };
}
