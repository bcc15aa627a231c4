// The wire contract of POST /v1/builds's answer: the build the coordinator created and the workers
// it assigned. (The request body is a manifest: services/manifest parses it.)
import { VERDICTS, type Verdict } from '../consensus/verdict.ts';
import type { Sha256Hex } from '../digest.ts';
import { accountNameRule, buildIdRule, jobIdRule, workerIdRule } from '../identifiers.ts';
import { type BuildLinks, buildLinksType } from './build-links.ts';
import { arrayOf, identifier, object, oneOf, parseWire, sha256, type WireType } from './wire-type.ts';

export interface BuildAssignment {
  readonly workerId: string;
  readonly operator: string;
  readonly jobId: string;
}

export interface BuildSubmissionAnswer {
  readonly buildId: string;
  readonly manifestSha256: Sha256Hex;
  readonly verdict: Verdict;
  readonly assigned: readonly BuildAssignment[];
  readonly links: BuildLinks;
}

const answer = { unknown: 'ignore' } as const;

export const buildSubmissionAnswerType: WireType<BuildSubmissionAnswer> = object(
  {
    buildId: identifier(buildIdRule),
    manifestSha256: sha256(),
    verdict: oneOf(VERDICTS),
    assigned: arrayOf(
      object(
        {
          workerId: identifier(workerIdRule),
          operator: identifier(accountNameRule),
          jobId: identifier(jobIdRule),
        },
        {},
        answer,
      ),
      { maxItems: 10_000 },
    ),
    links: buildLinksType,
  },
  {},
  answer,
);

/** @throws WireFormatError ANSWER_INVALID naming the field. */
export function parseBuildSubmissionAnswer(text: string): BuildSubmissionAnswer {
  return parseWire(buildSubmissionAnswerType, text, {
    maxBytes: 4 * 1024 * 1024,
    what: 'submission answer',
    side: 'answer',
  });
}
