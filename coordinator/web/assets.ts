// The pages' static files, served by the coordinator itself (no CDN) at paths that carry a hash of
// their content, so browsers and proxies may cache them for a year and never ask again.
import { createHash } from 'node:crypto';
import { ENHANCE_SCRIPT } from './assets/enhance-script.ts';
import { SITE_CSS } from './assets/site-css.ts';

export interface StaticAsset {
  /** `/assets/site.0123456789abcdef.css` */
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#2e7d32"/><path d="M9 17l5 5 10-12" fill="none" stroke="#fff" stroke-width="4" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

function asset(name: string, extension: string, contentType: string, text: string): StaticAsset {
  const body = Buffer.from(text, 'utf8');
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return Object.freeze({ path: `/assets/${name}.${hash}.${extension}`, contentType, body });
}

export const SITE_ASSETS = Object.freeze({
  stylesheet: asset('site', 'css', 'text/css; charset=utf-8', SITE_CSS),
  script: asset('enhance', 'js', 'text/javascript; charset=utf-8', ENHANCE_SCRIPT),
  icon: asset('icon', 'svg', 'image/svg+xml', FAVICON_SVG),
});

const BY_PATH: ReadonlyMap<string, StaticAsset> = new Map(Object.values(SITE_ASSETS).map((a) => [a.path, a]));

/** The asset at `path`, when there is one. */
export function assetAt(path: string): StaticAsset | undefined {
  return BY_PATH.get(path);
}
