// The operator's own in-toto link for a Debian rebuild, signed with its worker key on its host, for
// apt-transport-in-toto: products are apt's local file names of every non-dbgsym .deb.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aptLocalDebName } from '../../services/apt/apt-file-name.ts';
import { signRebuildLink } from '../../services/apt/in-toto-rebuild-link.ts';
import type { Signer } from '../../services/attestation/signer.ts';
import type { ParsedBuildinfo } from '../../services/debian/buildinfo.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';

/** Byproduct name of the link in the statement and the content store. */
export const APT_LINK_BYPRODUCT_NAME = 'rbnet/apt-link.json';

/**
 * apt's name for a built `pkg_version_arch.deb`. dpkg leaves the epoch out of file names; apt puts
 * it back (as %3a), so a file whose version is the .buildinfo's version without its epoch gets it.
 */
export function aptNameOfBuiltDeb(fileName: string, buildinfo: ParsedBuildinfo): string {
  const match = /^([^_]+)_([^_]+)_([^_]+)\.deb$/.exec(fileName);
  if (!match) throw new Error(`${fileName} is not a name_version_arch.deb file name`);
  const [, pkg, version, arch] = match as unknown as [string, string, string, string];
  const withoutEpoch = buildinfo.version.text.replace(/^\d+:/, '');
  const full = version === withoutEpoch ? buildinfo.version.text : version;
  return aptLocalDebName(pkg, full, arch);
}

export async function signAptLink(args: {
  readonly subjects: readonly { readonly path: string; readonly sha256: Sha256Hex }[];
  readonly buildinfo: ParsedBuildinfo;
  readonly signer: Signer;
  readonly dir: string;
}): Promise<{ name: string; path: string; sha256: Sha256Hex }> {
  const link = await signRebuildLink(
    args.subjects.map((s) => ({ aptFileName: aptNameOfBuiltDeb(s.path, args.buildinfo), sha256: s.sha256 })),
    args.signer,
  );
  const text = JSON.stringify(link);
  const path = join(args.dir, 'apt-link.json');
  await writeFile(path, text);
  return { name: APT_LINK_BYPRODUCT_NAME, path, sha256: sha256Hex(text) };
}
