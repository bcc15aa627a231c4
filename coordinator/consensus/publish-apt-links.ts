// After a Debian build is decided: index each agreeing operator's own signed in-toto link so the apt
// endpoint can serve it, or withdraw the build's links when its verdict is not `reproducible`
// (one dissenting link served to apt would veto installs, and a mismatch must never be served).
import { createPublicKey } from 'node:crypto';
import { parseAptLocalDebName } from '../../services/apt/apt-file-name.ts';
import { verifyRebuildLink } from '../../services/apt/in-toto-rebuild-link.ts';
import type { ConsensusResult, Decision } from '../../services/consensus/decide-verdict.ts';
import { buildDivergenceReport } from '../../services/consensus/divergence-report.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import type { BuildRecord, NewAptLink } from '../../services/storage/build-store.ts';
import { type DecideDeps, readBlobText } from './decide-build.ts';

/** The byproduct a Debian worker signs its apt link into (worker/debian/sign-apt-link.ts). */
const APT_LINK_BYPRODUCT_NAME = 'rbnet/apt-link.json';
const MAX_APT_LINK_BYTES = 1024 * 1024;

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
      const outputs = new Set(result.outputs.map((o) => o.sha256 as string));
      const productDigests = verified.products.map((p) => p.sha256 as string);
      if (productDigests.length !== outputs.size || !productDigests.every((d) => outputs.has(d)))
        throw new Error('its products are not exactly the .debs the worker attested');
      for (const product of verified.products) {
        const deb = parseAptLocalDebName(product.aptFileName);
        if (deb.architecture !== build.architecture && deb.architecture !== 'all')
          throw new Error(
            `${product.aptFileName} is for ${deb.architecture}, the build for ${build.architecture}`,
          );
        links.push({
          architecture: build.architecture,
          operator: result.operator,
          package: deb.name,
          version: deb.version.text,
          linkSha256: linkByproduct.sha256,
          workerId: result.workerId,
        });
      }
      servedOperators.add(result.operator);
    } catch (err) {
      logger.warn({ err }, 'apt link refused; the operator serves none for this build');
    }
  }
  await deps.store.replaceAptLinks(build.buildId, links, deps.now());
  return links.length;
}
