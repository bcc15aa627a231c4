// Composes a worker's rebuild statement from what it observed, checks it with the same parser a
// verifier uses, and signs it as a DSSE envelope: the only code that calls `Signer.sign` on a statement.
import { randomUUID } from 'node:crypto';
import { AttestationError } from '../errors.ts';
import { type DsseEnvelope, IN_TOTO_PAYLOAD_TYPE, preAuthEncoding } from './dsse.ts';
import { parseRebuildStatement } from './parse-rebuild-statement.ts';
import {
  BUILD_LOG_BYPRODUCT_NAME,
  deepFreeze,
  ENVIRONMENT_DEPENDENCY_URI,
  IN_TOTO_STATEMENT_V1,
  inputDependencyUri,
  REBUILD_BUILD_TYPE_V1,
  type RebuildFacts,
  type RebuildStatement,
  SLSA_PROVENANCE_V1,
} from './rebuild-statement.ts';
import { compareCodePoints } from './securesystemslib-canonical-json.ts';
import type { Signer } from './signer.ts';
import { invalid } from './statement-field-checks.ts';

/**
 * Composes the statement for a successful rebuild. Subjects and inputs are sorted by path so two
 * workers that rebuilt the same thing produce the same `subject` and `resolvedDependencies`.
 *
 * @throws AttestationError STATEMENT_INVALID when the facts would make a statement our own
 *   verifier refuses (no outputs, duplicate or unsafe paths, bad digests, finishedOn < startedOn, ...).
 */
export function composeRebuildStatement(facts: RebuildFacts): RebuildStatement {
  const { manifest, environment, log, worker, timing, host, job } = facts;
  for (const [field, date] of [
    ['timing.startedOn', timing.startedOn],
    ['timing.finishedOn', timing.finishedOn],
  ] as const) {
    if (!(date instanceof Date) || Number.isNaN(date.getTime()))
      throw invalid(`rebuild facts: ${field} is not a valid Date`);
  }
  const outputs = [...facts.outputs].sort((a, b) => compareCodePoints(a.path, b.path));
  const inputs = [...facts.inputs].sort((a, b) => compareCodePoints(a.path, b.path));

  const statement: RebuildStatement = {
    _type: IN_TOTO_STATEMENT_V1,
    subject: outputs.map((output) => ({ name: output.path, digest: { sha256: output.sha256 } })),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: REBUILD_BUILD_TYPE_V1,
        externalParameters: {
          manifest: { name: manifest.manifest.name, digest: { sha256: manifest.manifestSha256 } },
          manifestDigest: `sha256:${manifest.manifestSha256}`,
          ...(job && { jobId: job.jobId, attempt: job.attempt, nonce: job.nonce }),
        },
        internalParameters: {
          worker: { id: worker.id, operator: worker.operator },
          host: {
            kernelVersion: host.kernelVersion,
            cpuCount: host.cpuCount,
            engineVersion: host.engineVersion,
            storageDriver: host.storageDriver,
            clockUtc: host.clockUtc,
            rbnetVersion: host.rbnetVersion,
          },
          // fromEntries defines own properties, so a path named "__proto__" stays data.
          outputSizes: Object.fromEntries(outputs.map((output) => [output.path, output.sizeBytes])),
          ...(facts.debian && {
            debian: {
              ...(facts.debian.source && {
                source: {
                  name: facts.debian.source.name,
                  version: facts.debian.source.version,
                  origin: facts.debian.source.origin,
                  dscSha256: facts.debian.source.dscSha256,
                },
              }),
              imageSha256: facts.debian.imageSha256,
              extraPackages: [...facts.debian.extraPackages],
              packageCount: facts.debian.packageCount,
              ...(facts.debian.preparationMs !== undefined && { preparationMs: facts.debian.preparationMs }),
              ...(facts.debian.environmentCached !== undefined && {
                environmentCached: facts.debian.environmentCached,
              }),
              ...(facts.debian.packageSources !== undefined && {
                packageSources: facts.debian.packageSources.map((group) => ({
                  ...group,
                  packages: [...group.packages],
                })),
              }),
            },
          }),
        },
        resolvedDependencies: [
          {
            uri: ENVIRONMENT_DEPENDENCY_URI,
            digest: { sha256: environment.imageSha256 },
            annotations: {
              origin: environment.origin,
              ...(environment.recipe !== undefined && { recipe: environment.recipe }),
            },
          },
          ...inputs.map((input) => ({
            uri: inputDependencyUri(input.path),
            digest: { sha256: input.sha256 },
          })),
        ],
      },
      runDetails: {
        builder: { id: worker.builderUri, version: { rbnet: host.rbnetVersion } },
        metadata: {
          invocationId: job?.jobId ?? randomUUID(),
          startedOn: timing.startedOn.toISOString(),
          finishedOn: timing.finishedOn.toISOString(),
        },
        byproducts: [
          {
            name: BUILD_LOG_BYPRODUCT_NAME,
            digest: { sha256: log.sha256 },
            annotations: { sizeBytes: log.sizeBytes, truncated: log.truncated },
          },
          ...[...(facts.byproducts ?? [])]
            .sort((a, b) => compareCodePoints(a.name, b.name))
            .map((file) => ({ name: file.name, digest: { sha256: file.sha256 } })),
        ],
      },
    },
  };
  // Never sign what our verifier would refuse: run the same checks on what we are about to sign.
  parseRebuildStatement(JSON.parse(JSON.stringify(statement)));
  return deepFreeze(statement);
}

/** A signed rebuild statement, ready to upload. */
export interface SignedRebuildStatement {
  readonly envelope: DsseEnvelope;
  readonly statement: RebuildStatement;
  /** `JSON.stringify(envelope)`: the bytes to store and send. */
  readonly envelopeJson: string;
}

/**
 * Composes the statement from `facts` and signs it as a DSSE envelope with payloadType
 * `application/vnd.in-toto+json`. The payload is `JSON.stringify(statement)` in composition order.
 * This is the only code that calls `Signer.sign`, and it signs only bytes it composed here.
 *
 * @throws AttestationError STATEMENT_INVALID (see composeRebuildStatement); signer errors propagate.
 */
export async function signRebuildStatement(
  facts: RebuildFacts,
  signer: Signer,
): Promise<SignedRebuildStatement> {
  const statement = composeRebuildStatement(facts);
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const signature = await signer.sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload));
  if (signature.byteLength === 0)
    throw new AttestationError('KEY_INVALID', `signer ${signer.keyid} returned no signature`);
  const envelope: DsseEnvelope = deepFreeze({
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: payload.toString('base64'),
    signatures: [{ keyid: signer.keyid, sig: Buffer.from(signature).toString('base64') }],
  });
  return Object.freeze({ envelope, statement, envelopeJson: JSON.stringify(envelope) });
}
