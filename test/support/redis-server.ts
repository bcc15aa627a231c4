// A private, throwaway redis-server for one test file: its own loopback port and temp dir, no persistence.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from '../../services/free-loopback-port.ts';
import { stopChild } from './stop-child.ts';

export interface TestRedisServer {
  /** `redis://127.0.0.1:<port>`, the `default` user (all permissions, no password: loopback only). */
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
  /**
   * Stops the server and starts it again on the same port: with its data (AOF) kept, or wiped, as
   * when a Redis without persistence restarts or fails over to an empty replica.
   */
  restart(options: { readonly wipeData: boolean }): Promise<void>;
}

function redisArgs(port: number, dir: string, appendOnly: boolean): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    appendOnly ? 'yes' : 'no',
    '--protected-mode',
    'yes',
  ];
}

const HOST = '127.0.0.1';
const startTimeoutMs = 10_000;

/**
 * Starts `redis-server` on a free port of 127.0.0.1 with a temporary `--dir`, no RDB and no AOF.
 *
 * Tests that create ACL users and kill their connections get a server of their own, so they can never
 * disturb the shared development Redis (infra/start-redis.sh) or another engineer's run.
 *
 * @throws Error when `redis-server` is missing or does not answer PING within 10 s: the suite fails
 *   loudly rather than skipping.
 */
export async function startRedisServer(
  options: { readonly appendOnly?: boolean } = {},
): Promise<TestRedisServer> {
  const appendOnly = options.appendOnly ?? false;
  // Another process can take the port between probing and binding it; a retry picks a new one.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'rbnet-redis-'));
    const port = await freeLoopbackPort();
    let child: ChildProcess = spawn('redis-server', redisArgs(port, dir, appendOnly), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    });
    try {
      await waitForPong(child, port);
      return {
        url: `redis://${HOST}:${port}`,
        port,
        stop: async () => {
          await stopChild(child);
          await rm(dir, { recursive: true, force: true });
        },
        restart: async ({ wipeData }) => {
          await stopChild(child);
          if (wipeData) {
            await rm(dir, { recursive: true, force: true });
            await mkdir(dir, { recursive: true });
          }
          child = spawn('redis-server', redisArgs(port, dir, appendOnly), { stdio: 'ignore' });
          await waitForPong(child, port);
        },
      };
    } catch (error) {
      lastError = new Error(
        `redis-server on ${HOST}:${port} did not start: ${(error as Error).message}\n${output}`,
        {
          cause: error,
        },
      );
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    }
  }
  throw lastError;
}

async function waitForPong(child: ChildProcess, port: number): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
  });
  child.once('error', (error) => {
    exited = error.message;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(exited);
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no PONG within ${startTimeoutMs} ms`);
}

/** One inline PING over a raw socket: no client library, so the helper cannot mask a client bug. */
async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
