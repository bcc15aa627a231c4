// The nested .deb section of a Debian build's divergence report: for each compared built result, its
// signed `rbnet/deb-inspection.json` read (capped) and parsed. A missing, unreadable or refused
// inspection is recorded as such on that result; it never stops the decision.
import type { ConsensusResult } from '../../services/consensus/decide-verdict.ts';
import type { DivergenceReport } from '../../services/consensus/divergence-report.ts';
import { buildNestedDebDivergence } from '../../services/debian/build-nested-deb-divergence.ts';
import {
  DEB_INSPECTION_BYPRODUCT_NAME,
  maxDebInspectionResultBytesDefault,
  parseDebInspectionResult,
} from '../../services/debian/deb-inspection/inspection-report.ts';
import type { NestedDebDivergence, NestedDebResult } from '../../services/debian/nested-deb-divergence.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import type { BuildRecord } from '../../services/storage/build-store.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import type { ResultByproduct } from '../../services/storage/result-store.ts';
import { readBlobText } from '../storage/read-blob.ts';

export async function nestedDebDivergenceOf(
  content: ContentStore,
  report: DivergenceReport,
  results: readonly ConsensusResult[],
  byproductsByEnvelope: ReadonlyMap<Sha256Hex, readonly ResultByproduct[]>,
  claimedOutputs: BuildRecord['claimedOutputs'],
): Promise<NestedDebDivergence> {
  const nested: NestedDebResult[] = [];
  for (const [index, result] of results.entries()) {
    const entry = report.results[index];
    if (result.kind !== 'built' || !entry) continue;
    if (entry.notCountedReason === 'manifest-differs' || entry.notCountedReason === 'duplicate-envelope')
      continue;
    const byproducts = byproductsByEnvelope.get(result.envelopeSha256) ?? [];
    const base = {
      operator: result.operator,
      workerId: result.workerId,
      counted: entry.counted,
      outputs: result.outputs.map((o) => ({ path: o.path, sha256: o.sha256 })),
      byproducts,
    };
    const inspection = byproducts.find((b) => b.name === DEB_INSPECTION_BYPRODUCT_NAME);
    if (!inspection) {
      nested.push(base);
      continue;
    }
    try {
      const text = await readBlobText(content, inspection.sha256, maxDebInspectionResultBytesDefault);
      nested.push(
        text === undefined
          ? {
              ...base,
              inspectionUnavailable: `${DEB_INSPECTION_BYPRODUCT_NAME} (sha256:${inspection.sha256}) is not in the content store`,
            }
          : { ...base, inspection: parseDebInspectionResult(text, maxDebInspectionResultBytesDefault) },
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      nested.push({ ...base, inspectionUnavailable: `${DEB_INSPECTION_BYPRODUCT_NAME} refused: ${message}` });
    }
  }
  return buildNestedDebDivergence({ results: nested, claimedOutputs });
}
