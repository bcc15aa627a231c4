// `rbnet manifest check MANIFEST`: validate a manifest and print its digest, without building.
import { resolve } from 'node:path';
import { UsageError } from '../../services/errors.ts';
import { defaultManifestLimits, parseManifest } from '../../services/manifest/parse-manifest.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import { type CliIo, type Command, EXIT, type ParsedCommandArgs, writeLine } from '../command.ts';

export const manifestCheckCommand: Command = {
  path: ['manifest', 'check'],
  help: `Usage: rbnet manifest check MANIFEST [--json]

Parses MANIFEST exactly as a worker would (size, strict JSON, shape, meaning) and prints its digest:
the sha256 of its RFC 8785 canonical form. Errors name the offending field.

Options:
  --json   print { manifestSha256, manifest } as JSON

Exit codes: 0 valid; 1 invalid; 2 usage.`,
  options: { json: { type: 'boolean' } },
  async run(args: ParsedCommandArgs, io: CliIo): Promise<number> {
    const file = args.positionals[0];
    if (!file || args.positionals.length > 1)
      throw new UsageError('USAGE', 'expected exactly one MANIFEST. Run `rbnet manifest check --help`.');
    const parsed = parseManifest(
      await readBoundedFile(resolve(io.cwd, file), defaultManifestLimits.maxManifestBytes, 'manifest'),
    );
    if (args.values.json) {
      writeLine(
        io.stdout,
        JSON.stringify({ manifestSha256: parsed.manifestSha256, manifest: parsed.manifest }, null, 2),
      );
    } else {
      writeLine(io.stdout, `valid: ${parsed.manifest.name} sha256:${parsed.manifestSha256}`);
    }
    return EXIT.ok;
  },
};
