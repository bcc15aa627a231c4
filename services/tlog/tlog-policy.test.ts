// The tlog policy grammar (C2SP tlog-policy plus max-checkpoint-age) and checkpoints judged by it.
import { describe, expect, it } from 'vitest';
import { formatCheckpoint } from './checkpoint.ts';
import { EMPTY_TREE_ROOT } from './merkle-hash.ts';
import { formatSignedNote, signNoteText } from './signed-note.ts';
import { cosign, memoryLog, newCosigner, newLogSigner, tlogPolicyText } from './tlog-fixtures.ts';
import { parseTlogPolicy, quorumMet } from './tlog-policy.ts';
import { tlogErrorCode } from './tlog-test-support.ts';
import { verifyCheckpoint } from './verify-checkpoint.ts';

const ORIGIN = 'log.rbnet.example/policy';
const log = newLogSigner(ORIGIN);
const [x1, x2, x3, y1, y2, y3] = ['x1', 'x2', 'x3', 'y1', 'y2', 'y3'].map((n) =>
  newCosigner(`witness.example/${n}`),
) as [ReturnType<typeof newCosigner>, ...ReturnType<typeof newCosigner>[]];

const SPEC_SHAPED = [
  '# the tlog-policy example, with real keys',
  `log ${log.vkey} https://log.rbnet.example/policy/`,
  '',
  `witness X1 ${x1.vkey}`,
  `witness X2 ${x2!.vkey}`,
  `\twitness X3   ${x3!.vkey}   https://witness.example/x3`,
  'group X-witnesses 2 X1 X2 X3',
  `witness Y1 ${y1!.vkey}`,
  `witness Y2 ${y2!.vkey}`,
  `witness Y3 ${y3!.vkey}`,
  'group Y-witnesses any Y1 Y2 Y3',
  'group X-and-Y all X-witnesses Y-witnesses',
  'quorum X-and-Y',
  'max-checkpoint-age 24h',
].join('\n');

describe('tlog policies', () => {
  it('parse the specification example and evaluate nested group quorums', () => {
    const policy = parseTlogPolicy(SPEC_SHAPED);
    expect(policy.logs.map((l) => l.origin)).toEqual([ORIGIN]);
    expect(policy.witnesses.map((w) => w.name)).toEqual(['X1', 'X2', 'X3', 'Y1', 'Y2', 'Y3']);
    expect(policy.witnesses[2]!.url).toBe('https://witness.example/x3');
    expect(policy.maxCheckpointAgeSeconds).toBe(86400);
    expect(quorumMet(policy, new Set(['X1', 'X2', 'Y3']))).toBe(true);
    expect(quorumMet(policy, new Set(['X1', 'Y1', 'Y2', 'Y3']))).toBe(false);
    expect(quorumMet(policy, new Set(['X1', 'X2', 'X3']))).toBe(false);
    expect(quorumMet(parseTlogPolicy(`log ${log.vkey}\nquorum none`), new Set())).toBe(true);
  });

  it('refuse what the grammar forbids, naming the line', () => {
    const cases: [string, RegExp][] = [
      [`log ${log.vkey}`, /no quorum line/],
      ['quorum none', /names no log/],
      [`log ${log.vkey}\nquorum none\nquorum none`, /line 3: a second quorum/],
      [`log ${log.vkey}\nquorum W`, /line 2: "W" is not defined/],
      [
        `log ${log.vkey}\ngroup G any W\nwitness W ${x1.vkey}\nquorum G`,
        /line 2: "W" is not defined on an earlier line/,
      ],
      [
        `log ${log.vkey}\nwitness W ${x1.vkey}\nwitness W ${x2!.vkey}\nquorum W`,
        /line 3: the name "W" is already defined/,
      ],
      [
        `log ${log.vkey}\nwitness A ${x1.vkey}\nwitness B ${x1.vkey}\nquorum A`,
        /line 3: this public key is already listed/,
      ],
      [`log ${log.vkey}\nwitness A ${x1.vkey}\ngroup G 2 A\nquorum G`, /threshold "2" must be/],
      [`log ${log.vkey}\nwitness A ${x1.vkey}\ngroup G any A A\nquorum G`, /listed twice/],
      [`log ${log.vkey}\nwitness none ${x1.vkey}\nquorum none`, /"none" is predefined/],
      [`log ${log.vkey}\nwitness A ${log.vkey}\nquorum A`, /expected a cosignature\/v1 key/],
      [`log ${x1.vkey}\nquorum none`, /expected an Ed25519 note key/],
      [`log ${log.vkey}\nquorum none\nmax-checkpoint-age 1d`, /needs witnesses/],
      [`log ${log.vkey}\nwitness A ${x1.vkey}\nquorum A\nmax-checkpoint-age 10`, /max-checkpoint-age <n>s/],
      [`log ${log.vkey}\nwitnesses A ${x1.vkey}\nquorum A`, /unknown keyword "witnesses"/],
      [`log ${log.vkey}\r\nquorum none`, /control character/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseTlogPolicy(text), text).toThrow(message);
      expect(tlogErrorCode(() => parseTlogPolicy(text))).toBe('TLOG_POLICY_INVALID');
    }
  });
});

describe('verifyCheckpoint', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const nowSeconds = now.getTime() / 1000;
  const policy = parseTlogPolicy(
    tlogPolicyText({
      logVkey: log.vkey,
      witnesses: [x1, x2!],
      quorum: 'W',
      extra: [`group W 2 ${x1.name} ${x2!.name}`],
      maxAge: '1h',
    }),
  );

  async function checkpoint(): Promise<string> {
    const { log: memory } = await memoryLog(ORIGIN, log);
    return (await memory.append([Buffer.from('one')])).checkpoint;
  }

  it('accepts a checkpoint signed by the log and cosigned by the quorum within the maximum age', async () => {
    const note = await cosign(await checkpoint(), [x1, x2!], nowSeconds - 3000);
    const verified = verifyCheckpoint(note, policy, now);
    expect(verified.checkpoint).toMatchObject({ origin: ORIGIN, size: 1 });
    expect(verified.cosignatures.map((c) => [c.witness, c.counted])).toEqual([
      [x1.name, true],
      [x2!.name, true],
    ]);
  });

  it('refuses too few, too old or future cosignatures, a forged one, another log, and no log signature', async () => {
    const signed = await checkpoint();
    expect(tlogErrorCode(() => verifyCheckpoint(signed, policy, now))).toBe('QUORUM_NOT_MET');
    const one = await cosign(signed, [x1], nowSeconds);
    expect(tlogErrorCode(() => verifyCheckpoint(one, policy, now))).toBe('QUORUM_NOT_MET');
    const stale = await cosign(signed, [x1, x2!], nowSeconds - 3601);
    expect(() => verifyCheckpoint(stale, policy, now)).toThrow(/not counted: too old/);
    // As of an earlier time (an air-gapped check), the same cosignatures are fresh...
    expect(verifyCheckpoint(stale, policy, new Date((nowSeconds - 3000) * 1000)).cosignatures).toHaveLength(
      2,
    );
    // ...but not as of a time before they were made.
    const future = await cosign(signed, [x1, x2!], nowSeconds + 301);
    expect(tlogErrorCode(() => verifyCheckpoint(future, policy, now))).toBe('QUORUM_NOT_MET');
    // One base64 character changed (never to itself: the signatures are random per run).
    const forged = (await cosign(signed, [x1, x2!], nowSeconds)).replace(
      /(— witness\.example\/x1 \S{20})(\S)/,
      (_, head, c) => `${head}${c === 'A' ? 'B' : 'A'}`,
    );
    expect(tlogErrorCode(() => verifyCheckpoint(forged, policy, now))).toBe('NOTE_UNVERIFIED');
    const other = newLogSigner('log.rbnet.example/other');
    const { log: otherLog } = await memoryLog('log.rbnet.example/other', other);
    const foreign = await cosign(
      (await otherLog.append([Buffer.from('x')])).checkpoint,
      [x1, x2!],
      nowSeconds,
    );
    expect(() => verifyCheckpoint(foreign, policy, now)).toThrow(/not a log your policy names/);
    const text = formatCheckpoint({ origin: ORIGIN, size: 0, rootHash: EMPTY_TREE_ROOT, extensions: [] });
    const byImpostor = formatSignedNote({
      text,
      signatures: await signNoteText(text, [newLogSigner(ORIGIN)]),
    });
    const impostorCosigned = await cosign(byImpostor, [x1, x2!], nowSeconds);
    expect(tlogErrorCode(() => verifyCheckpoint(impostorCosigned, policy, now))).toBe('NOTE_UNVERIFIED');
  });
});
