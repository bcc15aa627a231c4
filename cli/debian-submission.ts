// Turns a .buildinfo (and optionally a .dsc with its files) into an rbnet.debian/v1 manifest plus
// the files to upload, checking everything locally first so mistakes are named before any upload.
import { basename, dirname, join } from 'node:path';
import { type ParsedBuildinfo, parseBuildinfo } from '../services/debian/buildinfo.ts';
import {
  buildinfoDeterminedFields,
  DEFAULT_DEBIAN_TIME_LIMIT_SECONDS,
} from '../services/debian/debian-manifest-from-buildinfo.ts';
import { parseDsc } from '../services/debian/dsc.ts';
import { verifySignedBuildinfo } from '../services/debian/verify-signed-buildinfo.ts';
import { type Sha256Hex, sha256File, sha256Hex } from '../services/digest.ts';
import { InputError } from '../services/errors.ts';
import { parseDebianManifest } from '../services/manifest/parse-debian-manifest.ts';
import { readBoundedFile } from '../services/read-bounded-file.ts';

const MAX_CONTROL_FILE_BYTES = 1024 * 1024;

export interface FileToUpload {
  readonly label: string;
  readonly path: string;
  readonly sha256: Sha256Hex;
  readonly sizeBytes: number;
}

export interface PreparedSubmission {
  readonly manifestText: string;
  readonly manifestSha256: Sha256Hex;
  readonly uploads: readonly FileToUpload[];
}

/** Whether `path` looks like a .buildinfo rather than a JSON manifest. */
export function isBuildinfoPath(path: string): boolean {
  return path.endsWith('.buildinfo');
}

export async function prepareDebianSubmission(args: {
  readonly buildinfoPath: string;
  readonly dscPath?: string;
  readonly timeLimitSeconds?: number;
  /** When set, the .buildinfo must be clearsigned by a key in this keyring (checked with gpgv). */
  readonly maintainerKeyringPath?: string;
}): Promise<PreparedSubmission> {
  const bytes = await readBoundedFile(args.buildinfoPath, MAX_CONTROL_FILE_BYTES, 'buildinfo');
  const buildinfo = parseBuildinfo(bytes);
  if (args.maintainerKeyringPath !== undefined)
    await checkMaintainerSignature(bytes, buildinfo, args.maintainerKeyringPath);
  const buildinfoSha256 = sha256Hex(bytes);
  const uploads: FileToUpload[] = [
    {
      label: basename(args.buildinfoPath),
      path: args.buildinfoPath,
      sha256: buildinfoSha256,
      sizeBytes: bytes.byteLength,
    },
  ];
  let source: Record<string, unknown> = { from: 'archive' };
  if (args.dscPath !== undefined) {
    const dscBytes = await readBoundedFile(args.dscPath, MAX_CONTROL_FILE_BYTES, 'dsc');
    const dsc = parseDsc(dscBytes);
    if (dsc.source !== buildinfo.source || dsc.version.text !== buildinfo.sourceVersion.text) {
      throw new InputError(
        'INPUT_DIGEST_MISMATCH',
        `--source ${args.dscPath}: is ${dsc.source} ${dsc.version.text}, the .buildinfo was built from ${buildinfo.source} ${buildinfo.sourceVersion.text}`,
      );
    }
    const dscName = basename(args.dscPath);
    const files = [{ name: dscName, sha256: sha256Hex(dscBytes) }];
    uploads.push({
      label: dscName,
      path: args.dscPath,
      sha256: files[0]!.sha256,
      sizeBytes: dscBytes.byteLength,
    });
    for (const file of dsc.files) {
      const path = join(dirname(args.dscPath), file.name);
      const { sha256, sizeBytes } = await sha256File(path).catch((cause: unknown) => {
        throw new InputError(
          'INPUT_MISSING',
          `--source: ${file.name}, listed in the .dsc, is not beside it (${path})`,
          {
            cause,
          },
        );
      });
      if (sha256 !== file.sha256 || sizeBytes !== file.size) {
        throw new InputError(
          'INPUT_DIGEST_MISMATCH',
          `--source: ${path} has sha256 ${sha256} and ${sizeBytes} bytes; the .dsc says ${file.sha256} and ${file.size}`,
        );
      }
      files.push({ name: file.name, sha256 });
      uploads.push({ label: file.name, path, sha256, sizeBytes });
    }
    source = { from: 'files', dsc: dscName, files };
  }
  const document = {
    ...buildinfoDeterminedFields(buildinfo, buildinfoSha256),
    source,
    timeLimitSeconds: args.timeLimitSeconds ?? DEFAULT_DEBIAN_TIME_LIMIT_SECONDS,
  };
  const manifestText = JSON.stringify(document);
  const parsed = parseDebianManifest(manifestText);
  return { manifestText, manifestSha256: parsed.manifestSha256, uploads };
}

/** The .buildinfo must be clearsigned by a key of `keyringPath` ({@link verifySignedBuildinfo}). */
async function checkMaintainerSignature(
  bytes: Buffer,
  buildinfo: ParsedBuildinfo,
  keyringPath: string,
): Promise<void> {
  try {
    await verifySignedBuildinfo(bytes, buildinfo, { keyringPath, timeoutMs: 30_000 });
  } catch (cause) {
    throw new InputError('INPUT_DIGEST_MISMATCH', `--maintainer-keyring: ${(cause as Error).message}`, {
      cause,
    });
  }
}
