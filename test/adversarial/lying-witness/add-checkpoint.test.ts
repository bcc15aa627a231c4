// A lying witness, as the coordinator meets it: the coordinator's log (real SQLite) asks a real
// `rbnet witness run` and a hostile witness (a real HTTP server this test scripts, holding a real
// witness key) to cosign each checkpoint. Whatever the hostile one answers instead of an honest
// cosignature (another key's, one over another checkpoint or time, garbage, a far-future date),
// the coordinator attaches none of it, warns naming the witness and why, serves no proof while its
// witness quorum is unmet, and keeps going: with the quorum met by honest witnesses it serves again.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openSqliteStores,
  type SqliteStores,
} from '../../../coordinator/storage/sqlite/open-sqlite-stores.ts';
import { CoordinatorLog } from '../../../coordinator/tlog/coordinator-log.ts';
import { WitnessClient } from '../../../coordinator/tlog/witness-client.ts';
import { sha256Hex } from '../../../services/digest.ts';
import type { Cosigner } from '../../../services/tlog/cosignature.ts';
import { formatSignatureLine, parseSignedNote } from '../../../services/tlog/signed-note.ts';
import { newCosigner, newLogSigner } from '../../../services/tlog/tlog-fixtures.ts';
import { parseTlogPolicy } from '../../../services/tlog/tlog-policy.ts';
import { parseTlogProof } from '../../../services/tlog/tlog-proof.ts';
import { verifyCheckpoint } from '../../../services/tlog/verify-checkpoint.ts';
import { parseAddCheckpointRequest } from '../../../services/tlog/witness/add-checkpoint.ts';
import { type BackgroundRbnet, startRbnet } from '../../support/rbnet-process.ts';
import { runCli } from '../../support/run-cli.ts';
import { type ScriptedHttpServer, startScriptedHttpServer } from '../../support/scripted-http-server.ts';
import { stopChild } from '../../support/stop-child.ts';

const ORIGIN = `rbnet.example/log-${process.pid}`;
const logKey = newLogSigner(ORIGIN);
const HONEST_NAME = 'witness.rbnet.example/honest';
let root: string;
let honest: BackgroundRbnet;
let honestUrl = '';
let honestVkey = '';
let liar: ScriptedHttpServer;
let workers = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-lying-witness-'));
  const init = await runCli([
    'witness',
    'init',
    '--name',
    HONEST_NAME,
    '--key',
    join(root, 'w.key'),
    '--json',
  ]);
  expect(init.code, init.stderr).toBe(0);
  honestVkey = JSON.parse(init.stdout).vkey;
  liar = await startScriptedHttpServer();
});
afterAll(async () => {
  if (honest) await stopChild(honest.child);
  await liar?.close();
  await rm(root, { recursive: true, force: true });
});

/** A fresh honest witness (its own state) for each log: it holds one history per origin. */
async function startHonestWitness(state: string): Promise<void> {
  if (honest) await stopChild(honest.child);
  const ready = /^\{"url":"http:[^\n]*\}$/m;
  honest = await startRbnet(
    [
      'witness',
      'run',
      '--name',
      HONEST_NAME,
      '--key',
      join(root, 'w.key'),
      '--state-dir',
      join(root, state),
    ].concat(['--log', logKey.vkey, '--listen', '127.0.0.1:0', '--json']),
    { ready },
  );
  honestUrl = JSON.parse(honest.output().match(ready)![0]).url;
}

/** What the hostile witness answers to an add-checkpoint for `noteText`, with its real key. */
type Lie = (liarKey: Cosigner, noteText: string) => Promise<string | Buffer>;

const nowSeconds = () => Math.floor(Date.now() / 1000);
const line = (key: Cosigner, signature: Uint8Array) =>
  formatSignatureLine({ name: key.name, keyHash: key.keyHash, signature });

const LIES: readonly { readonly name: string; readonly lie: Lie; readonly reason: RegExp }[] = [
  {
    name: '(a) a cosignature by another key, under the witness name',
    lie: async (key, text) => {
      const other = newCosigner(key.name);
      return formatSignatureLine({
        name: key.name,
        keyHash: other.keyHash,
        signature: await other.cosign(text, nowSeconds()),
      });
    },
    reason: /answered no cosignature by its configured key/,
  },
  {
    name: "(a) another key's signature behind the configured key hash",
    lie: async (key, text) => line(key, await newCosigner(key.name).cosign(text, nowSeconds())),
    reason: /does not verify over this checkpoint under its configured vkey/,
  },
  {
    name: '(b) a valid cosignature over another checkpoint (another root)',
    lie: async (key, text) => {
      const lines = text.split('\n');
      lines[2] = randomBytes(32).toString('base64');
      return line(key, await key.cosign(lines.join('\n'), nowSeconds()));
    },
    reason: /does not verify over this checkpoint/,
  },
  {
    name: '(b) a valid cosignature re-dated: the timestamp bytes changed',
    lie: async (key, text) => {
      const signature = Buffer.from(await key.cosign(text, nowSeconds()));
      signature.writeBigUInt64BE(BigInt(nowSeconds() + 60));
      return line(key, signature);
    },
    reason: /does not verify over this checkpoint/,
  },
  {
    name: '(c) garbage bytes',
    lie: async () => randomBytes(300),
    reason: /not signature lines/,
  },
  {
    name: '(c) its cosignature line cut short',
    lie: async (key, text) => line(key, await key.cosign(text, nowSeconds())).slice(0, 40),
    reason: /not signature lines|does not verify/,
  },
  {
    name: '(c) an empty answer',
    lie: async () => '',
    reason: /answered no signature line/,
  },
  {
    name: '(c) a 1 MiB answer that ends with a valid cosignature',
    lie: async (key, text) =>
      `${'— x AAAA\n'.repeat(120_000)}${line(key, await key.cosign(text, nowSeconds()))}`,
    reason: /answered more than 16384 bytes/,
  },
  {
    name: '(d) a valid cosignature dated a day in the future',
    lie: async (key, text) => line(key, await key.cosign(text, nowSeconds() + 86_400)),
    reason: /more than 300 s in the future/,
  },
];

async function enrolAnother(stores: SqliteStores): Promise<void> {
  workers++;
  const { publicKey } = generateKeyPairSync('ed25519');
  await stores.registry.enrolWorker({
    workerId: `worker-${workers}`,
    operator: 'acme',
    signingKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    signingKeyid: sha256Hex(`keyid-${workers}`),
    architectures: ['amd64'],
    backends: ['generic'],
    capacity: { cores: 1, memoryBytes: 2 ** 30, diskBytes: 2 ** 30 },
    queueName: `rbnet-worker-${workers}`,
    redisUser: `rbnet-worker-${workers}`,
    enrolledAt: new Date(),
  });
}

describe('a witness that returns a forged cosignature', () => {
  it.each(LIES)(
    '$name: not attached, a warning names the witness, no proof until the quorum is met, the log goes on',
    async ({ name, lie, reason }) => {
      const tag = sha256Hex(name).slice(0, 8);
      await startHonestWitness(`honest-${tag}`);
      const liarKey = newCosigner(`witness.rbnet.example/liar-${tag}`);
      liar.handle((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (c: Buffer) => chunks.push(c));
        request.on('end', async () => {
          const { note } = parseAddCheckpointRequest(Buffer.concat(chunks));
          const body = await lie(liarKey, note.text);
          response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          response.end(body);
        });
      });
      const warnings: Record<string, unknown>[] = [];
      const logger = pino({ level: 'warn' }, { write: (l: string) => void warnings.push(JSON.parse(l)) });
      const witness = (url: string, vkey: string) =>
        new WitnessClient({ url, vkey }, { timeoutMs: 5_000, logger });
      const stores = openSqliteStores(join(root, `db-${tag}.sqlite`));
      try {
        await stores.registry.addOperator('acme');
        await enrolAnother(stores);
        const open = (witnessQuorum: number) =>
          CoordinatorLog.open({
            store: stores.tiledLog,
            origin: ORIGIN,
            signer: logKey,
            witnesses: [witness(honestUrl, honestVkey), witness(liar.url, liarKey.vkey)],
            witnessQuorum,
            logger,
          });
        // Both witnesses required: the lie leaves the quorum unmet.
        const strict = await open(2);
        await strict.integrate();
        expect(await stores.tiledLog.readCheckpoint()).toBeUndefined();
        await expect(strict.tlogProof(0)).rejects.toMatchObject({ code: 'QUORUM_NOT_MET' });
        expect(await strict.checkpoint()).not.toContain(liarKey.name);
        const refusal = warnings.find((w) => w.msg === 'witness cosignature refused');
        expect(refusal).toMatchObject({
          witness: liar.url,
          witnessName: liarKey.name,
          reason: expect.stringMatching(reason),
        });
        expect(warnings).toContainEqual(
          expect.objectContaining({
            msg: 'checkpoint not served: witness quorum not met',
            quorum: 2,
            witnessed: 1,
          }),
        );

        // The log goes on: the next entry is integrated, and with the honest witness enough it is served.
        await enrolAnother(stores);
        const lenient = await open(1);
        await lenient.integrate();
        const proof = parseTlogProof(await lenient.tlogProof(1));
        const served = parseSignedNote(proof.checkpoint);
        expect(served.signatures.map((s) => s.name)).toEqual([ORIGIN, HONEST_NAME]);
        const policy = parseTlogPolicy(
          `log ${logKey.vkey}\nwitness H ${honestVkey}\nwitness L ${liarKey.vkey}\nquorum H\n`,
        );
        expect(verifyCheckpoint(served, policy, new Date()).cosignatures.map((c) => c.witness)).toEqual([
          'H',
        ]);
      } finally {
        await stores.close();
      }
    },
  );
});
