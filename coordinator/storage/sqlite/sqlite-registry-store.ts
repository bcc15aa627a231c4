// The registry on SQLite: operators, maintainers, tokens and workers. Rows are checked by the
// schema (migration 8); this file maps them and holds the two rules SQL cannot: keys parse, and a
// compromise is not dated in the future.
import { randomUUID } from 'node:crypto';
import {
  assertEnrolmentKeysReadable,
  type MaintainerRecord,
  type NewToken,
  type OperatorRecord,
  type RegistryStore,
  type TokenKind,
  type TokenRecord,
  type WorkerEnrolment,
  type WorkerRecord,
  type WorkerRevocationRequest,
} from '../../../services/storage/registry-store.ts';
import { BuildStoreError } from '../../../services/storage/store-error.ts';
import {
  isTokenScope,
  mintTokenSecret,
  tokenAuthenticates,
  tokenSecretSha256,
} from '../../../services/storage/token-policy.ts';
import { frozenArray, iso, optional, optionalIso } from './row-mapping.ts';
import { epochMs, optionalEpochMs, type SqliteConnection } from './sqlite-connection.ts';
import { asStoreErrors } from './sqlite-errors.ts';

interface NameRow {
  name: string;
  created_at: number;
}

interface TokenRow {
  token_id: string;
  token_hash: string;
  kind: TokenKind;
  subject: string;
  scopes_json: string;
  single_use: number;
  created_at: number;
  expires_at: number | null;
  used_at: number | null;
  revoked_at: number | null;
}

interface WorkerRow {
  worker_id: string;
  operator: string;
  signing_key_pem: string;
  signing_keyid: string;
  auth_key_pem: string | null;
  auth_keyid: string | null;
  architectures_json: string;
  backends_json: string;
  cores: number;
  memory_bytes: number;
  disk_bytes: number;
  queue_name: string;
  redis_user: string;
  redis_password_sha256: string | null;
  enrolled_at: number;
  last_seen_at: number | null;
  revoked_at: number | null;
  revocation_kind: 'retired' | 'compromised' | null;
  compromised_since: number | null;
}

function prepare(c: SqliteConnection) {
  const db = c.db;
  return {
    insertOperator: db.prepare<[string, number | null]>(
      'INSERT INTO operators (name, created_at) VALUES (?, ?)',
    ),
    operatorByName: db.prepare<[string], NameRow>('SELECT * FROM operators WHERE name = ?'),
    listOperators: db.prepare<[], NameRow>('SELECT * FROM operators ORDER BY name'),
    insertMaintainer: db.prepare<[string, number | null]>(
      'INSERT INTO maintainers (name, created_at) VALUES (?, ?)',
    ),
    maintainerByName: db.prepare<[string], NameRow>('SELECT * FROM maintainers WHERE name = ?'),
    listMaintainers: db.prepare<[], NameRow>('SELECT * FROM maintainers ORDER BY name'),
    insertToken: db.prepare<
      [Omit<TokenRow, 'used_at' | 'revoked_at' | 'created_at'> & { created_at: number | null }]
    >(
      `INSERT INTO tokens (token_id, token_hash, kind, subject, scopes_json, single_use, created_at, expires_at)
       VALUES (@token_id, @token_hash, @kind, @subject, @scopes_json, @single_use, @created_at, @expires_at)`,
    ),
    tokenByHash: db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE token_hash = ?'),
    tokenById: db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE token_id = ?'),
    // The WHERE clause is the atomic part: of two racing spenders exactly one changes the row.
    spendToken: db.prepare<[number, string]>(
      'UPDATE tokens SET used_at = ? WHERE token_id = ? AND single_use = 1 AND used_at IS NULL AND revoked_at IS NULL',
    ),
    revokeToken: db.prepare<[number | null, string]>(
      'UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL',
    ),
    insertWorker: db.prepare(
      `INSERT INTO workers (worker_id, operator, signing_key_pem, signing_keyid, auth_key_pem, auth_keyid,
         architectures_json, backends_json, cores, memory_bytes, disk_bytes, queue_name, redis_user,
         redis_password_sha256, enrolled_at)
       VALUES (@worker_id, @operator, @signing_key_pem, @signing_keyid, @auth_key_pem, @auth_keyid,
         @architectures_json, @backends_json, @cores, @memory_bytes, @disk_bytes, @queue_name, @redis_user,
         @redis_password_sha256, @enrolled_at)`,
    ),
    workerById: db.prepare<[string], WorkerRow>('SELECT * FROM workers WHERE worker_id = ?'),
    workerBySigningKeyid: db.prepare<[string], WorkerRow>('SELECT * FROM workers WHERE signing_keyid = ?'),
    listWorkers: db.prepare<[], WorkerRow>('SELECT * FROM workers ORDER BY worker_id'),
    listActiveWorkers: db.prepare<[], WorkerRow>(
      'SELECT * FROM workers WHERE revoked_at IS NULL ORDER BY worker_id',
    ),
    // A compromise withdraws the worker's apt links in the same statement (trigger of migration 8).
    setRevocation: db.prepare<[number, string, number | null, string]>(
      'UPDATE workers SET revoked_at = ?, revocation_kind = ?, compromised_since = ? WHERE worker_id = ?',
    ),
    touchWorker: db.prepare<[number | null, string]>(
      'UPDATE workers SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?) WHERE worker_id = ?',
    ),
  };
}

/** The {@link RegistryStore} on the coordinator's SQLite file. */
export class SqliteRegistryStore implements RegistryStore {
  readonly #c: SqliteConnection;
  readonly #s: ReturnType<typeof prepare>;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
    this.#s = prepare(connection);
  }

  /** @inheritdoc */
  async addOperator(name: string, now: Date = new Date()): Promise<OperatorRecord> {
    this.#c.write(() => this.#s.insertOperator.run(name, epochMs(now)));
    return mapName(this.#s.operatorByName.get(name)!);
  }

  /** @inheritdoc */
  async listOperators(): Promise<readonly OperatorRecord[]> {
    return Object.freeze(this.#s.listOperators.all().map(mapName));
  }

  /** @inheritdoc */
  async addMaintainer(name: string, now: Date = new Date()): Promise<MaintainerRecord> {
    this.#c.write(() => this.#s.insertMaintainer.run(name, epochMs(now)));
    return mapName(this.#s.maintainerByName.get(name)!);
  }

  /** @inheritdoc */
  async listMaintainers(): Promise<readonly MaintainerRecord[]> {
    return Object.freeze(this.#s.listMaintainers.all().map(mapName));
  }

  /** @inheritdoc */
  async createToken(input: NewToken): Promise<{ readonly tokenId: string; readonly secret: string }> {
    const secret = mintTokenSecret(input.kind);
    const tokenId = randomUUID();
    this.#c.write(() =>
      this.#s.insertToken.run({
        token_id: tokenId,
        token_hash: tokenSecretSha256(secret) ?? '',
        kind: input.kind,
        subject: input.subject,
        scopes_json: JSON.stringify(input.scopes),
        single_use: input.singleUse ? 1 : 0,
        created_at: epochMs(input.createdAt ?? new Date()),
        expires_at: optionalEpochMs(input.expiresAt),
      }),
    );
    return Object.freeze({ tokenId, secret });
  }

  /** @inheritdoc */
  async authenticateToken(
    secret: string,
    requiredScope: string,
    now: Date,
  ): Promise<TokenRecord | undefined> {
    // A scope no token can carry is the caller's mistake, not an unusable token.
    if (!isTokenScope(requiredScope))
      throw new BuildStoreError('INVALID', 'requiredScope: expected /^[a-z][a-z0-9:_-]{0,31}$/');
    return this.#authenticate(secret, requiredScope, now, undefined, true);
  }

  /** @inheritdoc */
  async consumeEnrolmentToken(secret: string, now: Date): Promise<string | undefined> {
    return this.#authenticate(secret, 'enrol', now, 'enrolment', true)?.subject;
  }

  /** @inheritdoc */
  async peekEnrolmentToken(secret: string, now: Date): Promise<string | undefined> {
    return this.#authenticate(secret, 'enrol', now, 'enrolment', false)?.subject;
  }

  /** @inheritdoc */
  async revokeToken(tokenId: string, now: Date): Promise<TokenRecord> {
    const row = this.#c.write(() => {
      this.#s.revokeToken.run(epochMs(now), tokenId);
      return this.#s.tokenById.get(tokenId);
    });
    if (row === undefined) throw new BuildStoreError('NOT_FOUND', `tokenId: no token ${tokenId}`);
    return mapToken(row);
  }

  #authenticate(
    secret: unknown,
    scope: string,
    now: Date,
    kind: TokenKind | undefined,
    spend: boolean,
  ): TokenRecord | undefined {
    const hash = tokenSecretSha256(secret);
    const nowMs = now.getTime();
    if (hash === undefined || !Number.isFinite(nowMs)) return undefined;
    const row = this.#s.tokenByHash.get(hash);
    if (row === undefined) return undefined;
    const token = mapToken(row);
    if (!tokenAuthenticates(token, scope, nowMs, kind)) return undefined;
    if (token.singleUse && spend) {
      if (this.#s.spendToken.run(nowMs, row.token_id).changes !== 1) return undefined;
      return mapToken({ ...row, used_at: nowMs });
    }
    return token;
  }

  /** @inheritdoc */
  async enrolWorker(input: WorkerEnrolment): Promise<WorkerRecord> {
    assertEnrolmentKeysReadable(input);
    const capacity = input.capacity ?? {};
    this.#c.write(() =>
      this.#s.insertWorker.run({
        worker_id: input.workerId,
        operator: input.operator,
        signing_key_pem: input.signingKeyPem,
        signing_keyid: input.signingKeyid,
        auth_key_pem: input.authKeyPem ?? null,
        auth_keyid: input.authKeyid ?? null,
        architectures_json: JSON.stringify(input.architectures ?? null),
        backends_json: JSON.stringify(input.backends ?? null),
        cores: capacity.cores ?? null,
        memory_bytes: capacity.memoryBytes ?? null,
        disk_bytes: capacity.diskBytes ?? null,
        queue_name: input.queueName,
        redis_user: input.redisUser,
        redis_password_sha256: input.redisPasswordSha256 ?? null,
        enrolled_at: epochMs(input.enrolledAt ?? new Date()),
      }),
    );
    return mapWorker(this.#s.workerById.get(input.workerId)!);
  }

  /** @inheritdoc */
  async getWorker(workerId: string): Promise<WorkerRecord | undefined> {
    const row = this.#s.workerById.get(workerId);
    return row === undefined ? undefined : mapWorker(row);
  }

  /** @inheritdoc */
  async findWorkerBySigningKeyid(keyid: string): Promise<WorkerRecord | undefined> {
    const row = this.#s.workerBySigningKeyid.get(keyid);
    return row === undefined ? undefined : mapWorker(row);
  }

  /** @inheritdoc */
  async listWorkers(options: { readonly activeOnly?: boolean } = {}): Promise<readonly WorkerRecord[]> {
    const rows = options.activeOnly === true ? this.#s.listActiveWorkers.all() : this.#s.listWorkers.all();
    return Object.freeze(rows.map(mapWorker));
  }

  /** @inheritdoc */
  async revokeWorker(
    workerId: string,
    now: Date,
    revocation: WorkerRevocationRequest = { kind: 'retired' },
  ): Promise<WorkerRecord> {
    const nowMs = epochMs(now);
    if (nowMs === null) throw new BuildStoreError('INVALID', 'now: expected a valid Date');
    const sinceMs = revocation.kind === 'compromised' ? epochMs(revocation.since) : null;
    if (revocation.kind === 'compromised' && sinceMs === null)
      throw new BuildStoreError('INVALID', 'revocation.since: expected a valid Date');
    // The one rule about `now`, which no row holds: a compromise is not dated in the future.
    if (sinceMs !== null && sinceMs > nowMs) {
      throw new BuildStoreError('INVALID', `revocation.since: ${iso(sinceMs)} is after now (${iso(nowMs)})`);
    }
    const row = this.#c.write(() => {
      const current = this.#s.workerById.get(workerId);
      if (current === undefined) throw new BuildStoreError('NOT_FOUND', `workerId: no worker ${workerId}`);
      const revokedAt = current.revoked_at ?? nowMs;
      if (revocation.kind === 'retired') {
        // Retiring keeps whatever was decided before: a compromise is never downgraded.
        if (current.revoked_at === null) this.#s.setRevocation.run(revokedAt, 'retired', null, workerId);
      } else {
        // A compromise can only be dated earlier: a later date would let more of its results count.
        const since = Math.min(sinceMs!, current.compromised_since ?? Number.POSITIVE_INFINITY);
        this.#s.setRevocation.run(revokedAt, 'compromised', since, workerId);
      }
      return this.#s.workerById.get(workerId)!;
    });
    // A compromise withdraws the worker's apt links (a trigger of migration 8): readers forget them.
    if (revocation.kind === 'compromised') this.#c.aptLinksChanged(undefined);
    return mapWorker(row);
  }

  /** @inheritdoc */
  async touchWorker(workerId: string, now: Date): Promise<void> {
    const changed = asStoreErrors(() => this.#s.touchWorker.run(epochMs(now), workerId).changes);
    if (changed === 0) throw new BuildStoreError('NOT_FOUND', `workerId: no worker ${workerId}`);
  }
}

function mapName(row: NameRow): OperatorRecord {
  return Object.freeze({ name: row.name, createdAt: iso(row.created_at) });
}

function mapToken(row: TokenRow): TokenRecord {
  return Object.freeze({
    tokenId: row.token_id,
    kind: row.kind,
    subject: row.subject,
    scopes: frozenArray(JSON.parse(row.scopes_json) as string[]),
    singleUse: row.single_use === 1,
    createdAt: iso(row.created_at),
    ...optionalIso('expiresAt', row.expires_at),
    ...optionalIso('usedAt', row.used_at),
    ...optionalIso('revokedAt', row.revoked_at),
  });
}

function mapWorker(row: WorkerRow): WorkerRecord {
  return Object.freeze({
    workerId: row.worker_id,
    operator: row.operator,
    signingKeyPem: row.signing_key_pem,
    signingKeyid: row.signing_keyid,
    ...optional('authKeyPem', row.auth_key_pem),
    ...optional('authKeyid', row.auth_keyid),
    architectures: frozenArray(JSON.parse(row.architectures_json) as string[]),
    backends: frozenArray(JSON.parse(row.backends_json) as string[]),
    capacity: Object.freeze({ cores: row.cores, memoryBytes: row.memory_bytes, diskBytes: row.disk_bytes }),
    queueName: row.queue_name,
    redisUser: row.redis_user,
    ...optional('redisPasswordSha256', row.redis_password_sha256),
    enrolledAt: iso(row.enrolled_at),
    ...optionalIso('lastSeenAt', row.last_seen_at),
    ...optionalIso('revokedAt', row.revoked_at),
    ...(row.revoked_at !== null && {
      revocation: Object.freeze(
        row.revocation_kind === 'compromised' && row.compromised_since !== null
          ? { kind: 'compromised' as const, since: iso(row.compromised_since) }
          : { kind: 'retired' as const },
      ),
    }),
  });
}
