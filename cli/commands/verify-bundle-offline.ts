// `rbnet verify FILE --bundle B --policy P PIN [--at TIME]`: the offline path of `rbnet verify`.
// Reads only local files and opens no socket: an air-gapped host verifies as of when it got FILE.
import { resolve } from 'node:path';
import type { BuildPin } from '../../services/consensus/build-pin.ts';
import { describeBuildPin } from '../../services/consensus/build-pin.ts';
import type { TrustPolicy } from '../../services/consensus/trust-policy.ts';
import { sha256File } from '../../services/digest.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import { maxBundleBytes } from '../../services/tlog/rbnet-bundle.ts';
import { verifyBundle } from '../../services/tlog/verify-bundle.ts';
import { type CliIo, EXIT, writeLine } from '../command.ts';

export async function verifyFileWithBundle(options: {
  readonly io: CliIo;
  readonly file: string;
  readonly bundlePath: string;
  readonly policy: TrustPolicy;
  readonly pin: BuildPin;
  readonly at: Date;
  readonly json: boolean;
}): Promise<number> {
  const { io, file } = options;
  const bundle = await readBoundedFile(resolve(io.cwd, options.bundlePath), maxBundleBytes, 'bundle');
  const { sha256 } = await sha256File(resolve(io.cwd, file));
  const result = verifyBundle({
    bundle,
    policy: options.policy,
    artifactSha256: sha256,
    pin: options.pin,
    at: options.at,
  });
  const pinned = describeBuildPin(options.pin);
  if (options.json) {
    writeLine(
      io.stdout,
      JSON.stringify(
        {
          file,
          sha256,
          ok: result.ok,
          at: options.at.toISOString(),
          pinned,
          policySha256: options.policy.policySha256,
          verdict: result.consensus.verdict,
          coordinatorVerdict: result.consensus.coordinatorVerdict,
          countedOperators: result.consensus.countedOperators,
          artifactPaths: result.consensus.artifactPaths,
          builtFrom: result.consensus.builtFrom,
          rejected: result.consensus.rejected,
          verdictLogged: result.verdictLogged,
          resultsLogged: result.resultsLogged,
          logProblems: result.logProblems,
          explanation: result.explanation,
        },
        null,
        2,
      ),
    );
  } else {
    writeLine(io.stdout, `${file} sha256:${sha256}`);
    writeLine(io.stdout, `pinned: ${pinned}; judged as of ${options.at.toISOString()}, offline`);
    writeLine(
      io.stdout,
      `  recounted verdict ${result.consensus.verdict} (counted: ${result.consensus.countedOperators.join(', ') || 'none'})`,
    );
    if (result.verdictLogged) {
      const { origin, index, treeSize, cosignedBy } = result.verdictLogged;
      writeLine(
        io.stdout,
        `  logged in ${origin} at index ${index} (tree size ${treeSize}), cosigned by ${cosignedBy.map((c) => `${c.witness} at ${c.at}`).join(', ') || 'no witness'}`,
      );
    }
    writeLine(io.stdout, `  ${result.explanation}`);
    writeLine(
      io.stdout,
      result.ok
        ? `VERIFIED under your policy and pin (${pinned})`
        : `NOT VERIFIED under your policy and pin (${pinned})`,
    );
  }
  return result.ok ? EXIT.ok : EXIT.failed;
}
