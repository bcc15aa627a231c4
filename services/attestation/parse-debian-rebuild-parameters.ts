// The Debian section of a rebuild statement's internal parameters (the source built and where every
// package of the environment came from), parsed as strictly as the rest of the statement.
import { isDebianPackageName, parseDebianVersion } from '../debian/debian-version.ts';
import {
  PACKAGE_SOURCE_KINDS,
  type PackageSourceGroup,
  type PackageSourceKind,
} from '../debian/package-sources.ts';
import { isSnapshotTimestamp } from '../debian/snapshot-api.ts';
import { DebianFormatError } from '../errors.ts';
import { describeValue as describe, isAbsoluteUri } from '../untrusted-value-text.ts';
import {
  DEBIAN_SOURCE_ORIGINS,
  type DebianRebuildParameters,
  type DebianSourceFact,
  type DebianSourceOrigin,
} from './rebuild-statement.ts';
import {
  array,
  boolean,
  digestSet,
  invalid,
  nonNegativeInteger,
  optional,
  positiveInteger,
  record,
  string,
} from './statement-field-checks.ts';

/** `internalParameters.debian`, at JSON path `where`. */
export function parseDebianParameters(value: unknown, where: string): DebianRebuildParameters {
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
