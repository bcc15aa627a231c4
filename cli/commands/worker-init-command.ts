// `rbnet worker init --operator NAME`: create this worker's identity and signing key on its own host.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initWorkerIdentity } from '../../worker/identity/worker-identity.ts';
import { loadWorkerConfig } from '../../worker/worker-config.ts';
import {
  type CliIo,
  type Command,
  EXIT,
  type ParsedCommandArgs,
  requireFlag,
  stringFlag,
  writeLine,
} from '../command.ts';

export const workerInitCommand: Command = {
  path: ['worker', 'init'],
  help: `Usage: rbnet worker init --operator NAME [--id ID] [--worker-dir DIR] [--json]

Writes worker.json, worker-signing.key (mode 0600) and worker-signing.key.pub into the worker
directory. Refuses to overwrite an existing key. Give the public key to consumers who pin it.

Options:
  --operator NAME   the organisation running this worker ([a-z0-9._-], up to 63)
  --id ID           this worker's id (default: worker-1)
  --worker-dir DIR  default STATE_DIR/worker (env RBNET_WORKER_DIR, RBNET_STATE_DIR)
  --json            print { id, operator, keyid, publicKeyPath, publicKeyPem } as JSON

Exit codes: 0 created; 1 failed (e.g. a key already exists); 2 usage.`,
  options: {
    operator: { type: 'string' },
    id: { type: 'string' },
    'worker-dir': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args: ParsedCommandArgs, io: CliIo): Promise<number> {
    const operator = requireFlag(args, 'operator', workerInitCommand);
    const workerDir = stringFlag(args, 'worker-dir') ?? loadWorkerConfig({ env: io.env }).workerDir;
    const loaded = await initWorkerIdentity(workerDir, {
      operator,
      id: stringFlag(args, 'id') ?? 'worker-1',
    });
    const publicKeyPem = await readFile(loaded.publicKeyPath, 'utf8');
    if (args.values.json) {
      writeLine(
        io.stdout,
        JSON.stringify(
          {
            ...loaded.identity,
            keyid: loaded.signer.keyid,
            publicKeyPath: loaded.publicKeyPath,
            publicKeyPem,
          },
          null,
          2,
        ),
      );
    } else {
      writeLine(io.stdout, `worker ${loaded.identity.id} of operator ${loaded.identity.operator}`);
      writeLine(io.stdout, `keyid  ${loaded.signer.keyid}`);
      writeLine(
        io.stdout,
        `public key ${loaded.publicKeyPath} (private key ${join(workerDir, 'worker-signing.key')}, mode 0600)`,
      );
    }
    return EXIT.ok;
  },
};
