// Test fixture: a Debian mirror and a snapshot archive served on 127.0.0.1, both signed with a
// throwaway key the test pins. The snapshot holds several timestamps, each a signed archive state at
// `/archive/<name>/<timestamp>/`, and answers snapshot.debian.org's `/mr/` API from what they hold.
// Tests make either side lie or stall through `intercept`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { environmentIdentitySha256 } from '../../services/debian/environment-identity.ts';
import type { ThrowawayKey } from '../../services/debian/gpg-key-fixture.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import { DebEvidenceStore } from './deb-evidence-store.ts';
import { openDebianArchive } from './debian-archive.ts';
import { EnvironmentPackageSources } from './environment-package-sources.ts';
import { SnapshotSource } from './snapshot-source.ts';

/** One .deb a fixture archive offers. */
export interface FixtureDeb {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly bytes: Buffer;
  /**
   * The control paragraph for the index (without Filename, Size and SHA256), e.g. from `dpkg-deb -f`
   * of a real .deb; a minimal one is made up when absent.
   */
  readonly control?: string;
}

/** One suite of one archive state. */
export interface FixtureSuite {
  readonly suite: string;
  readonly debs: readonly FixtureDeb[];
  /** Release Date; default an hour before `at`. */
  readonly date?: Date;
  /** Release Valid-Until; default a week after `at`; null for none. */
  readonly validUntil?: Date | null;
  /** Who signs the InRelease; default the fixture's key. `'unsigned'` serves the plain Release. */
  readonly signer?: ThrowawayKey | 'unsigned';
  /** Codename written into the Release; default the suite. */
  readonly codename?: string;
  /** Packages left out of the index but still served in the pool (an index that omits them). */
  readonly omitFromIndex?: readonly string[];
  /** Further index paragraphs, listed as given and never served (to give an index a real size). */
  readonly extraStanzas?: readonly string[];
}

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
/** sha1 of each .deb's bytes, computed once: the API answers are made from them on every request. */
const sha1s = new WeakMap<Buffer, string>();
const sha1 = (data: Buffer): string => {
  let hash = sha1s.get(data);
  if (hash === undefined) {
    hash = createHash('sha1').update(data).digest('hex');
    sha1s.set(data, hash);
  }
  return hash;
};

function xz(data: Buffer): Buffer {
  const run = spawnSync('xz', ['-c', '-T1'], { input: data, maxBuffer: 512 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`xz failed: ${run.stderr.toString()}`);
  return run.stdout;
}

function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', 'UTC');
}

/** `pool/main/h/hello/hello_1.0-1_amd64.deb` (the epoch is not part of a pool file name). */
export function poolPath(deb: Pick<FixtureDeb, 'name' | 'version' | 'architecture'>): string {
  const prefix = deb.name.startsWith('lib') ? deb.name.slice(0, 4) : deb.name[0];
  return `pool/main/${prefix}/${deb.name}/${deb.name}_${deb.version.replace(/^\d+:/, '')}_${deb.architecture}.deb`;
}

function stanzaOf(deb: FixtureDeb): string {
  const control =
    deb.control?.replace(/\n+$/, '') ??
    `Package: ${deb.name}\nVersion: ${deb.version}\nArchitecture: ${deb.architecture}\n` +
      `Maintainer: rbnet tests <tests@rbnet.invalid>\nDescription: fixture ${deb.name}\n a fixture package`;
  return `${control}\nFilename: ${poolPath(deb)}\nSize: ${deb.bytes.length}\nSHA256: ${sha256(deb.bytes)}`;
}

/**
 * The files of one signed suite (`dists/<suite>/InRelease`, `main/binary-<arch>/Packages(.xz)`, and
 * every .deb under `pool/`), as of `at`.
 */
export function signedSuiteFiles(
  key: ThrowawayKey,
  suite: FixtureSuite,
  at: Date,
  architecture = 'amd64',
): Map<string, Buffer> {
  const omitted = new Set(suite.omitFromIndex ?? []);
  const listed = suite.debs.filter((deb) => !omitted.has(deb.name));
  const stanzas = [...listed.map(stanzaOf), ...(suite.extraStanzas ?? [])];
  const packages = Buffer.from(stanzas.length === 0 ? '' : `${stanzas.join('\n\n')}\n`);
  const packagesXz = xz(packages);
  const dir = `main/binary-${architecture}`;
  const validUntil =
    suite.validUntil === null ? undefined : (suite.validUntil ?? new Date(at.getTime() + 7 * 86_400_000));
  const release =
    `Origin: rbnet-test\nLabel: rbnet-test\nSuite: ${suite.suite}\nCodename: ${suite.codename ?? suite.suite}\n` +
    `Date: ${rfc2822(suite.date ?? new Date(at.getTime() - 3600_000))}\n` +
    (validUntil ? `Valid-Until: ${rfc2822(validUntil)}\n` : '') +
    `Architectures: ${architecture}\nComponents: main\nSHA256:\n` +
    ` ${sha256(packagesXz)} ${packagesXz.length} ${dir}/Packages.xz\n` +
    ` ${sha256(packages)} ${packages.length} ${dir}/Packages\n`;
  const inRelease =
    suite.signer === 'unsigned' ? Buffer.from(release) : (suite.signer ?? key).clearsign(release);
  const files = new Map<string, Buffer>([
    [`dists/${suite.suite}/InRelease`, inRelease],
    [`dists/${suite.suite}/${dir}/Packages.xz`, packagesXz],
  ]);
  for (const deb of suite.debs) files.set(poolPath(deb), deb.bytes);
  return files;
}

/** Handles a request instead of the fixture (return true), e.g. to lie or stall; `path` has no query. */
export type Interceptor = (path: string, req: IncomingMessage, res: ServerResponse) => boolean;

interface SnapshotState {
  readonly archiveName: string;
  readonly timestamp: string;
  readonly files: Map<string, Buffer>;
  readonly debs: readonly FixtureDeb[];
}

/**
 * The server. Paths: `/mirror/...` is the mirror; `/archive/<name>/<timestamp>/...` the snapshots;
 * `/mr/binary/<name>/<version>/binfiles` and `/mr/file/<hash>/info` the API.
 */
export class DebianSnapshotServer {
  /** Paths requested, in order (without the query). */
  readonly requests: string[] = [];
  /** Consulted first on every request; tests add attacks here and clear them afterwards. */
  readonly intercept: Interceptor[] = [];
  private mirror = new Map<string, Buffer>();
  private readonly snapshots: SnapshotState[] = [];
  /** Sockets left hanging by attacks, destroyed on close. */
  private readonly held = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    private readonly key: ThrowawayKey,
    /** e.g. `http://127.0.0.1:41234`. */
    readonly url: string,
    readonly architecture: string,
  ) {}

  static async start(key: ThrowawayKey, architecture = 'amd64'): Promise<DebianSnapshotServer> {
    let self: DebianSnapshotServer | undefined;
    const server = createServer((req, res) => self?.handle(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    self = new DebianSnapshotServer(
      server,
      key,
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      architecture,
    );
    return self;
  }

  get mirrorUrl(): string {
    return `${this.url}/mirror`;
  }

  /** Replaces what the mirror holds: one signed state of these suites, as of now. */
  setMirror(suites: readonly FixtureSuite[]): void {
    const files = new Map<string, Buffer>();
    const now = new Date();
    for (const suite of suites) {
      for (const [path, bytes] of signedSuiteFiles(this.key, suite, now, this.architecture))
        files.set(path, bytes);
    }
    this.mirror = files;
  }

  /** Adds (or replaces) one snapshot: archive `archiveName` as it was at `timestamp`. */
  addSnapshot(archiveName: string, timestamp: string, suites: readonly FixtureSuite[]): void {
    const at = new Date(
      Date.UTC(
        Number(timestamp.slice(0, 4)),
        Number(timestamp.slice(4, 6)) - 1,
        Number(timestamp.slice(6, 8)),
        Number(timestamp.slice(9, 11)),
        Number(timestamp.slice(11, 13)),
        Number(timestamp.slice(13, 15)),
      ),
    );
    const files = new Map<string, Buffer>();
    for (const suite of suites) {
      for (const [path, bytes] of signedSuiteFiles(this.key, suite, at, this.architecture))
        files.set(path, bytes);
    }
    const index = this.snapshots.findIndex((s) => s.archiveName === archiveName && s.timestamp === timestamp);
    const state = { archiveName, timestamp, files, debs: suites.flatMap((s) => s.debs) };
    if (index >= 0) this.snapshots[index] = state;
    else this.snapshots.push(state);
    this.snapshots.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  }

  /** The bytes served at `path` of a snapshot (to tamper with through `intercept`). */
  snapshotFile(archiveName: string, timestamp: string, path: string): Buffer | undefined {
    return this.snapshots
      .find((s) => s.archiveName === archiveName && s.timestamp === timestamp)
      ?.files.get(path);
  }

  /** Keeps a response open and never finishes it (a stalling server); closed with the server. */
  hold(res: ServerResponse): void {
    this.held.add(res);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
    this.requests.push(path);
    for (const attack of this.intercept) if (attack(path, req, res)) return;
    const send = (body: Buffer | undefined, type = 'application/octet-stream') => {
      if (!body) res.writeHead(404).end();
      else res.writeHead(200, { 'content-length': body.length, 'content-type': type }).end(body);
    };
    if (path.startsWith('/mirror/')) {
      send(this.mirror.get(path.slice('/mirror/'.length)));
      return;
    }
    const archived = /^\/archive\/([^/]+)\/([^/]+)\/(.+)$/.exec(path);
    if (archived) {
      const [, name, timestamp, rest] = archived;
      send(this.snapshots.find((s) => s.archiveName === name && s.timestamp === timestamp)?.files.get(rest!));
      return;
    }
    const binfiles = /^\/mr\/binary\/([^/]+)\/([^/]+)\/binfiles$/.exec(path);
    if (binfiles) {
      send(this.binfilesAnswer(binfiles[1]!, binfiles[2]!), 'application/json');
      return;
    }
    const info = /^\/mr\/file\/([0-9a-f]+)\/info$/.exec(path);
    if (info) {
      send(this.fileInfoAnswer(info[1]!), 'application/json');
      return;
    }
    res.writeHead(404).end();
  }

  /** Where each file was first seen, per archive: what snapshot.debian.org's fileinfo holds. */
  private locationsOf(hash: string): object[] {
    const seen = new Map<string, { first_seen: string; deb: FixtureDeb }>();
    for (const snapshot of this.snapshots) {
      for (const deb of snapshot.debs) {
        if (sha1(deb.bytes) !== hash || seen.has(snapshot.archiveName)) continue;
        seen.set(snapshot.archiveName, { first_seen: snapshot.timestamp, deb });
      }
    }
    return [...seen.entries()].map(([archive_name, { first_seen, deb }]) => {
      const path = poolPath(deb);
      return {
        archive_name,
        first_seen,
        name: path.split('/').at(-1),
        path: `/${path.split('/').slice(0, -1).join('/')}`,
        size: deb.bytes.length,
      };
    });
  }

  /** The answer to `/mr/binary/<name>/<version>/binfiles?fileinfo=1`, or undefined (404). */
  binfilesAnswer(name: string, version: string): Buffer | undefined {
    const files = new Map<string, string>();
    for (const snapshot of this.snapshots)
      for (const deb of snapshot.debs)
        if (deb.name === name && deb.version === version) files.set(sha1(deb.bytes), deb.architecture);
    if (files.size === 0) return undefined;
    const result = [...files].map(([hash, architecture]) => ({ architecture, hash }));
    const fileinfo = Object.fromEntries([...files.keys()].map((hash) => [hash, this.locationsOf(hash)]));
    return Buffer.from(
      JSON.stringify({
        _comment: 'rbnet test snapshot',
        binary: name,
        binary_version: version,
        result,
        fileinfo,
      }),
    );
  }

  /** The answer to `/mr/file/<hash>/info`, or undefined (404). */
  fileInfoAnswer(hash: string): Buffer | undefined {
    const result = this.locationsOf(hash);
    return result.length === 0
      ? undefined
      : Buffer.from(JSON.stringify({ _comment: 'rbnet test snapshot', hash, result }));
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close').catch(() => undefined);
  }
}

/** The environment identity of these .debs, as a worker must compute it. */
export function fixtureIdentitySha256(debs: readonly FixtureDeb[]): Sha256Hex {
  return environmentIdentitySha256(
    debs.map((d) => ({
      name: d.name,
      architecture: d.architecture,
      version: d.version,
      sha256: sha256(d.bytes) as Sha256Hex,
    })),
  );
}

/** A made-up .deb (the bytes only need a digest) for archive tests. */
export function fakeDeb(name: string, version: string, architecture = 'amd64', fill = ''): FixtureDeb {
  return {
    name,
    version,
    architecture,
    bytes: Buffer.from(`fake ${name} ${version} ${architecture} ${fill}\n`.repeat(20)),
  };
}

/** The sources a worker would build from this server: its mirror, an evidence store, its snapshot. */
export async function openFixtureSources(args: {
  readonly server: DebianSnapshotServer;
  readonly keyringPath: string;
  /** Scratch directory for caches and the evidence store. */
  readonly dir: string;
  readonly suites?: readonly string[];
  /** Default true. */
  readonly withSnapshot?: boolean;
  readonly evidenceMaxBytes?: number;
  readonly requestTimeoutMs?: number;
}): Promise<{ sources: EnvironmentPackageSources; evidence: DebEvidenceStore; snapshot?: SnapshotSource }> {
  const { server, keyringPath, dir } = args;
  const logger = pino({ level: process.env.RBNET_TEST_LOG ?? 'silent' });
  const suites = args.suites ?? ['fakesuite'];
  const evidence = new DebEvidenceStore({
    dir: join(dir, 'evidence'),
    maxBytes: args.evidenceMaxBytes ?? 1024 ** 3,
    keyringPath,
    architecture: server.architecture,
    logger,
  });
  const mirror = await openDebianArchive(
    {
      mirrorUrl: server.mirrorUrl,
      suites,
      keyringPath,
      cacheDir: join(dir, 'archive'),
      debsDir: evidence.debsDir,
      architecture: server.architecture,
      requestTimeoutMs: args.requestTimeoutMs ?? 10_000,
      // Every open asks the server again, so a test sees what it serves now.
      indexMaxAgeSeconds: 0,
    },
    { logger },
  );
  const snapshot =
    args.withSnapshot === false
      ? undefined
      : new SnapshotSource(
          {
            url: server.url,
            archives: [{ name: 'debian', suites }],
            keyringPath,
            architecture: server.architecture,
            cacheDir: join(dir, 'snapshot'),
            debsDir: evidence.debsDir,
            requestTimeoutMs: args.requestTimeoutMs ?? 10_000,
          },
          { logger },
        );
  const sources = new EnvironmentPackageSources(mirror, {
    evidence,
    ...(snapshot ? { snapshot } : {}),
    logger,
  });
  return { sources, evidence, ...(snapshot ? { snapshot } : {}) };
}
