// What \`rbnet apt setup\` writes for apt besides the layout: the APT::Intoto apt.conf snippet (every value
// checked against what apt-transport-in-toto can carry), the rebuilder URLs, and the intoto:// sources line.
import { isAbsolute } from 'node:path';
import { UsageError } from '../services/errors.ts';
import { coordinatorUrlFrom } from './coordinator-api.ts';

const ARCHITECTURE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const SUITE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/;
const COMPONENT = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/;
/**
 * Characters a value may hold in the apt.conf snippet. apt hands each item to the method with spaces
 * and non-ASCII percent-quoted (`/a b/ü/` arrives as `/a%20b/%c3%bc/`, and the method never decodes
 * it), the method splits `APT::Intoto::Name::=value` on "::" (so a value holding "::" crashes it),
 * securesystemslib shlex-splits the gpg command line that carries GPGHomedir, and `"`, `;`, `{`, `}`
 * would end the apt.conf string or statement.
 */
const APT_CONF_SAFE = /^[A-Za-z0-9._~:/?&=+,@!$()*%[\]-]+$/;

export interface AptConfSnippetOptions {
  readonly rebuilderUrls: readonly string[];
  readonly layoutPath: string;
  readonly keyids: readonly string[];
  readonly gnupgHome: string;
}

/**
 * The APT::Intoto block. Every key uses list syntax (`Key {"value"};`): apt then sends
 * `APT::Intoto::Key::=value`, which the method splits into four parts on "::"; a scalar
 * (`Key "value";`) arrives as `APT::Intoto::Key=value`, three parts, and the method's config parser
 * raises, leaving apt waiting forever. `#clear` first drops the package's own defaults.
 */
export function aptConfSnippet(options: AptConfSnippetOptions): string {
  const list = (values: readonly string[]) => values.map((value) => `    "${value}";`).join('\n');
  return `// Written by rbnet apt setup. apt-transport-in-toto reads only list syntax: Key {"value"};
// This file must sort after /etc/apt/apt.conf.d/intoto (the package's defaults), which it clears.
#clear APT::Intoto;
APT::Intoto {
  LogLevel {"20"};
  Rebuilders {
${list(options.rebuilderUrls)}
  };
  Layout {"${options.layoutPath}"};
  Keyids {
${list(options.keyids)}
  };
  GPGHomedir {"${options.gnupgHome}"};
  NoFail {"false"};
};
`;
}

export function rebuilderUrlsFrom(
  values: Readonly<Record<string, unknown>>,
  operators: readonly { name: string }[],
  threshold: number,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const given = (values['rebuilder-url'] as string[] | undefined) ?? [];
  let urls: { url: string; flag: string }[];
  if (given.length > 0) {
    if (values.coordinator !== undefined)
      throw usage('give either --rebuilder-url or --coordinator, not both');
    urls = given.map((url) => ({ url, flag: `--rebuilder-url ${url}` }));
  } else {
    const arch = (values.arch as string | undefined) ?? 'amd64';
    if (!ARCHITECTURE.test(arch)) throw usage(`--arch ${arch}: not a Debian architecture name`);
    const coordinator = coordinatorUrlFrom(values.coordinator as string | undefined, env);
    urls = operators.map(({ name }) => ({
      url: `${coordinator}/apt/${arch}/${name}/`,
      flag: `--coordinator ${coordinator} (operator ${name})`,
    }));
  }
  const normalized = urls.map(({ url, flag }) => normalizeRebuilderUrl(url, flag));
  const seen = new Set<string>();
  for (const url of normalized) {
    if (seen.has(url)) throw usage(`--rebuilder-url ${url}: given twice`);
    seen.add(url);
  }
  if (normalized.length < threshold) {
    throw usage(
      `--rebuilder-url: ${normalized.length} rebuilder URL(s) can never yield ${threshold} links; give one per operator`,
    );
  }
  return normalized;
}

function normalizeRebuilderUrl(text: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw usage(`${flag}: not a URL`, error);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usage(`${flag}: must be http:// or https://`);
  if (url.username || url.password || url.search || url.hash) {
    throw usage(`${flag}: must not carry credentials, a query or a fragment`);
  }
  const href = url.href.endsWith('/') ? url.href : `${url.href}/`;
  checkAptConfValue(href, flag);
  return href;
}

export function sourcesLineFrom(values: Readonly<Record<string, unknown>>): string {
  const archiveText = (values.archive as string | undefined) ?? 'http://deb.debian.org/debian';
  let archive: URL;
  try {
    archive = new URL(archiveText);
  } catch (error) {
    throw usage(`--archive ${archiveText}: not a URL`, error);
  }
  if (archive.protocol === 'https:') {
    throw usage(
      `--archive ${archiveText}: apt-transport-in-toto relays intoto:// to apt's http method, so the archive is fetched over plain HTTP; give an http:// mirror (apt still checks the archive's Release signature)`,
    );
  }
  if (archive.protocol !== 'http:' && archive.protocol !== 'intoto:') {
    throw usage(`--archive ${archiveText}: must be an http:// URL`);
  }
  if (archive.username || archive.password || archive.search || archive.hash) {
    throw usage(`--archive ${archiveText}: must not carry credentials, a query or a fragment`);
  }
  const uri = `intoto://${archive.host}${archive.pathname.replace(/\/+$/, '')}`;
  if (!/^[\x21-\x7e]+$/.test(uri)) throw usage(`--archive ${archiveText}: unusual characters`);
  const suite = (values.suite as string | undefined) ?? 'bookworm';
  if (!SUITE.test(suite)) throw usage(`--suite ${suite}: not a suite name`);
  const components = (values.component as string[] | undefined) ?? ['main'];
  for (const component of components) {
    if (!COMPONENT.test(component)) throw usage(`--component ${component}: not a component name`);
  }
  return `deb ${uri} ${suite} ${components.join(' ')}`;
}

export function checkAptConfPath(path: string, flag: string): void {
  if (!isAbsolute(path)) throw usage(`${flag} ${path}: must be an absolute path`);
  checkAptConfValue(path, flag);
}

function checkAptConfValue(value: string, flag: string): void {
  if (!APT_CONF_SAFE.test(value)) {
    throw usage(
      `${flag}: ${JSON.stringify(value)} holds a character apt-transport-in-toto cannot take (space, quote, ;, {, }, non-ASCII)`,
    );
  }
  if (value.includes('::')) {
    throw usage(
      `${flag}: ${JSON.stringify(value)} holds "::", which apt-transport-in-toto's config parser splits on`,
    );
  }
}

/** A refusal of what the user typed. */
export function usage(message: string, cause?: unknown): UsageError {
  return new UsageError('USAGE', message, cause === undefined ? undefined : { cause });
}
