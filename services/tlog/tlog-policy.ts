// A consumer's policy for a transparency log, in the C2SP tlog-policy grammar: `log <vkey> [url]`,
// `witness <name> <vkey> [url]`, `group <name> all|any|<k> <name>...`, `quorum <name>`, plus rbnet's
// one extension line, `max-checkpoint-age <n>s|m|h|d`: how old the witnesses' newest word may be.
import { cosignatureVerifier } from './cosignature.ts';
import { ed25519NoteVerifier, type NoteVerifier } from './note-keys.ts';
import { TlogError } from './tlog-errors.ts';

/** Larger policy texts are refused before parsing: 64 KiB. */
export const maxTlogPolicyBytes = 64 * 1024;
/** Most logs, witnesses or groups one policy may define. */
export const maxTlogPolicyItems = 256;

export interface PolicyLog {
  readonly vkey: string;
  readonly verifier: NoteVerifier;
  /** The log's key name: its checkpoints' origin. */
  readonly origin: string;
  readonly url?: string;
}

export interface PolicyWitness {
  readonly name: string;
  readonly vkey: string;
  readonly verifier: NoteVerifier;
  readonly url?: string;
}

export interface PolicyGroup {
  readonly name: string;
  /** Members that must have witnessed; 1..members.length. */
  readonly threshold: number;
  readonly members: readonly string[];
}

export interface TlogPolicy {
  readonly logs: readonly PolicyLog[];
  readonly witnesses: readonly PolicyWitness[];
  readonly groups: readonly PolicyGroup[];
  /** A witness or group name, or `none`. */
  readonly quorum: string;
  /** Cosignatures older than this (against the time of the check) do not count; absent: any age. */
  readonly maxCheckpointAgeSeconds?: number;
  /** The text as given. */
  readonly text: string;
}

const DURATION = /^([1-9][0-9]{0,9})([smhd])$/;
const SECONDS_PER_UNIT = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/**
 * Parses a tlog policy. Names are opaque octet strings (compared as given); a name is defined once;
 * groups and the quorum only name what earlier lines define; one quorum line; no public key twice
 * (as log or witness); log keys are Ed25519 note keys (0x01), witness keys cosignature/v1 (0x04).
 * @throws TlogError TLOG_POLICY_INVALID naming the line.
 */
export function parseTlogPolicy(text: string): TlogPolicy {
  if (Buffer.byteLength(text, 'utf8') > maxTlogPolicyBytes)
    throw new TlogError(
      'TLOG_POLICY_INVALID',
      `the tlog policy is over the ${maxTlogPolicyBytes}-byte limit`,
    );
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text))
    throw new TlogError(
      'TLOG_POLICY_INVALID',
      'the tlog policy contains a control character other than tab and newline',
    );
  const logs: PolicyLog[] = [];
  const witnesses: PolicyWitness[] = [];
  const groups: PolicyGroup[] = [];
  const names = new Set<string>();
  const keys = new Set<string>();
  let quorum: string | undefined;
  let maxCheckpointAgeSeconds: number | undefined;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const where = `line ${i + 1}`;
    const bad = (why: string) => new TlogError('TLOG_POLICY_INVALID', `${where}: ${why}`);
    const words = raw.split(/[ \t]+/).filter((word) => word !== '');
    if (words.length === 0 || words[0]!.startsWith('#')) return;
    const [keyword, ...args] = words as [string, ...string[]];
    const claimKey = (verifier: NoteVerifier) => {
      const key = Buffer.from(verifier.publicKey).toString('hex');
      if (keys.has(key)) throw bad('this public key is already listed (one key, one log or witness)');
      keys.add(key);
    };
    const defineName = (name: string) => {
      if (name === 'none') throw bad('"none" is predefined and cannot be defined');
      if (names.has(name)) throw bad(`the name ${JSON.stringify(name)} is already defined`);
      names.add(name);
    };
    const verifierOf = (make: (vkey: string, field: string) => NoteVerifier, vkey: string) => {
      try {
        return make(vkey, `${where} vkey`);
      } catch (cause) {
        throw new TlogError('TLOG_POLICY_INVALID', (cause as Error).message, { cause });
      }
    };
    switch (keyword) {
      case 'log': {
        if (args.length < 1 || args.length > 2) throw bad('expected: log <vkey> [<url>]');
        const verifier = verifierOf(ed25519NoteVerifier, args[0]!);
        claimKey(verifier);
        logs.push(
          Object.freeze({
            vkey: args[0]!,
            verifier,
            origin: verifier.name,
            ...(args[1] && { url: args[1] }),
          }),
        );
        break;
      }
      case 'witness': {
        if (args.length < 2 || args.length > 3) throw bad('expected: witness <name> <vkey> [<url>]');
        const verifier = verifierOf(cosignatureVerifier, args[1]!);
        defineName(args[0]!);
        claimKey(verifier);
        witnesses.push(
          Object.freeze({ name: args[0]!, vkey: args[1]!, verifier, ...(args[2] && { url: args[2] }) }),
        );
        break;
      }
      case 'group': {
        if (args.length < 3) throw bad('expected: group <name> all|any|<k> <name>...');
        const [name, rule, ...members] = args as [string, string, ...string[]];
        for (const member of members) {
          if (member === 'none') throw bad('"none" cannot be a group member');
          if (!names.has(member)) throw bad(`${JSON.stringify(member)} is not defined on an earlier line`);
        }
        if (new Set(members).size !== members.length) throw bad('a member is listed twice');
        let threshold: number;
        if (rule === 'all') threshold = members.length;
        else if (rule === 'any') threshold = 1;
        else if (/^[1-9][0-9]{0,3}$/.test(rule) && Number(rule) <= members.length) threshold = Number(rule);
        else throw bad(`the threshold ${JSON.stringify(rule)} must be all, any, or 1 to ${members.length}`);
        defineName(name);
        groups.push(Object.freeze({ name, threshold, members: Object.freeze(members) }));
        break;
      }
      case 'quorum': {
        if (args.length !== 1) throw bad('expected: quorum <name>');
        if (quorum !== undefined) throw bad('a second quorum line');
        if (args[0] !== 'none' && !names.has(args[0]!))
          throw bad(`${JSON.stringify(args[0])} is not defined on an earlier line`);
        quorum = args[0]!;
        break;
      }
      case 'max-checkpoint-age': {
        const match = args.length === 1 ? DURATION.exec(args[0]!) : null;
        if (!match) throw bad('expected: max-checkpoint-age <n>s|m|h|d, e.g. 24h');
        if (maxCheckpointAgeSeconds !== undefined) throw bad('a second max-checkpoint-age line');
        maxCheckpointAgeSeconds =
          Number(match[1]) * SECONDS_PER_UNIT[match[2] as keyof typeof SECONDS_PER_UNIT];
        break;
      }
      default:
        throw bad(
          `unknown keyword ${JSON.stringify(keyword.slice(0, 40))} (log, witness, group, quorum, max-checkpoint-age)`,
        );
    }
    if (
      logs.length > maxTlogPolicyItems ||
      witnesses.length > maxTlogPolicyItems ||
      groups.length > maxTlogPolicyItems
    )
      throw bad(`more than ${maxTlogPolicyItems} logs, witnesses or groups`);
  });
  if (quorum === undefined) throw new TlogError('TLOG_POLICY_INVALID', 'the tlog policy has no quorum line');
  if (logs.length === 0)
    throw new TlogError('TLOG_POLICY_INVALID', 'the tlog policy names no log (a "log <vkey>" line)');
  if (maxCheckpointAgeSeconds !== undefined && quorum === 'none')
    throw new TlogError(
      'TLOG_POLICY_INVALID',
      'max-checkpoint-age needs witnesses: a checkpoint has no time of its own, only its cosignatures do',
    );
  return Object.freeze({
    logs: Object.freeze(logs),
    witnesses: Object.freeze(witnesses),
    groups: Object.freeze(groups),
    quorum,
    ...(maxCheckpointAgeSeconds !== undefined && { maxCheckpointAgeSeconds }),
    text,
  });
}

/** Whether the witnesses named in `witnessed` satisfy the policy's quorum (groups applied recursively). */
export function quorumMet(policy: TlogPolicy, witnessed: ReadonlySet<string>): boolean {
  const groups = new Map(policy.groups.map((group) => [group.name, group]));
  const met = (name: string): boolean => {
    if (name === 'none') return true;
    const group = groups.get(name);
    if (!group) return witnessed.has(name);
    return group.members.filter(met).length >= group.threshold;
  };
  return met(policy.quorum);
}
