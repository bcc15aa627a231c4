// The ar container reader: offsets and sizes of a well-formed .deb, and each way a hostile one is refused.
import { describe, expect, it } from 'vitest';
import { ArFormatError, bufferByteSource, readArIndex } from './ar-archive.ts';
import { writeAr } from './deb-fixture.ts';

const index = (bytes: Buffer) => readArIndex(bufferByteSource(bytes));

async function refusal(bytes: Buffer): Promise<string> {
  const err = await index(bytes).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ArFormatError);
  expect((err as ArFormatError).code).toBe('AR_FORMAT');
  return (err as Error).message;
}

function header(name: string, size: string, terminator = '`\n'): Buffer {
  return Buffer.from(
    `${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${size.padEnd(10)}${terminator}`,
    'latin1',
  );
}

describe('readArIndex', () => {
  it('gives names, offsets and sizes, skipping the padding after odd-sized members', async () => {
    const ar = writeAr([
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      { name: 'control.tar.xz', data: Buffer.alloc(3, 1) },
      { name: 'data.tar.xz', data: Buffer.alloc(5, 2) },
    ]);
    expect(await index(ar)).toEqual([
      { name: 'debian-binary', headerOffset: 8, dataOffset: 68, sizeBytes: 4 },
      { name: 'control.tar.xz', headerOffset: 72, dataOffset: 132, sizeBytes: 3 },
      { name: 'data.tar.xz', headerOffset: 136, dataOffset: 196, sizeBytes: 5 },
    ]);
  });

  it("accepts GNU ar's trailing '/' on names and a last odd member without its padding byte", async () => {
    const ar = Buffer.concat([Buffer.from('!<arch>\n'), header('debian-binary/', '3'), Buffer.from('2.0')]);
    expect(await index(ar)).toEqual([
      { name: 'debian-binary', headerOffset: 8, dataOffset: 68, sizeBytes: 3 },
    ]);
  });

  it('refuses a file without the !<arch> magic', async () => {
    expect(await refusal(Buffer.from('!<arch>X'))).toMatch(/not an ar archive/);
  });

  it('refuses a header without the `\\n terminator', async () => {
    const ar = Buffer.concat([
      Buffer.from('!<arch>\n'),
      header('debian-binary', '4', 'XX'),
      Buffer.from('2.0\n'),
    ]);
    expect(await refusal(ar)).toMatch(/does not end with/);
  });

  it('refuses a size that is not decimal', async () => {
    const ar = Buffer.concat([
      Buffer.from('!<arch>\n'),
      header('debian-binary', '0x4'),
      Buffer.from('2.0\n'),
    ]);
    expect(await refusal(ar)).toMatch(/not a decimal number/);
  });

  it('refuses a size past the end of the file (a truncated member)', async () => {
    const full = writeAr([{ name: 'data.tar.xz', data: Buffer.alloc(100) }]);
    expect(await refusal(full.subarray(0, full.length - 10))).toMatch(/past the end of the file/);
  });

  it("refuses member names with '/'", async () => {
    expect(await refusal(writeAr([{ name: '../etc/passwd', data: Buffer.alloc(2) }]))).toMatch(
      /not a plain file name/,
    );
  });

  it('refuses more than 16 members', async () => {
    const members = Array.from({ length: 17 }, (_, i) => ({ name: `_m${i}`, data: Buffer.alloc(2) }));
    expect(await refusal(writeAr(members))).toMatch(/more than 16 members/);
    expect(await index(writeAr(members.slice(0, 16)))).toHaveLength(16);
  });

  it('refuses a bad padding byte, a repeated name and trailing bytes too short for a header', async () => {
    const ar = writeAr([
      { name: 'a', data: Buffer.alloc(1) },
      { name: 'b', data: Buffer.alloc(2) },
    ]);
    const badPad = Buffer.from(ar);
    badPad[8 + 60 + 1] = 0x41;
    expect(await refusal(badPad)).toMatch(/padding byte/);
    expect(
      await refusal(
        writeAr([
          { name: 'a', data: Buffer.alloc(2) },
          { name: 'a', data: Buffer.alloc(2) },
        ]),
      ),
    ).toMatch(/appears twice/);
    expect(await refusal(Buffer.concat([ar, Buffer.from('junk')]))).toMatch(/trailing bytes/);
  });
});
