// `rbnet witness init` and `rbnet witness run`: anyone can witness an rbnet log (C2SP tlog-witness),
// cosigning only checkpoints consistent with every one it cosigned before.
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { generateEd25519KeyFiles, loadEd25519PrivateKey } from '../../services/attestation/ed25519-key.ts';
import { Ed25519FileSigner } from '../../services/attestation/signer.ts';
import { UsageError } from '../../services/errors.ts';
import { ed25519Cosigner } from '../../services/tlog/cosignature.ts';
import { lockStateFolder } from '../../services/tlog/durable-file.ts';
import {
  maxAddCheckpointBytesDefault,
  witnessedLogsFromVkeys,
} from '../../services/tlog/witness/add-checkpoint.ts';
import { WitnessService } from '../../services/tlog/witness/witness-service.ts';
import { FileWitnessStateStore } from '../../services/tlog/witness/witness-state-store.ts';
import { createLogger } from '../../worker/main.ts';
import {
  type Command,
  EXIT,
  type ParsedCommandArgs,
  requireFlag,
  stringFlag,
  writeLine,
} from '../command.ts';
import { createWitnessApp } from '../witness/witness-app.ts';

export const witnessInitCommand: Command = {
  path: ['witness', 'init'],
  help: `Usage: rbnet witness init --name NAME --key FILE [--json]

Creates the witness's Ed25519 key (FILE, mode 0600, and FILE.pub) and prints its verifier key
(vkey, type 0x04 cosignature/v1) for consumers to name in their policies:
  witness <a name of your choice> <vkey> [<url of this witness>]

Options:
  --name NAME   the witness's key name, a schema-less URL such as witness.example.org/w1
  --key FILE    where to write the private key (refuses to overwrite)
  --json        print { name, vkey, keyPath }

Exit codes: 0 created; 1 failed (e.g. the key exists); 2 usage.`,
  options: { name: { type: 'string' }, key: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const name = requireFlag(args, 'name', witnessInitCommand);
    const keyPath = resolve(io.cwd, requireFlag(args, 'key', witnessInitCommand));
    const generated = await generateEd25519KeyFiles(keyPath);
    const { vkey } = ed25519Cosigner(
      name,
      Ed25519FileSigner.fromKeyObject(await loadEd25519PrivateKey(keyPath)),
      generated.publicKey,
    );
    if (args.values.json) writeLine(io.stdout, JSON.stringify({ name, vkey, keyPath }, null, 2));
    else {
      writeLine(io.stdout, `witness key ${keyPath} (mode 0600)`);
      writeLine(io.stdout, `vkey ${vkey}`);
    }
    return EXIT.ok;
  },
};

export const witnessRunCommand: Command = {
  path: ['witness', 'run'],
  help: `Usage: rbnet witness run --name NAME --key FILE --state-dir DIR (--log VKEY ... | --logs-file FILE) [options]

Serves C2SP tlog-witness for the logs you name (by the log's verifier key; its key name is the
log's origin):
  POST /add-checkpoint            old size, consistency proof, blank line, checkpoint: 200 with the
                                  cosignature line; 409 (text/x.tlog.size) with the size it holds
                                  when the old size is out of date; 404 unknown log; 403 no valid
                                  log signature; 400 malformed; 422 inconsistent or bad proof;
                                  413 body over --max-body-bytes
  GET  /<sha256(origin)>/checkpoint  the latest checkpoint it cosigned (for monitors)

The latest checkpoint per log is kept in DIR/logs/ (written atomically and synced before any
cosignature is returned); DIR/lock keeps a second witness process off the same state.

Options:
  --name NAME            the witness's key name (as given to \`rbnet witness init\`)
  --key FILE             its private key (mode 0600)
  --state-dir DIR        where the latest checkpoints are kept
  --log VKEY             a log to witness (repeat for several; several keys of one origin all count)
  --logs-file FILE       one log vkey per line (# comments allowed), in addition to --log
  --listen HOST:PORT     default 127.0.0.1:8480 (port 0: any free port)
  --max-body-bytes N     default ${maxAddCheckpointBytesDefault}
  --log-level LEVEL      default info (JSON logs on stderr)
  --json                 print the start line as JSON: { url, name, vkey, origins }

Exit codes: 0 stopped by a signal; 1 failed to start; 2 usage.`,
  options: {
    name: { type: 'string' },
    key: { type: 'string' },
    'state-dir': { type: 'string' },
    log: { type: 'string', multiple: true },
    'logs-file': { type: 'string' },
    listen: { type: 'string' },
    'max-body-bytes': { type: 'string' },
    'log-level': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const name = requireFlag(args, 'name', witnessRunCommand);
    const keyPath = resolve(io.cwd, requireFlag(args, 'key', witnessRunCommand));
    const stateDir = resolve(io.cwd, requireFlag(args, 'state-dir', witnessRunCommand));
    const vkeys = [
      ...((args.values.log as string[] | undefined) ?? []),
      ...(await vkeysFromFile(args, io.cwd)),
    ];
    if (vkeys.length === 0)
      throw new UsageError('USAGE', 'name at least one log: --log VKEY or --logs-file FILE');
    const { host, port } = listenFlag(stringFlag(args, 'listen') ?? '127.0.0.1:8480');
    const maxBodyBytes = Number(stringFlag(args, 'max-body-bytes') ?? maxAddCheckpointBytesDefault);
    if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1024 || maxBodyBytes > 16 * 1024 * 1024)
      throw new UsageError('USAGE', '--max-body-bytes: expected an integer from 1024 to 16777216');
    const logs = witnessedLogsFromVkeys(vkeys);
    const privateKey = await loadEd25519PrivateKey(keyPath);
    const cosigner = ed25519Cosigner(
      name,
      Ed25519FileSigner.fromKeyObject(privateKey),
      createPublicKey(privateKey),
    );
    const release = await lockStateFolder(stateDir);
    const logger = createLogger(stringFlag(args, 'log-level') ?? 'info').child({
      role: 'witness',
      witness: name,
    });
    try {
      const service = new WitnessService({
        cosigner,
        logs,
        store: new FileWitnessStateStore(stateDir),
        now: () => new Date(),
        maxBodyBytes,
      });
      const server = serve({ fetch: createWitnessApp(service, logger).fetch, hostname: host, port });
      await new Promise<void>((ready, failed) => {
        server.once('listening', () => ready());
        server.once('error', failed);
      });
      const address = server.address() as AddressInfo;
      const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
      const origins = logs.map((l) => l.origin);
      logger.info({ url, origins, stateDir }, 'witness started');
      if (args.values.json) writeLine(io.stdout, JSON.stringify({ url, name, vkey: cosigner.vkey, origins }));
      else
        writeLine(
          io.stdout,
          `witness ${name} listening on ${url} for ${origins.join(', ')}\nvkey ${cosigner.vkey}`,
        );
      await new Promise<void>((stop) => {
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await new Promise<void>((closed) => server.close(() => closed()));
    } finally {
      await release();
    }
    return EXIT.ok;
  },
};

async function vkeysFromFile(args: ParsedCommandArgs, cwd: string): Promise<string[]> {
  const file = stringFlag(args, 'logs-file');
  if (!file) return [];
  return (await readFile(resolve(cwd, file), 'utf8'))
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function listenFlag(text: string): { host: string; port: number } {
  const match = /^([0-9a-zA-Z.:[\]-]+):(\d{1,5})$/.exec(text);
  if (!match || Number(match[2]) > 65535)
    throw new UsageError('USAGE', `--listen ${text}: expected HOST:PORT`);
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]) };
}
