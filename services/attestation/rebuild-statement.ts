// The rebuild statement (in-toto Statement v1 + SLSA Provenance v1): its types, composition and strict parsing.

import { randomUUID } from 'node:crypto';
import { isDebianPackageName, parseDebianVersion } from '../debian/debian-version.ts';
import {
  PACKAGE_SOURCE_KINDS,
  type PackageSourceGroup,
  type PackageSourceKind,
} from '../debian/package-sources.ts';
import { isSnapshotTimestamp } from '../debian/snapshot-api.ts';
import { isSha256Hex, type Sha256Hex } from '../digest.ts';
import { AttestationError, DebianFormatError } from '../errors.ts';
import { describeValue as describe, isAbsoluteUri } from '../untrusted-value-text.ts';
import { type DsseEnvelope, IN_TOTO_PAYLOAD_TYPE, preAuthEncoding } from './dsse.ts';
import { compareCodePoints } from './securesystemslib-canonical-json.ts';
import type { Signer } from './signer.ts';

export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const REBUILD_BUILD_TYPE_V1 = 'https://rbnet.dev/rebuild/v1';
export const ENVIRONMENT_DEPENDENCY_URI = 'rbnet:environment';
/** Followed by the input's path, each segment percent-encoded with encodeURIComponent. */
export const INPUT_DEPENDENCY_URI_PREFIX = 'rbnet:input/';
export const BUILD_LOG_BYPRODUCT_NAME = 'build.log';

export type EnvironmentOrigin = 'built-locally' | 'fetched';
const ENVIRONMENT_ORIGINS: readonly EnvironmentOrigin[] = ['built-locally', 'fetched'];

/** What a worker observed in one successful rebuild; typed data, never bytes a caller supplied. */
export interface RebuildFacts {
  /** Its `manifestSha256` and `manifest.name` are recorded (any manifest kind). */
  readonly manifest: { readonly manifestSha256: Sha256Hex; readonly manifest: { readonly name: string } };
  /** At least one. `path` is relative to the manifest's outputDir. */
  readonly outputs: readonly {
    readonly path: string;
    readonly sha256: Sha256Hex;
    readonly sizeBytes: number;
  }[];
  readonly environment: {
    /** sha256 of the uncompressed rootfs tarball (the image's layer diff ID). */
    readonly imageSha256: Sha256Hex;
    readonly origin: EnvironmentOrigin;
    /** How a locally built environment was made (e.g. an mmdebstrap recipe id). */
    readonly recipe?: string;
  };
  readonly inputs: readonly { readonly path: string; readonly sha256: Sha256Hex }[];
  readonly log: { readonly sha256: Sha256Hex; readonly sizeBytes: number; readonly truncated: boolean };
  /** `builderUri` e.g. "https://rbnet.dev/worker/<operator>/<id>". */
  readonly worker: { readonly id: string; readonly operator: string; readonly builderUri: string };
  readonly timing: { readonly startedOn: Date; readonly finishedOn: Date };
  readonly host: RebuildHost;
  /** Present when the network assigned the job; absent for a local `rbnet rebuild`. */
  readonly job?: RebuildJob;
  /** Files the build also made that are recorded but not attested as outputs (e.g. the rebuild's own .buildinfo). */
  readonly byproducts?: readonly { readonly name: string; readonly sha256: Sha256Hex }[];
  /** Present for Debian rebuilds: how the exact environment was resolved and made. */
  readonly debian?: DebianRebuildParameters;
}

/**
 * Where a Debian rebuild's source came from. `archive`: this worker fetched it by name and version
 * from its own configured archive and checked every file against that archive's signed Sources
 * index. `uploaded`: the submitter supplied the files (pinned by digest in the manifest); nothing
 * ties them to any archive.
 */
export type DebianSourceOrigin = 'archive' | 'uploaded';
const DEBIAN_SOURCE_ORIGINS: readonly DebianSourceOrigin[] = ['archive', 'uploaded'];

/** The source a Debian rebuild was built from, as the worker signs it. */
export interface DebianSourceFact {
  /** Source package name (the .buildinfo's Source). */
  readonly name: string;
  /** Source version as written (the .buildinfo's source version, epoch included). */
  readonly version: string;
  readonly origin: DebianSourceOrigin;
  /** sha256 of the .dsc the build unpacked. */
  readonly dscSha256: Sha256Hex;
}

/** What a Debian rebuild records about its environment beyond the environment identity digest. */
export interface DebianRebuildParameters {
  /**
   * The source built, and whether it came from the signed archive. Always written by this version;
   * absent from statements of older workers, which therefore never satisfy an archive pin.
   */
  readonly source?: DebianSourceFact;
  /** sha256 of the engine image's only layer: recorded, never compared (only the package list is the identity). */
  readonly imageSha256: Sha256Hex;
  /** Packages installed beyond Installed-Build-Depends, from the documented base list, as `name:arch=version`. */
  readonly extraPackages: readonly string[];
  /** How many packages the environment identity covers. */
  readonly packageCount: number;
  /** Milliseconds this worker spent preparing (or finding) the environment for this build. */
  readonly preparationMs?: number;
  /** Whether the environment came from this worker's cache. */
  readonly environmentCached?: boolean;
  /**
   * Where each package came from: groups of `name:arch=version` labels sharing one origin (the mirror,
   * this worker's kept evidence, or a snapshot archive with its timestamp) and the signed index that
   * listed them. Recorded beside the environment identity, never part of it.
   */
  readonly packageSources?: readonly PackageSourceGroup[];
}

export interface RebuildHost {
  readonly kernelVersion: string;
  readonly cpuCount: number;
  readonly engineVersion: string;
  readonly storageDriver: string;
  readonly clockUtc: string;
  readonly rbnetVersion: string;
}

export interface RebuildJob {
  readonly jobId: string;
  /** BullMQ-style attempt counter (0 or more). */
  readonly attempt: number;
  /** Coordinator-chosen freshness value, so an old attestation cannot answer a new job. */
  readonly nonce: string;
}

export interface Sha256DigestSet {
  readonly sha256: Sha256Hex;
}

export interface RebuildSubject {
  readonly name: string;
  readonly digest: Sha256DigestSet;
}

export interface RebuildExternalParameters {
  readonly manifest: { readonly name: string; readonly digest: Sha256DigestSet };
  /** `sha256:<hex>`, the same digest as `manifest.digest.sha256`, in the form people paste. */
  readonly manifestDigest: string;
  readonly jobId?: string;
  readonly attempt?: number;
  readonly nonce?: string;
}

export interface RebuildInternalParameters {
  readonly worker: { readonly id: string; readonly operator: string };
  readonly host: RebuildHost;
  /** Size in bytes of every subject, keyed by subject name (exactly the subject names). */
  readonly outputSizes: Readonly<Record<string, number>>;
  readonly debian?: DebianRebuildParameters;
}

export interface EnvironmentDependency {
  readonly uri: typeof ENVIRONMENT_DEPENDENCY_URI;
  readonly digest: Sha256DigestSet;
  readonly annotations: { readonly origin: EnvironmentOrigin; readonly recipe?: string };
}

export interface InputDependency {
  readonly uri: string;
  readonly digest: Sha256DigestSet;
}

export interface BuildLogByproduct {
  readonly name: typeof BUILD_LOG_BYPRODUCT_NAME;
  readonly digest: Sha256DigestSet;
  readonly annotations: { readonly sizeBytes: number; readonly truncated: boolean };
}

/** A file the build made that is recorded, not attested as an output. */
export interface FileByproduct {
  readonly name: string;
  readonly digest: Sha256DigestSet;
}

export interface RebuildProvenance {
  readonly buildDefinition: {
    readonly buildType: typeof REBUILD_BUILD_TYPE_V1;
    readonly externalParameters: RebuildExternalParameters;
    readonly internalParameters: RebuildInternalParameters;
    /** The environment first, then one entry per input sorted by path. */
    readonly resolvedDependencies: readonly [EnvironmentDependency, ...InputDependency[]];
  };
  readonly runDetails: {
    readonly builder: { readonly id: string; readonly version: { readonly rbnet: string } };
    readonly metadata: {
      readonly invocationId: string;
      readonly startedOn: string;
      readonly finishedOn: string;
    };
    readonly byproducts: readonly [BuildLogByproduct, ...FileByproduct[]];
  };
}

/** An rbnet rebuild statement. Objects of this type are always deeply frozen. */
export interface RebuildStatement {
  readonly _type: typeof IN_TOTO_STATEMENT_V1;
  /** One per output, sorted by name (code point order); name + digest only. */
  readonly subject: readonly RebuildSubject[];
  readonly predicateType: typeof SLSA_PROVENANCE_V1;
  readonly predicate: RebuildProvenance;
}

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

/** `rbnet:input/<path>` with each path segment percent-encoded, so any legal file name makes a valid URI. */
export function inputDependencyUri(path: string): string {
  return INPUT_DEPENDENCY_URI_PREFIX + path.split('/').map(encodeURIComponent).join('/');
}

/**
 * Whether `path` may name an output or input: relative POSIX path, no empty, `.` or `..` segment,
 * no backslash (a path separator to Windows consumers), no control character, at most 4096 bytes.
 */
export function isSafeRelativePath(path: string): boolean {
  if (path === '' || Buffer.byteLength(path, 'utf8') > 4096) return false;
  if (path.startsWith('/') || path.includes('\\') || /[\u0000-\u001f\u007f]/.test(path)) return false;
  return path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/**
 * Checks an untrusted, already JSON-parsed statement field by field and returns a typed, deeply
 * frozen copy of what was checked. Unknown fields are ignored and dropped, as the in-toto parsing
 * rules ask; every field rbnet defines is required to have exactly its documented form.
 *
 * Order: `_type`, `predicateType`, `buildType`, subjects, external parameters (manifest digest),
 * resolved dependencies (environment first), internal parameters, run details.
 *
 * @throws AttestationError STATEMENT_INVALID naming the field and what was wrong with it.
 */
export function parseRebuildStatement(value: unknown): RebuildStatement {
  const root = record(value, 'statement');
  if (root._type !== IN_TOTO_STATEMENT_V1) {
    throw invalid(`statement._type is ${describe(root._type)}, expected "${IN_TOTO_STATEMENT_V1}"`);
  }
  if (root.predicateType !== SLSA_PROVENANCE_V1) {
    throw invalid(
      `statement.predicateType is ${describe(root.predicateType)}, expected "${SLSA_PROVENANCE_V1}"`,
    );
  }
  const predicate = record(root.predicate, 'predicate');
  const definition = record(predicate.buildDefinition, 'predicate.buildDefinition');
  if (definition.buildType !== REBUILD_BUILD_TYPE_V1) {
    throw invalid(
      `predicate.buildDefinition.buildType is ${describe(definition.buildType)}, expected "${REBUILD_BUILD_TYPE_V1}"`,
    );
  }

  const subject = parseSubjects(root.subject);
  const externalParameters = parseExternalParameters(definition.externalParameters);
  const resolvedDependencies = parseDependencies(definition.resolvedDependencies);
  const internalParameters = parseInternalParameters(definition.internalParameters, subject);
  const runDetails = parseRunDetails(predicate.runDetails, externalParameters);

  return deepFreeze({
    _type: IN_TOTO_STATEMENT_V1,
    subject,
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: REBUILD_BUILD_TYPE_V1,
        externalParameters,
        internalParameters,
        resolvedDependencies,
      },
      runDetails,
    },
  });
}

function parseSubjects(value: unknown): RebuildSubject[] {
  const list = array(value, 'subject');
  if (list.length === 0) throw invalid('subject is empty; a rebuild attests at least one output');
  const seen = new Set<string>();
  return list.map((entry, index) => {
    const field = `subject[${index}]`;
    const item = record(entry, field);
    const name = string(item.name, `${field}.name`);
    if (!isSafeRelativePath(name)) {
      throw invalid(
        `${field}.name ${describe(name)} is not a safe relative path (no leading /, no . or .. segments)`,
      );
    }
    if (seen.has(name)) throw invalid(`${field}.name ${describe(name)} appears more than once`);
    seen.add(name);
    return { name, digest: digestSet(item.digest, `${field}.digest`) };
  });
}

function parseExternalParameters(value: unknown): RebuildExternalParameters {
  const where = 'predicate.buildDefinition.externalParameters';
  const params = record(value, where);
  const manifestDigest = string(params.manifestDigest, `${where}.manifestDigest`);
  const match = /^sha256:([0-9a-f]{64})$/.exec(manifestDigest);
  if (!match) {
    throw invalid(
      `${where}.manifestDigest is ${describe(manifestDigest)}, expected "sha256:" + 64 lowercase hex`,
    );
  }
  const manifest = record(params.manifest, `${where}.manifest`);
  const name = string(manifest.name, `${where}.manifest.name`);
  const digest = digestSet(manifest.digest, `${where}.manifest.digest`);
  if (digest.sha256 !== match[1]) {
    throw invalid(
      `${where}.manifest.digest.sha256 ${digest.sha256} differs from manifestDigest ${manifestDigest}`,
    );
  }
  const jobId = optional(params.jobId, (v) => string(v, `${where}.jobId`));
  const attempt = optional(params.attempt, (v) => nonNegativeInteger(v, `${where}.attempt`));
  const nonce = optional(params.nonce, (v) => string(v, `${where}.nonce`));
  const jobFields = [jobId, attempt, nonce].filter((v) => v !== undefined).length;
  if (jobFields !== 0 && jobFields !== 3) throw invalid(`${where}: jobId, attempt and nonce go together`);
  return {
    manifest: { name, digest },
    manifestDigest,
    ...(jobFields === 3 && { jobId, attempt, nonce }),
  };
}

function parseDependencies(value: unknown): [EnvironmentDependency, ...InputDependency[]] {
  const where = 'predicate.buildDefinition.resolvedDependencies';
  const list = array(value, where);
  const first = list[0] === undefined ? undefined : record(list[0], `${where}[0]`);
  if (first?.uri !== ENVIRONMENT_DEPENDENCY_URI) {
    throw invalid(`${where}[0] must be the environment (uri "${ENVIRONMENT_DEPENDENCY_URI}")`);
  }
  const annotations = record(first.annotations, `${where}[0].annotations`);
  const origin = annotations.origin;
  if (!ENVIRONMENT_ORIGINS.includes(origin as EnvironmentOrigin)) {
    throw invalid(
      `${where}[0].annotations.origin is ${describe(origin)}, expected "built-locally" or "fetched"`,
    );
  }
  const recipe = optional(annotations.recipe, (v) => string(v, `${where}[0].annotations.recipe`));
  const environment: EnvironmentDependency = {
    uri: ENVIRONMENT_DEPENDENCY_URI,
    digest: digestSet(first.digest, `${where}[0].digest`),
    annotations: { origin: origin as EnvironmentOrigin, ...(recipe !== undefined && { recipe }) },
  };
  const seen = new Set<string>();
  const inputs = list.slice(1).map((entry, offset): InputDependency => {
    const field = `${where}[${offset + 1}]`;
    const item = record(entry, field);
    const uri = string(item.uri, `${field}.uri`);
    if (uri === ENVIRONMENT_DEPENDENCY_URI) throw invalid(`${field}: a second environment dependency`);
    const path = inputPathFromUri(uri);
    if (path === undefined) {
      throw invalid(
        `${field}.uri ${describe(uri)} is not "${INPUT_DEPENDENCY_URI_PREFIX}" + a safe relative path`,
      );
    }
    if (seen.has(path)) throw invalid(`${field}.uri names input ${describe(path)} more than once`);
    seen.add(path);
    return { uri, digest: digestSet(item.digest, `${field}.digest`) };
  });
  return [environment, ...inputs];
}

/** The input path a dependency URI names, or undefined unless the URI is in its one canonical spelling. */
export function inputPathFromUri(uri: string): string | undefined {
  if (!uri.startsWith(INPUT_DEPENDENCY_URI_PREFIX)) return undefined;
  let path: string;
  try {
    path = uri.slice(INPUT_DEPENDENCY_URI_PREFIX.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
  return isSafeRelativePath(path) && inputDependencyUri(path) === uri ? path : undefined;
}

function parseInternalParameters(
  value: unknown,
  subjects: readonly RebuildSubject[],
): RebuildInternalParameters {
  const where = 'predicate.buildDefinition.internalParameters';
  const params = record(value, where);
  const worker = record(params.worker, `${where}.worker`);
  const host = record(params.host, `${where}.host`);
  const sizes = record(params.outputSizes, `${where}.outputSizes`);
  const names = new Set(subjects.map((s) => s.name));
  for (const key of Object.keys(sizes)) {
    if (!names.has(key)) throw invalid(`${where}.outputSizes has ${describe(key)}, which is not a subject`);
  }
  return {
    worker: {
      id: string(worker.id, `${where}.worker.id`),
      operator: string(worker.operator, `${where}.worker.operator`),
    },
    host: {
      kernelVersion: string(host.kernelVersion, `${where}.host.kernelVersion`, true),
      cpuCount: positiveInteger(host.cpuCount, `${where}.host.cpuCount`),
      engineVersion: string(host.engineVersion, `${where}.host.engineVersion`, true),
      storageDriver: string(host.storageDriver, `${where}.host.storageDriver`, true),
      clockUtc: string(host.clockUtc, `${where}.host.clockUtc`, true),
      rbnetVersion: string(host.rbnetVersion, `${where}.host.rbnetVersion`, true),
    },
    outputSizes: Object.fromEntries(
      subjects.map((s) => [
        s.name,
        nonNegativeInteger(ownValue(sizes, s.name), `${where}.outputSizes[${describe(s.name)}]`),
      ]),
    ),
    ...(optional(params.debian, (v) => parseDebianParameters(v, `${where}.debian`)) !== undefined && {
      debian: parseDebianParameters(params.debian, `${where}.debian`),
    }),
  };
}

function parseRunDetails(
  value: unknown,
  external: RebuildExternalParameters,
): RebuildProvenance['runDetails'] {
  const where = 'predicate.runDetails';
  const details = record(value, where);
  const builder = record(details.builder, `${where}.builder`);
  const id = string(builder.id, `${where}.builder.id`);
  if (!isAbsoluteUri(id)) throw invalid(`${where}.builder.id ${describe(id)} is not an absolute URI`);
  const version = record(builder.version, `${where}.builder.version`);
  const metadata = record(details.metadata, `${where}.metadata`);
  const invocationId = string(metadata.invocationId, `${where}.metadata.invocationId`);
  if (external.jobId !== undefined && invocationId !== external.jobId) {
    throw invalid(
      `${where}.metadata.invocationId ${describe(invocationId)} differs from jobId ${describe(external.jobId)}`,
    );
  }
  const startedOn = timestamp(metadata.startedOn, `${where}.metadata.startedOn`);
  const finishedOn = timestamp(metadata.finishedOn, `${where}.metadata.finishedOn`);
  if (Date.parse(finishedOn) < Date.parse(startedOn)) {
    throw invalid(`${where}.metadata.finishedOn ${finishedOn} is before startedOn ${startedOn}`);
  }
  const byproducts = array(details.byproducts, `${where}.byproducts`);
  if (byproducts.length === 0) throw invalid(`${where}.byproducts must start with the build log`);
  const log = record(byproducts[0], `${where}.byproducts[0]`);
  if (log.name !== BUILD_LOG_BYPRODUCT_NAME) {
    throw invalid(
      `${where}.byproducts[0].name is ${describe(log.name)}, expected "${BUILD_LOG_BYPRODUCT_NAME}"`,
    );
  }
  const annotations = record(log.annotations, `${where}.byproducts[0].annotations`);
  if (typeof annotations.truncated !== 'boolean') {
    throw invalid(`${where}.byproducts[0].annotations.truncated must be a boolean`);
  }
  return {
    builder: { id, version: { rbnet: string(version.rbnet, `${where}.builder.version.rbnet`) } },
    metadata: { invocationId, startedOn, finishedOn },
    byproducts: [
      {
        name: BUILD_LOG_BYPRODUCT_NAME,
        digest: digestSet(log.digest, `${where}.byproducts[0].digest`),
        annotations: {
          sizeBytes: nonNegativeInteger(
            annotations.sizeBytes,
            `${where}.byproducts[0].annotations.sizeBytes`,
          ),
          truncated: annotations.truncated,
        },
      },
      ...parseFileByproducts(byproducts.slice(1), `${where}.byproducts`),
    ],
  };
}

function parseFileByproducts(entries: readonly unknown[], where: string): FileByproduct[] {
  const seen = new Set<string>([BUILD_LOG_BYPRODUCT_NAME]);
  return entries.map((entry, offset) => {
    const field = `${where}[${offset + 1}]`;
    const item = record(entry, field);
    const name = string(item.name, `${field}.name`);
    if (!isSafeRelativePath(name))
      throw invalid(`${field}.name ${describe(name)} is not a safe relative path`);
    if (seen.has(name)) throw invalid(`${field}.name ${describe(name)} appears more than once`);
    seen.add(name);
    return { name, digest: digestSet(item.digest, `${field}.digest`) };
  });
}

function parseDebianParameters(value: unknown, where: string): DebianRebuildParameters {
  const debian = record(value, where);
  const extras = array(debian.extraPackages, `${where}.extraPackages`).map((item, index) =>
    string(item, `${where}.extraPackages[${index}]`),
  );
  const source = optional(debian.source, (v) => parseDebianSource(v, `${where}.source`));
  return {
    ...(source !== undefined && { source }),
    imageSha256: digestSet({ sha256: debian.imageSha256 }, `${where}.imageSha256`).sha256,
    extraPackages: extras,
    packageCount: positiveInteger(debian.packageCount, `${where}.packageCount`),
    ...(debian.preparationMs !== undefined && {
      preparationMs: nonNegativeInteger(debian.preparationMs, `${where}.preparationMs`),
    }),
    ...(debian.environmentCached !== undefined && {
      environmentCached: boolean(debian.environmentCached, `${where}.environmentCached`),
    }),
    ...(debian.packageSources !== undefined && {
      packageSources: parsePackageSources(debian.packageSources, `${where}.packageSources`),
    }),
  };
}

function parseDebianSource(value: unknown, where: string): DebianSourceFact {
  const source = record(value, where);
  const name = string(source.name, `${where}.name`);
  if (!isDebianPackageName(name))
    throw invalid(`${where}.name ${describe(name)} is not a Debian package name`);
  const version = string(source.version, `${where}.version`);
  try {
    parseDebianVersion(version, `${where}.version`);
  } catch (error) {
    if (error instanceof DebianFormatError) throw invalid(error.message);
    throw error;
  }
  if (!DEBIAN_SOURCE_ORIGINS.includes(source.origin as DebianSourceOrigin)) {
    throw invalid(`${where}.origin is ${describe(source.origin)}, expected "archive" or "uploaded"`);
  }
  return {
    name,
    version,
    origin: source.origin as DebianSourceOrigin,
    dscSha256: digestSet({ sha256: source.dscSha256 }, `${where}.dscSha256`).sha256,
  };
}

/** `name:arch=version` with a Debian package name, an architecture and a version without spaces. */
const PACKAGE_LABEL = /^[a-z0-9][a-z0-9+.-]*:[a-z0-9][a-z0-9-]*=[A-Za-z0-9.+~:-]+$/;
const SUITE_NAME = /^[a-z0-9][a-z0-9.-]*$/;

function parsePackageSources(value: unknown, where: string): PackageSourceGroup[] {
  const seen = new Set<string>();
  return array(value, where).map((entry, index) => {
    const field = `${where}[${index}]`;
    const group = record(entry, field);
    const from = string(group.from, `${field}.from`);
    if (!(PACKAGE_SOURCE_KINDS as readonly string[]).includes(from))
      throw invalid(`${field}.from ${describe(from)} is not one of ${PACKAGE_SOURCE_KINDS.join(', ')}`);
    const archive = string(group.archive, `${field}.archive`);
    if (!isAbsoluteUri(archive))
      throw invalid(`${field}.archive ${describe(archive)} is not an absolute URI`);
    const suite = string(group.suite, `${field}.suite`);
    if (!SUITE_NAME.test(suite)) throw invalid(`${field}.suite ${describe(suite)} is not a suite name`);
    const releaseSha256 = digestSet({ sha256: group.releaseSha256 }, `${field}.releaseSha256`).sha256;
    const snapshotTimestamp = group.snapshotTimestamp;
    if (snapshotTimestamp !== undefined && !isSnapshotTimestamp(snapshotTimestamp))
      throw invalid(`${field}.snapshotTimestamp ${describe(snapshotTimestamp)} is not a snapshot timestamp`);
    if (from === 'snapshot' && snapshotTimestamp === undefined)
      throw invalid(`${field}.snapshotTimestamp is required for packages from a snapshot`);
    const packages = array(group.packages, `${field}.packages`).map((item, i) => {
      const label = string(item, `${field}.packages[${i}]`);
      if (!PACKAGE_LABEL.test(label))
        throw invalid(`${field}.packages[${i}] ${describe(label)} is not "name:arch=version"`);
      if (seen.has(label)) throw invalid(`${field}.packages[${i}] ${describe(label)} appears more than once`);
      seen.add(label);
      return label;
    });
    if (packages.length === 0) throw invalid(`${field}.packages must name at least one package`);
    return {
      from: from as PackageSourceKind,
      archive,
      suite,
      releaseSha256,
      ...(snapshotTimestamp === undefined ? {} : { snapshotTimestamp: snapshotTimestamp as string }),
      packages,
    };
  });
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${field} must be an object`);
  return value as Record<string, unknown>;
}

function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(`${field} must be an array`);
  return value;
}

function string(value: unknown, field: string, allowEmpty = false): string {
  if (typeof value !== 'string' || (!allowEmpty && value === '')) {
    throw invalid(`${field} must be a ${allowEmpty ? '' : 'non-empty '}string, got ${describe(value)}`);
  }
  return value;
}

function boolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw invalid(`${field} must be a boolean, got ${describe(value)}`);
  return value;
}

function nonNegativeInteger(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw invalid(`${field} must be a non-negative integer, got ${describe(value)}`);
  }
  return value as number;
}

function positiveInteger(value: unknown, field: string): number {
  if (nonNegativeInteger(value, field) === 0) throw invalid(`${field} must be at least 1`);
  return value as number;
}

function digestSet(value: unknown, field: string): Sha256DigestSet {
  const sha256 = record(value, field).sha256;
  if (!isSha256Hex(sha256))
    throw invalid(`${field}.sha256 must be 64 lowercase hex characters, got ${describe(sha256)}`);
  return { sha256 };
}

/** RFC 3339 UTC as Date.toISOString writes it; other spellings would make equal instants compare unequal. */
function timestamp(value: unknown, field: string): string {
  const text = string(value, field);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(text) || Number.isNaN(Date.parse(text))) {
    throw invalid(
      `${field} must be an ISO 8601 UTC timestamp like 2025-01-31T12:00:00.000Z, got ${describe(text)}`,
    );
  }
  return text;
}

/** in-toto parsing rules: unset and null mean the same. */
function optional<T>(value: unknown, parse: (value: unknown) => T): T | undefined {
  return value === undefined || value === null ? undefined : parse(value);
}

function ownValue(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function invalid(message: string): AttestationError {
  return new AttestationError('STATEMENT_INVALID', message);
}

/** Freezes `value` and everything reachable from it; returns it with its type unchanged. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
