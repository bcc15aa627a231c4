// The wire contract of sync profiles (`rbnet admin sync …`, /v1/admin/sync-profiles): which archive
// the coordinator follows, where each upload's .buildinfo is fetched from, which packages count, and
// as which maintainer the builds are submitted. Requests are closed and every field is bounded; the
// refusal names the field.
import { posix } from 'node:path';
import {
  accountNameRule,
  architectureRule,
  archiveComponentRule,
  archiveSuiteRule,
  packageNamePatternRule,
  sectionPatternRule,
  syncProfileNameRule,
} from '../identifiers.ts';
import {
  arrayOf,
  boolean,
  described,
  identifier,
  integer,
  object,
  parseWire,
  sha256,
  text,
  timestamp,
  type WireFail,
  type WireType,
} from './wire-type.ts';

/** Limits of a sync profile request, in one place (docs/api.md quotes them). */
export const syncProfileLimits = Object.freeze({
  /** Largest request body: an armored keyring and the rest of the profile. */
  maxBodyBytes: 96 * 1024,
  maxUrlLength: 512,
  maxKeyringPathLength: 4096,
  maxArmoredKeyBytes: 64 * 1024,
  maxSuites: 16,
  maxComponents: 16,
  maxArchitectures: 16,
  maxNamePatterns: 1000,
  maxSectionPatterns: 100,
  minPriority: 0,
  maxPriority: 1000,
  /** Submissions per hour. */
  minRateLimitPerHour: 1,
  maxRateLimitPerHour: 36_000,
  maxInitialDelaySeconds: 7 * 86_400,
  /** Profiles one coordinator keeps (the store refuses more). */
  maxProfiles: 64,
});

/** Defaults of the optional fields of a profile. */
export const syncProfileDefaults = Object.freeze({
  priority: 100,
  rateLimitPerHour: 600,
  initialDelaySeconds: 3600,
});

/**
 * The OpenPGP keys a signature must verify with: a file on the coordinator's host (a keyring gpgv
 * reads, e.g. /usr/share/keyrings/debian-archive-keyring.gpg) or an ASCII-armored public key block.
 */
export type SyncKeyring = { readonly path: string } | { readonly armored: string };

/** Package-selection rules: a package matches when its name (source or binary) or section matches. */
export interface SyncRules {
  readonly names?: readonly string[];
  readonly sections?: readonly string[];
}

export interface SyncArchive {
  /** The mirror's root (`http://deb.debian.org/debian`): `dists/` and `pool/` are under it. */
  readonly url: string;
  readonly suites: readonly string[];
  readonly components: readonly string[];
  readonly architectures: readonly string[];
  /** Signs the archive's InRelease. */
  readonly keyring: SyncKeyring;
}

export interface SyncBuildinfoSource {
  /**
   * Where one upload's .buildinfo is: `{source}`, `{prefix}` (the pool prefix: `libf` for
   * `libfoo`, else the first letter), `{version}` (the binaries' version the .buildinfo is named
   * after, a binNMU's `+bN` included, without its epoch, as pool file names are) and `{arch}` are
   * replaced; e.g. Debian's buildinfo pool,
   * `https://buildinfos.debian.net/buildinfo-pool/{prefix}/{source}/{source}_{version}_{arch}.buildinfo`.
   */
  readonly urlTemplate: string;
  /** When given, each .buildinfo must be clearsigned by one of these keys. */
  readonly keyring?: SyncKeyring;
}

/** What `rbnet admin sync add` sends. */
export interface SyncProfileRequest {
  readonly name: string;
  readonly archive: SyncArchive;
  readonly buildinfo: SyncBuildinfoSource;
  /** Absent or empty: every package. */
  readonly include?: SyncRules;
  readonly exclude?: SyncRules;
  /** Higher goes first among profiles; default {@link syncProfileDefaults}. */
  readonly priority?: number;
  /** Submissions per hour at most. */
  readonly rateLimitPerHour?: number;
  /** How long after an upload is first seen its missing .buildinfo is not yet a failure. */
  readonly initialDelaySeconds?: number;
  /** The registered maintainer the builds are submitted as. */
  readonly maintainer: string;
}

/** A keyring as the coordinator shows it: the path, or the digest and size of the armored block. */
export type SyncKeyringView =
  | { readonly path: string }
  | { readonly armoredSha256: string; readonly armoredBytes: number };

/** A stored profile as an administrator sees it (an armored key by its digest). */
export interface SyncProfileView {
  readonly name: string;
  readonly archive: Omit<SyncArchive, 'keyring'> & { readonly keyring: SyncKeyringView };
  readonly buildinfo: { readonly urlTemplate: string; readonly keyring?: SyncKeyringView };
  readonly include: SyncRules;
  readonly exclude: SyncRules;
  readonly priority: number;
  readonly rateLimitPerHour: number;
  readonly initialDelaySeconds: number;
  readonly maintainer: string;
  readonly paused: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface SyncProfileList {
  readonly profiles: readonly SyncProfileView[];
}

/** `type`, then `check` on what it read (a refusal names `field`). */
function refined<T>(
  type: WireType<T>,
  check: (value: T, field: string, fail: WireFail) => void,
): WireType<T> {
  return {
    schema: type.schema,
    read(value, field, fail) {
      const read = type.read(value, field, fail);
      check(read, field, fail);
      return read;
    },
  };
}

/** An absolute http(s) URL without credentials, query or fragment. */
function checkHttpUrl(value: string, field: string, fail: WireFail): void {
  const url = URL.canParse(value) ? new URL(value) : fail(field, 'expected an absolute http or https URL');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(field, 'expected an http or https URL');
  if (url.username !== '' || url.password !== '') fail(field, 'credentials in the URL are not allowed');
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#'))
    fail(field, 'a query or fragment is not allowed');
}

const httpUrl = refined(
  text({
    maxLength: syncProfileLimits.maxUrlLength,
    minLength: 8,
    characters: 'printable',
    description: 'an http(s) URL without credentials, query or fragment',
  }),
  checkHttpUrl,
);

/** The placeholders a .buildinfo URL template may use. */
export const BUILDINFO_PLACEHOLDERS = ['source', 'prefix', 'version', 'arch'] as const;

const urlTemplate = refined(
  text({
    maxLength: syncProfileLimits.maxUrlLength,
    minLength: 8,
    characters: 'printable',
    description: `an http(s) URL with {${BUILDINFO_PLACEHOLDERS.join('}, {')}} (the first, third and fourth required)`,
  }),
  (value, field, fail) => {
    const placeholders = [...value.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
    for (const name of placeholders)
      if (!(BUILDINFO_PLACEHOLDERS as readonly string[]).includes(name))
        fail(field, `unknown placeholder {${name.slice(0, 32)}}`);
    for (const name of ['source', 'version', 'arch'])
      if (!placeholders.includes(name)) fail(field, `the placeholder {${name}} is required`);
    const filled = value.replace(/\{[a-z]+\}/g, 'x');
    if (/[{}]/.test(filled)) fail(field, 'an unmatched { or }');
    checkHttpUrl(filled, field, fail);
  },
);

const ARMOR_BEGIN = '-----BEGIN PGP PUBLIC KEY BLOCK-----';
const ARMOR_END = '-----END PGP PUBLIC KEY BLOCK-----';

const keyringPath = refined(
  text({
    maxLength: syncProfileLimits.maxKeyringPathLength,
    minLength: 2,
    characters: 'printable',
    description: "an absolute, normalised path on the coordinator's host",
  }),
  (value, field, fail) => {
    if (!value.startsWith('/') || posix.normalize(value) !== value || value.endsWith('/'))
      fail(field, 'expected an absolute, normalised file path');
  },
);

const armoredKey = refined(
  text({
    maxLength: syncProfileLimits.maxArmoredKeyBytes,
    minLength: ARMOR_BEGIN.length + ARMOR_END.length,
    characters: 'text',
    description: 'an ASCII-armored OpenPGP public key block',
  }),
  (value, field, fail) => {
    const trimmed = value.trim();
    if (!trimmed.startsWith(ARMOR_BEGIN) || !trimmed.endsWith(ARMOR_END))
      fail(field, `expected one ASCII-armored public key block (${ARMOR_BEGIN} … ${ARMOR_END})`);
    if (/[^\t\n\r -~]/.test(value)) fail(field, 'ASCII armor holds ASCII characters only');
  },
);

const keyringType: WireType<SyncKeyring> = {
  schema: {
    oneOf: [object({ path: keyringPath }).schema, object({ armored: armoredKey }).schema],
  },
  read(value, field, fail) {
    const read = object({}, { path: keyringPath, armored: armoredKey }).read(value, field, fail);
    if (read.path !== undefined && read.armored === undefined) return Object.freeze({ path: read.path });
    if (read.armored !== undefined && read.path === undefined)
      return Object.freeze({ armored: read.armored });
    return fail(field, 'expected exactly one of path or armored');
  },
};

const rulesType: WireType<SyncRules> = object(
  {},
  {
    names: arrayOf(identifier(packageNamePatternRule), {
      maxItems: syncProfileLimits.maxNamePatterns,
      unique: true,
      description: 'source or binary package names; `*` and `?` are globs',
    }),
    sections: arrayOf(identifier(sectionPatternRule), {
      maxItems: syncProfileLimits.maxSectionPatterns,
      unique: true,
      description: 'sections (`libs`, `contrib/*`); `*` and `?` are globs',
    }),
  },
);

const archiveFields = {
  url: described(httpUrl, "the mirror's root: dists/ and pool/ are under it"),
  suites: arrayOf(identifier(archiveSuiteRule), {
    maxItems: syncProfileLimits.maxSuites,
    minItems: 1,
    unique: true,
  }),
  components: arrayOf(identifier(archiveComponentRule), {
    maxItems: syncProfileLimits.maxComponents,
    minItems: 1,
    unique: true,
  }),
  architectures: arrayOf(identifier(architectureRule), {
    maxItems: syncProfileLimits.maxArchitectures,
    minItems: 1,
    unique: true,
  }),
};

export const syncProfileRequestType: WireType<SyncProfileRequest> = object(
  {
    name: identifier(syncProfileNameRule),
    archive: object({ ...archiveFields, keyring: keyringType }),
    buildinfo: object({ urlTemplate }, { keyring: keyringType }),
    maintainer: identifier(accountNameRule, 'a registered maintainer'),
  },
  {
    include: rulesType,
    exclude: rulesType,
    priority: integer({
      minimum: syncProfileLimits.minPriority,
      maximum: syncProfileLimits.maxPriority,
      description: `higher goes first; default ${syncProfileDefaults.priority}`,
    }),
    rateLimitPerHour: integer({
      minimum: syncProfileLimits.minRateLimitPerHour,
      maximum: syncProfileLimits.maxRateLimitPerHour,
      description: `submissions per hour at most; default ${syncProfileDefaults.rateLimitPerHour}`,
    }),
    initialDelaySeconds: integer({
      minimum: 0,
      maximum: syncProfileLimits.maxInitialDelaySeconds,
      description: `how long a missing .buildinfo is waited for before it counts as missing; default ${syncProfileDefaults.initialDelaySeconds}`,
    }),
  },
);

const answer = { unknown: 'ignore' } as const;

const keyringViewType: WireType<SyncKeyringView> = {
  schema: {
    oneOf: [
      object({ path: text({ maxLength: syncProfileLimits.maxKeyringPathLength }) }).schema,
      object({ armoredSha256: sha256(), armoredBytes: integer({ minimum: 1 }) }).schema,
    ],
  },
  read(value, field, fail) {
    const read = object(
      {},
      {
        path: text({ maxLength: syncProfileLimits.maxKeyringPathLength }),
        armoredSha256: sha256(),
        armoredBytes: integer({ minimum: 1 }),
      },
      answer,
    ).read(value, field, fail);
    if (read.path !== undefined) return Object.freeze({ path: read.path });
    if (read.armoredSha256 !== undefined && read.armoredBytes !== undefined)
      return Object.freeze({ armoredSha256: read.armoredSha256, armoredBytes: read.armoredBytes });
    return fail(field, 'expected path, or armoredSha256 and armoredBytes');
  },
};

export const syncProfileViewType: WireType<SyncProfileView> = object(
  {
    name: identifier(syncProfileNameRule),
    archive: object({ ...archiveFields, keyring: keyringViewType }, {}, answer),
    buildinfo: object({ urlTemplate: text({ maxLength: 512 }) }, { keyring: keyringViewType }, answer),
    include: rulesType,
    exclude: rulesType,
    priority: integer({ minimum: syncProfileLimits.minPriority, maximum: syncProfileLimits.maxPriority }),
    rateLimitPerHour: integer({ minimum: 1 }),
    initialDelaySeconds: integer({ minimum: 0 }),
    maintainer: identifier(accountNameRule),
    paused: boolean(),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  },
  {},
  answer,
);

export const syncProfileListType: WireType<SyncProfileList> = object(
  { profiles: arrayOf(syncProfileViewType, { maxItems: syncProfileLimits.maxProfiles }) },
  {},
  answer,
);

/** Reads `rbnet admin sync add`'s body. @throws WireFormatError INVALID / TOO_LARGE naming the field. */
export function parseSyncProfileRequest(body: string | Uint8Array): SyncProfileRequest {
  return parseWire(syncProfileRequestType, body, {
    maxBytes: syncProfileLimits.maxBodyBytes,
    what: 'request body',
    side: 'request',
    maxDepth: 5,
  });
}
