// Reads a build's output directory as a tar stream (from the engine's getArchive), hashing each
// regular file as it streams past and refusing anything that could escape or exhaust the host.
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname, posix, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { Sha256Hex } from '../../services/digest.ts';
import { outputPathProblem } from '../../services/relative-path.ts';

export interface CapturedFile {
  /** Path relative to the output directory, POSIX separators. */
  readonly path: string;
  readonly sha256: Sha256Hex;
  readonly sizeBytes: number;
  /** Permission bits as recorded in the archive. */
  readonly mode: number;
}

export type OutputCapture =
  | { readonly kind: 'captured'; readonly files: readonly CapturedFile[]; readonly totalBytes: number }
  | { readonly kind: 'rejected'; readonly detail: string };

export interface CaptureOptions {
  /** Name of the archive's top directory: the engine prefixes entries with the output dir's basename. */
  readonly rootName: string;
  readonly maxOutputBytes: number;
  readonly maxOutputEntries: number;
  /** When set, each file is also written below this directory (created if missing). */
  readonly writeToDir?: string;
}

/** Thrown inside the stream pipeline to stop reading; turned into a `rejected` value below. */
class OutputRejected extends Error {}

/**
 * Normalises one archive entry name to a path relative to the output root, or refuses it.
 * Returns '' for the root directory itself.
 */
export function relativeOutputPath(entryName: string, rootName: string): string {
  if (entryName.includes('\0'))
    throw new OutputRejected(`entry name contains NUL: ${JSON.stringify(entryName)}`);
  if (entryName.startsWith('/'))
    throw new OutputRejected(`absolute path in output: ${JSON.stringify(entryName)}`);
  const trimmed = entryName.replace(/\/+$/, '');
  const segments = trimmed.split('/');
  if (segments.some((s) => s === '..'))
    throw new OutputRejected(`path escapes the output directory: ${JSON.stringify(entryName)}`);
  const cleaned = segments.filter((s) => s !== '.' && s !== '');
  if (cleaned[0] !== rootName)
    throw new OutputRejected(`entry outside the output directory: ${JSON.stringify(entryName)}`);
  return cleaned.slice(1).join('/');
}

/** Parses the tar stream; never holds a file in memory. Resolves to a value, rejects only on I/O failure of the target dir. */
export async function captureOutputs(archive: Readable, options: CaptureOptions): Promise<OutputCapture> {
  const files: CapturedFile[] = [];
  const seen = new Set<string>();
  let totalBytes = 0;
  let entries = 0;
  const extract = tar.extract();
  const targetRoot = options.writeToDir ? resolve(options.writeToDir) : undefined;
  if (targetRoot) await mkdir(targetRoot, { recursive: true });

  const consumeEntries = async (): Promise<void> => {
    for await (const entry of extract) {
      const header = entry.header;
      entries += 1;
      if (entries > options.maxOutputEntries) {
        throw new OutputRejected(`more than ${options.maxOutputEntries} entries in the output directory`);
      }
      const path = relativeOutputPath(header.name, options.rootName);
      // One rule, applied before anything is written or signed: the name is kept exactly or refused.
      const problem = path === '' ? undefined : outputPathProblem(path);
      if (problem !== undefined) {
        throw new OutputRejected(`output name ${JSON.stringify(path.slice(0, 300))} ${problem}`);
      }
      if (seen.has(path)) throw new OutputRejected(`duplicate entry in output: ${JSON.stringify(path)}`);
      seen.add(path);
      switch (header.type) {
        case 'directory':
          if (targetRoot && path) await mkdir(safeTarget(targetRoot, path), { recursive: true });
          entry.resume();
          break;
        case 'file':
        case 'contiguous-file': {
          if (path === '') throw new OutputRejected('the output root is not a directory');
          const sizeBytes = header.size ?? 0;
          if (totalBytes + sizeBytes > options.maxOutputBytes) {
            throw new OutputRejected(
              `outputs exceed ${options.maxOutputBytes} bytes (at ${JSON.stringify(path)})`,
            );
          }
          totalBytes += sizeBytes;
          const sha256 = await hashEntry(
            entry as AsyncIterable<Buffer>,
            targetRoot ? safeTarget(targetRoot, path) : undefined,
          );
          files.push({ path, sha256, sizeBytes, mode: (header.mode ?? 0) & 0o7777 });
          break;
        }
        case 'symlink':
        case 'link': {
          const target = header.linkname ?? '';
          const where = posix.normalize(posix.join(posix.dirname(path), target));
          const outside = target.startsWith('/') || where === '..' || where.startsWith('../');
          throw new OutputRejected(
            outside
              ? `${header.type === 'link' ? 'hard link' : 'symlink'} ${JSON.stringify(path)} points outside the output directory (${JSON.stringify(target)})`
              : `${header.type === 'link' ? 'hard link' : 'symlink'} ${JSON.stringify(path)}: links are not outputs; only regular files and directories are`,
          );
        }
        default:
          throw new OutputRejected(
            `${header.type} ${JSON.stringify(path)} in output: only regular files and directories are allowed`,
          );
      }
    }
  };

  // tar-stream speaks streamx, so the engine's stream is piped by hand; its failure reaches the
  // entry iterator through extract.destroy().
  archive.once('error', (err: Error) => extract.destroy(err));
  archive.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    await consumeEntries();
  } catch (err) {
    archive.destroy();
    extract.destroy();
    if (err instanceof OutputRejected) return { kind: 'rejected', detail: err.message };
    if (err instanceof Error && /tar|header|Unexpected end/i.test(err.message)) {
      return { kind: 'rejected', detail: `malformed output archive: ${err.message}` };
    }
    throw err;
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { kind: 'captured', files, totalBytes };
}

function safeTarget(root: string, relativePath: string): string {
  const target = resolve(root, relativePath);
  if (!target.startsWith(root + sep))
    throw new OutputRejected(`path escapes the output directory: ${relativePath}`);
  return target;
}

async function hashEntry(entry: AsyncIterable<Buffer>, writeTo: string | undefined): Promise<Sha256Hex> {
  const hash = createHash('sha256');
  if (!writeTo) {
    for await (const chunk of entry) hash.update(chunk);
    return hash.digest('hex') as Sha256Hex;
  }
  await mkdir(dirname(writeTo), { recursive: true });
  // O_EXCL|O_NOFOLLOW: a file that already exists (or a planted link) is never written through.
  const handle = await open(
    writeTo,
    fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW,
    0o644,
  );
  try {
    for await (const chunk of entry) {
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex') as Sha256Hex;
}
