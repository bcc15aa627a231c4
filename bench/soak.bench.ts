// Soak: a coordinator process under a steady stream of trivial builds on three worker processes of
// three operators, once without faults and once with a worker SIGKILLed every few minutes (and
// restarted). Reports the coordinator's CPU and RSS per phase, builds decided, and the time from a
// worker's death to its attempt being reassigned, against leaseTimeoutMs.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BackgroundRbnet, runRbnet, startRbnet } from '../test/support/rbnet-process.ts';
import { startRedisServer } from '../test/support/redis-server.ts';
import { createRunnerHarness, ENGINE_HOST, STATE_DIR } from '../test/support/runner-harness.ts';
import { formatRow, median } from './bench-support.ts';

const PHASE_MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const BUILDS_PER_PHASE = Number(process.env.SOAK_BUILDS ?? 500);
const KILL_EVERY_MS = Number(process.env.SOAK_KILL_EVERY_MS ?? 180_000);
const LEASE_MS = Number(process.env.SOAK_LEASE_MS ?? 10_000);
// The killed worker stays down longer than a lease, so its attempts must be reassigned.
const RESTART_AFTER_MS = Number(process.env.SOAK_RESTART_AFTER_MS ?? 3 * LEASE_MS);
const OPERATORS = ['alpha', 'beta', 'gamma'];

function cli(args: string[], env: Record<string, string>): Promise<string> {
  const run = runRbnet(args, env);
  return run.exited.then((code) =>
    code === 0
      ? run.output().stdout
      : Promise.reject(new Error(`rbnet ${args.join(' ')}: ${run.output().stderr}`)),
  );
}

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function rssMiB(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

const root = await mkdtemp(join(tmpdir(), 'rbnet-soak-'));
const redis = await startRedisServer();
const manifests = await createRunnerHarness('soak');
const children: ChildProcess[] = [];
try {
  const port = 21_000 + Math.floor(Math.random() * 10_000);
  const url = `http://127.0.0.1:${port}`;
  const coordinator = await startRbnet(
    [
      'coordinator',
      'run',
      '--data-dir',
      join(root, 'coordinator'),
      '--listen',
      `127.0.0.1:${port}`,
      '--redis',
      redis.url,
      '--threshold',
      '2',
      '--replicas',
      '2',
      '--log-level',
      'error',
    ],
    {
      env: {
        RBNET_LEASE_TIMEOUT_MS: String(LEASE_MS),
        RBNET_RETRY_BACKOFF_MS: '0',
        RBNET_SWEEP_INTERVAL_MS: '1000',
        RBNET_INFRASTRUCTURE_RETRIES: '20',
        RBNET_MAX_ATTEMPTS: '40',
      },
      ready: /admin token[^\n]*rbnet_admin_\S+/,
    },
  );
  children.push(coordinator.child);
  const adminToken = /(rbnet_admin_\S+)/.exec(coordinator.output())![1]!;
  const adminEnv = { RBNET_COORDINATOR: url, RBNET_ADMIN_TOKEN: adminToken };
  const workerDirs = new Map<string, string>();
  const workers = new Map<string, BackgroundRbnet>();
  const startWorker = async (operator: string) => {
    const running = await startRbnet(
      [
        'worker',
        'run',
        '--worker-dir',
        workerDirs.get(operator)!,
        '--state-dir',
        STATE_DIR,
        '--docker-host',
        ENGINE_HOST,
        '--log-level',
        'error',
      ],
      { ready: /consuming its queue/ },
    );
    children.push(running.child);
    workers.set(operator, running);
  };
  for (const operator of OPERATORS) {
    await cli(['admin', 'operator', 'add', operator], adminEnv);
    const { token } = JSON.parse(
      await cli(['admin', 'token', 'create', '--operator', operator, '--json'], adminEnv),
    ) as { token: string };
    workerDirs.set(operator, join(root, 'workers', operator));
    await cli(
      [
        'worker',
        'enrol',
        '--coordinator',
        url,
        '--token',
        token,
        '--id',
        `${operator}-1`,
        '--worker-dir',
        workerDirs.get(operator)!,
      ],
      {},
    );
    await startWorker(operator);
  }
  const maintainer = (
    JSON.parse(await cli(['admin', 'maintainer', 'add', 'soak', '--json'], adminEnv)) as { token: string }
  ).token;
  const { path } = await manifests.writeManifest({
    script: '#!/bin/sh\nmkdir -p out\necho stable > out/a.txt\n',
  });
  const manifestText = await readFile(path, 'utf8');
  const inputs = JSON.parse(manifestText) as { inputs: { location: string }[] };
  for (const input of inputs.inputs) {
    const bytes = await readFile(join(path, '..', input.location));
    const { sha256Hex } = await import('../services/digest.ts');
    await fetch(`${url}/v1/cas/sha256/${sha256Hex(bytes)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${maintainer}` },
      body: bytes,
    });
  }
  const submit = async (): Promise<string> => {
    const response = await fetch(`${url}/v1/builds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${maintainer}`, 'content-type': 'application/json' },
      body: manifestText,
    });
    return ((await response.json()) as { buildId: string }).buildId;
  };
  const status = async (id: string) =>
    (await (await fetch(`${url}/v1/builds/${id}`)).json()) as {
      verdict: string;
      attempts: { workerId: string; state: string; assignedAt: string; finishedAt?: string }[];
    };

  const phases: {
    name: string;
    cpuSeconds: number;
    rssMedian: number;
    rssMax: number;
    decided: number;
    submitted: number;
    recoveryMs: number[];
  }[] = [];
  for (const faults of [false, true]) {
    const pid = coordinator.child.pid!;
    const cpuBefore = await cpuSeconds(pid);
    const rss: number[] = [];
    const ids: string[] = [];
    const kills: { operator: string; atMs: number }[] = [];
    const started = Date.now();
    const endAt = started + PHASE_MINUTES * 60_000;
    const intervalMs = (PHASE_MINUTES * 60_000) / BUILDS_PER_PHASE;
    let nextKill = started + KILL_EVERY_MS;
    let victim = 0;
    while (Date.now() < endAt) {
      if (ids.length < BUILDS_PER_PHASE) ids.push(await submit());
      if (faults && Date.now() >= nextKill) {
        const operator = OPERATORS[victim++ % OPERATORS.length]!;
        workers.get(operator)!.child.kill('SIGKILL');
        kills.push({ operator, atMs: Date.now() });
        nextKill += KILL_EVERY_MS;
        setTimeout(() => void startWorker(operator).catch(() => undefined), RESTART_AFTER_MS);
      }
      rss.push(await rssMiB(pid));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    // Let the phase drain (bounded), then count verdicts.
    const drainUntil = Date.now() + 120_000;
    let decided = 0;
    const recoveryMs: number[] = [];
    for (const id of ids) {
      let s = await status(id);
      while (s.verdict === 'pending' && Date.now() < drainUntil) {
        await new Promise((r) => setTimeout(r, 500));
        s = await status(id);
      }
      if (s.verdict !== 'pending') decided += 1;
      // Death → replacement: the replacement attempt's assignment after an expired attempt.
      const expired = s.attempts.filter((a) => a.state === 'expired');
      for (const attempt of expired) {
        const finishedMs = Date.parse(attempt.finishedAt ?? attempt.assignedAt);
        const kill = kills
          .filter(
            (k) =>
              attempt.workerId === `${k.operator}-1` &&
              k.atMs <= finishedMs &&
              k.atMs >= Date.parse(attempt.assignedAt) - 60_000,
          )
          .at(-1);
        const replacement = s.attempts.find(
          (a) => a !== attempt && Date.parse(a.assignedAt) >= finishedMs - 1000,
        );
        // Attempts assigned to the worker after it died are measured from their assignment.
        if (kill && replacement)
          recoveryMs.push(
            Date.parse(replacement.assignedAt) - Math.max(kill.atMs, Date.parse(attempt.assignedAt)),
          );
      }
    }
    phases.push({
      name: faults ? `a worker SIGKILLed every ${Math.round(KILL_EVERY_MS / 1000)} s` : 'no faults',
      cpuSeconds: (await cpuSeconds(pid)) - cpuBefore,
      rssMedian: median(rss),
      rssMax: Math.max(...rss),
      decided,
      submitted: ids.length,
      recoveryMs,
    });
    process.stderr.write(`phase ${faults ? 'faults' : 'baseline'} done\n`);
  }
  const [base, faulty] = phases as [(typeof phases)[0], (typeof phases)[0]];
  console.log(
    `## soak (${PHASE_MINUTES} min per phase, ${BUILDS_PER_PHASE} builds per phase, k=2 of 3 operators, lease ${LEASE_MS / 1000} s)\n`,
  );
  console.log('| phase | builds decided | coordinator CPU s | RSS median MiB | RSS max MiB |');
  console.log('|---|---|---|---|---|');
  for (const p of phases)
    console.log(formatRow([p.name, `${p.decided}/${p.submitted}`, p.cpuSeconds, p.rssMedian, p.rssMax]));
  console.log(
    `\nratios, faults vs no faults: CPU ${(faulty.cpuSeconds / base.cpuSeconds).toFixed(2)}×, RSS median ${(faulty.rssMedian / base.rssMedian).toFixed(2)}×`,
  );
  if (faulty.recoveryMs.length > 0) {
    const med = median(faulty.recoveryMs);
    console.log(
      `worker death → replacement attempt assigned: median ${(med / 1000).toFixed(1)} s over ${faulty.recoveryMs.length} attempts = ${(med / LEASE_MS).toFixed(2)}× leaseTimeoutMs`,
    );
  }
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await redis.stop();
  await manifests.cleanup();
  await rm(root, { recursive: true, force: true });
}
