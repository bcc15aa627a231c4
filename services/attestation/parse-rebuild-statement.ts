// Parses an untrusted rebuild statement field by field (the in-toto parsing rules: unknown fields are
// dropped, every field rbnet defines must have exactly its documented form) into a frozen, typed copy.
import { describeValue as describe, isAbsoluteUri } from '../untrusted-value-text.ts';
import { parseDebianParameters } from './parse-debian-rebuild-parameters.ts';
import {
  BUILD_LOG_BYPRODUCT_NAME,
  deepFreeze,
  ENVIRONMENT_DEPENDENCY_URI,
  ENVIRONMENT_ORIGINS,
  type EnvironmentDependency,
  type EnvironmentOrigin,
  type FileByproduct,
  IN_TOTO_STATEMENT_V1,
  INPUT_DEPENDENCY_URI_PREFIX,
  type InputDependency,
  inputPathFromUri,
  isSafeRelativePath,
  REBUILD_BUILD_TYPE_V1,
  type RebuildExternalParameters,
  type RebuildInternalParameters,
  type RebuildProvenance,
  type RebuildStatement,
  type RebuildSubject,
  SLSA_PROVENANCE_V1,
} from './rebuild-statement.ts';
import {
  array,
  digestSet,
  invalid,
  nonNegativeInteger,
  optional,
  ownValue,
  positiveInteger,
  record,
  string,
  timestamp,
} from './statement-field-checks.ts';

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
