import { join } from 'node:path';
import type { Logger } from 'pino';
import { ensureEd25519KeyFiles } from '../../services/attestation/ed25519-key.ts';
import { Ed25519FileSigner } from '../../services/attestation/signer.ts';
import { ed25519NoteSigner } from '../../services/tlog/note-keys.ts';
import type { CoordinatorConfig } from '../coordinator-config.ts';
import type { SqliteTiledLogStore } from '../storage/sqlite/sqlite-tiled-log-store.ts';
import { CoordinatorLog } from './coordinator-log.ts';
import { tlogDefaults } from './tlog-settings.ts';
import { WitnessClient } from './witness-client.ts';

/** The log key's file in the data directory; its `.pub` beside it. */
export const LOG_KEY_FILE = 'coordinator-log.key';
/** Where the tiles, checkpoint and vkey are served under the public URL. */
export const LOG_PATH_PREFIX = '/log';

/** `https://rbnet.example/` → `rbnet.example/log`: the log's URL prefix without its scheme. */
export function logOriginOf(publicUrl: string): string {
  const url = new URL(publicUrl);
  return `${url.host}${url.pathname.replace(/\/+$/, '')}${LOG_PATH_PREFIX}`;
}

export async function openCoordinatorLog(
  config: CoordinatorConfig,
  store: SqliteTiledLogStore,
  logger: Logger,
): Promise<CoordinatorLog> {
  const keyPath = join(config.dataDir, LOG_KEY_FILE);
  await ensureEd25519KeyFiles(keyPath);
  const key = await Ed25519FileSigner.fromFile(keyPath);
  const origin = logOriginOf(config.publicUrl);
  const settings = config.transparencyLog ?? tlogDefaults;
  return CoordinatorLog.open({
    store,
    origin,
    signer: ed25519NoteSigner(origin, key, key.publicKey),
    witnesses: settings.witnesses.map(
      (endpoint) => new WitnessClient(endpoint, { timeoutMs: settings.witnessTimeoutMs, logger }),
    ),
    witnessQuorum: settings.witnessQuorum,
    logger: logger.child({ component: 'tlog' }),
  });
}
