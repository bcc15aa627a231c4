// Packs a manifest's inputs into the tar stream put into the build container, verifying each file's
// sha256 as it streams through, so what the build sees is exactly what the manifest recorded.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { posix } from 'node:path';
import tar from 'tar-stream';
import { InputError } from '../../services/errors.ts';
import type { Manifest } from '../../services/manifest/manifest.ts';
import type { InputSource, OpenedInput } from './input-source.ts';

/** Archive entries are relative to "/" because the engine extracts at the container's root. */
function archiveName(absolutePath: string): string {
  return absolutePath.replace(/^\/+/, '');
}

/** Every directory between buildPath (inclusive) and each input, parents first. */
function directoriesToCreate(manifest: Manifest): string[] {
  const dirs = new Set<string>([manifest.environment.buildPath]);
  for (const input of manifest.inputs) {
    let dir = posix.dirname(posix.join(manifest.environment.buildPath, input.path));
    while (dir.length > manifest.environment.buildPath.length) {
      dirs.add(dir);
      dir = posix.dirname(dir);
    }
  }
  return [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
}

export interface InputArchive {
  /** The tar stream to hand to putArchive. It errors (and stops) on the first digest mismatch. */
  readonly stream: tar.Pack;
  /** Resolves once every input was packed and verified; rejects with InputError otherwise. */
  readonly done: Promise<void>;
}

/**
 * Opens every input first (so a missing one fails before a container exists), checks the total size
 * against `maxInputBytes`, then streams them into a tar owned by the manifest's uid:gid.
 */
export async function openInputArchive(
  manifest: Manifest,
  source: InputSource,
  maxInputBytes: number,
): Promise<InputArchive> {
  const opened: OpenedInput[] = [];
  try {
    let total = 0;
    for (const input of manifest.inputs) {
      const file = await source.open(input);
      opened.push(file);
      total += file.sizeBytes;
      if (total > maxInputBytes) {
        throw new InputError(
          'INPUT_TOO_LARGE',
          `inputs: total size exceeds the worker's limit of ${maxInputBytes} bytes`,
        );
      }
    }
  } catch (err) {
    for (const file of opened) file.stream.destroy();
    throw err;
  }

  const { uid, gid, buildPath } = manifest.environment;
  const pack = tar.pack();
  // Failures are reported through `done`; the consumer (putArchive) only sees the stream end early.
  pack.on('error', () => undefined);
  const fill = async (): Promise<void> => {
    const mtime = new Date(manifest.environment.sourceDateEpoch * 1000);
    for (const dir of directoriesToCreate(manifest)) {
      pack.entry({ name: archiveName(dir), type: 'directory', mode: 0o755, uid, gid, mtime });
    }
    for (const [index, input] of manifest.inputs.entries()) {
      const file = opened[index]!;
      const hash = createHash('sha256');
      let settleEntry!: (err?: Error | null) => void;
      const entryDone = new Promise<void>((resolve, reject) => {
        settleEntry = (err) => (err ? reject(err) : resolve());
      });
      const entry = pack.entry(
        {
          name: archiveName(posix.join(buildPath, input.path)),
          type: 'file',
          size: file.sizeBytes,
          mode: input.mode,
          uid,
          gid,
          mtime,
        },
        (err?: Error | null) => settleEntry(err),
      ) as unknown as NodeJS.WritableStream;
      for await (const chunk of file.stream) {
        hash.update(chunk as Buffer);
        if (!entry.write(chunk as Buffer)) await once(entry, 'drain');
      }
      entry.end();
      await entryDone;
      const actual = hash.digest('hex');
      if (actual !== input.sha256) {
        throw new InputError(
          'INPUT_DIGEST_MISMATCH',
          `inputs "${input.path}": sha256 is ${actual}, the manifest records ${input.sha256}`,
        );
      }
    }
    pack.finalize();
  };
  const done = fill().catch((err: unknown) => {
    for (const file of opened) file.stream.destroy();
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  });
  // The caller awaits `done`; this keeps an early rejection from being reported as unhandled meanwhile.
  done.catch(() => {});
  return { stream: pack, done };
}
