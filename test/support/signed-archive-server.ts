// Test fixture: a Debian archive the test builds, signs with a throwaway key and serves over HTTP on
// 127.0.0.1 (InRelease, Packages per component and architecture, a .buildinfo pool), where the test
// publishes new versions between polls and can make the server misbehave.
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
   * Publishes `suite` with one Packages index per component/architecture, signed by `key`;
   * `releaseSizes` overrides the size listed for a path (an index the Release says is huge).
   */
  publish(
    key: ThrowawayKey,
    suite: string,
    indexes: Readonly<Record<string, readonly FixtureBinary[]>>,
    options: { readonly releaseSizes?: Readonly<Record<string, number>> } = {},
  ): void {
    const lines: string[] = [];
    for (const [path, binaries] of Object.entries(indexes)) {
      const text = binaries.map(stanza).join('\n');
      const bytes = Buffer.from(text);
      this.files.set(`/debian/dists/${suite}/${path}`, bytes);
      lines.push(` ${sha256Hex(bytes)} ${options.releaseSizes?.[path] ?? bytes.byteLength} ${path}`);
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
