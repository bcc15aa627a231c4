// A forged cosignature, as consumers meet it: `rbnet verify --bundle` refuses a bundle whose
// checkpoint carries a cosignature that does not verify under the witness key the policy names
// (the quorum counts only cosignatures that verify), and `rbnet log watch` alarms (exit 3) when a
// witness's own cosigned view (its monitoring endpoint, a real HTTP server this test scripts) is a
// tree the log's does not extend, or when the log serves its checkpoint with a forged cosignature. The log is a real one in a folder, served by a static server.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKey, policyDocument } from '../../../services/consensus/consensus-test-fixtures.ts';
import { sha256Hex } from '../../../services/digest.ts';
import type { Cosigner } from '../../../services/tlog/cosignature.ts';
import { FileLogHeadStore, FileTileStorage } from '../../../services/tlog/file-tile-storage.ts';
import { assembleBundle } from '../../../services/tlog/rbnet-bundle.ts';
import { formatSignatureLine, parseSignedNote } from '../../../services/tlog/signed-note.ts';
import { publishBuild } from '../../../services/tlog/tlog-build-fixtures.ts';
import { cosign, newCosigner, newLogSigner } from '../../../services/tlog/tlog-fixtures.ts';
import { TransparencyLog } from '../../../services/tlog/transparency-log.ts';
import { runCli } from '../../support/run-cli.ts';
import { type ScriptedHttpServer, startScriptedHttpServer } from '../../support/scripted-http-server.ts';
import { type StaticServer, startStaticServer } from '../../support/static-file-server.ts';

const ORIGIN = `log.rbnet.example/forged-${process.pid}`;
const logKey = newLogSigner(ORIGIN);
const keys = { alpha: newKey(), beta: newKey(), gamma: newKey() };
const coordinator = newKey();
const one = newCosigner('witness.rbnet.example/one');
const two = newCosigner('witness.rbnet.example/two');
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-forged-cosignature-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function folderLog(name: string) {
  const tiles = new FileTileStorage(join(root, name, 'public'));
  const log = await TransparencyLog.open({
    origin: ORIGIN,
    signer: logKey,
    tiles,
    heads: new FileLogHeadStore(join(root, name, 'head.json')),
  });
  return { log, tiles, publicFolder: join(root, name, 'public') };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A cosignature line under `witness`'s name and key hash that another key made: a forgery. */
async function forgedLine(witness: Cosigner, noteText: string): Promise<string> {
  const impostor = newCosigner(witness.name);
  return formatSignatureLine({
    name: witness.name,
    keyHash: witness.keyHash,
    signature: await impostor.cosign(noteText, nowSeconds()),
  });
}

describe('rbnet verify --bundle and a forged cosignature', () => {
  it('refuses a bundle whose checkpoint carries a forged cosignature, whatever the quorum, and names the witness', async () => {
    const { log } = await folderLog('bundle');
    const build = await publishBuild(log, { keys, coordinator, threshold: 2, at: new Date() });
    const signed = await log.signedCheckpoint();
    const artifact = join(root, 'artifact.deb');
    await writeFile(artifact, 'deb bytes');
    expect(sha256Hex('deb bytes')).toBe(build.artifactSha256);

    const verifyWith = async (checkpoint: string, quorum: string) => {
      const proofs = await Promise.all(
        [build.verdictIndex, ...build.resultIndexes].map((i) => log.tlogProof(i, checkpoint)),
      );
      const bundle = join(root, 'bundle.json');
      await writeFile(bundle, assembleBundle(build.consensusEnvelope, proofs));
      const policy = join(root, 'trust.json');
      const trust = policyDocument({
        operators: Object.entries(keys).map(([name, key]) => ({ name, keys: [key] })),
        threshold: 2,
        expires: '2099-01-01T00:00:00Z',
      });
      const tlog = [
        `log ${logKey.vkey}`,
        `witness one ${one.vkey}`,
        `witness two ${two.vkey}`,
        'group both all one two',
        `quorum ${quorum}`,
        'max-checkpoint-age 1h',
      ].join('\n');
      await writeFile(policy, JSON.stringify({ ...trust, transparencyLog: tlog }));
      const run = await runCli(
        [
          'verify',
          artifact,
          '--bundle',
          bundle,
          '--policy',
          policy,
          '--manifest-sha256',
          build.manifestSha256,
        ],
        { env: {} },
      );
      return { ...run, text: `${run.stdout}${run.stderr}` };
    };

    const honest = await cosign(signed, [one, two], nowSeconds());
    const ok = await verifyWith(honest, 'both');
    expect(ok.code, ok.text).toBe(0);

    const withForgery = `${await cosign(signed, [one], nowSeconds())}${await forgedLine(two, parseSignedNote(signed).text)}`;
    for (const quorum of ['both', 'one']) {
      const refused = await verifyWith(withForgery, quorum);
      expect(refused.code, `${quorum}: ${refused.text}`).toBe(1);
      expect(refused.text).toMatch(
        /NOTE_UNVERIFIED.*the signature by witness\.rbnet\.example\/two does not verify with its trusted key/,
      );
    }
    // A cosignature dated a day ahead does not count towards the quorum either.
    const future = await cosign(signed, [one, two], nowSeconds() + 86_400);
    const early = await verifyWith(future, 'both');
    expect(early.code).toBe(1);
    expect(early.text).toMatch(/QUORUM_NOT_MET.*not counted: too old or after the time of the check/);
  });
});

describe('rbnet log watch and a witness whose cosigned view is inconsistent', () => {
  let mirror: StaticServer;
  let witness: ScriptedHttpServer;
  afterAll(async () => {
    await mirror?.close();
    await witness?.close();
  });

  it('alarms (exit 3) with both checkpoints when the witness cosigned a tree the log does not extend, passes when it is consistent, and alarms on a served checkpoint with a forged cosignature', async () => {
    const served = await folderLog('watched');
    await publishBuild(served.log, { keys, coordinator, threshold: 2, at: new Date() });
    const honestView = await cosign(await served.log.signedCheckpoint(), [one], nowSeconds());
    await publishBuild(served.log, { keys, coordinator, threshold: 2, at: new Date() });
    await served.tiles.writeCheckpoint(
      await cosign(await served.log.signedCheckpoint(), [one], nowSeconds()),
    );
    // The same log key signed another history, and the witness cosigned that one: a split view.
    const fork = await folderLog('fork');
    await publishBuild(fork.log, { keys, coordinator, threshold: 2, at: new Date(Date.now() - 1000) });
    const forkView = await cosign(await fork.log.signedCheckpoint(), [one], nowSeconds());

    mirror = await startStaticServer(served.publicFolder);
    witness = await startScriptedHttpServer();
    let view = honestView;
    witness.handle((request, response, url) => {
      if (request.method !== 'GET' || url.pathname !== `/${sha256Hex(ORIGIN)}/checkpoint`) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(view);
    });
    const policy = join(root, 'watch.tlog');
    await writeFile(policy, `log ${logKey.vkey}\nwitness one ${one.vkey} ${witness.url}\nquorum one\n`);
    const watch = async (state: string) => {
      const run = await runCli(
        [
          'log',
          'watch',
          '--url',
          mirror.url,
          '--policy',
          policy,
          '--state',
          join(root, state),
          '--once',
          '--json',
        ],
        { env: {} },
      );
      return {
        ...run,
        events: run.stdout
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      };
    };

    const consistent = await watch('consistent.json');
    expect(consistent.code, consistent.stderr).toBe(0);
    expect(consistent.events).toContainEqual(
      expect.objectContaining({ event: 'witness', witness: 'one', status: 'consistent', size: 4 }),
    );
    view = forkView;
    const split = await watch('split.json');
    expect(split.code, split.stderr).toBe(3);
    expect(split.events).toContainEqual(
      expect.objectContaining({
        event: 'alarm',
        kind: 'witness-fork',
        message: expect.stringMatching(
          /witness one cosigned a tree of size 4 that the log's tree of size 8 does not extend/,
        ),
        evidence: [forkView, expect.stringContaining(ORIGIN)],
      }),
    );
    expect(witness.requests).toContain(`/${sha256Hex(ORIGIN)}/checkpoint`);

    // The log serves its own checkpoint with a cosignature the witness never made.
    const signed = await served.log.signedCheckpoint();
    await served.tiles.writeCheckpoint(`${signed}${await forgedLine(one, parseSignedNote(signed).text)}`);
    view = honestView;
    const forged = await watch('forged.json');
    expect(forged.code, forged.stderr).toBe(3);
    expect(forged.events).toContainEqual(
      expect.objectContaining({
        event: 'alarm',
        kind: 'forged-cosignature',
        message: expect.stringMatching(
          /carries a cosignature by witness one \(witness\.rbnet\.example\/one\) that does not verify/,
        ),
      }),
    );
  });
});
