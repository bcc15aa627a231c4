// A real HTTP server on a loopback address whose every answer the test scripts: the stand-in for a
// lying coordinator (or another host it redirects to). Records what was asked, and closes every
// connection it holds, including answers it deliberately never finishes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ScriptedHandler = (request: IncomingMessage, response: ServerResponse, url: URL) => void;

export interface ScriptedHttpServer {
  /** `http://HOST:PORT`, no trailing slash. */
  readonly url: string;
  /** Paths with query, in the order asked. */
  readonly requests: string[];
  /** The answer to every request from now on (default: 404). */
  handle(handler: ScriptedHandler): void;
  close(): Promise<void>;
}

const notFound: ScriptedHandler = (_request, response) => {
  response.writeHead(404, { 'content-type': 'application/json' });
  response.end('{"error":{"code":"NOT_FOUND","message":"nothing scripted"}}');
};

/** Starts a server on `host` (a 127.0.0.0/8 address) and a free port. */
export async function startScriptedHttpServer(host = '127.0.0.1'): Promise<ScriptedHttpServer> {
  let handler = notFound;
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://scripted.invalid');
    requests.push(`${url.pathname}${url.search}`);
    // A client that gives up mid-answer is part of the script, not an error.
    response.on('error', () => undefined);
    handler(request, response, url);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    handle(next) {
      handler = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answers `status` with `body` as JSON (a string is sent as is). */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
