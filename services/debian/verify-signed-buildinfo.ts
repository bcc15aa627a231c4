// A maintainer's signature on a .buildinfo: clearsigned by a key of a pinned keyring, and what gpgv
// verified says exactly what the parser read from the file (so no unsigned text can slip in beside it).
import { ArchiveError } from '../errors.ts';
import { type ParsedBuildinfo, parseBuildinfo } from './buildinfo.ts';
import { verifyClearsignedWithGpgv } from './gpgv-verify.ts';

/**
 * Checks that `bytes` (parsed as `buildinfo`) is signed by a key of `keyringPath`.
 * @throws ArchiveError ARCHIVE_SIGNATURE: not clearsigned, refused by gpgv, or a signed text that is
 *   not what the file says.
 */
export async function verifySignedBuildinfo(
  bytes: Uint8Array,
  buildinfo: ParsedBuildinfo,
  options: { readonly keyringPath: string; readonly timeoutMs: number },
): Promise<void> {
  if (!buildinfo.signature) throw new ArchiveError('ARCHIVE_SIGNATURE', 'the .buildinfo is not clearsigned');
  const verified = await verifyClearsignedWithGpgv({ signedBytes: bytes, ...options });
  const { signature: _signed, ...read } = buildinfo;
  const { signature: _none, ...signedText } = parseBuildinfo(verified.plaintext);
  if (JSON.stringify(read) !== JSON.stringify(signedText))
    throw new ArchiveError('ARCHIVE_SIGNATURE', 'the signed text is not what the file says');
}
