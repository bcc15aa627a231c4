// `rbnet bundle export`: puts a consensus attestation and the tlog-proofs of its verdict and
// results into one file a consumer can carry and verify with no network (`rbnet verify --bundle`).
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { maxConsensusEnvelopeBytesDefault } from '../../services/consensus/consensus-attestation.ts';
import { UsageError } from '../../services/errors.ts';
import { buildIdRule, isBuildId } from '../../services/identifiers.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import { assembleBundle, maxBundleBytes, parseBundle } from '../../services/tlog/rbnet-bundle.ts';
import { maxTlogProofBytes } from '../../services/tlog/tlog-proof.ts';
import {
  type CliIo,
  type Command,
  EXIT,
  type ParsedCommandArgs,
  requireFlag,
  stringFlag,
  writeLine,
} from '../command.ts';
import { ApiRequestError, apiFetch, coordinatorUrlFrom } from '../coordinator-api.ts';

export const bundleExportCommand: Command = {
  path: ['bundle', 'export'],
  help: `Usage: rbnet bundle export (--build ID [--coordinator URL] | --attestation FILE --proof FILE ...) [--out FILE] [--json]

Writes one bundle (docs/transparency-log.md): the consensus attestation, and the C2SP tlog-proofs
of the verdict that names it and of every result that verdict lists, each with its log entry and
a checkpoint cosigned by witnesses. It checks that the parts fit (exactly one verdict naming this
attestation, every proof carrying an rbnet entry); signatures and inclusion are checked by
\`rbnet verify FILE --bundle B --policy P\`, which needs no network.

With --build, the coordinator assembles it (GET /v1/builds/ID/bundle) and it is checked here
the same way before it is written. Otherwise the parts come from files: the attestation as
GET /v1/builds/ID/attestation serves it, and one tlog-proof per log entry (GET /v1/log/proofs/N).

Options:
  --build ID          fetch the bundle of this build's latest consensus attestation
  --coordinator URL   default $RBNET_COORDINATOR or http://127.0.0.1:8470
  --attestation FILE  the consensus attestation (DSSE envelope JSON)
  --proof FILE        a tlog-proof of the verdict or of a result (repeat)
  --out FILE          write there (refuses to overwrite) instead of stdout
  --json              print { out, verdictIndex, results, origin, treeSize } after writing to --out

Exit codes: 0 written; 1 the parts do not fit (the message names the proof); 2 usage.`,
  options: {
    build: { type: 'string' },
    coordinator: { type: 'string' },
    attestation: { type: 'string' },
    proof: { type: 'string', multiple: true },
    out: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const buildId = stringFlag(args, 'build');
    const bundle =
      buildId === undefined ? await fromFiles(args, io.cwd) : await fromCoordinator(args, io, buildId);
    const out = stringFlag(args, 'out');
    if (!out) {
      if (args.values.json)
        throw new UsageError('USAGE', '--json needs --out (the bundle itself goes to stdout otherwise)');
      io.stdout.write(bundle);
      return EXIT.ok;
    }
    const outPath = resolve(io.cwd, out);
    await writeFile(outPath, bundle, { flag: 'wx' });
    const parsed = parseBundle(bundle);
    const checkpoint = parsed.verdict.proof.note.text.split('\n');
    const summary = {
      out: outPath,
      verdictIndex: parsed.verdict.proof.index,
      results: parsed.results.length,
      origin: checkpoint[0],
      treeSize: Number(checkpoint[1]),
    };
    if (args.values.json) writeLine(io.stdout, JSON.stringify(summary, null, 2));
    else
      writeLine(
        io.stdout,
        `bundle ${outPath}: verdict at index ${summary.verdictIndex} and ${summary.results} result(s) of ${summary.origin} (tree size ${summary.treeSize})`,
      );
    return EXIT.ok;
  },
};

async function fromFiles(args: ParsedCommandArgs, cwd: string): Promise<string> {
  const attestationPath = resolve(cwd, requireFlag(args, 'attestation', bundleExportCommand));
  const proofPaths = (args.values.proof as string[] | undefined) ?? [];
  if (proofPaths.length === 0)
    throw new UsageError('USAGE', "give the verdict's proof and its results' with --proof FILE");
  const attestation = (
    await readBoundedFile(attestationPath, maxConsensusEnvelopeBytesDefault, 'attestation')
  ).toString('utf8');
  const proofs = await Promise.all(
    proofPaths.map(async (path) =>
      (await readBoundedFile(resolve(cwd, path), maxTlogProofBytes, 'tlog-proof')).toString('utf8'),
    ),
  );
  return assembleBundle(attestation, proofs);
}

/** The coordinator's bundle, re-assembled from its parts here: what is written always fits. */
async function fromCoordinator(args: ParsedCommandArgs, io: CliIo, buildId: string): Promise<string> {
  if (args.values.attestation !== undefined || args.values.proof !== undefined)
    throw new UsageError('USAGE', '--build fetches every part: give no --attestation or --proof with it');
  if (!isBuildId(buildId)) throw new UsageError('USAGE', `--build: expected ${buildIdRule.expected}`);
  const coordinator = coordinatorUrlFrom(stringFlag(args, 'coordinator'), io.env);
  const answer = await apiFetch(
    { coordinator, timeoutMs: 60_000, maxResponseBytes: maxBundleBytes },
    'GET',
    `/v1/builds/${buildId}/bundle`,
  );
  if (answer.status !== 200)
    throw new ApiRequestError(
      `HTTP_${answer.status}`,
      `GET ${coordinator}/v1/builds/${buildId}/bundle: HTTP ${answer.status}: ${answer.text.slice(0, 300)}`,
    );
  const parsed = parseBundle(answer.text);
  return assembleBundle(parsed.consensusEnvelope, [parsed.verdictProof, ...parsed.resultProofs]);
}
