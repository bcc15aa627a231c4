// Unit tests for the snapshot archive API parsers (snapshot.debian.org's /mr/ answers) and identifiers.
import { describe, expect, it } from 'vitest';
import { ArchiveError } from '../errors.ts';
import {
  formatSnapshotTimestamp,
  isSnapshotTimestamp,
  parseSnapshotBinfiles,
  parseSnapshotFileInfo,
  snapshotArchiveRoot,
  snapshotBinfilesPath,
  snapshotTimestampMs,
} from './snapshot-api.ts';

const HASH = '1f7dd4d5c9e1e1ac87e9bd1b2f9b9c7c2b6d6a71';
const LOCATION = {
  archive_name: 'debian',
  first_seen: '20230610T083321Z',
  name: 'hello_2.10-3_amd64.deb',
  path: '/pool/main/h/hello',
  size: 53080,
};
/** The shape snapshot.debian.org answers `/mr/binary/hello/2.10-3/binfiles?fileinfo=1` with. */
const BINFILES = {
  _comment: 'foo',
  binary: 'hello',
  binary_version: '2.10-3',
  result: [
    { architecture: 'amd64', hash: HASH },
    { architecture: 'arm64', hash: 'a'.repeat(40) },
  ],
  fileinfo: { [HASH]: [LOCATION] },
};

const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

function refusal(run: () => unknown): ArchiveError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as ArchiveError).code).toBe('ARCHIVE_API');
    return err as ArchiveError;
  }
  throw new Error('expected a refusal');
}

describe('snapshot API answers', () => {
  it('reads binfiles with fileinfo, and file info', () => {
    const answer = parseSnapshotBinfiles(bytes(BINFILES), { name: 'hello', version: '2.10-3' });
    expect(answer.files).toEqual([
      {
        architecture: 'amd64',
        hash: HASH,
        locations: [
          {
            archiveName: 'debian',
            firstSeen: '20230610T083321Z',
            name: LOCATION.name,
            path: LOCATION.path,
            size: 53080,
          },
        ],
      },
      { architecture: 'arm64', hash: 'a'.repeat(40) },
    ]);
    expect(Object.isFrozen(answer.files[0])).toBe(true);
    expect(
      parseSnapshotFileInfo(bytes({ _comment: 'x', hash: HASH, result: [LOCATION] }), HASH),
    ).toHaveLength(1);
  });

  it.each([
    ['not JSON', '{"binary":', /not strict JSON/],
    ['a duplicate key', '{"binary":"hello","binary":"hello"}', /not strict JSON/],
    ['an answer about another package', { ...BINFILES, binary: 'hullo' }, /binary: is "hullo"/],
    ['an answer about another version', { ...BINFILES, binary_version: '2.10-2' }, /binary_version/],
    ['a result that is not a list', { ...BINFILES, result: {} }, /result: must be an array/],
    [
      'a malformed hash',
      { ...BINFILES, result: [{ architecture: 'amd64', hash: '../../etc' }] },
      /result\[0\]\.hash/,
    ],
    [
      'a malformed architecture',
      { ...BINFILES, result: [{ architecture: 'AMD 64', hash: HASH }] },
      /architecture/,
    ],
    [
      'a malformed timestamp',
      { ...BINFILES, fileinfo: { [HASH]: [{ ...LOCATION, first_seen: '2023-06-10' }] } },
      /first_seen/,
    ],
    [
      'an impossible date',
      { ...BINFILES, fileinfo: { [HASH]: [{ ...LOCATION, first_seen: '20230231T000000Z' }] } },
      /first_seen/,
    ],
    [
      'an archive name that climbs',
      { ...BINFILES, fileinfo: { [HASH]: [{ ...LOCATION, archive_name: '../x' }] } },
      /archive_name/,
    ],
    ['a negative size', { ...BINFILES, fileinfo: { [HASH]: [{ ...LOCATION, size: -1 }] } }, /size/],
    [
      'too many results',
      { ...BINFILES, result: Array(300).fill({ architecture: 'amd64', hash: HASH }) },
      /more than 256/,
    ],
    ['an answer over 1 MiB', `{"binary":"hello","x":"${'a'.repeat(1024 * 1024)}"}`, /larger than/],
  ] as [string, unknown, RegExp][])('refuses %s', (_label, body, message) => {
    expect(
      refusal(() => parseSnapshotBinfiles(bytes(body), { name: 'hello', version: '2.10-3' })).message,
    ).toMatch(message);
  });

  it('refuses file info about another file', () => {
    expect(
      refusal(() => parseSnapshotFileInfo(bytes({ hash: 'b'.repeat(40), result: [] }), HASH)).message,
    ).toMatch(/hash/);
  });
});

describe('snapshot identifiers', () => {
  it('timestamps round-trip and only real moments are accepted', () => {
    expect(snapshotTimestampMs('20230610T083321Z')).toBe(Date.UTC(2023, 5, 10, 8, 33, 21));
    expect(formatSnapshotTimestamp(Date.UTC(2023, 5, 10, 8, 33, 21, 999))).toBe('20230610T083321Z');
    expect(isSnapshotTimestamp('20230610T083321Z')).toBe(true);
    for (const bad of ['20230610T083321', '20231310T000000Z', '20230610T250000Z', 20230610, ''])
      expect(isSnapshotTimestamp(bad)).toBe(false);
  });

  it('builds request paths and archive roots only from well-formed parts', () => {
    expect(snapshotBinfilesPath('libstdc++6', '1:12.2.0-14')).toBe(
      '/mr/binary/libstdc%2B%2B6/1%3A12.2.0-14/binfiles?fileinfo=1',
    );
    expect(snapshotArchiveRoot('https://snapshot.debian.org/', 'debian', '20230610T083321Z')).toBe(
      'https://snapshot.debian.org/archive/debian/20230610T083321Z',
    );
    refusal(() => snapshotBinfilesPath('../etc', '1.0'));
    refusal(() => snapshotArchiveRoot('https://s', '..', '20230610T083321Z'));
  });
});
