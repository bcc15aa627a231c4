// `rbnet verify` and `rbnet policy create`: a consumer checks consensus locally against keys it pinned
// itself and against what it pinned the file to be built from; the coordinator is only a mirror and
// cannot make a verification pass.

import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ListedBuild } from '../../services/api/artifact-builds-page.ts';
import { ed25519PublicKeyFromPem, securesystemslibKeyid } from '../../services/attestation/ed25519-key.ts';
import { type BuildPin, describeBuildPin } from '../../services/consensus/build-pin.ts';
import { maxConsensusEnvelopeBytesDefault } from '../../services/consensus/consensus-attestation.ts';
import { ConsensusError } from '../../services/consensus/consensus-errors.ts';
import { parseTrustPolicy, type TrustPolicy } from '../../services/consensus/trust-policy.ts';
import {
  type BuiltFrom,
  type ConsensusRejection,
  verifyConsensus,
} from '../../services/consensus/verify-consensus.ts';
import { type Sha256Hex, sha256File } from '../../services/digest.ts';
import { RbnetError, UsageError } from '../../services/errors.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import { maxTlogPolicyBytes } from '../../services/tlog/tlog-policy.ts';
import { parseUtcTimestamp } from '../../services/utc-timestamp.ts';
import {
  type CliIo,
  type Command,
  EXIT,
  type ParsedCommandArgs,
  requireFlag,
  stringFlag,
  writeLine,
} from '../command.ts';
import { type ApiOptions, apiFetch, coordinatorUrlFrom } from '../coordinator-api.ts';
import { listArtifactBuilds, maxListedBuildsDefault } from '../list-artifact-builds.ts';
import { pinFromFlags, pinOptions } from '../pin-flags.ts';
import { verifyFileWithBundle } from './verify-bundle-offline.ts';

export const verifyCommand: Command = {
  path: ['verify'],
  help: `Usage: rbnet verify FILE --policy POLICY.json PIN... [--coordinator URL] [--json]
       rbnet verify FILE --bundle BUNDLE --policy POLICY.json PIN... [--at TIME] [--json]

You must pin two things; the coordinator is only a mirror and can make neither pass:

  WHO   --policy POLICY.json   the operators you trust, by the keys you obtained from each of them,
                               and how many must agree (docs/trust-policy.md; \`rbnet policy create\`)
  WHAT  at least one of        what FILE must have been built from:
        --manifest FILE          a manifest you hold (its JCS sha256 is pinned)
        --manifest-sha256 HEX    a manifest digest you got from its publisher
        --debian-source NAME=VERSION
                                 a Debian source package as the archive publishes it; satisfied only
                                 by workers that fetched that source from their own signed archive
                                 (a source uploaded by the submitter never satisfies it)
        Give both a manifest and a Debian source to require both.

Hashes FILE and reads every page of the coordinator's list of builds that made or claimed that
digest. For each build it downloads the consensus attestation and checks it HERE, from signed data
only: every embedded worker signature against the keys in YOUR policy, operators counted by your
policy's names (not keys, not envelopes, not workers), every counted statement built from what you
pinned, any signed dissent fatal, and FILE's digest among the agreed outputs. The verdicts, names and
fields of the coordinator's JSON are shown for comparison and never relied on.

VERIFIED means: at least THRESHOLD operators of your policy each signed that they rebuilt, from
exactly what you pinned (the manifest digest and/or the Debian source fetched from their signed
archive), in an environment they built themselves (unless your policy allows fetched ones), an
identical set of output files that includes FILE's exact bytes, and none of your operators signed
different outputs (and, if your policy pins coordinator keys, one of them signed the attestation).
The output says what FILE was built from: manifest digest, environment, every
input by digest, and for Debian the source and whether it came from the signed archive or was
uploaded by the maintainer. It does not mean the source is benign: only that it is what you pinned.

OFFLINE, with --bundle (\`rbnet bundle export\`): nothing is fetched, no socket is opened. The same
check runs on the bundle's consensus attestation, and also its public record: the verdict that
names it and every result that verdict lists must be in the transparency log your policy's
"transparencyLog" names, under a checkpoint signed by the log key and cosigned by its witness
quorum within max-checkpoint-age; every result the attestation embeds must be logged, and none
the verdict leaves out (docs/transparency-log.md). --at TIME judges the policy's expiry and the
checkpoint's age as of TIME (e.g. when FILE was copied onto this host); default now.

Options:
  --policy FILE            trust policy (required)
  --bundle FILE            verify offline from this bundle (no --coordinator then)
  --at TIME                with --bundle: RFC 3339 UTC, e.g. 2026-05-01T12:00:00Z (default now)
  --manifest FILE          pin: the manifest FILE must have been built from
  --manifest-sha256 HEX    pin: its digest (64 hex, "sha256:" prefix allowed)
  --debian-source N=V      pin: Debian source package N version V, from the archive
  --coordinator URL        default env RBNET_COORDINATOR, else http://127.0.0.1:8470
  --timeout SECONDS        per request, answer included (default 60)
  --max-builds N           read at most N listed builds for FILE, else fail (default ${maxListedBuildsDefault})
  --json                   { file, sha256, ok, pinned, policySha256, builds: [{ buildId, ok, verdict,
                           coordinatorVerdict, countedOperators, artifactPaths, builtFrom, rejected,
                           explanation }] }

Exit codes: 0 verified; 1 not verified, or the check could not be completed (the output says why);
2 usage (including no pin).`,
  options: {
    policy: { type: 'string' },
    ...pinOptions,
    bundle: { type: 'string' },
    at: { type: 'string' },
    coordinator: { type: 'string' },
    timeout: { type: 'string' },
    'max-builds': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const file = args.positionals[0];
    if (!file || args.positionals.length > 1)
      throw new UsageError('USAGE', 'expected exactly one FILE. Run `rbnet verify --help`.');
    const pin = await pinFromFlags(args, io.cwd, 'verify');
    if (pin === undefined) {
      throw new UsageError(
        'USAGE',
        'say what FILE must have been built from: a manifest (--manifest FILE or --manifest-sha256 HEX) or a Debian source from the archive (--debian-source NAME=VERSION). Run `rbnet verify --help`.',
      );
    }
    const bundlePath = stringFlag(args, 'bundle');
    if (bundlePath !== undefined || stringFlag(args, 'at') !== undefined)
      return verifyOffline(args, io, { file, pin, bundlePath });
    const timeoutSeconds = integerFlag(args, 'timeout', 60, 1, 3600);
    const maxBuilds = integerFlag(args, 'max-builds', maxListedBuildsDefault, 1, 1_000_000);
    const now = new Date();
    const policy = parseTrustPolicy(
      await readBoundedFile(
        resolve(io.cwd, requireFlag(args, 'policy', verifyCommand)),
        1024 * 1024,
        'policy',
      ),
      now,
    );
    const { sha256 } = await sha256File(resolve(io.cwd, file));
    const api = {
      coordinator: coordinatorUrlFrom(stringFlag(args, 'coordinator'), io.env),
      timeoutMs: timeoutSeconds * 1000,
    };
    const listed = await listArtifactBuilds(api, sha256, maxBuilds);
    const builds: BuildCheck[] = [];
    for (const build of listed) builds.push(await checkBuild(api, build, { policy, pin, sha256, now }));
    const ok = builds.some((b) => b.ok);
    const pinned = describeBuildPin(pin);
    if (args.values.json) {
      writeLine(
        io.stdout,
        JSON.stringify({ file, sha256, ok, pinned, policySha256: policy.policySha256, builds }, null, 2),
      );
    } else {
      writeLine(io.stdout, `${file} sha256:${sha256}`);
      writeLine(io.stdout, `pinned: ${pinned}`);
      if (builds.length === 0) writeLine(io.stdout, '  no build on this coordinator produced this file');
      for (const b of builds) writeBuildCheck(io.stdout, b);
      writeLine(
        io.stdout,
        ok
          ? `VERIFIED under your policy (threshold ${policy.threshold}) and pin (${pinned})`
          : `NOT VERIFIED under your policy (threshold ${policy.threshold}) and pin (${pinned})`,
      );
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
};

/** `--bundle`: no coordinator flag may be given, so nothing can reach the network by mistake. */
async function verifyOffline(
  args: ParsedCommandArgs,
  io: CliIo,
  options: { file: string; pin: BuildPin; bundlePath: string | undefined },
): Promise<number> {
  if (options.bundlePath === undefined)
    throw new UsageError('USAGE', '--at needs --bundle (it judges a bundle offline)');
  for (const online of ['coordinator', 'timeout', 'max-builds'])
    if (stringFlag(args, online) !== undefined)
      throw new UsageError('USAGE', `--${online} makes no sense with --bundle: nothing is fetched`);
  const atText = stringFlag(args, 'at');
  const atMs = atText === undefined ? Date.now() : parseUtcTimestamp(atText);
  if (atMs === undefined)
    throw new UsageError('USAGE', `--at ${atText}: expected an RFC 3339 UTC time like 2026-05-01T12:00:00Z`);
  const at = new Date(atMs);
  const policy = parseTrustPolicy(
    await readBoundedFile(resolve(io.cwd, requireFlag(args, 'policy', verifyCommand)), 1024 * 1024, 'policy'),
    at,
  );
  return verifyFileWithBundle({
    io,
    file: options.file,
    bundlePath: options.bundlePath,
    policy,
    pin: options.pin,
    at,
    json: args.values.json === true,
  });
}

interface BuildCheck {
  readonly buildId: string;
  readonly ok: boolean;
  readonly verdict?: string;
  /** What the coordinator claimed (listing or attestation): shown, never relied on. */
  readonly coordinatorVerdict?: string;
  readonly countedOperators: readonly string[];
  readonly artifactPaths: readonly string[];
  readonly builtFrom?: BuiltFrom;
  readonly rejected: readonly ConsensusRejection[];
  readonly explanation: string;
}

/** Downloads one build's consensus attestation and verifies it; every failure is this build's, named. */
async function checkBuild(
  api: ApiOptions,
  build: ListedBuild,
  check: { policy: TrustPolicy; pin: BuildPin; sha256: Sha256Hex; now: Date },
): Promise<BuildCheck> {
  const notVerified = (explanation: string): BuildCheck => ({
    buildId: build.buildId,
    ok: false,
    ...(build.verdict !== undefined && { coordinatorVerdict: build.verdict }),
    countedOperators: [],
    artifactPaths: [],
    rejected: [],
    explanation,
  });
  let attestation: string;
  try {
    const answer = await apiFetch(
      { ...api, maxResponseBytes: maxConsensusEnvelopeBytesDefault },
      'GET',
      `/v1/builds/${build.buildId}/attestation`,
    );
    if (answer.status !== 200)
      return notVerified(
        // Quoted as JSON: the coordinator's words must not print lines of their own.
        `no consensus attestation (HTTP ${answer.status}: ${JSON.stringify(answer.text.slice(0, 200))})`,
      );
    attestation = answer.text;
  } catch (error) {
    if (!(error instanceof RbnetError)) throw error;
    return notVerified(`no consensus attestation: [${error.code}] ${error.message}`);
  }
  try {
    const result = verifyConsensus({
      consensusEnvelope: attestation,
      policy: check.policy,
      artifactSha256: check.sha256,
      now: check.now,
      pin: check.pin,
    });
    return {
      buildId: build.buildId,
      ok: result.ok,
      verdict: result.verdict,
      coordinatorVerdict: result.coordinatorVerdict,
      countedOperators: result.countedOperators,
      artifactPaths: result.artifactPaths,
      ...(result.builtFrom !== undefined && { builtFrom: result.builtFrom }),
      rejected: result.rejected,
      explanation: result.explanation,
    };
  } catch (error) {
    if (error instanceof ConsensusError) return notVerified(`[${error.code}] ${error.message}`);
    throw error;
  }
}

function writeBuildCheck(out: NodeJS.WritableStream, b: BuildCheck): void {
  const claimed = b.coordinatorVerdict !== undefined ? `; the coordinator says ${b.coordinatorVerdict}` : '';
  writeLine(
    out,
    `  build ${b.buildId}: ${b.ok ? 'VERIFIED' : 'not verified'} (${b.verdict ?? 'nothing to recount'}${claimed}; counted: ${b.countedOperators.join(', ') || 'none'})`,
  );
  writeLine(out, `    ${b.explanation}`);
  if (b.builtFrom) {
    const from = b.builtFrom;
    writeLine(
      out,
      `    built from manifest sha256:${from.manifestSha256} (named ${JSON.stringify(from.manifestName)})`,
    );
    writeLine(out, `      environment sha256:${from.environment.sha256} (${from.environment.origin})`);
    for (const input of from.inputs) writeLine(out, `      input ${input.path} sha256:${input.sha256}`);
    if (from.debianSource) {
      const source = from.debianSource;
      writeLine(
        out,
        `      Debian source ${source.name} ${source.version}: ${source.origin === 'archive' ? 'fetched from the signed archive by each counted operator' : 'UPLOADED by the maintainer, not from the archive'} (.dsc sha256:${source.dscSha256})`,
      );
    }
  }
  for (const r of b.rejected)
    writeLine(
      out,
      `    not counted${r.operator ? ` ${r.operator}` : r.keyid ? ` (keyid ${r.keyid})` : ''}${r.workerId ? `/${r.workerId}` : ''}: ${r.reason}`,
    );
}

function integerFlag(
  args: ParsedCommandArgs,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const text = stringFlag(args, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < min || value > max)
    throw new UsageError('USAGE', `--${name}: expected an integer from ${min} to ${max}`);
  return value;
}

export const policyCreateCommand: Command = {
  path: ['policy', 'create'],
  help: `Usage: rbnet policy create --threshold K --operator NAME=PUBKEY.pem [--operator ...] --expires DATE [options]

Keys must come from the operators themselves (never from the coordinator). Repeat --operator NAME=...
to pin several keys of one operator: they still count as one operator.

Options:
  --threshold K          distinct operators that must agree
  --operator NAME=FILE   an operator's worker signing public key (PEM)
  --coordinator-key FILE optional: also require the coordinator's signature (never decides the verdict)
  --allow-fetched        count environments a worker did not build itself (default: do not)
  --log-policy FILE      the transparency log you trust, as a tlog policy (log, witness, group,
                         quorum, max-checkpoint-age lines; docs/transparency-log.md): needed to
                         verify bundles offline
  --expires DATE         ISO 8601, e.g. 2027-01-01T00:00:00Z
  --out FILE             write there instead of stdout

Exit codes: 0 written; 1 invalid; 2 usage.`,
  options: {
    threshold: { type: 'string' },
    operator: { type: 'string', multiple: true },
    'coordinator-key': { type: 'string' },
    'allow-fetched': { type: 'boolean' },
    'log-policy': { type: 'string' },
    expires: { type: 'string' },
    out: { type: 'string' },
  },
  async run(args, io) {
    const byName = new Map<string, { keyid: string; publicKeyPem: string }[]>();
    for (const spec of (args.values.operator as string[] | undefined) ?? []) {
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new UsageError('USAGE', `--operator ${spec}: expected NAME=PUBKEY.pem`);
      const pem = (
        await readBoundedFile(resolve(io.cwd, spec.slice(eq + 1)), 64 * 1024, 'public key')
      ).toString('utf8');
      const keyid = securesystemslibKeyid(ed25519PublicKeyFromPem(pem, spec.slice(eq + 1)));
      const list = byName.get(spec.slice(0, eq)) ?? [];
      list.push({ keyid, publicKeyPem: pem });
      byName.set(spec.slice(0, eq), list);
    }
    const coordinatorKeyFile = stringFlag(args, 'coordinator-key');
    const coordinatorKeys = [];
    if (coordinatorKeyFile) {
      const pem = (
        await readBoundedFile(resolve(io.cwd, coordinatorKeyFile), 64 * 1024, 'public key')
      ).toString('utf8');
      coordinatorKeys.push({
        keyid: securesystemslibKeyid(ed25519PublicKeyFromPem(pem, coordinatorKeyFile)),
        publicKeyPem: pem,
      });
    }
    const logPolicyFile = stringFlag(args, 'log-policy');
    const transparencyLog = logPolicyFile
      ? (await readBoundedFile(resolve(io.cwd, logPolicyFile), maxTlogPolicyBytes, 'log policy')).toString(
          'utf8',
        )
      : undefined;
    const policy = {
      schema: 'rbnet.trust-policy/v1',
      operators: [...byName].map(([name, keys]) => ({ name, keys })),
      threshold: Number(requireFlag(args, 'threshold', policyCreateCommand)),
      allowFetchedEnvironments: args.values['allow-fetched'] === true,
      ...(coordinatorKeys.length ? { coordinatorKeys } : {}),
      expires: requireFlag(args, 'expires', policyCreateCommand),
      ...(transparencyLog !== undefined && { transparencyLog }),
    };
    const text = `${JSON.stringify(policy, null, 2)}\n`;
    parseTrustPolicy(text, new Date());
    const out = stringFlag(args, 'out');
    if (out) await writeFile(resolve(io.cwd, out), text, { flag: 'wx' });
    else io.stdout.write(text);
    return EXIT.ok;
  },
};
