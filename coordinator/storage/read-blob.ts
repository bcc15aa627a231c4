// Reading a blob of the content store into memory, bounded: for the small documents the
// coordinator parses itself (envelopes, .buildinfo and .dsc files, inspection reports, links).
import type { Sha256Hex } from '../../services/digest.ts';
import { type ContentStore, ContentStoreError } from '../../services/storage/content-store.ts';

/** The exact bytes of blob `sha256`, or undefined when it is not stored. @throws ContentStoreError TOO_LARGE past `maxBytes`. */
export async function readBlobBytes(
  content: ContentStore,
  sha256: Sha256Hex,
  maxBytes: number,
): Promise<Buffer | undefined> {
  const stream = await content.open(sha256);
  if (!stream) return undefined;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      stream.destroy();
      throw new ContentStoreError('TOO_LARGE', `blob ${sha256} exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The blob as UTF-8 text (for JSON documents, which are parsed strictly afterwards). */
export async function readBlobText(
  content: ContentStore,
  sha256: Sha256Hex,
  maxBytes: number,
): Promise<string | undefined> {
  return (await readBlobBytes(content, sha256, maxBytes))?.toString('utf8');
}
