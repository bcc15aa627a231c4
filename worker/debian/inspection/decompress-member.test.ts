// Member decompression: codec by name, magic check, and hard caps that turn bombs into outcomes.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Compression } from '../../../services/debian/deb-inspection/deb-listing.ts';
import { compress } from './deb-fixture.ts';
import {
  classifyDebMember,
  type DecompressLimits,
  decompressMember,
  magicMismatch,
} from './decompress-member.ts';

const limits = (over: Partial<DecompressLimits> = {}): DecompressLimits => ({
  maxOutputBytes: 1024 ** 3,
  maxRatio: 1_000_000,
  ratioFloorBytes: 0,
  compressedBytes: 1,
  decoderMemoryBytes: 64 * 1024 ** 2,
  ...over,
});

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const payload = Buffer.concat(
  Array.from({ length: 2000 }, (_, i) => Buffer.from(`line ${i} of the payload\n`)),
);

describe('classifyDebMember', () => {
  it.each([
    ['control.tar', 'control', 'none'],
    ['control.tar.gz', 'control', 'gzip'],
    ['control.tar.xz', 'control', 'xz'],
    ['control.tar.zst', 'control', 'zstd'],
    ['data.tar', 'data', 'none'],
    ['data.tar.gz', 'data', 'gzip'],
    ['data.tar.xz', 'data', 'xz'],
    ['data.tar.zst', 'data', 'zstd'],
    ['data.tar.bz2', 'data', 'bzip2'],
  ])('%s is %s, %s', (name, area, compression) => {
    expect(classifyDebMember(name)).toEqual({ area, compression });
  });

  it.each(['control.tar.bz2', 'data.tar.lzma', 'data.tgz', 'data.tar.xz.sig', 'debian-binary'])(
    '%s is no tar member',
    (name) => {
      expect(classifyDebMember(name)).toBeUndefined();
    },
  );
});

describe('magicMismatch', () => {
  it('accepts each codec with its own magic and names what the bytes really are otherwise', () => {
    for (const c of ['gzip', 'xz', 'zstd', 'bzip2'] as Compression[]) {
      expect(magicMismatch(c, compress(payload, c))).toBeUndefined();
    }
    expect(magicMismatch('xz', compress(payload, 'gzip'))).toBe(
      'the name says xz data, but the bytes are gzip data',
    );
    expect(magicMismatch('gzip', Buffer.from('hello'))).toMatch(/match no known format/);
    expect(magicMismatch('none', compress(payload, 'zstd'))).toMatch(/uncompressed tar .* zstd data/);
  });
});

describe('decompressMember', () => {
  it.each(['none', 'gzip', 'xz', 'zstd', 'bzip2'] as Compression[])('round-trips %s', async (c) => {
    const input = compress(payload, c);
    const member = decompressMember(Readable.from([input]), c, limits({ compressedBytes: input.length }));
    expect((await drain(member.stream)).equals(payload)).toBe(true);
    expect(await member.end).toEqual({ kind: 'complete', outputBytes: payload.length });
  });

  it.each(['gzip', 'xz', 'zstd'] as Compression[])(
    'stops %s at the byte cap: exactly the cap is passed on and the end says capped',
    async (c) => {
      const zeros = compress(Buffer.alloc(8 * 1024 ** 2), c);
      const member = decompressMember(Readable.from([zeros]), c, limits({ maxOutputBytes: 100_000 }));
      expect((await drain(member.stream)).length).toBe(100_000);
      const end = await member.end;
      expect(end).toMatchObject({ kind: 'capped', outputBytes: 100_000 });
      expect(end.kind === 'capped' && end.detail).toMatch(/past the cap of 100000 bytes/);
    },
  );

  it('stops at the ratio cap once past the floor', async () => {
    const zeros = compress(Buffer.alloc(4 * 1024 ** 2), 'xz');
    const member = decompressMember(
      Readable.from([zeros]),
      'xz',
      limits({ maxRatio: 10, ratioFloorBytes: 1024, compressedBytes: zeros.length }),
    );
    await drain(member.stream);
    const end = await member.end;
    expect(end.kind === 'capped' && end.detail).toMatch(/more than 10 times its compressed size/);
  });

  it('reports corrupt data as a value with the decoder message', async () => {
    const xz = compress(payload, 'xz');
    const broken = Buffer.concat([xz.subarray(0, 40), Buffer.alloc(200, 0x55)]);
    const member = decompressMember(Readable.from([broken]), 'xz', limits());
    await drain(member.stream);
    const end = await member.end;
    expect(end.kind).toBe('corrupt');
    expect(end.kind === 'corrupt' && end.detail).toMatch(/xz exited with 1/);
    const gz = decompressMember(Readable.from([compress(payload, 'gzip').subarray(0, 50)]), 'gzip', limits());
    await drain(gz.stream);
    expect((await gz.end).kind).toBe('corrupt');
  });

  it('kills the decoder when aborted and when the reader gives up', async () => {
    const big = compress(Buffer.alloc(64 * 1024 ** 2), 'zstd');
    const controller = new AbortController();
    const member = decompressMember(Readable.from([big]), 'zstd', limits({ signal: controller.signal }));
    member.stream.once('data', () => controller.abort());
    await drain(member.stream).catch(() => undefined);
    expect((await member.end).kind).toBe('aborted');

    const second = decompressMember(Readable.from([big]), 'zstd', limits());
    second.stream.once('data', () => second.stream.destroy());
    expect((await second.end).kind).toBe('aborted');
  });
});
