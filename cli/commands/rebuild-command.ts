// `rbnet rebuild MANIFEST`: one hermetic rebuild on this machine, with a signed attestation.
import { mkdtemp } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../../services/errors.ts';
import { defaultManifestLimits, parseManifest } from '../../services/manifest/parse-manifest.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import type { BackendOutcome } from '../../worker/backends/rebuild-backend.ts';
import { newLocalWorkerId } from '../../worker/identity/worker-identity.ts';
import { LocalInputSource } from '../../worker/inputs/input-source.ts';
import { createLogger, createWorkerRuntime } from '../../worker/main.ts';
import type { RebuildResult } from '../../worker/rebuild-manifest.ts';
import { type CliIo, type Command, EXIT, type ParsedCommandArgs, stringFlag, writeLine } from '../command.ts';
import { createProgress } from '../progress.ts';
import { workerConfigFromFlags } from '../worker-config-flags.ts';

export const rebuildCommand: Command = {
  path: ['rebuild'],
  help: `Usage: rbnet rebuild MANIFEST [--out DIR] [--json] [options]

Rebuilds MANIFEST (rbnet.manifest/v1, see docs/manifest.md) in a fresh container with no network,
no capabilities and the worker's resource limits, then writes into DIR:
  outputs/               the output files
  build.log              the build log (capped, hashed)
  attestation.dsse.json  the signed in-toto statement (only when the build succeeded)
  result.json            what happened, as JSON

Options:
  --out DIR          result directory (must be new or empty; default: a new ./rbnet-rebuild-*)
  --json             print result.json to stdout instead of the summary
  --quiet            no progress lines on stderr
  --state-dir DIR    worker state (environments registry, keys); env RBNET_STATE_DIR, default /var/lib/rbnet
  --worker-dir DIR   this worker's identity and key; env RBNET_WORKER_DIR, default STATE_DIR/worker
  --docker-host URL  engine; env RBNET_DOCKER_HOST, default unix:///run/rbnet/docker.sock
  --operator NAME    operator name used if no worker identity exists yet (default: local)
  --verbose          JSON logs at level debug on stderr

Exit codes: 0 rebuilt (and matches the claimed digests, if any); 1 the build failed or a
precondition failed (manifest, input, environment, engine); 2 usage; 3 rebuilt but the outputs
differ from the claimed digests.`,
  options: {
    out: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    'state-dir': { type: 'string' },
    'worker-dir': { type: 'string' },
    'docker-host': { type: 'string' },
    operator: { type: 'string' },
    verbose: { type: 'boolean' },
  },
  async run(args: ParsedCommandArgs, io: CliIo): Promise<number> {
    const manifestArg = args.positionals[0];
    if (!manifestArg || args.positionals.length > 1) {
      throw new UsageError('USAGE', 'expected exactly one MANIFEST argument. Run `rbnet rebuild --help`.');
    }
    const manifestPath = resolve(io.cwd, manifestArg);
    const parsed = parseManifest(
      await readBoundedFile(manifestPath, defaultManifestLimits.maxManifestBytes, 'manifest'),
    );
    // rbnet.manifest/v1 only: the generic backend is the one this command loads.
    const manifest = Object.freeze({ kind: 'generic' as const, ...parsed });
    const config = workerConfigFromFlags(args, io);
    const logger = createLogger(args.values.verbose ? 'debug' : 'warn');
    const json = args.values.json === true;
    const progress = createProgress(io.stderr, args.values.quiet !== true);
    const runtime = await createWorkerRuntime(
      config,
      logger,
      { operator: stringFlag(args, 'operator') ?? 'local', id: newLocalWorkerId() },
      ['generic'],
    );
    if (runtime.identityCreated) {
      progress.phase('identity', `created worker key ${runtime.signer.keyid} in ${config.workerDir}`);
    }
    const rebuild = runtime.backends.forManifest(manifest);
    if (!rebuild) throw new Error('invariant: the runtime was created with the generic backend');
    const outDir = stringFlag(args, 'out')
      ? resolve(io.cwd, stringFlag(args, 'out')!)
      : await mkdtemp(join(io.cwd, 'rbnet-rebuild-'));

    // SIGINT/SIGTERM kill and remove the container before the process exits.
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let outcome: BackendOutcome;
    try {
      progress.phase('manifest', `${parsed.manifest.name} sha256:${parsed.manifestSha256}`);
      outcome = await rebuild({
        inputs: new LocalInputSource(dirname(manifestPath), config.casDir),
        outDir,
        signal: abort.signal,
        onPhase: (phase) => {
          if (phase === 'environment')
            progress.phase('environment', `checking image ${parsed.manifest.environment.imageSha256}`);
          else if (phase === 'inputs')
            progress.phase('inputs', `copying ${parsed.manifest.inputs.length} verified input(s)`);
          else if (phase === 'build') progress.phase('build', 'running');
          else if (phase === 'capture') progress.phase('capture', 'hashing outputs');
          else if (phase === 'sign') progress.phase('sign', `keyid ${runtime.signer.keyid}`);
        },
      });
    } finally {
      progress.done();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    if (outcome.kind !== 'rebuilt') {
      // Only a Debian record can be unavailable; kept for the day this command takes one.
      writeLine(io.stderr, `rbnet: ${outcome.reason}: ${outcome.detail}`);
      return EXIT.failed;
    }
    const { result } = outcome;
    if (json) writeLine(io.stdout, JSON.stringify(result, null, 2));
    else printSummary(result, outDir, io);
    if (result.kind === 'failed') return EXIT.failed;
    return result.claims.status === 'mismatch' ? EXIT.mismatch : EXIT.ok;
  },
};

function printSummary(result: RebuildResult, outDir: string, io: CliIo): void {
  const out = io.stdout;
  writeLine(out, `manifest     ${result.manifestName} (sha256:${result.manifestSha256})`);
  writeLine(out, `environment  sha256:${result.environment.imageSha256} (${result.environment.origin})`);
  writeLine(out, `worker       ${result.worker.id} of operator ${result.worker.operator}`);
  writeLine(out, `duration     ${(result.durationMs / 1000).toFixed(2)} s`);
  writeLine(
    out,
    `log          ${result.log.path} (sha256:${result.log.sha256}${result.log.truncated ? ', truncated' : ''})`,
  );
  if (result.kind === 'failed') {
    writeLine(out, `result       FAILED (${result.reason}): ${result.detail}`);
    return;
  }
  writeLine(out, `outputs      ${join(outDir, 'outputs')}`);
  for (const file of result.outputs)
    writeLine(out, `  ${file.sha256}  ${file.path}  (${file.sizeBytes} bytes)`);
  writeLine(out, `attestation  ${result.attestationPath} (keyid ${result.keyid})`);
  const claims = result.claims;
  if (claims.status === 'no-claim') {
    writeLine(out, 'claims       none recorded in the manifest: nothing to compare');
  } else if (claims.status === 'match') {
    writeLine(out, `claims       MATCH: all ${claims.matching.length} claimed digest(s) reproduced`);
  } else {
    writeLine(out, 'claims       MISMATCH with the digests the manifest claims:');
    for (const d of claims.differing)
      writeLine(out, `  ${d.path}: claimed ${d.claimed}, rebuilt ${d.rebuilt}`);
    for (const path of claims.missing) writeLine(out, `  ${path}: claimed but not produced`);
  }
  if (claims.extra.length > 0 && claims.status !== 'no-claim') {
    writeLine(out, `  not claimed (reported, not compared): ${claims.extra.join(', ')}`);
  }
}
