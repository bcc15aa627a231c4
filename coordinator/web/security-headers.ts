// The headers every web response carries: a Content-Security-Policy that allows scripts, styles and
// images from this origin only (no inline script or style at all), and no framing by other sites.

/** Pages: nothing inline, nothing from elsewhere, no plugins, forms only to this site. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The build page frames the worker's diffoscope HTML, which its own route serves sandboxed with a
 * CSP of its own (`default-src 'none'; style-src 'unsafe-inline'; sandbox`); only this origin may be framed.
 */
export const FRAMING_PAGE_CSP = `${PAGE_CSP}; frame-src 'self'`;

/** The badge SVG: an image document that loads nothing and runs nothing. */
export const BADGE_CSP = "default-src 'none'; frame-ancestors *";

export const COMMON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
});

/** For content-hashed assets: the path changes whenever the bytes do. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/** For pages: a cache may keep them, but must ask (ETag) before reusing one. */
export const PAGE_CACHE = 'no-cache';
/** Badges are fetched by other sites' pages and image proxies: five minutes is fresh enough. */
export const BADGE_CACHE = 'public, max-age=300';
