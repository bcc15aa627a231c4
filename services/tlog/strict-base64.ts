// Standard base64 (RFC 4648 §4, padded) read strictly: one spelling per byte string, as C2SP notes use.
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The bytes of `text` when it is canonical padded standard base64, else undefined. Node's decoder
 * skips junk and accepts url-safe letters and non-zero padding bits; a second reader might not, so
 * only the one spelling that re-encodes to itself passes.
 */
export function decodeStandardBase64(text: string): Buffer | undefined {
  if (!STANDARD_BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}
