// Test fixture: a Debian archive the test builds, signs with a throwaway key and serves over HTTP on
// 127.0.0.1 (InRelease, Packages per component and architecture, Sources, a .buildinfo pool), plain
// or compressed as Debian serves them, where the test publishes new versions between polls and can
// make the server misbehave.
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ThrowawayKey } from '../../services/debian/gpg-key-fixture.ts';
import { sha256Hex } from '../../services/digest.ts';

export interface FixtureBinary {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly source?: string;
  readonly section?: string;
  /** Written as a Description field (continuation lines start with a space). */
  readonly description?: string;
}

/** One source package of a Sources index. */
export interface FixtureSource {
  readonly name: string;
  readonly version: string;
  readonly section?: string;
}

/** How `publish` lays the indexes out. */
export interface PublishOptions {
  /** Overrides the size the Release lists for a path (an index the Release says is huge). */
  readonly releaseSizes?: Readonly<Record<string, number>>;
  /**
   * Serve each index only compressed (`Packages.xz`), the Release listing the plain and the
   * compressed file, as Debian's does.
   */
  readonly compression?: 'xz' | 'gz';
  /** Sources indexes by path, e.g. `main/source/Sources`. */
  readonly sources?: Readonly<Record<string, readonly FixtureSource[]>>;
  /** Bytes served (and signed for) at a path instead of what the index would be: a corrupt .xz. */
  readonly replace?: Readonly<Record<string, Buffer>>;
}

export function compress(bytes: Buffer, compression: 'xz' | 'gz'): Buffer {
  const args = compression === 'xz' ? ['-c'] : ['-c', '-n'];
  const out = spawnSync(compression === 'xz' ? 'xz' : 'gzip', args, { input: bytes, maxBuffer: 1024 ** 3 });
  if (out.status !== 0) throw new Error(`${compression}: ${out.stderr}`);
  return out.stdout;
}

/** What a path answers instead of its file: silence, a redirect, or other bytes. */
export type Misbehaviour =
  | { kind: 'stall' }
  | { kind: 'redirect'; location: string }
  | { kind: 'bytes'; bytes: Buffer };

export class SignedArchiveServer {
  readonly files = new Map<string, Buffer>();
  readonly misbehaviour = new Map<string, Misbehaviour>();
  /** Every path requested, in order. */
  readonly requests: string[] = [];
  #server!: Server;
  url = '';

  static async start(): Promise<SignedArchiveServer> {
    const archive = new SignedArchiveServer();
    archive.#server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      archive.requests.push(path);
      const trick = archive.misbehaviour.get(path);
      if (trick?.kind === 'stall') return; // never answers; the client's deadline must end it
      if (trick?.kind === 'redirect') {
        res.writeHead(302, { location: trick.location }).end();
        return;
      }
      const body = trick?.kind === 'bytes' ? trick.bytes : archive.files.get(path);
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': body.byteLength }).end(body);
    });
    await new Promise<void>((resolve) => archive.#server.listen(0, '127.0.0.1', resolve));
    archive.url = `http://127.0.0.1:${(archive.#server.address() as AddressInfo).port}`;
    return archive;
  }

  /**
   * Publishes `suite` with one Packages index per component/architecture (and the Sources in
   * `options.sources`), signed by `key`.
   */
  publish(
    key: ThrowawayKey,
    suite: string,
    indexes: Readonly<Record<string, readonly FixtureBinary[]>>,
    options: PublishOptions = {},
  ): void {
    const lines: string[] = [];
    const texts: [string, string][] = [
      ...Object.entries(indexes).map(([path, binaries]): [string, string] => [
        path,
        binaries.map(stanza).join('\n'),
      ]),
      ...Object.entries(options.sources ?? {}).map(([path, sources]): [string, string] => [
        path,
        sources.map(sourceStanza).join('\n'),
      ]),
    ];
    const list = (path: string, bytes: Buffer) => {
      const served = options.replace?.[path] ?? bytes;
      this.files.set(`/debian/dists/${suite}/${path}`, served);
      lines.push(` ${sha256Hex(served)} ${options.releaseSizes?.[path] ?? served.byteLength} ${path}`);
    };
    for (const [path, text] of texts) {
      const bytes = Buffer.from(text);
      if (options.compression === undefined) {
        list(path, bytes);
        continue;
      }
      // Listed, not served: Debian's Release names the plain index's digest beside the files it serves.
      lines.push(` ${sha256Hex(bytes)} ${bytes.byteLength} ${path}`);
      list(`${path}.${options.compression}`, compress(bytes, options.compression));
    }
    const release = [
      'Origin: rbnet-test',
      `Suite: ${suite}`,
      `Codename: ${suite}`,
      'Date: Sun, 06 Dec 2026 00:00:00 UTC',
      'Architectures: amd64 arm64',
      'Components: main',
      'SHA256:',
      ...lines,
      '',
    ].join('\n');
    this.files.set(`/debian/dists/${suite}/InRelease`, key.clearsign(release));
  }

  /** Puts a .buildinfo where the pool template `{prefix}/{source}/{source}_{version}_{arch}` finds it. */
  putBuildinfo(source: string, version: string, arch: string, text: string | Buffer): void {
    const prefix = source.startsWith('lib') ? source.slice(0, 4) : source.slice(0, 1);
    this.files.set(
      `/buildinfo-pool/${prefix}/${source}/${source}_${version.replace(/^\d+:/, '')}_${arch}.buildinfo`,
      Buffer.from(text),
    );
  }

  get buildinfoTemplate(): string {
    return `${this.url}/buildinfo-pool/{prefix}/{source}/{source}_{version}_{arch}.buildinfo`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

function sourceStanza(source: FixtureSource): string {
  const dsc = `${source.name}_${source.version.replace(/^\d+:/, '')}.dsc`;
  return [
    `Package: ${source.name}`,
    `Version: ${source.version}`,
    ...(source.section ? [`Section: ${source.section}`] : []),
    `Directory: pool/main/${source.name[0]}/${source.name}`,
    'Checksums-Sha256:',
    ` ${sha256Hex(dsc)} 1000 ${dsc}`,
    '',
  ].join('\n');
}

function stanza(binary: FixtureBinary): string {
  const file = `pool/main/${binary.name[0]}/${binary.name}_${binary.version}_${binary.architecture}.deb`;
  return [
    `Package: ${binary.name}`,
    ...(binary.source ? [`Source: ${binary.source}`] : []),
    `Version: ${binary.version}`,
    `Architecture: ${binary.architecture}`,
    ...(binary.section ? [`Section: ${binary.section}`] : []),
    `Filename: ${file}`,
    'Size: 1000',
    `SHA256: ${sha256Hex(file)}`,
    ...(binary.description ? [`Description: ${binary.description}`] : []),
    '',
  ].join('\n');
}
