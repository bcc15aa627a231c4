// The end of a build log from the content store, bounded in bytes kept and bytes read: a build that
// failed says why in its last lines, and a page must not hold a whole log.
import type { Sha256Hex } from '../../services/digest.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import type { LogTail } from './read-model.ts';

/** Bytes of the end of a log shown on a page. */
export const LOG_TAIL_BYTES = 32 * 1024;
/** A log longer than this is not read for a page at all (it can still be downloaded by digest). */
export const MAX_LOG_READ_BYTES = 64 * 1024 * 1024;

// Colour and cursor sequences (CSI ... final byte) make no sense on a page.
const ANSI_CSI = /\u001b\[[0-?]*[ -/]*[@-~]/g;

/** Log text as lines on a page: CSI sequences removed, carriage returns as line breaks. */
export function cleanLogText(text: string): string {
  return text.replace(ANSI_CSI, '').replace(/\r\n?/g, '\n');
}

/**
 * The last `tailBytes` of the log `sha256`, cleaned for a page, starting at a line boundary when
 * anything before it was left out. Undefined when the log is not stored or is too long to read.
 */
export async function readLogTail(
  content: ContentStore,
  sha256: Sha256Hex,
  tailBytes = LOG_TAIL_BYTES,
): Promise<LogTail | undefined> {
  const stat = await content.stat(sha256);
  if (!stat || stat.sizeBytes > MAX_LOG_READ_BYTES) return undefined;
  const stream = await content.open(sha256);
  if (!stream) return undefined;
  let kept: Buffer[] = [];
  let keptBytes = 0;
  for await (const chunk of stream) {
    kept.push(chunk as Buffer);
    keptBytes += (chunk as Buffer).length;
    if (keptBytes > 2 * tailBytes) {
      const joined = Buffer.concat(kept);
      kept = [joined.subarray(joined.length - tailBytes)];
      keptBytes = tailBytes;
    }
  }
  let tail = Buffer.concat(kept);
  if (tail.length > tailBytes) tail = tail.subarray(tail.length - tailBytes);
  let omittedBytes = stat.sizeBytes - tail.length;
  if (omittedBytes > 0) {
    // Start at the first whole line (a cut UTF-8 sequence or half a line helps nobody).
    const newline = tail.indexOf(0x0a);
    if (newline >= 0 && newline < tail.length - 1) {
      omittedBytes += newline + 1;
      tail = tail.subarray(newline + 1);
    }
  }
  return { sha256, sizeBytes: stat.sizeBytes, text: cleanLogText(tail.toString('utf8')), omittedBytes };
}
