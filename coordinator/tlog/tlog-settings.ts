// The transparency log's settings: the witnesses each new checkpoint is sent to, and how often the
// log integrates what was sequenced; from environment variables, else the config file's
// `transparencyLog` section, else the defaults here.
import { integerSetting } from '../../services/config-settings.ts';
import { ConfigError } from '../../services/errors.ts';
import { cosignatureVerifier } from '../../services/tlog/cosignature.ts';
import type { WitnessEndpoint } from './witness-client.ts';

export interface TlogSettings {
  /** Witnesses asked to cosign every new checkpoint (C2SP tlog-witness). */
  readonly witnesses: readonly WitnessEndpoint[];
  /**
   * How many witnesses must cosign (verifiably) before a checkpoint is served and proofs under it
   * go out; 0 (the default): served with whatever cosignatures were gathered.
   */
  readonly witnessQuorum: number;
  /** Longest one witness request may take, ms. */
  readonly witnessTimeoutMs: number;
  /** How often sequenced entries are integrated without anyone asking for a proof, ms. */
  readonly integrateIntervalMs: number;
}

export const tlogDefaults: TlogSettings = Object.freeze({
  witnesses: Object.freeze([]),
  witnessQuorum: 0,
  witnessTimeoutMs: 5_000,
  integrateIntervalMs: 1_000,
});

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `RBNET_TLOG_WITNESSES`: one witness per line (or `;`), `URL VKEY`; the file's
 * `transparencyLog.witnesses` is a list of `{ url, vkey }`. `RBNET_TLOG_WITNESS_QUORUM`
 * (`transparencyLog.witnessQuorum`): at most the number of witnesses.
 */
export function tlogSettingsFrom(env: Env, file: Record<string, unknown>): TlogSettings {
  const section = (file.transparencyLog ?? {}) as Record<string, unknown>;
  const listed =
    env.RBNET_TLOG_WITNESSES !== undefined
      ? env.RBNET_TLOG_WITNESSES.split(/[;\n]/)
          .map((line) => line.trim())
          .filter((line) => line !== '')
          .map((line) => {
            const [url, vkey, ...rest] = line.split(/\s+/);
            if (!url || !vkey || rest.length > 0)
              throw new ConfigError(
                'CONFIG_INVALID',
                `RBNET_TLOG_WITNESSES: expected "URL VKEY", got ${JSON.stringify(line)}`,
              );
            return { url, vkey };
          })
      : ((section.witnesses ?? []) as unknown[]);
  if (!Array.isArray(listed))
    throw new ConfigError('CONFIG_INVALID', 'transparencyLog.witnesses: expected a list');
  const witnesses = listed.map((item, i) => witnessOf(item, `transparencyLog.witnesses[${i}]`));
  const witnessQuorum = integerSetting(
    env.RBNET_TLOG_WITNESS_QUORUM ?? section.witnessQuorum ?? tlogDefaults.witnessQuorum,
    'RBNET_TLOG_WITNESS_QUORUM',
    0,
    1000,
  );
  if (witnessQuorum > witnesses.length)
    throw new ConfigError(
      'CONFIG_INVALID',
      `RBNET_TLOG_WITNESS_QUORUM: ${witnessQuorum} is more than the ${witnesses.length} witness(es) configured`,
    );
  return Object.freeze({
    witnesses: Object.freeze(witnesses),
    witnessQuorum,
    witnessTimeoutMs: integerSetting(
      env.RBNET_TLOG_WITNESS_TIMEOUT_MS ?? section.witnessTimeoutMs ?? tlogDefaults.witnessTimeoutMs,
      'RBNET_TLOG_WITNESS_TIMEOUT_MS',
      100,
      600_000,
    ),
    integrateIntervalMs: integerSetting(
      env.RBNET_TLOG_INTEGRATE_INTERVAL_MS ?? section.integrateIntervalMs ?? tlogDefaults.integrateIntervalMs,
      'RBNET_TLOG_INTEGRATE_INTERVAL_MS',
      10,
      3_600_000,
    ),
  });
}

function witnessOf(item: unknown, field: string): WitnessEndpoint {
  const { url, vkey } = (item ?? {}) as Record<string, unknown>;
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch (cause) {
    throw new ConfigError('CONFIG_INVALID', `${field}.url: not a URL: ${String(url)}`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ConfigError('CONFIG_INVALID', `${field}.url: expected http:// or https://`);
  try {
    cosignatureVerifier(String(vkey), `${field}.vkey`);
  } catch (cause) {
    throw new ConfigError('CONFIG_INVALID', `${field}.vkey: ${(cause as Error).message}`, { cause });
  }
  return Object.freeze({ url: parsed.href.replace(/\/+$/, ''), vkey: String(vkey) });
}
