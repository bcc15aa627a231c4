// `rbnet attestation verify FILE --key PUB`: checks a rebuild attestation against a key the user pinned.
import { resolve } from 'node:path';
import { ed25519PublicKeyFromPem } from '../../services/attestation/ed25519-key.ts';
import { verifyRebuildAttestation } from '../../services/attestation/verify-rebuild-attestation.ts';
import { buildPinRefusal, describeBuildPin } from '../../services/consensus/build-pin.ts';
import { PolicyError } from '../../services/consensus/consensus-errors.ts';
import { UsageError } from '../../services/errors.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import { type CliIo, type Command, EXIT, type ParsedCommandArgs, writeLine } from '../command.ts';
import { pinFromFlags, pinOptions } from '../pin-flags.ts';

const MAX_ENVELOPE_FILE_BYTES = 16 * 1024 * 1024;
const MAX_KEY_FILE_BYTES = 64 * 1024;

export const attestationVerifyCommand: Command = {
  path: ['attestation', 'verify'],
  help: `Usage: rbnet attestation verify FILE --key PUB.pem [--key PUB2.pem ...] [PIN...] [--json]

Checks, in order: envelope shape, payload type, the signature against the given keys, the in-toto
statement and SLSA provenance shape, and (with a pin) that it is about what you pinned.
Says exactly which check failed, and what the statement says it was built from: manifest digest,
environment, every input by digest, and for a Debian rebuild the source and whether the worker
fetched it from its signed archive or it was uploaded by the submitter.

Options:
  --key FILE               ed25519 public key (PEM) you obtained from the operator; repeat to trust several
  --manifest FILE          pin: the statement must be about this manifest (by its JCS sha256)
  --manifest-sha256 HEX    pin: the same, by digest
  --debian-source N=V      pin: a Debian source N version V that the worker fetched from its signed
                           archive (an uploaded source never satisfies it)
  --json                   print the verified statement's essentials as JSON

Exit codes: 0 verified; 1 verification failed; 2 usage.`,
  options: {
    key: { type: 'string', multiple: true },
    ...pinOptions,
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
    const pin = await pinFromFlags(args, io.cwd, 'attestation verify');
    const envelope = await readBoundedFile(resolve(io.cwd, file), MAX_ENVELOPE_FILE_BYTES, 'attestation');
    const verified = verifyRebuildAttestation(envelope, keys);
    const refusal = pin === undefined ? undefined : buildPinRefusal(verified, pin);
    if (refusal !== undefined)
      throw new PolicyError('PIN_UNSATISFIED', `the signature verified, but the statement ${refusal}`);
    if (args.values.json) {
      const { statement: _statement, ...essentials } = verified;
      writeLine(
        io.stdout,
        JSON.stringify(
          { verified: true, ...(pin && { pinned: describeBuildPin(pin) }), ...essentials },
          null,
          2,
        ),
      );
    } else {
      writeLine(
        io.stdout,
        `verified: signed by keyid ${verified.keyid} (worker ${verified.worker.id}, operator ${verified.worker.operator})`,
      );
      writeLine(io.stdout, `manifest sha256:${verified.manifestSha256}`);
      writeLine(
        io.stdout,
        `environment sha256:${verified.environment.sha256} (${verified.environment.origin})`,
      );
      for (const input of verified.inputs) writeLine(io.stdout, `input ${input.path} sha256:${input.sha256}`);
      const source = verified.debianSource;
      if (source) {
        writeLine(
          io.stdout,
          `Debian source ${source.name} ${source.version}: ${source.origin === 'archive' ? 'fetched from the signed archive' : 'UPLOADED by the submitter, not from the archive'} (.dsc sha256:${source.dscSha256})`,
        );
      }
      writeLine(
        io.stdout,
        pin
          ? `satisfies your pin: ${describeBuildPin(pin)}`
          : 'no pin given: not checked against what you expect',
      );
      writeLine(io.stdout, 'outputs:');
      for (const output of verified.outputs) writeLine(io.stdout, `  ${output.sha256}  ${output.path}`);
    }
    return EXIT.ok;
  },
};
