// Intake checks for a Debian submission: the .buildinfo (and a supplied .dsc) are read from the
// content store and parsed here, and the manifest must say exactly what they say.
import { parseBuildinfo } from '../../services/debian/buildinfo.ts';
import { manifestBuildinfoMismatch } from '../../services/debian/debian-manifest-from-buildinfo.ts';
import { parseDsc } from '../../services/debian/dsc.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import { DebianFormatError, ManifestError, SubmissionError } from '../../services/errors.ts';
import type { DebianManifest } from '../../services/manifest/debian-manifest.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import { readBlobBytes } from '../storage/read-blob.ts';

/** .buildinfo and .dsc files are small; anything larger is refused before parsing. */
const MAX_CONTROL_FILE_BYTES = 1024 * 1024;

async function readSmallBlob(content: ContentStore, sha256: Sha256Hex, what: string): Promise<Uint8Array> {
  const stat = await content.stat(sha256);
  if (!stat)
    throw new SubmissionError('INPUTS_MISSING', `${what}: sha256:${sha256} is not in the content store`);
  if (stat.sizeBytes > MAX_CONTROL_FILE_BYTES)
    throw new ManifestError('MANIFEST_INVALID', `${what}: larger than ${MAX_CONTROL_FILE_BYTES} bytes`);
  // A storage failure here is the coordinator's own problem: it propagates (500), it is not a refusal.
  const bytes = await readBlobBytes(content, sha256, MAX_CONTROL_FILE_BYTES);
  if (!bytes)
    throw new SubmissionError('INPUTS_MISSING', `${what}: sha256:${sha256} is not in the content store`);
  return bytes;
}

function refuse(what: string, error: unknown): never {
  if (error instanceof DebianFormatError)
    throw new ManifestError('MANIFEST_INVALID', `${what}: ${error.message}`);
  throw error;
}

/**
 * Throws ManifestError MANIFEST_INVALID naming the field when the submission does not hold together,
 * SubmissionError INPUTS_MISSING when its .buildinfo or .dsc is not in the content store.
 */
export async function checkDebianSubmission(content: ContentStore, manifest: DebianManifest): Promise<void> {
  const bytes = await readSmallBlob(content, manifest.buildinfoSha256, 'buildinfoSha256');
  let buildinfo: ReturnType<typeof parseBuildinfo>;
  try {
    buildinfo = parseBuildinfo(bytes);
  } catch (error) {
    refuse('buildinfoSha256 (the .buildinfo)', error);
  }
  const mismatch = manifestBuildinfoMismatch(manifest, buildinfo, manifest.buildinfoSha256);
  if (mismatch) throw new ManifestError('MANIFEST_INVALID', mismatch);
  const source = manifest.source;
  if (source.from !== 'files') return;
  const dscEntry = source.files.find((file) => file.name === source.dsc);
  if (!dscEntry) throw new ManifestError('MANIFEST_INVALID', 'source.dsc: not among source.files');
  let dsc: ReturnType<typeof parseDsc>;
  try {
    dsc = parseDsc(await readSmallBlob(content, dscEntry.sha256, 'source.dsc'));
  } catch (error) {
    refuse('source.dsc', error);
  }
  if (dsc.source !== buildinfo.source || dsc.version.text !== buildinfo.sourceVersion.text) {
    throw new ManifestError(
      'MANIFEST_INVALID',
      `source.dsc: is ${dsc.source} ${dsc.version.text}, the .buildinfo was built from ${buildinfo.source} ${buildinfo.sourceVersion.text}`,
    );
  }
  const supplied = new Map(source.files.map((file) => [file.name, file.sha256]));
  for (const file of dsc.files) {
    const sha256 = supplied.get(file.name);
    if (sha256 === undefined)
      throw new ManifestError(
        'MANIFEST_INVALID',
        `source.files: ${file.name}, which the .dsc lists, is missing`,
      );
    if (sha256 !== file.sha256)
      throw new ManifestError(
        'MANIFEST_INVALID',
        `source.files: ${file.name} has sha256 ${sha256}, the .dsc says ${file.sha256}`,
      );
  }
  const listed = new Set([source.dsc, ...dsc.files.map((file) => file.name)]);
  const extra = source.files.filter((file) => !listed.has(file.name)).map((file) => file.name);
  if (extra.length > 0)
    throw new ManifestError(
      'MANIFEST_INVALID',
      `source.files: ${extra.join(', ')} ${extra.length === 1 ? 'is' : 'are'} not listed by the .dsc; must hold exactly the .dsc and the files it lists`,
    );
}
