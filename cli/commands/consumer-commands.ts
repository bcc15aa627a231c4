// `rbnet verify` and `rbnet policy create`: a consumer checks consensus locally against keys it pinned
// itself; the coordinator is only a mirror and cannot make a verification pass.

import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ed25519PublicKeyFromPem, securesystemslibKeyid } from '../../services/attestation/ed25519-key.ts';
import { parseTrustPolicy } from '../../services/consensus/trust-policy.ts';
import { verifyConsensus } from '../../services/consensus/verify-consensus.ts';
import { sha256File } from '../../services/digest.ts';
import { UsageError } from '../../services/errors.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import { type Command, EXIT, requireFlag, stringFlag, writeLine } from '../command.ts';
import { apiRequest, coordinatorUrlFrom } from '../coordinator-api.ts';

export const verifyCommand: Command = {
  path: ['verify'],
  help: `Usage: rbnet verify FILE --policy POLICY.json [--coordinator URL] [--json]

Hashes FILE, asks the coordinator which builds produced that digest, downloads each consensus
attestation and verifies it here: every embedded worker signature against the keys in YOUR policy,
operators counted by your policy's names (not keys, not envelopes), any signed dissent fatal, and
FILE's digest among the agreed outputs. A lying coordinator cannot make this pass.

Options:
  --policy FILE      trust policy (docs/trust-policy.md; \`rbnet policy create\` writes one)
  --coordinator URL  default env RBNET_COORDINATOR, else http://127.0.0.1:8470
  --json             { file, sha256, ok, builds: [{ buildId, ok, verdict, countedOperators, rejected, explanation }] }

Exit codes: 0 verified; 1 not verified (the output says why); 2 usage.`,
  options: { policy: { type: 'string' }, coordinator: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const file = args.positionals[0];
    if (!file || args.positionals.length > 1)
      throw new UsageError('USAGE', 'expected exactly one FILE. Run `rbnet verify --help`.');
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
    const api = { coordinator: coordinatorUrlFrom(stringFlag(args, 'coordinator'), io.env) };
    const found = await apiRequest<{ builds: { buildId: string; verdict: string }[] }>(
      api,
      'GET',
      `/v1/artifacts/sha256/${sha256}`,
    );
    const builds = [];
    for (const build of found.builds) {
      let attestation: string;
      try {
        attestation = await apiRequest<string>(api, 'GET', `/v1/builds/${build.buildId}/attestation`);
        if (typeof attestation !== 'string') attestation = JSON.stringify(attestation);
      } catch (err) {
        builds.push({
          buildId: build.buildId,
          ok: false,
          verdict: build.verdict,
          countedOperators: [],
          rejected: [],
          explanation: `no consensus attestation: ${(err as Error).message}`,
        });
        continue;
      }
      const result = verifyConsensus({ consensusEnvelope: attestation, policy, artifactSha256: sha256, now });
      builds.push({
        buildId: build.buildId,
        ok: result.ok,
        verdict: result.verdict,
        coordinatorVerdict: result.coordinatorVerdict,
        countedOperators: result.countedOperators,
        artifactPaths: result.artifactPaths,
        rejected: result.rejected,
        explanation: result.explanation,
      });
    }
    const ok = builds.some((b) => b.ok);
    if (args.values.json) {
      writeLine(
        io.stdout,
        JSON.stringify({ file, sha256, ok, policySha256: policy.policySha256, builds }, null, 2),
      );
    } else {
      writeLine(io.stdout, `${file} sha256:${sha256}`);
      if (builds.length === 0) writeLine(io.stdout, '  no build on this coordinator produced this file');
      for (const b of builds) {
        writeLine(
          io.stdout,
          `  build ${b.buildId}: ${b.ok ? 'VERIFIED' : 'not verified'} (${b.verdict}; counted: ${b.countedOperators.join(', ') || 'none'})`,
        );
        writeLine(io.stdout, `    ${b.explanation}`);
        for (const r of b.rejected)
          writeLine(
            io.stdout,
            `    not counted${r.operator ? ` ${r.operator}` : ''}${r.workerId ? `/${r.workerId}` : ''}: ${r.reason}`,
          );
      }
      writeLine(
        io.stdout,
        ok
          ? `VERIFIED under your policy (threshold ${policy.threshold})`
          : `NOT VERIFIED under your policy (threshold ${policy.threshold})`,
      );
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
};

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
  --expires DATE         ISO 8601, e.g. 2027-01-01T00:00:00Z
  --out FILE             write there instead of stdout

Exit codes: 0 written; 1 invalid; 2 usage.`,
  options: {
    threshold: { type: 'string' },
    operator: { type: 'string', multiple: true },
    'coordinator-key': { type: 'string' },
    'allow-fetched': { type: 'boolean' },
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
    const policy = {
      schema: 'rbnet.trust-policy/v1',
      operators: [...byName].map(([name, keys]) => ({ name, keys })),
      threshold: Number(requireFlag(args, 'threshold', policyCreateCommand)),
      allowFetchedEnvironments: args.values['allow-fetched'] === true,
      ...(coordinatorKeys.length ? { coordinatorKeys } : {}),
      expires: requireFlag(args, 'expires', policyCreateCommand),
    };
    const text = `${JSON.stringify(policy, null, 2)}\n`;
    parseTrustPolicy(text, new Date());
    const out = stringFlag(args, 'out');
    if (out) await writeFile(resolve(io.cwd, out), text, { flag: 'wx' });
    else io.stdout.write(text);
    return EXIT.ok;
  },
};
