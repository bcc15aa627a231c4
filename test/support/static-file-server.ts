// A plain static file server (node:http, GET only) over one folder on 127.0.0.1: what any mirror of
// a tlog-tiles log is. Paths are resolved inside the folder; nothing else is served.
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';

export interface StaticServer {
  readonly url: string;
  /** Serve another folder from now on (a log that forks, in a test). */
  setRoot(folder: string): void;
  close(): Promise<void>;
}

export async function startStaticServer(folder: string): Promise<StaticServer> {
  let root = folder;
  const server: Server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const file = join(root, path);
    if (request.method !== 'GET' || (file !== root && !file.startsWith(`${root}${sep}`))) {
      response.writeHead(404).end();
      return;
    }
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
      const body = await readFile(file);
      const type = path.endsWith('/checkpoint') ? 'text/plain; charset=utf-8' : 'application/octet-stream';
      response.writeHead(200, { 'content-type': type, 'content-length': body.length }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setRoot: (next) => {
      root = next;
    },
    close: () => new Promise((done) => server.close(() => done())),
  };
}
