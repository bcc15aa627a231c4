// `rbnet attestation verify FILE --key PUB`: checks a rebuild attestation against a key the user pinned.
import { resolve } from 'node:path';
import { ed25519PublicKeyFromPem } from '../../services/attestation/ed25519-key.ts';
import { verifyRebuildAttestation } from '../../services/attestation/verify-rebuild-attestation.ts';
import { UsageError } from '../../services/errors.ts';
import { defaultManifestLimits, parseManifest } from '../../services/manifest/parse-manifest.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import { type CliIo, type Command, EXIT, type ParsedCommandArgs, stringFlag, writeLine } from '../command.ts';

const MAX_ENVELOPE_FILE_BYTES = 16 * 1024 * 1024;
const MAX_KEY_FILE_BYTES = 64 * 1024;

export const attestationVerifyCommand: Command = {
  path: ['attestation', 'verify'],
  help: `Usage: rbnet attestation verify FILE --key PUB.pem [--key PUB2.pem ...] [--manifest MANIFEST] [--json]

Checks, in order: envelope shape, payload type, the signature against the given keys, the in-toto
statement and SLSA provenance shape, and (with --manifest) that it is about that manifest.
Says exactly which check failed.

Options:
  --key FILE       ed25519 public key (PEM); repeat to trust several
  --manifest FILE  also require the statement to be about this manifest (by its JCS sha256)
  --json           print the verified statement's essentials as JSON

Exit codes: 0 verified; 1 verification failed; 2 usage.`,
  options: {
    key: { type: 'string', multiple: true },
    manifest: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args: ParsedCommandArgs, io: CliIo): Promise<number> {
    const file = args.positionals[0];
    const keyFiles = (args.values.key as string[] | undefined) ?? [];
    if (!file || args.positionals.length > 1)
      throw new UsageError('USAGE', 'expected exactly one FILE. Run `rbnet attestation verify --help`.');
    if (keyFiles.length === 0)
      throw new UsageError(
        'USAGE',
        '--key is required: verification is only meaningful against a key you pinned',
      );
    const keys = await Promise.all(
      keyFiles.map(async (path) =>
        ed25519PublicKeyFromPem(
          await readBoundedFile(resolve(io.cwd, path), MAX_KEY_FILE_BYTES, 'key'),
          path,
        ),
      ),
    );
    const manifestPath = stringFlag(args, 'manifest');
    const expected = manifestPath
      ? parseManifest(
          await readBoundedFile(
            resolve(io.cwd, manifestPath),
            defaultManifestLimits.maxManifestBytes,
            'manifest',
          ),
        )
      : undefined;
    const envelope = await readBoundedFile(resolve(io.cwd, file), MAX_ENVELOPE_FILE_BYTES, 'attestation');
    const verified = verifyRebuildAttestation(
      envelope,
      keys,
      expected ? { manifestSha256: expected.manifestSha256 } : {},
    );
    if (args.values.json) {
      const { statement: _statement, ...essentials } = verified;
      writeLine(io.stdout, JSON.stringify({ verified: true, ...essentials }, null, 2));
    } else {
      writeLine(
        io.stdout,
        `verified: signed by keyid ${verified.keyid} (worker ${verified.worker.id}, operator ${verified.worker.operator})`,
      );
      writeLine(
        io.stdout,
        `manifest sha256:${verified.manifestSha256}${expected ? ' (matches --manifest)' : ''}`,
      );
      writeLine(
        io.stdout,
        `environment sha256:${verified.environment.sha256} (${verified.environment.origin})`,
      );
      for (const output of verified.outputs) writeLine(io.stdout, `  ${output.sha256}  ${output.path}`);
    }
    return EXIT.ok;
  },
};
