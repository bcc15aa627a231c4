// The wire contract of GET /v1/log: one page of the transparency log, entries in index order.
import type { Sha256Hex } from '../digest.ts';
import { buildIdRule } from '../identifiers.ts';
import {
  arrayOf,
  constant,
  identifier,
  integer,
  object,
  parseWire,
  sha256,
  text,
  type WireType,
} from './wire-type.ts';

/** Most entries one page holds (and the largest `limit` a client may ask for). */
export const maxLogPageEntries = 1000;

export interface LogEntryView {
  /** 0-based, gap-free. */
  readonly index: number;
  readonly kind: 'verdict';
  readonly buildId: string;
  readonly bodySha256: Sha256Hex;
  /** The canonical JSON the hashes were taken over. */
  readonly bodyJson: string;
  /** 64 zeros for entry 0. */
  readonly prevEntryHash: Sha256Hex;
  /** sha256(prevEntryHash bytes ‖ UTF-8 of JCS({ body, buildId, kind })); docs/storage.md. */
  readonly entryHash: Sha256Hex;
}

export interface LogPage {
  readonly entries: readonly LogEntryView[];
}

const answer = { unknown: 'ignore' } as const;

export const logPageType: WireType<LogPage> = object(
  {
    entries: arrayOf(
      object(
        {
          index: integer({ minimum: 0 }),
          kind: constant('verdict'),
          buildId: identifier(buildIdRule),
          bodySha256: sha256(),
          bodyJson: text({ maxLength: 1024 * 1024 }),
          prevEntryHash: sha256(),
          entryHash: sha256(),
        },
        {},
        answer,
      ),
      { maxItems: maxLogPageEntries },
    ),
  },
  {},
  answer,
);

/** @throws WireFormatError ANSWER_INVALID naming the field. */
export function parseLogPage(answerText: string): LogPage {
  return parseWire(logPageType, answerText, {
    maxBytes: 1024 * 1024 * 1024,
    what: 'log page',
    side: 'answer',
  });
}
