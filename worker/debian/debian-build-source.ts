// What a Debian rebuild builds from: the .buildinfo, read from the content store by its digest and
// checked against the manifest, and the source fact the worker signs (archive only when it fetched the
// source itself from its signed archive).

import type { DebianSourceFact } from '../../services/attestation/rebuild-statement.ts';
import { type ParsedBuildinfo, parseBuildinfo } from '../../services/debian/buildinfo.ts';
import { manifestBuildinfoMismatch } from '../../services/debian/debian-manifest-from-buildinfo.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { DebianFormatError, InputError, ManifestError } from '../../services/errors.ts';
import type { ParsedDebianManifest } from '../../services/manifest/debian-manifest.ts';
import type { InputSource } from '../inputs/input-source.ts';

const MAX_BUILDINFO_BYTES = 1024 * 1024;

/** The manifest's .buildinfo, read by digest and parsed; it must say what the manifest says. */
export async function readBuildinfo(
  parsed: ParsedDebianManifest,
  inputs: InputSource,
): Promise<ParsedBuildinfo> {
  const sha256 = parsed.manifest.buildinfoSha256;
  const opened = await inputs.open({
    path: `${parsed.manifest.name}.buildinfo`,
    sha256,
    location: { kind: 'cas', sha256 },
    mode: 0o644,
  });
  if (opened.sizeBytes > MAX_BUILDINFO_BYTES) {
    opened.stream.destroy();
    throw new InputError(
      'INPUT_TOO_LARGE',
      `buildinfo: ${opened.sizeBytes} bytes, over ${MAX_BUILDINFO_BYTES}`,
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of opened.stream) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  if (sha256Hex(bytes) !== sha256)
    throw new InputError('INPUT_DIGEST_MISMATCH', `buildinfo: sha256 is not ${sha256}`);
  let buildinfo: ParsedBuildinfo;
  try {
    buildinfo = parseBuildinfo(bytes);
  } catch (error) {
    if (error instanceof DebianFormatError)
      throw new ManifestError('MANIFEST_INVALID', `buildinfo: ${error.message}`, { cause: error });
    throw error;
  }
  const mismatch = manifestBuildinfoMismatch(parsed.manifest, buildinfo, sha256);
  if (mismatch) throw new ManifestError('MANIFEST_INVALID', mismatch);
  return buildinfo;
}

/**
 * What the worker signs about the source it built: `archive` only when it fetched the files itself
 * and checked them against its archive's signed Sources index (`source.from` "archive"); files the
 * submitter supplied are `uploaded`, whatever name and version they carry.
 */
export function debianSourceFactOf(
  source: ParsedDebianManifest['manifest']['source'],
  buildinfo: Pick<ParsedBuildinfo, 'source' | 'sourceVersion'>,
  sourceFiles: readonly { readonly name: string; readonly sha256: Sha256Hex }[],
  dscName: string,
): DebianSourceFact {
  const dsc = sourceFiles.find((file) => file.name === dscName);
  if (!dsc)
    throw new ManifestError('MANIFEST_INVALID', `source: the .dsc ${dscName} is not among the source files`);
  return {
    name: buildinfo.source,
    version: buildinfo.sourceVersion.text,
    origin: source.from === 'archive' ? 'archive' : 'uploaded',
    dscSha256: dsc.sha256,
  };
}
