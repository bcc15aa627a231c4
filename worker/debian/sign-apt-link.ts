// The operator's own in-toto link for a Debian rebuild, signed with its worker key on its host, for
// apt-transport-in-toto: products are apt's local file names of every non-dbgsym .deb.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { APT_LINK_BYPRODUCT_NAME, aptNameOfBuiltDeb } from '../../services/apt/apt-file-name.ts';
import { signRebuildLink } from '../../services/apt/in-toto-rebuild-link.ts';
import type { Signer } from '../../services/attestation/signer.ts';
import type { ParsedBuildinfo } from '../../services/debian/buildinfo.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';

export { APT_LINK_BYPRODUCT_NAME };

export async function signAptLink(args: {
  readonly subjects: readonly { readonly path: string; readonly sha256: Sha256Hex }[];
  readonly buildinfo: ParsedBuildinfo;
  readonly signer: Signer;
  readonly dir: string;
}): Promise<{ name: string; path: string; sha256: Sha256Hex }> {
  const link = await signRebuildLink(
    args.subjects.map((s) => ({
      aptFileName: aptNameOfBuiltDeb(s.path, args.buildinfo.version.text),
      sha256: s.sha256,
    })),
    args.signer,
  );
  const text = JSON.stringify(link);
  const path = join(args.dir, 'apt-link.json');
  await writeFile(path, text);
  return { name: APT_LINK_BYPRODUCT_NAME, path, sha256: sha256Hex(text) };
}
