// `rbnet demo`: the whole network on this machine, each role its own process through this same CLI:
// a private Redis, a coordinator, three workers of three operators, a maintainer submitting the
// samples, and a consumer verifying the result with keys it pinned. Stops everything it started.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  enrolmentTokenAnswerType,
  maintainerAnswerType,
  parseAdminAnswer,
} from '../../services/api/admin-accounts.ts';
import { parseBuildView } from '../../services/api/build-view.ts';
import { freeLoopbackPort } from '../../services/free-loopback-port.ts';
import { type Command, EXIT, writeLine } from '../command.ts';
import { packageRoot } from '../package-root.ts';

const REPO = packageRoot(import.meta.dirname);
const RBNET = join(REPO, 'bin', 'rbnet.mjs');
const OPERATORS = ['alpha', 'beta', 'gamma'] as const;
const SAMPLES = [
  { name: 'hello', expect: 'reproducible' },
  { name: 'random', expect: 'diverged' },
  { name: 'wrong-claim', expect: 'mismatch-upstream' },
] as const;

export const demoCommand: Command = {
  path: ['demo'],
  help: `Usage: rbnet demo [--keep]    (normally via \`npm run demo\`, which sets the machine up first)

First rebuilds samples/hello on this machine alone (outputs with their sha256, the signed
attestation, and whether the claimed digests match). Then starts a private Redis, a coordinator and three workers enrolled under three operators (each a
separate process with its own keys), submits every sample manifest, prints each verdict, then
verifies hello.txt with \`rbnet verify\` against a trust policy built from the operators' public keys
and the hello manifest it must have been built from
(and shows a one-byte-altered copy being refused). Logs of every process go to .rbnet/demo-network/.

Options:
  --keep   keep the demo directory (keys, databases, logs) afterwards

Exit codes: 0 every sample got its expected verdict and verification behaved; 1 otherwise.`,
  options: { keep: { type: 'boolean' } },
  async run(args, io) {
    await mkdir(join(REPO, '.rbnet'), { recursive: true });
    const root = await mkdtemp(join(REPO, '.rbnet', 'demo-network-'));
    // Worker ids unique to this run: a demo beside a test run (or another demo) on one engine never
    // shares an id with it.
    const runTag = randomBytes(3).toString('hex');
    const children: ChildProcess[] = [];
    const say = (text: string) => writeLine(io.stdout, text);
    const background = (name: string, argv: string[], command = process.execPath): ChildProcess => {
      const log = createWriteStream(join(root, `${name}.log`));
      const child = spawn(command, command === process.execPath ? [RBNET, ...argv] : argv, {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
      children.push(child);
      return child;
    };
    const cli = (argv: string[], env: Record<string, string> = {}) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        const child = spawn(process.execPath, [RBNET, ...argv], {
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
      });
    const must = async (argv: string[], env: Record<string, string> = {}) => {
      const result = await cli(argv, env);
      if (result.code !== 0)
        throw new Error(`rbnet ${argv.join(' ')} failed (${result.code}): ${result.stderr || result.stdout}`);
      return result.stdout;
    };
    // Whatever ends this process (an error, a closed pipe, a signal), nothing it started survives it.
    const killAll = () => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    };
    let finished = false;
    process.once('exit', () => {
      killAll();
      // Cut short (closed pipe, signal): leave no half-run network state behind unless asked to.
      if (!finished && !args.values.keep) rmSync(root, { recursive: true, force: true });
    });
    const interrupted = new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    void interrupted.then(() => {
      writeLine(io.stderr, 'demo interrupted: stopping what it started');
      killAll();
      process.exit(130);
    });
    let ok = true;
    try {
      say('== one worker on its own: rbnet rebuild samples/hello/manifest.json');
      const local = await cli([
        'rebuild',
        join(REPO, 'samples', 'hello', 'manifest.json'),
        '--quiet',
        '--out',
        join(root, 'local-rebuild'),
        '--worker-dir',
        join(root, 'local-worker'),
      ]);
      say(
        local.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => `   ${l}`)
          .join('\n'),
      );
      ok &&= local.code === 0;

      const redisPort = await freeLoopbackPort();
      await mkdir(join(root, 'redis'));
      background(
        'redis',
        [
          '--port',
          String(redisPort),
          '--bind',
          '127.0.0.1',
          '--dir',
          join(root, 'redis'),
          '--save',
          '',
          '--appendonly',
          'no',
        ],
        'redis-server',
      );
      const coordinatorPort = await freeLoopbackPort();
      const coordinatorUrl = `http://127.0.0.1:${coordinatorPort}`;
      say(`== starting Redis (127.0.0.1:${redisPort}) and the coordinator (${coordinatorUrl})`);
      await new Promise((r) => setTimeout(r, 500));
      const coordinator = background('coordinator', [
        'coordinator',
        'run',
        '--data-dir',
        join(root, 'coordinator'),
        '--listen',
        `127.0.0.1:${coordinatorPort}`,
        '--redis',
        `redis://127.0.0.1:${redisPort}`,
        '--threshold',
        '3',
        '--replicas',
        '3',
      ]);
      const adminToken = await new Promise<string>((resolveToken, reject) => {
        let out = '';
        const timer = setTimeout(
          () => reject(new Error(`the coordinator did not start; see ${root}/coordinator.log`)),
          30_000,
        );
        coordinator.stdout?.on('data', (d) => {
          out += d;
          const match = /admin token \(shown once[^:]*\): (\S+)/.exec(out);
          if (match) {
            clearTimeout(timer);
            resolveToken(match[1]!);
          }
        });
        coordinator.on('exit', () =>
          reject(new Error(`the coordinator exited; see ${root}/coordinator.log`)),
        );
      });
      const admin = { RBNET_COORDINATOR: coordinatorUrl, RBNET_ADMIN_TOKEN: adminToken };

      say("== three operators enrol one worker each (keys are created in each worker's own directory)");
      for (const operator of OPERATORS) {
        await must(['admin', 'operator', 'add', operator], admin);
        const token = (
          await must(['admin', 'token', 'create', '--operator', operator, '--json'], admin)
        ).trim();
        const enrolmentToken = parseAdminAnswer(enrolmentTokenAnswerType, token).token;
        const workerDir = join(root, 'workers', operator);
        const enrolled = await must([
          'worker',
          'enrol',
          '--coordinator',
          coordinatorUrl,
          '--token',
          enrolmentToken,
          '--id',
          `${operator}-${runTag}`,
          '--worker-dir',
          workerDir,
        ]);
        say(`   ${enrolled.split('\n')[0]}`);
        background(`worker-${operator}`, ['worker', 'run', '--worker-dir', workerDir]);
      }
      const maintainer = parseAdminAnswer(
        maintainerAnswerType,
        await must(['admin', 'maintainer', 'add', 'demo-maintainer', '--json'], admin),
      );
      const submitEnv = { RBNET_COORDINATOR: coordinatorUrl, RBNET_TOKEN: maintainer.token };
      await new Promise((r) => setTimeout(r, 1000));

      let helloOutputs: { path: string; sha256: string }[] = [];
      for (const sample of SAMPLES) {
        say(`\n== rbnet submit samples/${sample.name}/manifest.json --wait`);
        const result = await cli(
          [
            'submit',
            join(REPO, 'samples', sample.name, 'manifest.json'),
            '--wait',
            '--json',
            '--timeout-seconds',
            '300',
          ],
          submitEnv,
        );
        // `submit --wait --json` prints the build view; nothing when the submission failed.
        const status = result.stdout.trim() === '' ? undefined : parseBuildView(result.stdout);
        say(`   build ${status?.buildId}: verdict ${status?.verdict}`);
        if (status?.decision?.explanation) say(`   ${status.decision.explanation}`);
        const good = status?.verdict === sample.expect;
        say(`   ${good ? 'as expected' : `UNEXPECTED (expected ${sample.expect})`}`);
        ok &&= good;
        if (sample.name === 'hello') helloOutputs = [...(status?.results[0]?.outputs ?? [])];
        if (sample.expect !== 'reproducible' && status) {
          const report = await cli(['status', status.buildId], submitEnv);
          say(
            report.stdout
              .split('\n')
              .filter(Boolean)
              .map((l) => `   | ${l}`)
              .join('\n'),
          );
        }
      }

      say(
        "\n== a consumer pins the three operators' public keys (threshold 3) and the hello manifest, and verifies hello.txt",
      );
      const pinHello = ['--manifest', join(REPO, 'samples', 'hello', 'manifest.json')];
      const policyPath = join(root, 'policy.json');
      await must([
        'policy',
        'create',
        '--threshold',
        '3',
        '--expires',
        new Date(Date.now() + 86_400_000).toISOString(),
        '--out',
        policyPath,
        ...OPERATORS.flatMap((op) => [
          '--operator',
          `${op}=${join(root, 'workers', op, 'worker-signing.key.pub')}`,
        ]),
      ]);
      const hello = helloOutputs.find((o) => o.path === 'hello.txt');
      if (!hello) throw new Error('hello.txt was not among the outputs');
      const download = await fetch(`${coordinatorUrl}/v1/cas/sha256/${hello.sha256}`);
      const bytes = Buffer.from(await download.arrayBuffer());
      const file = join(root, 'hello.txt');
      await writeFile(file, bytes);
      const verified = await cli([
        'verify',
        file,
        '--policy',
        policyPath,
        ...pinHello,
        '--coordinator',
        coordinatorUrl,
      ]);
      say(
        verified.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => `   ${l}`)
          .join('\n'),
      );
      ok &&= verified.code === 0;
      const tampered = join(root, 'hello-tampered.txt');
      bytes[0] = bytes[0]! ^ 1;
      await writeFile(tampered, bytes);
      const refused = await cli([
        'verify',
        tampered,
        '--policy',
        policyPath,
        ...pinHello,
        '--coordinator',
        coordinatorUrl,
      ]);
      say(
        `   a copy with one byte changed: ${refused.code === 0 ? 'VERIFIED (wrong!)' : 'not verified, as it must be'}`,
      );
      ok &&= refused.code !== 0;
    } catch (err) {
      ok = false;
      writeLine(io.stderr, `demo failed: ${(err as Error).message}`);
    } finally {
      say('\n== stopping what the demo started');
      for (const child of children.reverse()) {
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          await new Promise((r) => {
            const timer = setTimeout(() => {
              child.kill('SIGKILL');
              r(undefined);
            }, 15_000);
            child.once('exit', () => {
              clearTimeout(timer);
              r(undefined);
            });
          });
        }
      }
      if (!args.values.keep && ok) await rm(root, { recursive: true, force: true });
      else say(`   logs and state kept in ${root}`);
      finished = true;
    }
    say(
      ok
        ? '\ndemo finished: every verdict and verification as expected'
        : '\ndemo finished with unexpected results',
    );
    return ok ? EXIT.ok : EXIT.failed;
  },
};
