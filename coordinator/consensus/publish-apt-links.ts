// After a Debian build is decided: index each agreeing operator's own signed in-toto link so the apt
// endpoint can serve it, or withdraw the build's links when its verdict is not `reproducible`
// (one dissenting link served to apt would veto installs, and a mismatch must never be served).
import { createPublicKey } from 'node:crypto';
import {
  APT_LINK_BYPRODUCT_NAME,
  aptNameOfBuiltDeb,
  parseAptLocalDebName,
} from '../../services/apt/apt-file-name.ts';
import { verifyRebuildLink } from '../../services/apt/in-toto-rebuild-link.ts';
import type { ConsensusResult, Decision } from '../../services/consensus/decide-verdict.ts';
import { buildDivergenceReport } from '../../services/consensus/divergence-report.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import { parseAnyManifest } from '../../services/manifest/parse-any-manifest.ts';
import type { BuildRecord, NewAptLink } from '../../services/storage/build-store.ts';
import { readBlobText } from '../storage/read-blob.ts';
import type { DecideDeps } from './decide-build.ts';

const MAX_APT_LINK_BYTES = 1024 * 1024;

/**
 * The products a link must list for `outputs`: apt's file name of each attested .deb with its
 * sha256, named by the same rule the worker signs with (aptNameOfBuiltDeb).
 *
 * @throws Error when an output is not a `name_version_arch.deb` or two name the same apt file.
 */
function expectedProducts(
  outputs: readonly { readonly path: string; readonly sha256: Sha256Hex }[],
  buildVersion: string,
): Map<string, Sha256Hex> {
  const expected = new Map<string, Sha256Hex>();
  for (const output of outputs) {
    const aptName = aptNameOfBuiltDeb(output.path, buildVersion);
    if (expected.has(aptName)) throw new Error(`two attested .debs are both ${aptName} to apt`);
    expected.set(aptName, output.sha256);
  }
  return expected;
}

export async function publishAptLinks(
  deps: DecideDeps,
  build: BuildRecord,
  decision: Decision,
  results: readonly ConsensusResult[],
  byproducts: ReadonlyMap<Sha256Hex, readonly { readonly name: string; readonly sha256: Sha256Hex }[]>,
): Promise<number> {
  if (decision.verdict !== 'reproducible') {
    await deps.store.replaceAptLinks(build.buildId, [], deps.now());
    return 0;
  }
  const manifest = parseAnyManifest(build.manifestJson, {
    maxManifestBytes: Math.max(256 * 1024, Buffer.byteLength(build.manifestJson, 'utf8')),
  });
  if (manifest.kind !== 'debian')
    throw new Error(`publishAptLinks: build ${build.buildId} is not a Debian build`);
  // The report marks which results counted; a reproducible verdict means every counted one agrees.
  const counted = buildDivergenceReport(results, decision).results;
  const links: NewAptLink[] = [];
  const servedOperators = new Set<string>();
  for (const [index, result] of results.entries()) {
    if (result.kind !== 'built' || !counted[index]?.counted || servedOperators.has(result.operator)) continue;
    const logger = deps.logger.child({ buildId: build.buildId, workerId: result.workerId });
    const linkByproduct = (byproducts.get(result.envelopeSha256) ?? []).find(
      (b) => b.name === APT_LINK_BYPRODUCT_NAME,
    );
    const worker = await deps.store.getWorker(result.workerId);
    if (!linkByproduct || !worker) {
      logger.warn('no apt link from this result; the operator serves none for this build');
      continue;
    }
    try {
      const text = await readBlobText(deps.content, linkByproduct.sha256, MAX_APT_LINK_BYTES);
      if (text === undefined) throw new Error(`sha256:${linkByproduct.sha256} is not in the content store`);
      const verified = verifyRebuildLink(text, [createPublicKey(worker.signingKeyPem)]);
      // Names as well as digests: a digest filed under another name would be served as a version
      // nobody rebuilt (and replace that version's link of another build).
      const expected = expectedProducts(result.outputs, manifest.manifest.version);
      if (
        verified.products.length !== expected.size ||
        !verified.products.every((p) => expected.get(p.aptFileName) === p.sha256)
      )
        throw new Error('its products are not exactly the .debs the worker attested');
      // Every product is checked before any is indexed: a refused link serves none of its packages.
      const operatorLinks: NewAptLink[] = [];
      for (const product of verified.products) {
        const deb = parseAptLocalDebName(product.aptFileName);
        if (deb.architecture !== build.architecture && deb.architecture !== 'all')
          throw new Error(
            `${product.aptFileName} is for ${deb.architecture}, the build for ${build.architecture}`,
          );
        operatorLinks.push({
          architecture: build.architecture,
          operator: result.operator,
          package: deb.name,
          version: deb.version.text,
          linkSha256: linkByproduct.sha256,
          workerId: result.workerId,
        });
      }
      links.push(...operatorLinks);
      servedOperators.add(result.operator);
    } catch (err) {
      logger.warn({ err }, 'apt link refused; the operator serves none for this build');
    }
  }
  await deps.store.replaceAptLinks(build.buildId, links, deps.now());
  return links.length;
}
