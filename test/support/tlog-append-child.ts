// A log writer for the crash test: opens the log in FOLDER (files, or the coordinator's SQLite store
// with STORE=sqlite) with the key in KEYFILE and appends batches of random entries until killed,
// printing each checkpoint it publishes as one JSON line.
// Usage: node --import tsx test/support/tlog-append-child.ts FOLDER ORIGIN KEYFILE [files|sqlite]
import { createPublicKey, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SqliteConnection } from '../../coordinator/storage/sqlite/sqlite-connection.ts';
import { SqliteTiledLogStore } from '../../coordinator/storage/sqlite/sqlite-tiled-log-store.ts';
import { loadEd25519PrivateKey } from '../../services/attestation/ed25519-key.ts';
import { Ed25519FileSigner } from '../../services/attestation/signer.ts';
import { parseCheckpointText } from '../../services/tlog/checkpoint.ts';
import { lockStateFolder } from '../../services/tlog/durable-file.ts';
import { FileLogHeadStore, FileTileStorage } from '../../services/tlog/file-tile-storage.ts';
import { encodeHash } from '../../services/tlog/merkle-hash.ts';
import { ed25519NoteSigner } from '../../services/tlog/note-keys.ts';
import { parseSignedNote } from '../../services/tlog/signed-note.ts';
import type { TileStorage } from '../../services/tlog/tile-storage.ts';
import { type LogHeadStore, TransparencyLog } from '../../services/tlog/transparency-log.ts';

const [folder, origin, keyFile, kind = 'files'] = process.argv.slice(2) as [string, string, string, string?];
await lockStateFolder(folder);
const storage = (): { tiles: TileStorage; heads: LogHeadStore } => {
  if (kind !== 'sqlite')
    return {
      tiles: new FileTileStorage(join(folder, 'public')),
      heads: new FileLogHeadStore(join(folder, 'head.json')),
    };
  const store = new SqliteTiledLogStore(new SqliteConnection(join(folder, 'coordinator.sqlite')));
  return { tiles: store, heads: store };
};
const privateKey = await loadEd25519PrivateKey(keyFile);
const signer = ed25519NoteSigner(
  origin,
  Ed25519FileSigner.fromKeyObject(privateKey),
  createPublicKey(privateKey),
);
const log = await TransparencyLog.open({ origin, signer, ...storage() });
process.stdout.write(`${JSON.stringify({ opened: log.head.size, root: encodeHash(log.head.rootHash) })}\n`);
for (;;) {
  // Entries differ from run to run: what a killed writer left beyond its head must never resurface.
  const batch = Array.from({ length: 1 + (randomBytes(1)[0]! % 300) }, () =>
    randomBytes(24 + (randomBytes(1)[0]! % 40)),
  );
  const appended = await log.append(batch);
  const checkpoint = parseCheckpointText(parseSignedNote(appended.checkpoint).text);
  process.stdout.write(
    `${JSON.stringify({ size: checkpoint.size, root: encodeHash(checkpoint.rootHash), note: appended.checkpoint })}\n`,
  );
}
