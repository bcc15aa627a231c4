// The .deb inspection of a Debian rebuild: every rebuilt .deb listed, and each one that differs from
// the published .deb (still in the signed archive) compared member by member, by the worker's
// sandboxed inspector. The report and any diffoscope HTML become byproducts.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { compareOutputsWithClaims } from '../../services/claims/compare-outputs-with-claims.ts';
import type { ParsedBuildinfo } from '../../services/debian/buildinfo.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import type { CapturedFile } from '../sandbox/output-capture.ts';
import type { DebianArchive } from './debian-archive.ts';

/** Lists the members of `debs` and compares the pairs; runs the hostile-input parsers in a sandbox. */
export type DebInspector = (request: {
  readonly debs: readonly { readonly label: string; readonly path: string }[];
  readonly compare: readonly { readonly left: string; readonly right: string }[];
  readonly sourceDateEpoch?: number;
  readonly buildPaths?: readonly string[];
  readonly workDir: string;
  readonly signal?: AbortSignal;
}) => Promise<{ readonly reportPath: string; readonly htmlPaths: readonly string[] }>;

/**
 * Lists every rebuilt .deb and, for each one whose digest differs from the published one, fetches
 * the published .deb from the archive (when its signed index still has those exact bytes) and
 * compares the two member by member. The report and any diffoscope HTML become byproducts.
 */
export async function inspectAgainstArchive(
  inspect: DebInspector,
  archive: DebianArchive,
  args: {
    subjects: readonly CapturedFile[];
    /** Local directory holding the rebuilt subjects. */
    subjectsDir: string;
    claims: ReturnType<typeof compareOutputsWithClaims>;
    buildinfo: ParsedBuildinfo;
    workDir: string;
    signal?: AbortSignal;
  },
): Promise<{ name: string; path: string; sha256: Sha256Hex }[]> {
  await mkdir(args.workDir, { recursive: true });
  const debs = args.subjects.map((s) => ({
    label: `rebuilt/${s.path}`,
    path: join(args.subjectsDir, s.path),
  }));
  const compare: { left: string; right: string }[] = [];
  if (args.claims.status === 'mismatch') {
    const wanted = args.claims.differing
      .map((d) => args.buildinfo.debs.find((deb) => deb.name === d.path && deb.sha256 === d.claimed))
      .flatMap((deb) => {
        const pkg = deb
          ? archive.findBinary(deb.package, deb.architecture, args.buildinfo.version.text)
          : undefined;
        return deb && pkg && pkg.sha256 === deb.sha256 ? [{ deb, pkg }] : [];
      });
    if (wanted.length > 0) {
      const paths = await archive.downloadDebs(wanted.map((w) => w.pkg));
      for (const { deb, pkg } of wanted) {
        debs.push({ label: `published/${deb.name}`, path: paths.get(pkg.sha256) ?? '' });
        compare.push({ left: `published/${deb.name}`, right: `rebuilt/${deb.name}` });
      }
    }
  }
  const epoch = Number(args.buildinfo.environmentRecord.SOURCE_DATE_EPOCH);
  const report = await inspect({
    debs,
    compare,
    ...(Number.isSafeInteger(epoch) ? { sourceDateEpoch: epoch } : {}),
    ...(args.buildinfo.buildPath ? { buildPaths: [args.buildinfo.buildPath] } : {}),
    workDir: args.workDir,
    ...(args.signal ? { signal: args.signal } : {}),
  });
  const files = [{ name: 'rbnet/deb-inspection.json', path: report.reportPath }];
  for (const [index, path] of report.htmlPaths.entries())
    files.push({ name: `rbnet/diffoscope-${index + 1}.html`, path });
  const out: { name: string; path: string; sha256: Sha256Hex }[] = [];
  for (const file of files) out.push({ ...file, sha256: sha256Hex(await readFile(file.path)) });
  return out;
}
