import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../services/digest.ts';
import { captureOutputs } from './output-capture.ts';

type Entry = { header: Partial<tar.Header> & { name: string }; body?: string };

/** Builds a tar stream by hand so hostile shapes the engine would never produce can be tested too. */
function tarOf(entries: Entry[]): Readable {
  const pack = tar.pack();
  for (const { header, body } of entries) pack.entry(header as tar.Header, body ?? '');
  pack.finalize();
  return Readable.from(pack as unknown as AsyncIterable<Buffer>);
}

const limits = { rootName: 'out', maxOutputBytes: 1024, maxOutputEntries: 10 };
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('captureOutputs', () => {
  it('hashes regular files, sorted, relative to the output root, and writes them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbnet-capture-'));
    dirs.push(dir);
    const result = await captureOutputs(
      tarOf([
        { header: { name: 'out/', type: 'directory' } },
        { header: { name: 'out/b.txt', mode: 0o644 }, body: 'bee' },
        { header: { name: 'out/sub/', type: 'directory' } },
        { header: { name: 'out/sub/a.txt', mode: 0o755 }, body: 'ay' },
      ]),
      { ...limits, writeToDir: join(dir, 'o') },
    );
    expect(result).toEqual({
      kind: 'captured',
      totalBytes: 5,
      files: [
        { path: 'b.txt', sha256: sha256Hex('bee'), sizeBytes: 3, mode: 0o644 },
        { path: 'sub/a.txt', sha256: sha256Hex('ay'), sizeBytes: 2, mode: 0o755 },
      ],
    });
    expect(await readFile(join(dir, 'o', 'sub', 'a.txt'), 'utf8')).toBe('ay');
  });

  it.each<[string, Entry[], RegExp]>([
    ['a ../ path', [{ header: { name: 'out/../x' }, body: 'x' }], /escapes the output directory/],
    ['an absolute path', [{ header: { name: '/etc/passwd' }, body: 'x' }], /absolute path/],
    [
      'an entry outside the root',
      [{ header: { name: 'other/x' }, body: 'x' }],
      /outside the output directory/,
    ],
    [
      'a symlink to /etc/passwd',
      [{ header: { name: 'out/p', type: 'symlink', linkname: '/etc/passwd' } }],
      /points outside the output directory/,
    ],
    [
      'a relative symlink climbing out',
      [{ header: { name: 'out/a/p', type: 'symlink', linkname: '../../../x' } }],
      /points outside/,
    ],
    [
      'an inside symlink',
      [{ header: { name: 'out/p', type: 'symlink', linkname: 'q' } }],
      /links are not outputs/,
    ],
    ['a hard link', [{ header: { name: 'out/h', type: 'link', linkname: '/etc/shadow' } }], /hard link/],
    ['a character device', [{ header: { name: 'out/null', type: 'character-device' } }], /character-device/],
    ['a fifo', [{ header: { name: 'out/f', type: 'fifo' } }], /fifo/],
    [
      'files past the size cap',
      [{ header: { name: 'out/big' }, body: 'x'.repeat(2000) }],
      /exceed 1024 bytes/,
    ],
    [
      'too many entries',
      Array.from({ length: 11 }, (_, i) => ({ header: { name: `out/f${i}` }, body: '' })),
      /more than 10 entries/,
    ],
    [
      'a duplicate entry',
      [
        { header: { name: 'out/a' }, body: '1' },
        { header: { name: 'out/a' }, body: '2' },
      ],
      /duplicate entry/,
    ],
  ])('rejects %s', async (_label, entries, detail) => {
    const result = await captureOutputs(tarOf(entries), limits);
    expect(result.kind).toBe('rejected');
    expect(result.kind === 'rejected' && result.detail).toMatch(detail);
  });

  it('rejects a truncated archive as malformed instead of throwing', async () => {
    const pack = tar.pack();
    pack.entry({ name: 'out/a', size: 100 }, 'x'.repeat(100));
    pack.finalize();
    const bytes = Buffer.concat(await collect(pack as unknown as AsyncIterable<Buffer>));
    const result = await captureOutputs(Readable.from([bytes.subarray(0, 600)]), limits);
    expect(result.kind).toBe('rejected');
  });
});

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return chunks;
}

describe('output names: one rule, applied before anything is written or signed', () => {
  const named = (name: string) =>
    captureOutputs(
      tarOf([{ header: { name: 'out/', type: 'directory' } }, { header: { name }, body: 'x' }]),
      limits,
    );

  it.each([
    ['a newline', 'out/a\nb', 'control character'],
    ['a backslash', 'out/a\\b', 'backslash'],
    ['a tab', 'out/a\tb', 'control character'],
    ['U+FFFD (what a decoder makes of bytes that are not UTF-8)', 'out/bad\ufffdname', 'not valid UTF-8'],
    ['a name of 256 characters', `out/${'n'.repeat(256)}`, 'longer than 255'],
    ['33 segments', `out/${Array.from({ length: 33 }, () => 'd').join('/')}`, 'more than 32 segments'],
  ])('refuses a name with %s, naming the rule', async (_what, name, rule) => {
    const result = await named(name);
    expect(result.kind).toBe('rejected');
    expect(result.kind === 'rejected' && result.detail).toContain(rule);
  });

  it('keeps a name with spaces and non-ASCII letters exactly', async () => {
    const result = await named('out/Grüße aus Köln.txt');
    expect(result.kind === 'captured' && result.files.map((f) => f.path)).toEqual(['Grüße aus Köln.txt']);
  });

  it('refuses a name whose bytes are not UTF-8, from a tar made by tar(1), never signing U+FFFD', async () => {
    const { execFile } = await import('node:child_process');
    const { mkdir, writeFile } = await import('node:fs/promises');
    const dir = await mkdtemp(join(tmpdir(), 'rbnet-capture-bytes-'));
    dirs.push(dir);
    await mkdir(join(dir, 'out'));
    await writeFile(
      Buffer.concat([Buffer.from(`${dir}/out/bad`), Buffer.from([0xff]), Buffer.from('name')]),
      'x',
    );
    const archive = await new Promise<Buffer>((resolve, reject) =>
      execFile('tar', ['-C', dir, '-cf', '-', 'out'], { encoding: 'buffer' }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      ),
    );
    const result = await captureOutputs(Readable.from([archive]), limits);
    expect(result.kind).toBe('rejected');
    expect(result.kind === 'rejected' && result.detail).toContain('not valid UTF-8');
  });
});
