// Whether a failed build ran out of disk, asked of the engine after the container stopped, never
// read from the build's log: a build controls its log, not its writable layer.
import type Docker from 'dockerode';
import tar from 'tar-stream';

/** What the probe tries to add to a stopped container's writable layer. */
export const DISK_PROBE_BYTES = 1024 * 1024;
const PROBE_PATH = '.rbnet-disk-probe';

/**
 * Returns why the container's writable layer is full, or undefined when it is not. Two engine-side
 * measures: the layer's size (`SizeRw` from inspect with `size=1`) at or past `diskBytes`, and, for
 * layers filled with small files (blocks and metadata fill the quota long before their sizes do),
 * whether the engine can still write {@link DISK_PROBE_BYTES} into it. Either failing to answer for
 * another reason says nothing and leaves the decision to the exit code.
 */
export async function measureDiskExhaustion(
  container: Docker.Container,
  diskBytes: number,
): Promise<string | undefined> {
  // dockerode passes options through as query parameters; its types do not list `size`.
  const sizeQuery = { size: true } as Docker.ContainerInspectOptions;
  const sized = (await container.inspect(sizeQuery).catch(() => undefined)) as
    | { SizeRw?: number }
    | undefined;
  const sizeRw = sized?.SizeRw;
  if (typeof sizeRw === 'number' && sizeRw >= diskBytes) {
    return `its writable layer holds ${sizeRw} bytes, at or past the limit of ${diskBytes}`;
  }
  const probe = tar.pack();
  probe.entry({ name: PROBE_PATH, size: DISK_PROBE_BYTES, mode: 0o600 }, Buffer.alloc(DISK_PROBE_BYTES));
  probe.finalize();
  try {
    await container.putArchive(probe as unknown as NodeJS.ReadableStream, { path: '/' });
    return undefined;
  } catch (cause) {
    const message = String((cause as Error).message);
    if (/quota|no space left/i.test(message)) {
      return `the engine could not add ${DISK_PROBE_BYTES} bytes to its writable layer (${sizeRw ?? '?'} bytes used, limit ${diskBytes})`;
    }
    return undefined;
  }
}
