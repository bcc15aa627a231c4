// The log's settings: the witness quorum is a whole number no larger than the witnesses configured.
import { describe, expect, it } from 'vitest';
import { newCosigner } from '../../services/tlog/tlog-fixtures.ts';
import { tlogSettingsFrom } from './tlog-settings.ts';

const witness = newCosigner('witness.rbnet.example/settings');

describe('tlogSettingsFrom', () => {
  it('serves with whatever was gathered by default, and takes a quorum from the environment or the file', () => {
    expect(tlogSettingsFrom({}, {}).witnessQuorum).toBe(0);
    const env = {
      RBNET_TLOG_WITNESSES: `http://127.0.0.1:9 ${witness.vkey}`,
      RBNET_TLOG_WITNESS_QUORUM: '1',
    };
    expect(tlogSettingsFrom(env, {}).witnessQuorum).toBe(1);
    const file = {
      transparencyLog: { witnesses: [{ url: 'http://127.0.0.1:9', vkey: witness.vkey }], witnessQuorum: 1 },
    };
    expect(tlogSettingsFrom({}, file).witnessQuorum).toBe(1);
  });

  it('refuses a quorum larger than the witnesses configured, or not a whole number', () => {
    expect(() => tlogSettingsFrom({ RBNET_TLOG_WITNESS_QUORUM: '1' }, {})).toThrow(
      /RBNET_TLOG_WITNESS_QUORUM: 1 is more than the 0 witness\(es\) configured/,
    );
    expect(() => tlogSettingsFrom({ RBNET_TLOG_WITNESS_QUORUM: 'all' }, {})).toThrow(
      /RBNET_TLOG_WITNESS_QUORUM/,
    );
  });
});
