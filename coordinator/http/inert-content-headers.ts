// Headers for bytes the coordinator serves but did not write (blobs, diffoscope HTML made in a
// container that read hostile .debs): a browser must load nothing, run nothing and guess nothing.

/**
 * For any blob: `default-src 'none'` (no script, style, image, font, frame or fetch), `sandbox`
 * (a unique origin with no scripts, forms, popups or top navigation), no MIME sniffing, no referrer.
 */
export const INERT_BLOB_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; sandbox",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
});

/**
 * For diffoscope HTML shown as a page: the same, plus the page's own inline <style> (diffoscope puts
 * its CSS there). With every fetch directive at 'none' a stylesheet can load nothing, so inline CSS
 * cannot reach the network; scripts stay off twice (no script-src, and the sandbox).
 */
export const INERT_HTML_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...INERT_BLOB_HEADERS,
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; sandbox",
});
