// GET /v1/packages/:source and POST /v1/packages/query: per package version, how many distinct
// operators reproduced it, which dissented, and the verdict. Both are reads: they change nothing,
// so, like every other read, they need no token (docs/api.md says why the POST is one).
import { buildLinksFor } from '../../../services/api/build-links.ts';
import {
  maxBuildsPerPackageQuestion,
  maxPackageQueryBytes,
  maxPackageQueryItems,
  type PackageAnswer,
  type PackageQueryAnswer,
  type PackageQuestion,
  type PackageVersionView,
  packageAnswerType,
  packageQueryAnswerType,
  packageQueryRequestType,
  readPackageQueryRequest,
} from '../../../services/api/package-consensus.ts';
import { summarizePackageVersion } from '../../../services/consensus/package-version-summary.ts';
import { isPackageSource, packageSourceRule, packageVersionRule } from '../../../services/identifiers.ts';
import type { PackageBuild } from '../../../services/storage/consensus-feed.ts';
import type { CoordinatorDeps } from '../../coordinator-deps.ts';
import { ApiError } from '../api-error.ts';
import { optionalIdentifierOf } from '../query-params.ts';
import { readBodyBytes } from '../request-body.ts';
import { JSON_CONTENT, type RouteDefinition } from '../route.ts';

/** One question's answer from its builds, newest first (one more than the most read means truncated). */
export function packageAnswerOf(question: PackageQuestion, builds: readonly PackageBuild[]): PackageAnswer {
  const kept = builds.slice(0, maxBuildsPerPackageQuestion);
  const byVersion = new Map<string | null, PackageBuild[]>();
  for (const build of kept) byVersion.set(build.version, [...(byVersion.get(build.version) ?? []), build]);
  const versions = [...byVersion.entries()].map(([version, newestFirst]): PackageVersionView => {
    const summary = summarizePackageVersion(newestFirst);
    return {
      version,
      verdict: summary.verdict,
      suites: [...new Set(newestFirst.flatMap((b) => b.suites))].sort(),
      reproducedCount: summary.reproducedBy.length,
      reproducedBy: summary.reproducedBy,
      dissentedBy: summary.dissentedBy,
      builds: newestFirst.map((b) => ({
        buildId: b.buildId,
        architecture: b.architecture,
        suite: b.suite,
        suites: b.suites,
        verdict: b.verdict,
        agreeingOperators: b.agreeingOperators,
        dissentingOperators: b.dissentingOperators,
        ...(b.verdictAt !== undefined && { verdictAt: b.verdictAt }),
        logIndex: b.logIndex,
        links: buildLinksFor(b.buildId),
      })),
    };
  });
  return {
    source: question.source,
    ...(question.version !== undefined && { version: question.version }),
    versions,
    truncated: builds.length > maxBuildsPerPackageQuestion,
  };
}

async function answerQuestions(
  deps: CoordinatorDeps,
  questions: readonly PackageQuestion[],
): Promise<readonly PackageAnswer[]> {
  const builds = await deps.feed.findPackageBuilds(questions, maxBuildsPerPackageQuestion + 1);
  return questions.map((question, index) => packageAnswerOf(question, builds[index] ?? []));
}

const exampleBuildId = '0b0d6e0c-3c1e-4b8a-9d43-6f1f9f0a1c2d';
const exampleAnswer: PackageAnswer = {
  source: 'hello',
  version: '2.10-3',
  versions: [
    {
      version: '2.10-3',
      verdict: 'reproducible',
      suites: ['bookworm', 'bookworm-proposed-updates'],
      reproducedCount: 2,
      reproducedBy: ['acme', 'globex'],
      dissentedBy: [],
      builds: [
        {
          buildId: exampleBuildId,
          architecture: 'amd64',
          suite: 'bookworm',
          suites: ['bookworm', 'bookworm-proposed-updates'],
          verdict: 'reproducible',
          agreeingOperators: ['acme', 'globex'],
          dissentingOperators: [],
          verdictAt: '2026-12-01T10:00:00.000Z',
          logIndex: 1742,
          links: buildLinksFor(exampleBuildId),
        },
      ],
    },
  ],
  truncated: false,
};

const getPackage: RouteDefinition = {
  method: 'GET',
  path: '/v1/packages/:source',
  operationId: 'getPackageConsensus',
  tag: 'builds',
  summary: 'Per version of a source package: how many operators reproduced it, who dissented, the verdict',
  description:
    `Versions newest build first, from the newest ${maxBuildsPerPackageQuestion} builds of the source ` +
    '(`truncated` says when there are more: ask per version). A source never submitted has no ' +
    "versions. A version's verdict is the most severe of the newest build of each architecture.",
  auth: ['none'],
  pathParams: {
    source: {
      description: 'a Debian source package name, or a generic manifest name',
      schema: { type: 'string', pattern: packageSourceRule.pattern.source },
    },
  },
  query: {
    version: {
      description: 'only this version (a Debian version, epoch included)',
      schema: { type: 'string', pattern: packageVersionRule.pattern.source },
      required: false,
    },
  },
  answers: [
    {
      status: 200,
      description: 'the source and its versions',
      contentType: JSON_CONTENT,
      schema: packageAnswerType.schema,
      example: exampleAnswer,
    },
  ],
  errors: ['INVALID'],
  handler:
    ({ deps }) =>
    async (c) => {
      const source = c.req.param('source');
      if (!isPackageSource(source))
        throw new ApiError('INVALID', `source: expected ${packageSourceRule.expected}`);
      const version = optionalIdentifierOf('version', c.req.query('version'), packageVersionRule);
      const [answer] = await answerQuestions(deps, [{ source, ...(version !== undefined && { version }) }]);
      return c.json(answer!);
    },
};

const queryPackages: RouteDefinition = {
  method: 'POST',
  path: '/v1/packages/query',
  operationId: 'queryPackagesConsensus',
  tag: 'builds',
  summary: `Many sources and versions in one request (at most ${maxPackageQueryItems}): the bulk form of GET /v1/packages/{source}`,
  description:
    'A read: it changes nothing, so it needs no token, like GET /v1/packages/{source}; it is a POST ' +
    `only because ${maxPackageQueryItems} questions do not fit in a URL. The body is read strictly ` +
    `(at most ${maxPackageQueryBytes} bytes, no unknown field); a bad question is refused with 400 ` +
    'naming it (`packages[3].version: ...`). Answers come in the order asked.',
  auth: ['none'],
  request: {
    contentType: JSON_CONTENT,
    description: `1..${maxPackageQueryItems} questions, at most ${maxPackageQueryBytes} bytes`,
    schema: packageQueryRequestType.schema,
    example: { packages: [{ source: 'hello', version: '2.10-3' }, { source: 'coreutils' }] },
  },
  answers: [
    {
      status: 200,
      description: 'one answer per question, in order',
      contentType: JSON_CONTENT,
      schema: packageQueryAnswerType.schema,
      example: { results: [exampleAnswer, { source: 'coreutils', versions: [], truncated: false }] },
    },
  ],
  errors: ['INVALID', 'TOO_LARGE'],
  handler:
    ({ deps }) =>
    async (c) => {
      const { packages } = readPackageQueryRequest(await readBodyBytes(c, maxPackageQueryBytes));
      const answer: PackageQueryAnswer = { results: await answerQuestions(deps, packages) };
      return c.json(answer);
    },
};

export const packageRoutes: readonly RouteDefinition[] = [getPackage, queryPackages];
