// Public reads through the real app (app.request) and real SQLite: a lookup by digest returns every
// match, page by page, however many spam builds claim the same file; blobs are served inert.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../../../services/digest.ts';
import { canonicalizeJcs } from '../../../services/jcs.ts';
import type { NewBuild } from '../../../services/storage/build-store.ts';
import { createTestCoordinatorDeps } from '../../../test/support/coordinator-deps-fixture.ts';
import { expectInertHeaders } from '../../../test/support/expect-inert-headers.ts';
import type { CoordinatorDeps } from '../../coordinator-deps.ts';
import type { SqliteStores } from '../../storage/sqlite/open-sqlite-stores.ts';
import { createCoordinatorApp } from '../create-app.ts';

const LOOPBACK_ENV = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
const FILE = sha256Hex('the file a consumer holds') as Sha256Hex;
const SPAM_BUILDS = 250;

let root: string;
let store: SqliteStores;
let deps: CoordinatorDeps;
let app: ReturnType<typeof createCoordinatorApp>;
let realBuildId: string;

function get(path: string) {
  return app.request(path, { method: 'GET' }, LOOPBACK_ENV);
}

function buildClaiming(sha256: Sha256Hex, name: string, createdAt: Date): NewBuild {
  const buildId = randomUUID();
  const manifestJson = canonicalizeJcs({ name, buildId });
  return {
    buildId,
    manifestSha256: sha256Hex(manifestJson),
    manifestJson,
    name,
    architecture: 'amd64',
    backend: 'generic',
    claimedOutputs: [{ path: 'hello.txt', sha256 }],
    policy: { threshold: 2, maxAttempts: 3, decisionDeadlineMs: 3_600_000 },
    submittedBy: 'maint',
    createdAt,
  };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-public-reads-'));
  const fixture = await createTestCoordinatorDeps(root);
  deps = fixture.deps;
  store = fixture.store;
  app = createCoordinatorApp(deps);
  // The real build first; then a spammer with a submit token claims the same file 250 times.
  const real = buildClaiming(FILE, 'hello', new Date('2026-01-01T00:00:00Z'));
  realBuildId = real.buildId;
  await store.builds.createBuild(real);
  await store.builds.createBuilds(
    Array.from({ length: SPAM_BUILDS }, (_, i) =>
      buildClaiming(FILE, `spam-${i}`, new Date(Date.parse('2026-01-02T00:00:00Z') + i)),
    ),
  );
});

afterAll(async () => {
  await store?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('GET /v1/artifacts/sha256/:digest', () => {
  it('250 spam builds do not hide the real one: every match is on some page, each once', async () => {
    const seen: string[] = [];
    let cursor: string | null | undefined = null;
    let pages = 0;
    do {
      const response = await get(
        `/v1/artifacts/sha256/${FILE}?limit=100${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      expect(response.status).toBe(200);
      const page = (await response.json()) as {
        sha256: string;
        builds: { buildId: string }[];
        nextCursor: string | null;
      };
      expect(page.sha256).toBe(FILE);
      expect(page.builds.length).toBeLessThanOrEqual(100);
      seen.push(...page.builds.map((b) => b.buildId));
      cursor = page.nextCursor;
      pages++;
    } while (typeof cursor === 'string' && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(SPAM_BUILDS + 1);
    expect(new Set(seen).size).toBe(SPAM_BUILDS + 1);
    // Newest first: the real build, submitted before the spam, is the very last.
    expect(seen.at(-1)).toBe(realBuildId);
  });

  it('the last page says no more follow, also when it is exactly full', async () => {
    const first = (await (await get(`/v1/artifacts/sha256/${FILE}?limit=1000`)).json()) as {
      builds: unknown[];
      nextCursor: string | null;
    };
    expect(first.builds).toHaveLength(SPAM_BUILDS + 1);
    expect(first.nextCursor).toBeNull();
    const exact = (await (await get(`/v1/artifacts/sha256/${FILE}?limit=${SPAM_BUILDS + 1}`)).json()) as {
      nextCursor: string | null;
    };
    expect(exact.nextCursor).toBeNull();
    const unknown = (await (await get(`/v1/artifacts/sha256/${'0'.repeat(64)}`)).json()) as {
      builds: unknown[];
      nextCursor: string | null;
    };
    expect(unknown).toEqual({ sha256: '0'.repeat(64), builds: [], nextCursor: null });
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=not-a-uuid', 'cursor'],
  ])('refuses %s with 400 naming the parameter', async (query, name) => {
    const response = await get(`/v1/artifacts/sha256/${FILE}?${query}`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('INVALID');
    expect(body.error.message).toContain(name);
  });

  it('refuses a cursor naming no build with 404', async () => {
    const response = await get(`/v1/artifacts/sha256/${FILE}?cursor=${randomUUID()}`);
    expect(response.status).toBe(404);
  });
});

describe('GET /v1/cas/sha256/:digest', () => {
  it('serves any blob inert: no scripts, no loads, no sniffing, no referrer', async () => {
    const html =
      '<html><script>fetch("/v1/admin/operators")</script><img src="https://evil.example/x"></html>';
    await deps.content.put(Readable.from([Buffer.from(html)]), {
      sha256: sha256Hex(html) as Sha256Hex,
      maxBytes: 1024,
    });
    const response = await get(`/v1/cas/sha256/${sha256Hex(html)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expectInertHeaders(response.headers);
    expect(await response.text()).toBe(html);
  });
});
