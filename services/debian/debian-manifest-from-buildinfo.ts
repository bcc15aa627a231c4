// The one mapping from a parsed .buildinfo to the fields of an rbnet.debian/v1 manifest, used by the
// CLI to write the manifest and by the coordinator and workers to check that it says what the
// .buildinfo says.
import type { Sha256Hex } from '../digest.ts';
import { DEBIAN_MANIFEST_SCHEMA_V1, type DebianManifest } from '../manifest/debian-manifest.ts';
import type { ClaimedOutput } from '../manifest/manifest.ts';
import type { ParsedBuildinfo } from './buildinfo.ts';

/** A Debian build's default wall-time request: 2 hours (a worker's own cap may be lower). */
export const DEFAULT_DEBIAN_TIME_LIMIT_SECONDS = 7200;

/** What a worker signs and the verdict compares: every non-dbgsym .deb, sorted by file name. */
export function claimedDebsOf(buildinfo: ParsedBuildinfo): ClaimedOutput[] {
  return buildinfo.debs
    .filter((deb) => deb.type === 'deb' && !deb.isDbgsym)
    .map((deb) => ({ path: deb.name, sha256: deb.sha256 }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The manifest fields a .buildinfo determines (everything but source, time limit and resources). */
export function buildinfoDeterminedFields(
  buildinfo: ParsedBuildinfo,
  buildinfoSha256: Sha256Hex,
): Pick<
  DebianManifest,
  'schema' | 'name' | 'version' | 'architecture' | 'backend' | 'buildinfoSha256' | 'claimedOutputs'
> {
  return {
    schema: DEBIAN_MANIFEST_SCHEMA_V1,
    name: buildinfo.source,
    version: buildinfo.version.text,
    architecture: buildinfo.buildArchitecture,
    backend: 'debian',
    buildinfoSha256,
    claimedOutputs: claimedDebsOf(buildinfo),
  };
}

/**
 * The first field where `manifest` says something other than its .buildinfo, as
 * `field: manifest says X, the .buildinfo says Y`; undefined when they agree.
 */
export function manifestBuildinfoMismatch(
  manifest: DebianManifest,
  buildinfo: ParsedBuildinfo,
  buildinfoSha256: Sha256Hex,
): string | undefined {
  const expected = buildinfoDeterminedFields(buildinfo, buildinfoSha256);
  for (const field of ['name', 'version', 'architecture', 'buildinfoSha256'] as const) {
    if (manifest[field] !== expected[field])
      return `${field}: the manifest says ${JSON.stringify(manifest[field])}, the .buildinfo says ${JSON.stringify(expected[field])}`;
  }
  const said = JSON.stringify([...manifest.claimedOutputs].sort((a, b) => (a.path < b.path ? -1 : 1)));
  if (said !== JSON.stringify(expected.claimedOutputs))
    return "claimedOutputs: must list exactly the non-dbgsym .debs of the .buildinfo's Checksums-Sha256 with their sha256";
  return undefined;
}
