// `rbnet submit` and `rbnet status`: a maintainer uploads a manifest's inputs, submits it, and
// follows each worker's progress to the verdict.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { buildSubmissionAnswerType } from '../../services/api/build-submission.ts';
import { type BuildView, buildViewOf, maxBuildViewBytes } from '../../services/api/build-view.ts';
import { blobUploadAnswerType } from '../../services/api/content-store-answers.ts';
import { sha256File } from '../../services/digest.ts';
import { InputError, UsageError } from '../../services/errors.ts';
import { defaultManifestLimits, parseManifest } from '../../services/manifest/parse-manifest.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import { type CliIo, type Command, EXIT, type ParsedCommandArgs, stringFlag, writeLine } from '../command.ts';
import { type ApiOptions, apiRequest, coordinatorUrlFrom } from '../coordinator-api.ts';
import {
  type FileToUpload,
  isBuildinfoPath,
  type PreparedSubmission,
  prepareDebianSubmission,
} from '../debian-submission.ts';

/** Verdicts that end the wait, and the exit code each gives. */
const VERDICT_EXIT: Readonly<Record<string, number>> = {
  reproducible: EXIT.ok,
  agreed: EXIT.ok,
  'mismatch-upstream': EXIT.mismatch,
  diverged: EXIT.mismatch,
  'inputs-differ': EXIT.mismatch,
  'insufficient-operators': EXIT.failed,
  failed: EXIT.failed,
  'environment-unavailable': EXIT.failed,
  'source-unavailable': EXIT.failed,
};

/** Reads one build's status (strictly: the coordinator is not trusted to keep the contract). */
function getBuildView(api: ApiOptions, buildId: string): Promise<BuildView> {
  return apiRequest(
    { ...api, maxResponseBytes: maxBuildViewBytes },
    { method: 'GET', path: `/v1/builds/${encodeURIComponent(buildId)}` },
    buildViewOf(buildId),
  );
}

function apiOptions(args: ParsedCommandArgs, io: CliIo, needToken: boolean): ApiOptions {
  const token = stringFlag(args, 'token') ?? io.env.RBNET_TOKEN;
  if (needToken && !token)
    throw new UsageError('USAGE', 'a maintainer token is needed: --token or RBNET_TOKEN');
  return {
    coordinator: coordinatorUrlFrom(stringFlag(args, 'coordinator'), io.env),
    ...(token ? { token } : {}),
  };
}

function describeAttempt(status: BuildView, attempt: BuildView['attempts'][number]): string {
  const result = status.results.find((r) => r.workerId === attempt.workerId);
  const what = result
    ? result.kind === 'built'
      ? `built ${result.outputs.length} output(s)${result.counted ? '' : ' (not counted)'}`
      : `failed (${result.failureReason})`
    : attempt.state === 'open'
      ? 'building'
      : attempt.state;
  return `  ${attempt.operator}/${attempt.workerId} attempt ${attempt.attempt}: ${what}`;
}

function printStatus(io: CliIo, status: BuildView): void {
  writeLine(io.stdout, `build ${status.buildId}  ${status.name}  manifest sha256:${status.manifestSha256}`);
  writeLine(
    io.stdout,
    `verdict ${status.verdict}${status.decision?.explanation ? `: ${status.decision.explanation}` : ''}`,
  );
  for (const attempt of status.attempts) writeLine(io.stdout, describeAttempt(status, attempt));
  const r = status.retryPolicy;
  writeLine(
    io.stdout,
    `policy: k=${status.policy.threshold}, at most ${status.policy.maxAttempts} attempts, deadline ${status.policy.decisionDeadlineMs / 1000} s; ` +
      `lease ${r.leaseTimeoutMs / 1000} s; retries: ${r.buildFailureRetries} after build failures, ${r.infrastructureRetries} after infrastructure errors, backoff from ${r.retryBackoffMs / 1000} s`,
  );
  if (status.verdict !== 'pending') {
    writeLine(io.stdout, `attestation ${status.links.attestation}`);
    if (['diverged', 'inputs-differ', 'mismatch-upstream'].includes(status.verdict))
      writeLine(io.stdout, `divergence ${status.links.divergence}?format=text`);
  }
}

const COMMON_HELP = `  --coordinator URL  default env RBNET_COORDINATOR, else http://127.0.0.1:8470
  --json             print JSON (the shape of GET /v1/builds/:id; see docs/api.md)`;

/** A JSON manifest: checked locally, and every input with a path location hashed before upload. */
async function prepareManifestSubmission(
  manifestPath: string,
  sourceFlag: string | undefined,
): Promise<PreparedSubmission> {
  if (sourceFlag !== undefined)
    throw new UsageError(
      'USAGE',
      '--source is for .buildinfo submissions; a JSON manifest names its own inputs',
    );
  const bytes = await readBoundedFile(manifestPath, defaultManifestLimits.maxManifestBytes, 'manifest');
  const parsed = parseManifest(bytes);
  const uploads: FileToUpload[] = [];
  for (const input of parsed.manifest.inputs) {
    if (input.location.kind !== 'path') continue;
    const path = resolve(dirname(manifestPath), input.location.relativePath);
    const { sha256, sizeBytes } = await sha256File(path);
    if (sha256 !== input.sha256) {
      throw new InputError(
        'INPUT_DIGEST_MISMATCH',
        `inputs "${input.path}": ${path} hashes to ${sha256}, the manifest records ${input.sha256}`,
      );
    }
    uploads.push({ label: input.path, path, sha256, sizeBytes });
  }
  return { manifestText: bytes.toString('utf8'), manifestSha256: parsed.manifestSha256, uploads };
}

function positiveIntegerFlag(text: string, flag: string): number {
  if (!/^[1-9][0-9]{0,5}$/.test(text))
    throw new UsageError('USAGE', `${flag}: expected a positive integer, got ${text}`);
  return Number(text);
}

export const submitCommand: Command = {
  path: ['submit'],
  help: `Usage: rbnet submit MANIFEST|FILE.buildinfo [--source FILE.dsc] [--wait] [options]

Checks MANIFEST locally, streams every input it names (paths relative to it) into the coordinator's
content store (the coordinator checks each digest on write), then submits it. With --wait, shows
each worker's progress and ends with the verdict.

A Debian .buildinfo is submitted as an rbnet.debian/v1 manifest (docs/debian.md): workers with
the debian backend resolve its Installed-Build-Depends in their signed archive, fetch the source
by name and version from it (or use --source FILE.dsc and the files beside it, checked against the
.dsc here), rebuild, and the verdict compares every non-dbgsym .deb with Checksums-Sha256.

Options:
  --source FILE.dsc      (.buildinfo only) upload this source package instead of each worker
                         fetching it from its archive
  --time-limit-seconds N (.buildinfo only) wall time to ask for, default 7200
  --maintainer-keyring K (.buildinfo only) refuse unless the .buildinfo is clearsigned by a key
                         in keyring K (checked with gpgv before anything is uploaded)
  --wait                 follow the build until it has a verdict
  --timeout-seconds N    give up waiting after N seconds (default 3600)
  --token TOKEN          maintainer token (submit scope); default env RBNET_TOKEN
${COMMON_HELP}

Exit codes: 0 submitted (with --wait: reproducible or agreed); 3 mismatch-upstream, diverged or
inputs-differ; 1 failed, insufficient-operators, a refusal or a timeout; 2 usage.`,
  options: {
    wait: { type: 'boolean' },
    'timeout-seconds': { type: 'string' },
    'time-limit-seconds': { type: 'string' },
    source: { type: 'string' },
    'maintainer-keyring': { type: 'string' },
    token: { type: 'string' },
    coordinator: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const file = args.positionals[0];
    if (!file || args.positionals.length > 1)
      throw new UsageError('USAGE', 'expected exactly one MANIFEST. Run `rbnet submit --help`.');
    const manifestPath = resolve(io.cwd, file);
    const api = apiOptions(args, io, true);
    const json = args.values.json === true;
    const sourceFlag = stringFlag(args, 'source');
    const timeLimitFlag = stringFlag(args, 'time-limit-seconds');
    const keyringFlag = stringFlag(args, 'maintainer-keyring');
    const prepared = isBuildinfoPath(manifestPath)
      ? await prepareDebianSubmission({
          buildinfoPath: manifestPath,
          ...(sourceFlag !== undefined ? { dscPath: resolve(io.cwd, sourceFlag) } : {}),
          ...(keyringFlag !== undefined ? { maintainerKeyringPath: resolve(io.cwd, keyringFlag) } : {}),
          ...(timeLimitFlag !== undefined
            ? { timeLimitSeconds: positiveIntegerFlag(timeLimitFlag, '--time-limit-seconds') }
            : {}),
        })
      : await prepareManifestSubmission(manifestPath, sourceFlag);
    for (const upload of prepared.uploads) {
      if (!json) writeLine(io.stderr, `[upload] ${upload.label} (${upload.sizeBytes} bytes)`);
      await apiRequest(
        api,
        {
          method: 'PUT',
          path: `/v1/cas/sha256/${upload.sha256}`,
          body: Readable.toWeb(createReadStream(upload.path)) as ReadableStream,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String((await stat(upload.path)).size),
          },
        },
        blobUploadAnswerType,
      );
    }
    const submitted = await apiRequest(
      api,
      { method: 'POST', path: '/v1/builds', body: prepared.manifestText },
      buildSubmissionAnswerType,
    );
    if (!json) {
      writeLine(
        io.stdout,
        `submitted build ${submitted.buildId} (manifest sha256:${prepared.manifestSha256})`,
      );
      for (const a of submitted.assigned) writeLine(io.stdout, `  assigned to ${a.operator}/${a.workerId}`);
    }
    if (!args.values.wait) {
      if (json) writeLine(io.stdout, JSON.stringify(submitted, null, 2));
      return EXIT.ok;
    }
    const timeoutMs = Number(stringFlag(args, 'timeout-seconds') ?? '3600') * 1000;
    const deadline = Date.now() + timeoutMs;
    let shown = '';
    for (;;) {
      const status = await getBuildView(api, submitted.buildId);
      const progress = status.attempts.map((a) => describeAttempt(status, a)).join('\n');
      if (!json && progress !== shown) {
        writeLine(io.stderr, progress);
        shown = progress;
      }
      if (status.verdict !== 'pending') {
        if (json) writeLine(io.stdout, JSON.stringify(status, null, 2));
        else printStatus(io, status);
        return VERDICT_EXIT[status.verdict] ?? EXIT.failed;
      }
      if (Date.now() > deadline) {
        writeLine(
          io.stderr,
          `no verdict after ${timeoutMs / 1000} s; follow it with: rbnet status ${submitted.buildId}`,
        );
        return EXIT.failed;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  },
};

export const statusCommand: Command = {
  path: ['status'],
  help: `Usage: rbnet status BUILD_ID [options]\n\nOptions:\n${COMMON_HELP}\n\nExit codes: 0 shown; 1 not found or unreachable; 2 usage.`,
  options: { coordinator: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const id = args.positionals[0];
    if (!id || args.positionals.length > 1)
      throw new UsageError('USAGE', 'expected exactly one BUILD_ID. Run `rbnet status --help`.');
    const status = await getBuildView(apiOptions(args, io, false), id);
    if (args.values.json) writeLine(io.stdout, JSON.stringify(status, null, 2));
    else printStatus(io, status);
    return EXIT.ok;
  },
};
