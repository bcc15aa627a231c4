// The consumer's pin as command-line flags, shared by `rbnet verify` and `rbnet attestation verify`:
// --manifest FILE | --manifest-sha256 HEX, and/or --debian-source NAME=VERSION.
import { resolve } from 'node:path';
import { type BuildPin, parseBuildPin } from '../services/consensus/build-pin.ts';
import { PolicyError } from '../services/consensus/consensus-errors.ts';
import { UsageError } from '../services/errors.ts';
import { parseAnyManifest } from '../services/manifest/parse-any-manifest.ts';
import { defaultManifestLimits } from '../services/manifest/parse-manifest.ts';
import { readBoundedFile } from '../services/read-bounded-file.ts';
import type { ParsedCommandArgs } from './command.ts';
import { stringFlag } from './command.ts';

export const pinOptions = Object.freeze({
  manifest: { type: 'string' },
  'manifest-sha256': { type: 'string' },
  'debian-source': { type: 'string' },
} as const);

/**
 * The pin the flags state, or undefined when they state none. A manifest FILE is pinned by its
 * identity (the sha256 of its JCS form, any manifest kind).
 * @throws UsageError for both --manifest and --manifest-sha256, or a pin that cannot be read.
 */
export async function pinFromFlags(
  args: ParsedCommandArgs,
  cwd: string,
  command: string,
): Promise<BuildPin | undefined> {
  const manifestPath = stringFlag(args, 'manifest');
  const manifestHex = stringFlag(args, 'manifest-sha256');
  const debianSource = stringFlag(args, 'debian-source');
  if (manifestPath !== undefined && manifestHex !== undefined)
    throw new UsageError('USAGE', 'give --manifest or --manifest-sha256, not both');
  if (manifestPath === undefined && manifestHex === undefined && debianSource === undefined) return undefined;
  const manifestSha256 =
    manifestPath !== undefined
      ? parseAnyManifest(
          await readBoundedFile(
            resolve(cwd, manifestPath),
            defaultManifestLimits.maxManifestBytes,
            'manifest',
          ),
        ).manifestSha256
      : manifestHex;
  try {
    return parseBuildPin({ manifestSha256, debianSource });
  } catch (error) {
    if (error instanceof PolicyError)
      throw new UsageError('USAGE', `${error.message}. Run \`rbnet ${command} --help\`.`, { cause: error });
    throw error;
  }
}
