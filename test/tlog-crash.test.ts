// The log never signs two inconsistent checkpoints, also across crashes: a writer process is killed
// (SIGKILL) at random points mid-append, again and again, and restarted on the same storage (files,
// and the coordinator's SQLite store, whose tiles commit without their own fsync); every checkpoint
// any of them published must be a prefix of the final log, and each restart resumes.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { SqliteConnection } from '../coordinator/storage/sqlite/sqlite-connection.ts';
import { SqliteTiledLogStore } from '../coordinator/storage/sqlite/sqlite-tiled-log-store.ts';
import { Ed25519FileSigner } from '../services/attestation/signer.ts';
import { FileLogHeadStore, FileTileStorage } from '../services/tlog/file-tile-storage.ts';
import { decodeHash, hashesEqual } from '../services/tlog/merkle-hash.ts';
import { treeRoot } from '../services/tlog/merkle-proofs.ts';
import { ed25519NoteSigner, ed25519NoteVerifier } from '../services/tlog/note-keys.ts';
import { parseSignedNote, verifyNote } from '../services/tlog/signed-note.ts';
import { tileSubtreeReader } from '../services/tlog/tile-hash-reader.ts';
import type { TileStorage } from '../services/tlog/tile-storage.ts';
import { tilesUpTo } from '../services/tlog/tile-storage.ts';
import { seededRandom } from '../services/tlog/tlog-test-support.ts';
import { type LogHeadStore, TransparencyLog } from '../services/tlog/transparency-log.ts';

const REPO = resolve(import.meta.dirname, '..');
const folder = mkdtempSync(join(tmpdir(), 'rbnet-tlog-crash-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** The log's storage as the writer left it: files, or the coordinator's SQLite store. */
function storageOf(
  kind: 'files' | 'sqlite',
  at: string,
): { tiles: TileStorage; heads: LogHeadStore; close(): void } {
  if (kind === 'files')
    return {
      tiles: new FileTileStorage(join(at, 'public')),
      heads: new FileLogHeadStore(join(at, 'head.json')),
      close() {},
    };
  const connection = new SqliteConnection(join(at, 'coordinator.sqlite'));
  const store = new SqliteTiledLogStore(connection);
  return { tiles: store, heads: store, close: () => connection.close() };
}

it.each(['files', 'sqlite'] as const)(
  'survives SIGKILL mid-append 12 times (%s): every published checkpoint is a prefix of the final log',
  async (kind) => {
    const origin = `log.rbnet.example/crash${process.pid}-${kind}`;
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyFile = join(folder, 'log.key');
    writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
    const verifier = ed25519NoteVerifier(
      ed25519NoteSigner(origin, Ed25519FileSigner.fromKeyObject(privateKey), publicKey).vkey,
    );
    const random = seededRandom(9);
    const published: { size: number; root: string; note: string }[] = [];
    for (let round = 0; round < 12; round++) {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(REPO, 'test', 'support', 'tlog-append-child.ts'),
          join(folder, kind),
          origin,
          keyFile,
          kind,
        ],
        {
          cwd: REPO,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
      // Wait until it has opened the log and published a few checkpoints, then kill it at a random moment.
      await new Promise<void>((ready, failed) => {
        child.stdout.on('data', (d) => {
          out += d;
          if (out.split('\n').length > 3) ready();
        });
        void exited.then((code) => failed(new Error(`writer exited ${code}: ${err.slice(-2000)}`)));
      });
      await new Promise((r) => setTimeout(r, 5 + random.int(150)));
      child.kill('SIGKILL');
      await exited;
      const lines = out
        .split('\n')
        .slice(0, -1)
        .map((line) => JSON.parse(line));
      const opened = lines[0]!;
      // Each restart resumes exactly where the last published checkpoint (or a later stored head) left off.
      if (published.length > 0) expect(opened.opened).toBeGreaterThanOrEqual(published.at(-1)!.size);
      for (const line of lines.slice(1)) published.push(line);
    }
    expect(published.length).toBeGreaterThan(30);
    const storage = storageOf(kind, join(folder, kind));
    const { tiles } = storage;
    const log = await TransparencyLog.open({
      origin,
      signer: ed25519NoteSigner(origin, Ed25519FileSigner.fromKeyObject(privateKey), publicKey),
      tiles,
      heads: storage.heads,
    });
    for (const checkpoint of published) {
      verifyNote(parseSignedNote(checkpoint.note), [verifier]);
      const root = await treeRoot(
        checkpoint.size,
        tileSubtreeReader(checkpoint.size, tilesUpTo(tiles, log.head.size)),
      );
      expect(
        hashesEqual(root, decodeHash(checkpoint.root, 'root')),
        `the checkpoint of size ${checkpoint.size} is not a prefix of the final log`,
      ).toBe(true);
    }
    const sizes = published.map((c) => c.size);
    expect(new Set(sizes).size).toBe(sizes.length);
    storage.close();
  },
);
