// After a Debian build is decided: index each agreeing operator's own signed in-toto link so the apt
// endpoint can serve it, or withdraw the build's links when its verdict is not `reproducible`
// (one dissenting link served to apt would veto installs, and a mismatch must never be served).
// Only sources every worker fetched from its own signed archive index are published, and a link
// never replaces another build's (the store records a conflict instead).
import { createPublicKey } from 'node:crypto';
import {
  APT_LINK_BYPRODUCT_NAME,
  aptNameOfBuiltDeb,
  parseAptLocalDebName,
} from '../../services/apt/apt-file-name.ts';
import { rebuildLinkProductsSha256, verifyRebuildLink } from '../../services/apt/in-toto-rebuild-link.ts';
import type { ConsensusResult } from '../../services/consensus/decide-verdict.ts';
import { buildDivergenceReport } from '../../services/consensus/divergence-report.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import { RbnetError } from '../../services/errors.ts';
import type { ParsedDebianManifest } from '../../services/manifest/debian-manifest.ts';
import type { AptLinkPublication, NewAptLink } from '../../services/storage/apt-link-store.ts';
import type { ResultByproduct, ResultFacts } from '../../services/storage/result-store.ts';
import { readBlobText } from '../storage/read-blob.ts';
import type { BackendDeps, DecidedBuild } from './coordinator-backend.ts';

const MAX_APT_LINK_BYTES = 1024 * 1024;

/** Why one operator's link of a build is not served (logged; its other links are unaffected). */
class AptLinkRefusal extends RbnetError<'APT_LINK_REFUSED'> {}

/**
 * The products a link must list for `outputs`: apt's file name of each attested .deb with its
 * sha256, named by the same rule the worker signs with (aptNameOfBuiltDeb).
 *
 * @throws AptLinkRefusal when an output is not a `name_version_arch.deb` or two name the same apt file.
 */
function expectedProducts(
  outputs: readonly { readonly path: string; readonly sha256: Sha256Hex }[],
  buildVersion: string,
): Map<string, Sha256Hex> {
  const expected = new Map<string, Sha256Hex>();
  for (const output of outputs) {
    const aptName = aptNameOfBuiltDeb(output.path, buildVersion);
    if (expected.has(aptName))
      throw new AptLinkRefusal('APT_LINK_REFUSED', `two attested .debs are both ${aptName} to apt`);
    expected.set(aptName, output.sha256);
  }
  return expected;
}

/**
 * Why none of a reproducible build's links may be served because of where its source came from, or
 * undefined when the manifest asks for the archive source and every counted result signed that its
 * worker fetched the source itself and verified it against its own signed archive index.
 */
function sourceRefusal(
  manifest: ParsedDebianManifest,
  results: readonly ConsensusResult[],
  counted: readonly { readonly counted: boolean }[],
  facts: ReadonlyMap<Sha256Hex, ResultFacts>,
): string | undefined {
  if (manifest.manifest.source.from !== 'archive')
    return 'its source files were uploaded by the submitter, not fetched from the archive';
  for (const [index, result] of results.entries()) {
    if (result.kind !== 'built' || !counted[index]?.counted) continue;
    // Intake recorded what the worker signed about the source when it verified the envelope.
    const origin = facts.get(result.envelopeSha256)?.debianSource?.origin;
    if (origin !== 'archive')
      return `worker ${result.workerId} signed source origin ${origin ?? '(none)'}, not archive`;
  }
  return undefined;
}

/**
 * Publishes the apt links of a decided Debian build (`manifest` is its parsed manifest), or
 * withdraws them. `byproductsByEnvelope` are the byproducts each result's envelope signs.
 */
export async function publishAptLinks(
  deps: BackendDeps,
  manifest: ParsedDebianManifest,
  decided: DecidedBuild,
  byproductsByEnvelope: ReadonlyMap<Sha256Hex, readonly ResultByproduct[]>,
): Promise<AptLinkPublication> {
  const { build, decision, results, facts } = decided;
  const withdraw = () => deps.aptLinks.replaceAptLinks(build.buildId, [], deps.now());
  if (decision.verdict !== 'reproducible') return withdraw();
  // The report marks which results counted; a reproducible verdict means every counted one agrees.
  const counted = buildDivergenceReport(results, decision).results;
  const refusal = sourceRefusal(manifest, results, counted, facts);
  if (refusal !== undefined) {
    deps.logger.info({ buildId: build.buildId, reason: refusal }, 'no apt links for this build');
    return withdraw();
  }
  const links: NewAptLink[] = [];
  const servedOperators = new Set<string>();
  for (const [index, result] of results.entries()) {
    if (result.kind !== 'built' || !counted[index]?.counted || servedOperators.has(result.operator)) continue;
    const logger = deps.logger.child({ buildId: build.buildId, workerId: result.workerId });
    const linkByproduct = (byproductsByEnvelope.get(result.envelopeSha256) ?? []).find(
      (b) => b.name === APT_LINK_BYPRODUCT_NAME,
    );
    const worker = await deps.registry.getWorker(result.workerId);
    if (!linkByproduct || !worker) {
      logger.warn('no apt link from this result; the operator serves none for this build');
      continue;
    }
    try {
      const text = await readBlobText(deps.content, linkByproduct.sha256, MAX_APT_LINK_BYTES);
      if (text === undefined)
        throw new AptLinkRefusal(
          'APT_LINK_REFUSED',
          `sha256:${linkByproduct.sha256} is not in the content store`,
        );
      const link = verifyRebuildLink(text, [createPublicKey(worker.signingKeyPem)]);
      // Names as well as digests: a digest filed under another name would be served as a version
      // nobody rebuilt (and contest that version's link of another build).
      const expected = expectedProducts(result.outputs, manifest.manifest.version);
      if (
        link.products.length !== expected.size ||
        !link.products.every((p) => expected.get(p.aptFileName) === p.sha256)
      )
        throw new AptLinkRefusal(
          'APT_LINK_REFUSED',
          'its products are not exactly the .debs the worker attested',
        );
      const productsSha256 = rebuildLinkProductsSha256(link.products);
      // Every product is checked before any is indexed: a refused link serves none of its packages.
      const operatorLinks: NewAptLink[] = [];
      for (const product of link.products) {
        const deb = parseAptLocalDebName(product.aptFileName);
        if (deb.architecture !== build.architecture && deb.architecture !== 'all')
          throw new AptLinkRefusal(
            'APT_LINK_REFUSED',
            `${product.aptFileName} is for ${deb.architecture}, the build for ${build.architecture}`,
          );
        operatorLinks.push({
          architecture: build.architecture,
          operator: result.operator,
          package: deb.name,
          version: deb.version.text,
          linkSha256: linkByproduct.sha256,
          productsSha256,
          workerId: result.workerId,
        });
      }
      links.push(...operatorLinks);
      servedOperators.add(result.operator);
    } catch (err) {
      logger.warn({ err }, 'apt link refused; the operator serves none for this build');
    }
  }
  const publication = await deps.aptLinks.replaceAptLinks(build.buildId, links, deps.now());
  for (const conflict of publication.conflicts) {
    // The alarm: two builds of one package version whose rebuilt bytes differ.
    deps.logger.error(
      { buildId: build.buildId, ...conflict },
      'apt link conflict: a published package version was rebuilt to different products',
    );
  }
  return publication;
}
