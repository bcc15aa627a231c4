// The coordinator's witnessed transparency log, end to end: a real coordinator and three real workers
// (Docker), a real `rbnet witness run` process. Every enrolment, signed result, verdict and
// retirement is logged; the checkpoint is served with the witness's cosignature (and never with what
// a second, lying witness answers: a future-dated cosignature); the build's bundle
// verifies offline; `rbnet log watch` follows the coordinator; and Go's x/mod sumdb/note and
// sumdb/tlog verify the checkpoint, the tiles mirrored over HTTP, and every proof the coordinator serves.
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConsensusFeedPage } from '../services/api/consensus-feed-page.ts';
import { readPackageAnswer } from '../services/api/package-consensus.ts';
import {
  loadEd25519PublicKey,
  publicKeyToSecuresystemslibJson,
} from '../services/attestation/ed25519-key.ts';
import { freeLoopbackPort } from '../services/free-loopback-port.ts';
import { parseCheckpointText } from '../services/tlog/checkpoint.ts';
import { FileTileStorage } from '../services/tlog/file-tile-storage.ts';
import { parseLogEntry } from '../services/tlog/log-entry.ts';
import { encodeHash } from '../services/tlog/merkle-hash.ts';
import { proveConsistency } from '../services/tlog/merkle-proofs.ts';
import { formatSignatureLine, parseSignedNote } from '../services/tlog/signed-note.ts';
import { tileSubtreeReader } from '../services/tlog/tile-hash-reader.ts';
import { tilePath, tilesOfTree } from '../services/tlog/tile-path.ts';
import { tilesUpTo } from '../services/tlog/tile-storage.ts';
import { newCosigner } from '../services/tlog/tlog-fixtures.ts';
import { parseTlogProof } from '../services/tlog/tlog-proof.ts';
import { parseAddCheckpointRequest } from '../services/tlog/witness/add-checkpoint.ts';
import { runGoTlogCheck } from './support/go-tlog-check.ts';
import { type NetworkHarness, startNetworkHarness } from './support/network-harness.ts';
import { type BackgroundRbnet, runRbnet, startRbnet } from './support/rbnet-process.ts';
import { runCli } from './support/run-cli.ts';
import { REPO_ROOT } from './support/runner-harness.ts';
import { type ScriptedHttpServer, startScriptedHttpServer } from './support/scripted-http-server.ts';
import { stopChild } from './support/stop-child.ts';

const WORKERS = {
  alpha: `tlog-a-${process.pid}`,
  beta: `tlog-b-${process.pid}`,
  gamma: `tlog-c-${process.pid}`,
};
const WITNESS_NAME = 'witness.rbnet.example/coordinator-test';
const root = join(tmpdir(), `rbnet-coordinator-tlog-${process.pid}`);
let net: NetworkHarness;
let witness: BackgroundRbnet;
let witnessVkey = '';
let logVkey = '';
let maintainer = '';
const LIAR = newCosigner('witness.rbnet.example/future-dated');
let liar: ScriptedHttpServer;

async function get(path: string): Promise<{ status: number; text: string; bytes: Buffer }> {
  const response = await fetch(`${net.coordinator.url}${path}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, text: bytes.toString('utf8'), bytes };
}

/** Polls the served checkpoint until it covers `size` entries and carries the witness's cosignature. */
async function cosignedCheckpoint(size: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = (await get('/log/checkpoint')).text;
    const note = parseSignedNote(text);
    if (parseCheckpointText(note.text).size >= size && note.signatures.some((s) => s.name === WITNESS_NAME))
      return text;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`no checkpoint of ${size} entries cosigned by ${WITNESS_NAME}`);
}

beforeAll(async () => {
  await mkdir(root, { recursive: true });
  const init = await runCli([
    'witness',
    'init',
    '--name',
    WITNESS_NAME,
    '--key',
    join(root, 'witness.key'),
    '--json',
  ]);
  expect(init.code, init.stderr).toBe(0);
  witnessVkey = JSON.parse(init.stdout).vkey;
  const witnessPort = await freeLoopbackPort();
  // A second witness that lies: a valid cosignature of each checkpoint, dated a day ahead (which
  // would keep the checkpoint "fresh" for consumers for a day). The coordinator must not attach it.
  liar = await startScriptedHttpServer();
  liar.handle((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', async () => {
      const { note } = parseAddCheckpointRequest(Buffer.concat(chunks));
      const signature = await LIAR.cosign(note.text, Math.floor(Date.now() / 1000) + 86_400);
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(formatSignatureLine({ name: LIAR.name, keyHash: LIAR.keyHash, signature }));
    });
  });
  net = await startNetworkHarness({
    threshold: 2,
    replicas: 3,
    prefix: 'tlog',
    env: {
      RBNET_TLOG_WITNESSES: `http://127.0.0.1:${witnessPort} ${witnessVkey};${liar.url} ${LIAR.vkey}`,
      RBNET_TLOG_INTEGRATE_INTERVAL_MS: '100',
    },
  });
  logVkey = (await get('/log/vkey')).text.trim();
  // The witness trusts the log key the coordinator published; it is started once that is known.
  witness = await startRbnet(
    [
      'witness',
      'run',
      '--name',
      WITNESS_NAME,
      '--key',
      join(root, 'witness.key'),
      '--state-dir',
      join(root, 'witness-state'),
      '--log',
      logVkey,
      '--listen',
      `127.0.0.1:${witnessPort}`,
      '--json',
    ],
    { ready: /^\{"url":"http:[^\n]*\}$/m },
  );
  for (const [operator, workerId] of Object.entries(WORKERS)) await net.addWorker(operator, workerId);
  maintainer = await net.maintainerToken();
}, 300_000);

afterAll(async () => {
  if (witness) await stopChild(witness.child);
  await liar?.close();
  await net?.close();
  await rm(root, { recursive: true, force: true });
});

describe('the coordinator transparency log', () => {
  it('logs keys, results and verdicts, is cosigned, and the Go client, the monitor and an offline verifier agree', async () => {
    const before = parseCheckpointText(parseSignedNote(await cosignedCheckpoint(3)).text).size;
    const buildId = await net.submit(join(REPO_ROOT, 'samples', 'hello', 'manifest.json'), maintainer);
    // The verdict comes with the second agreeing result; the third worker's result and the verdict
    // it revises land after it. Everything below reads the build once all three are logged.
    const replicas = Object.keys(WORKERS).length;
    let status = await net.waitForVerdict(buildId);
    let entries: { index: number; entry: ReturnType<typeof parseLogEntry> }[] = [];
    for (let i = 0; i < 600; i++) {
      status = await net.waitForVerdict(buildId);
      const listed = await net.api('GET', `/v1/builds/${buildId}/log-entries`);
      expect(listed.status, listed.text).toBe(200);
      entries = listed.json.entries;
      const lastEntry = entries.reduce((a, b) => (b.index > a.index ? b : a));
      const logged = entries.filter((e) => e.entry.type === 'rbnet.tlog.result/v1').length;
      if (
        status.results.length === replicas &&
        logged === replicas &&
        lastEntry.entry.type === 'rbnet.tlog.verdict/v1'
      )
        break;
      await new Promise((done) => setTimeout(done, 100));
    }
    expect(status.verdict).toBe('reproducible');
    expect(status.results).toHaveLength(replicas);

    // Every signed result and the verdict that counted them, in the log, each with its index.
    const results = entries.filter((e) => e.entry.type === 'rbnet.tlog.result/v1');
    const verdicts = entries.filter((e) => e.entry.type === 'rbnet.tlog.verdict/v1');
    expect(results.map((e) => e.entry.type === 'rbnet.tlog.result/v1' && e.entry.workerId).sort()).toEqual(
      status.results.map((r: { workerId: string }) => r.workerId).sort(),
    );
    const last = verdicts.at(-1)!.entry;
    expect(last).toMatchObject({ buildId, verdict: 'reproducible', manifestSha256: status.manifestSha256 });
    if (last.type !== 'rbnet.tlog.verdict/v1') throw new Error('not a verdict');
    expect(last.results.filter((r) => r.standing === 'counted').length).toBe(
      status.decision.countedOperators.length,
    );
    // A release tool reading the feed or a package query gets the index of that very verdict entry.
    const feed = readConsensusFeedPage((await net.api('GET', '/v1/feed?limit=1000')).text);
    const fed = feed.entries.filter((e) => e.buildId === buildId).at(-1)!;
    expect(fed.logIndex).toBe(verdicts.at(-1)!.index);
    const proved = parseTlogProof((await get(`/v1/log/proofs/${fed.logIndex}`)).text);
    expect(parseLogEntry(proved.extra!)).toMatchObject({ buildId, verdict: fed.verdict });
    const answer = readPackageAnswer((await net.api('GET', `/v1/packages/${fed.source}`)).text);
    const build = answer.versions.flatMap((v) => v.builds).find((b) => b.buildId === buildId);
    expect(build?.logIndex).toBe(fed.logIndex);
    const size = Math.max(...entries.map((e) => e.index)) + 1;
    const checkpoint = await cosignedCheckpoint(size);
    const served = parseCheckpointText(parseSignedNote(checkpoint).text);
    expect(served.origin).toBe(`${new URL(net.coordinator.url).host}/log`);

    // The log key is not the consensus-attestation key.
    expect(logVkey).toMatch(new RegExp(`^${served.origin.replace(/[.]/g, '\\.')}\\+[0-9a-f]{8}\\+`));
    const attestation = JSON.parse((await net.api('GET', `/v1/builds/${buildId}/attestation`)).text);
    const { keyid } = attestation.signatures[0];
    expect(logVkey).not.toContain(keyid);

    // A static mirror: the checkpoint and every tile, fetched over HTTP into a folder.
    const mirror = join(root, 'mirror');
    for (const tile of tilesOfTree(served.size)) {
      const answer = await get(`/log/${tilePath(tile)}`);
      expect(answer.status, tilePath(tile)).toBe(200);
      await mkdir(dirname(join(mirror, tilePath(tile))), { recursive: true });
      await writeFile(join(mirror, tilePath(tile)), answer.bytes);
    }
    expect((await get(`/log/tile/0/999`)).status).toBe(404);
    const proofs = await Promise.all(
      entries.map(async ({ index }) => {
        const answer = await get(`/v1/log/proofs/${index}`);
        expect(answer.status, answer.text).toBe(200);
        return parseTlogProof(answer.text);
      }),
    );
    const tiles = tilesUpTo(new FileTileStorage(mirror), served.size);
    const oldSize = Math.max(1, before);
    const consistency = await proveConsistency(oldSize, served.size, tileSubtreeReader(served.size, tiles));
    const go = await runGoTlogCheck(join(root, 'vectors.json'), {
      logVkey,
      witnesses: [{ name: WITNESS_NAME, vkey: witnessVkey }],
      checkpoints: [{ id: 'served', note: proofs.at(-1)!.checkpoint }],
      inclusion: proofs.map((p) => ({
        id: `inc-${p.index}`,
        index: p.index,
        size: parseCheckpointText(parseSignedNote(p.checkpoint).text).size,
        root: encodeHash(parseCheckpointText(parseSignedNote(p.checkpoint).text).rootHash),
        entry: Buffer.from(p.extra!).toString('base64'),
        proof: p.inclusionProof.map(encodeHash),
      })),
      tileTrees: [
        {
          id: 'tiles',
          dir: mirror,
          size: served.size,
          root: encodeHash(served.rootHash),
          inclusion: [],
          consistency: [{ id: 'con', oldSize, proof: consistency.map(encodeHash) }],
        },
      ],
    });
    expect(go.served, go.served?.error).toMatchObject({ ok: true, cosigned: [WITNESS_NAME] });
    // The lying witness was asked every time, and nothing it answered was ever served.
    expect(liar.requests.filter((r) => r === '/add-checkpoint').length).toBeGreaterThan(0);
    for (const proof of proofs) expect(proof.checkpoint).not.toContain(LIAR.name);
    expect(go.tiles, go.tiles?.error).toMatchObject({ ok: true });
    expect(go.con, go.con?.error).toMatchObject({ ok: true });
    for (const p of proofs)
      expect(go[`inc-${p.index}`], go[`inc-${p.index}`]?.error).toMatchObject({ ok: true });

    // The bundle, verified with no network at all.
    const bundle = await get(`/v1/builds/${buildId}/bundle`);
    expect(bundle.status, bundle.text).toBe(200);
    // The consumer's command gets the same bytes, checked before they are written.
    const exported = await runCli([
      'bundle',
      'export',
      '--build',
      buildId,
      '--coordinator',
      net.coordinator.url,
      '--out',
      join(root, 'bundle.json'),
      '--json',
    ]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({
      results: status.results.length,
      origin: served.origin,
    });
    expect(await readFile(join(root, 'bundle.json'), 'utf8')).toBe(bundle.text);
    const operators = [];
    for (const workerId of Object.values(WORKERS)) {
      const dir = net.workerDirs.get(workerId)!;
      const { operator } = JSON.parse(await readFile(join(dir, 'worker.json'), 'utf8'));
      const key = await loadEd25519PublicKey(join(dir, 'worker-signing.key.pub'));
      const pem = await readFile(join(dir, 'worker-signing.key.pub'), 'utf8');
      operators.push({
        name: operator,
        keys: [{ keyid: publicKeyToSecuresystemslibJson(key).keyid, publicKeyPem: pem }],
      });
    }
    const tlogPolicy = `log ${logVkey}\nwitness W ${witnessVkey}\nquorum W\nmax-checkpoint-age 1h\n`;
    await writeFile(
      join(root, 'trust.json'),
      JSON.stringify({
        schema: 'rbnet.trust-policy/v1',
        operators,
        threshold: 2,
        allowFetchedEnvironments: false,
        expires: '2099-01-01T00:00:00Z',
        transparencyLog: tlogPolicy,
      }),
    );
    const hello = status.results[0].outputs.find((o: { path: string }) => o.path === 'hello.txt');
    await writeFile(join(root, 'hello.txt'), (await get(`/v1/cas/sha256/${hello.sha256}`)).bytes);
    const child = spawn(
      'unshare',
      [
        '--net',
        process.execPath,
        join(REPO_ROOT, 'bin', 'rbnet.mjs'),
        'verify',
        join(root, 'hello.txt'),
        '--bundle',
        join(root, 'bundle.json'),
        '--policy',
        join(root, 'trust.json'),
        '--manifest-sha256',
        status.manifestSha256,
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    expect(await new Promise((done) => child.on('close', done)), output).toBe(0);
    expect(JSON.parse(output)).toMatchObject({
      ok: true,
      verdict: 'reproducible',
      verdictLogged: { origin: served.origin },
    });

    // The monitor follows the coordinator's log, its witness included.
    await writeFile(
      join(root, 'watch.tlog'),
      `log ${logVkey}\nwitness W ${witnessVkey} ${witness.output().match(/"url":"([^"]+)"/)![1]}\nquorum W\n`,
    );
    const watch = runRbnet([
      'log',
      'watch',
      '--url',
      `${net.coordinator.url}/log`,
      '--policy',
      join(root, 'watch.tlog'),
      '--state',
      join(root, 'watch-state.json'),
      '--once',
      '--json',
    ]);
    const watched = await watch.exited;
    expect(watched, `${watch.output().stdout}${watch.output().stderr}`).toBe(0);

    // Key events: an enrolment and a retirement are logged after everything above (a worker that
    // never started, so no running worker loses its queue under the test).
    const spare = `tlog-d-${process.pid}`;
    await net.enrolOnly('delta', spare);
    const retired = await net.api('POST', `/v1/admin/workers/${spare}/retire`, {}, net.adminToken);
    expect(retired.status, retired.text).toBe(200);
    // Nothing here orders them against other entries the coordinator may log meanwhile, so the key
    // events are looked for among every entry after `size`, in order.
    const keyEventsOfSpare = async () => {
      const next = parseCheckpointText(parseSignedNote(await cosignedCheckpoint(size + 2)).text).size;
      const logged = await Promise.all(
        Array.from({ length: next - size }, async (_, i) =>
          parseLogEntry(parseTlogProof((await get(`/v1/log/proofs/${size + i}`)).text).extra!),
        ),
      );
      return logged.filter((e) => e.type === 'rbnet.tlog.key-event/v1' && e.workerId === spare);
    };
    let events = await keyEventsOfSpare();
    for (let i = 0; i < 100 && events.length < 2; i++) {
      await new Promise((done) => setTimeout(done, 100));
      events = await keyEventsOfSpare();
    }
    expect(events).toMatchObject([
      { type: 'rbnet.tlog.key-event/v1', event: 'enrolled', workerId: spare, operator: 'delta' },
      { type: 'rbnet.tlog.key-event/v1', event: 'retired', workerId: spare, operator: 'delta' },
    ]);
  }, 600_000);
});
