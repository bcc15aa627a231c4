// The wire contracts of GET /v1/packages/:source and POST /v1/packages/query: per package version,
// how many distinct operators reproduced it, which dissented, and the verdict; the bulk request a
// release tool sends (closed: an unknown field is refused) and the readers of both answers.
import { VERDICTS, type Verdict } from '../consensus/verdict.ts';
import {
  accountNameRule,
  architectureRule,
  buildIdRule,
  packageSourceRule,
  packageVersionRule,
  suiteRule,
} from '../identifiers.ts';
import { type BuildLinks, buildLinksType } from './build-links.ts';
import { logIndexType, storedName, suitesType } from './consensus-feed-page.ts';
import {
  arrayOf,
  boolean,
  identifier,
  integer,
  nullable,
  object,
  oneOf,
  parseWire,
  timestamp,
  type WireType,
} from './wire-type.ts';

/** Most questions one bulk query holds. */
export const maxPackageQueryItems = 1000;
/** Largest bulk query body: 1,000 questions of the longest source and version fit. */
export const maxPackageQueryBytes = 512 * 1024;
/** Newest builds read per question; `truncated` says when there were more. */
export const maxBuildsPerPackageQuestion = 64;
/** Largest answer a reader accepts. */
export const maxPackageAnswerBytes = 256 * 1024 ** 2;

export interface PackageQuestion {
  readonly source: string;
  /** Absent: every version of the source. */
  readonly version?: string;
}

export interface PackageQueryRequest {
  readonly packages: readonly PackageQuestion[];
}

/** One build of a version, as it stands now. */
export interface PackageBuildView {
  readonly buildId: string;
  readonly architecture: string;
  /** The first of `suites`; null: found in none (a build submitted by hand). */
  readonly suite: string | null;
  /** Every suite a sync profile found this build in, by name. */
  readonly suites: readonly string[];
  readonly verdict: Verdict;
  readonly agreeingOperators: readonly string[];
  readonly dissentingOperators: readonly string[];
  readonly verdictAt?: string;
  /** The transparency-log index of the current verdict's entry (GET /v1/log/proofs/:index); null while pending. */
  readonly logIndex: number | null;
  readonly links: BuildLinks;
}

export interface PackageVersionView {
  /** The Debian version; null for generic builds. */
  readonly version: string | null;
  /** The most severe verdict of the newest build of each architecture. */
  readonly verdict: Verdict;
  /** Every suite any build of it was found in, by name. */
  readonly suites: readonly string[];
  /** How many distinct operators reproduced it (`reproducedBy.length`). */
  readonly reproducedCount: number;
  readonly reproducedBy: readonly string[];
  readonly dissentedBy: readonly string[];
  /** Newest first. */
  readonly builds: readonly PackageBuildView[];
}

export interface PackageAnswer {
  readonly source: string;
  /** As asked; absent when every version was asked for. */
  readonly version?: string;
  /** Newest build first; empty when nothing of it was ever submitted. */
  readonly versions: readonly PackageVersionView[];
  /** True when more than the newest builds read per question exist (ask per version). */
  readonly truncated: boolean;
}

export interface PackageQueryAnswer {
  /** One per question, in the order asked. */
  readonly results: readonly PackageAnswer[];
}

const source = identifier(packageSourceRule, 'a Debian source name, or a generic manifest name');
const version = identifier(packageVersionRule, 'a Debian version, epoch included');
const operators = arrayOf(identifier(accountNameRule), { maxItems: 4096 });
const answer = { unknown: 'ignore' } as const;

export const packageQuestionType: WireType<PackageQuestion> = object({ source }, { version });

export const packageQueryRequestType: WireType<PackageQueryRequest> = object({
  packages: arrayOf(packageQuestionType, {
    minItems: 1,
    maxItems: maxPackageQueryItems,
    description: `1..${maxPackageQueryItems} questions; answered in this order`,
  }),
});

const packageBuildViewType: WireType<PackageBuildView> = object(
  {
    buildId: identifier(buildIdRule),
    architecture: identifier(architectureRule),
    suite: nullable(identifier(suiteRule)),
    suites: suitesType,
    verdict: oneOf(VERDICTS),
    agreeingOperators: operators,
    dissentingOperators: operators,
    logIndex: logIndexType,
    links: buildLinksType,
  },
  { verdictAt: timestamp() },
  answer,
);

const packageVersionViewType: WireType<PackageVersionView> = object(
  {
    version: nullable(storedName),
    verdict: oneOf(VERDICTS, 'the most severe verdict of the newest build of each architecture'),
    suites: suitesType,
    reproducedCount: integer({ minimum: 0, description: 'distinct operators that reproduced it' }),
    reproducedBy: operators,
    dissentedBy: operators,
    builds: arrayOf(packageBuildViewType, { maxItems: maxBuildsPerPackageQuestion }),
  },
  {},
  answer,
);

export const packageAnswerType: WireType<PackageAnswer> = object(
  {
    source: storedName,
    versions: arrayOf(packageVersionViewType, { maxItems: maxBuildsPerPackageQuestion }),
    truncated: boolean('more builds exist than were read for this question'),
  },
  { version: storedName },
  answer,
);

export const packageQueryAnswerType: WireType<PackageQueryAnswer> = object(
  { results: arrayOf(packageAnswerType, { maxItems: maxPackageQueryItems }) },
  {},
  answer,
);

/** Reads a bulk query (the coordinator's side). @throws WireFormatError `INVALID` / `TOO_LARGE` naming the field. */
export function readPackageQueryRequest(body: Uint8Array): PackageQueryRequest {
  return parseWire(packageQueryRequestType, body, {
    maxBytes: maxPackageQueryBytes,
    what: 'request body',
    side: 'request',
    maxDepth: 4,
  });
}

/** Reads a bulk query's answer (a release tool's side). @throws WireFormatError `ANSWER_INVALID`. */
export function readPackageQueryAnswer(text: string | Uint8Array): PackageQueryAnswer {
  return parseWire(packageQueryAnswerType, text, {
    maxBytes: maxPackageAnswerBytes,
    what: 'package query answer',
    side: 'answer',
  });
}

/** Reads the answer of GET /v1/packages/:source. @throws WireFormatError `ANSWER_INVALID`. */
export function readPackageAnswer(text: string | Uint8Array): PackageAnswer {
  return parseWire(packageAnswerType, text, {
    maxBytes: maxPackageAnswerBytes,
    what: 'package answer',
    side: 'answer',
  });
}
