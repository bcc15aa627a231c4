// The transparency log's public side as separate processes, as operators and consumers run them:
// `rbnet witness run` over HTTP, `rbnet log watch` against a static mirror of a tiled log, and
// `rbnet bundle export` / `rbnet verify --bundle` in a network namespace with no network at all.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKey, policyDocument } from '../services/consensus/consensus-test-fixtures.ts';
import { sha256Hex } from '../services/digest.ts';
import { FileLogHeadStore, FileTileStorage } from '../services/tlog/file-tile-storage.ts';
import { publishBuild } from '../services/tlog/tlog-build-fixtures.ts';
import { newLogSigner } from '../services/tlog/tlog-fixtures.ts';
import { TransparencyLog } from '../services/tlog/transparency-log.ts';
import { formatAddCheckpointRequest } from '../services/tlog/witness/add-checkpoint.ts';
import { type BackgroundRbnet, runRbnet, startRbnet } from './support/rbnet-process.ts';
import { runCli } from './support/run-cli.ts';
import { type StaticServer, startStaticServer } from './support/static-file-server.ts';
import { stopChild } from './support/stop-child.ts';

const ORIGIN = `log.rbnet.example/t${process.pid}`;
const logKey = newLogSigner(ORIGIN);
const keys = { alpha: newKey(), beta: newKey(), gamma: newKey() };
const coordinator = newKey();
const root = mkdtempSync(join(tmpdir(), 'rbnet-tlog-e2e-'));
let witness: BackgroundRbnet;
let witnessUrl = '';
let witnessVkey = '';
let mirror: StaticServer;

/** `rbnet witness run` on the test's key and state folder, for the test's log, on a free port. */
function witnessRunArgs(name: string): string[] {
  return [
    'witness',
    'run',
    '--name',
    name,
    '--key',
    join(root, 'witness.key'),
    '--state-dir',
    join(root, 'witness-state'),
    '--log',
    logKey.vkey,
    '--listen',
    '127.0.0.1:0',
  ];
}

async function startWitness(): Promise<BackgroundRbnet> {
  const started = await startRbnet([...witnessRunArgs('witness.rbnet.example/e2e'), '--json'], {
    ready: /^\{"url":"http:[^\n]*\}$/m,
  });
  witnessUrl = JSON.parse(started.output().match(/^\{"url":"http:[^\n]*\}$/m)![0]).url;
  return started;
}

async function post(body: string): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(`${witnessUrl}/add-checkpoint`, { method: 'POST', body });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

/** A log in a folder a static server mirrors; each append is witnessed and the cosigned checkpoint published. */
async function fileLog(name: string) {
  const folder = join(root, name);
  const tiles = new FileTileStorage(join(folder, 'public'));
  const log = await TransparencyLog.open({
    origin: ORIGIN,
    signer: logKey,
    tiles,
    heads: new FileLogHeadStore(join(folder, 'head.json')),
  });
  return { log, tiles, publicFolder: join(folder, 'public') };
}

async function witnessHead(log: TransparencyLog, tiles: FileTileStorage, oldSize: number): Promise<string> {
  const note = await log.signedCheckpoint();
  const answer = await post(formatAddCheckpointRequest(oldSize, await log.consistencyProof(oldSize), note));
  expect(answer.status, answer.text).toBe(200);
  await tiles.writeCheckpoint(`${note}${answer.text}`);
  return `${note}${answer.text}`;
}

beforeAll(async () => {
  const init = await runCli([
    'witness',
    'init',
    '--name',
    'witness.rbnet.example/e2e',
    '--key',
    join(root, 'witness.key'),
    '--json',
  ]);
  expect(init.code, init.stderr).toBe(0);
  witnessVkey = JSON.parse(init.stdout).vkey;
  witness = await startWitness();
});

afterAll(async () => {
  await stopChild(witness.child);
  await mirror?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('rbnet witness run', () => {
  it('speaks tlog-witness over HTTP, keeps its state across a kill, and refuses a second process on it', async () => {
    const { log, tiles } = await fileLog('witness-protocol');
    await publishBuild(log, { keys, coordinator, threshold: 2, at: new Date() });
    const cosigned = await witnessHead(log, tiles, 0);
    expect(cosigned).toMatch(/\n— witness\.rbnet\.example\/e2e \S+\n$/);
    const stale = await post(formatAddCheckpointRequest(0, [], await log.signedCheckpoint()));
    expect(stale).toEqual({ status: 409, type: 'text/x.tlog.size', text: `${log.head.size}\n` });
    const stranger = newLogSigner('log.rbnet.example/stranger');
    const other = await TransparencyLog.open({
      origin: stranger.name,
      signer: stranger,
      tiles: new FileTileStorage(join(root, 'stranger')),
      heads: new FileLogHeadStore(join(root, 'stranger.json')),
    });
    expect(
      (await post(formatAddCheckpointRequest(0, [], (await other.append([Buffer.from('x')])).checkpoint)))
        .status,
    ).toBe(404);
    expect((await post(`old 0\n\n${'x'.repeat(70_000)}`)).status).toBe(413);
    const monitorView = await fetch(`${witnessUrl}/${sha256Hex(ORIGIN)}/checkpoint`);
    expect(await monitorView.text()).toBe(cosigned);
    // A second witness on the same state is refused; a killed one restarts with what it cosigned.
    const second = runRbnet(witnessRunArgs('w'));
    expect(await second.exited).toBe(1);
    expect(second.output().stderr).toMatch(/STATE_LOCKED/);
    witness.child.kill('SIGKILL');
    await new Promise((done) => witness.child.once('exit', done));
    witness = await startWitness();
    expect(await post(formatAddCheckpointRequest(0, [], await log.signedCheckpoint()))).toMatchObject({
      status: 409,
      text: `${log.head.size}\n`,
    });
  });
});

describe('rbnet log watch', () => {
  let policyFile = '';
  const watch = async (state: string, policy = policyFile) => {
    const child = runRbnet([
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
    ]);
    const code = await child.exited;
    const { stdout, stderr } = child.output();
    return {
      code,
      events: stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
      stderr,
    };
  };

  it('follows an honest witnessed log, then alarms on a hidden dissent, a rewritten entry and a fork', async () => {
    const honest = await fileLog('monitored');
    // The witness already holds another log's history for this origin; start it afresh for this one.
    await stopChild(witness.child);
    rmSync(join(root, 'witness-state'), { recursive: true, force: true });
    witness = await startWitness();
    mirror = await startStaticServer(honest.publicFolder);
    policyFile = join(root, 'policy.tlog');
    await writeFile(
      policyFile,
      `log ${logKey.vkey}\nwitness W ${witnessVkey} ${witnessUrl}\nquorum W\nmax-checkpoint-age 1h\n`,
    );
    await publishBuild(honest.log, {
      keys,
      coordinator,
      threshold: 2,
      at: new Date(),
      dissenters: ['gamma'],
    });
    await witnessHead(honest.log, honest.tiles, 0);
    const first = await watch('state.json');
    expect(first.code, first.stderr).toBe(0);
    expect(first.events).toContainEqual(
      expect.objectContaining({ event: 'checkpoint', size: 4, cosignedBy: ['W'] }),
    );
    expect(first.events).toContainEqual(
      expect.objectContaining({ event: 'witness', witness: 'W', status: 'consistent' }),
    );

    await publishBuild(honest.log, {
      keys,
      coordinator,
      threshold: 2,
      at: new Date(),
      dissenters: ['gamma'],
      hidden: ['gamma'],
    });
    await witnessHead(honest.log, honest.tiles, 4);
    const hidden = await watch('state.json');
    expect(hidden.code).toBe(3);
    expect(hidden.events).toContainEqual(
      expect.objectContaining({
        event: 'alarm',
        kind: 'hidden-result',
        message: expect.stringMatching(
          /gamma-w1\/\S+ of operator gamma logged at index 6 is not accounted for/,
        ),
      }),
    );
    // The state did not move: the same alarm again on the next round.
    expect((await watch('state.json')).code).toBe(3);

    // A rewritten entry behind a consistent-looking checkpoint, on a fresh monitor.
    const bundle = join(honest.publicFolder, 'tile', 'entries', '000.p/8');
    const original = await readFile(bundle);
    await writeFile(
      bundle,
      Buffer.from(original.toString('latin1').replace('"attempt":0', '"attempt":1'), 'latin1'),
    );
    const rewritten = await watch('fresh.json');
    expect(rewritten.code).toBe(3);
    expect(rewritten.events.map((e) => e.kind).filter(Boolean)).toEqual(
      expect.arrayContaining(['tile-mismatch', 'rewritten']),
    );
    await writeFile(bundle, original);

    // A fork: the log key signs another history of the same size. The witness refuses it, so under
    // the witnessed policy the monitor cannot even accept the checkpoint; under \`quorum none\` it
    // sees the fork itself.
    const fork = await fileLog('fork');
    await publishBuild(fork.log, { keys, coordinator, threshold: 2, at: new Date() });
    await publishBuild(fork.log, { keys, coordinator, threshold: 2, at: new Date() });
    const forkAnswer = await post(formatAddCheckpointRequest(8, [], await fork.log.signedCheckpoint()));
    expect(forkAnswer.status).toBe(422);
    await fork.tiles.writeCheckpoint(await fork.log.signedCheckpoint());
    mirror.setRoot(join(root, 'fork', 'public'));
    const unwitnessed = await watch('state.json');
    expect(unwitnessed.code).toBe(1);
    expect(unwitnessed.events).toContainEqual(
      expect.objectContaining({ event: 'error', code: 'QUORUM_NOT_MET' }),
    );
    const lenient = join(root, 'lenient.tlog');
    await writeFile(lenient, `log ${logKey.vkey}\nquorum none\n`);
    mirror.setRoot(honest.publicFolder);
    expect((await watch('lenient.json', lenient)).code).toBe(3); // the hidden dissent again
    rmSync(join(root, 'lenient.json'), { force: true });
    await writeFile(join(root, 'lenient.json'), await readFile(join(root, 'state.json')));
    mirror.setRoot(join(root, 'fork', 'public'));
    const forked = await watch('lenient.json', lenient);
    expect(forked.code).toBe(3);
    expect(forked.events).toContainEqual(expect.objectContaining({ event: 'alarm', kind: 'inconsistent' }));
    mirror.setRoot(honest.publicFolder);
  });
});

describe('rbnet bundle export and rbnet verify --bundle', () => {
  it('verifies offline in a network namespace with no network, as of a time, and refuses a tampered bundle', async () => {
    const { log, tiles } = await fileLog('bundled');
    await stopChild(witness.child);
    rmSync(join(root, 'witness-state'), { recursive: true, force: true });
    witness = await startWitness();
    const build = await publishBuild(log, { keys, coordinator, threshold: 2, at: new Date() });
    const checkpoint = await witnessHead(log, tiles, 0);
    const files: string[] = [];
    for (const index of [build.verdictIndex, ...build.resultIndexes]) {
      files.push(join(root, `entry-${index}.tlog-proof`));
      await writeFile(files.at(-1)!, await log.tlogProof(index, checkpoint));
    }
    await writeFile(join(root, 'attestation.json'), build.consensusEnvelope);
    const exported = await runCli([
      'bundle',
      'export',
      '--attestation',
      join(root, 'attestation.json'),
      ...files.flatMap((f) => ['--proof', f]),
      '--out',
      join(root, 'bundle.json'),
      '--json',
    ]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({
      verdictIndex: build.verdictIndex,
      results: 3,
      origin: ORIGIN,
    });
    const logPolicy = join(root, 'consumer.tlog');
    await writeFile(
      logPolicy,
      `log ${logKey.vkey}\nwitness W ${witnessVkey}\nquorum W\nmax-checkpoint-age 24h\n`,
    );
    const trust = policyDocument({
      operators: Object.entries(keys).map(([name, key]) => ({ name, keys: [key] })),
      threshold: 2,
      expires: '2099-01-01T00:00:00Z',
    });
    await writeFile(
      join(root, 'trust.json'),
      JSON.stringify({ ...trust, transparencyLog: await readFile(logPolicy, 'utf8') }),
    );
    // The artifact the consumer holds: the .deb whose digest the fixtures' workers agreed on.
    const artifact = join(root, 'artifact.deb');
    await writeFile(artifact, 'deb bytes');
    expect(sha256Hex('deb bytes')).toBe(build.artifactSha256);
    const verify = async (bundle: string, at?: string) => {
      // `unshare --net`: a fresh network namespace whose only interface, loopback, is down.
      const args = [
        '--net',
        process.execPath,
        join(import.meta.dirname, '..', 'bin', 'rbnet.mjs'),
        'verify',
        artifact,
        '--bundle',
        bundle,
        '--policy',
        join(root, 'trust.json'),
        '--manifest-sha256',
        build.manifestSha256,
        '--json',
        ...(at ? ['--at', at] : []),
      ];
      const child = spawn('unshare', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise<number | null>((done) => child.on('close', done));
      return { code, json: stdout ? JSON.parse(stdout) : undefined, text: `${stdout}${stderr}` };
    };
    const ok = await verify(join(root, 'bundle.json'));
    expect(ok.code, ok.text).toBe(0);
    expect(ok.json).toMatchObject({
      ok: true,
      verdict: 'agreed',
      verdictLogged: { index: build.verdictIndex, origin: ORIGIN },
    });
    const tooLate = await verify(
      join(root, 'bundle.json'),
      new Date(Date.now() + 2 * 86400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    );
    expect(tooLate.code).toBe(1);
    expect(tooLate.json.logProblems.join('\n')).toMatch(/QUORUM_NOT_MET.*too old/);
    const bundleText = await readFile(join(root, 'bundle.json'), 'utf8');
    const parsed = JSON.parse(bundleText);
    parsed.resultProofs = parsed.resultProofs.slice(1);
    await writeFile(join(root, 'cut.json'), JSON.stringify(parsed));
    const cut = await verify(join(root, 'cut.json'));
    expect(cut.code).toBe(1);
    expect(cut.json).toMatchObject({
      ok: false,
      logProblems: expect.arrayContaining([expect.stringMatching(/has no log proof of it/)]),
    });
  });
});
