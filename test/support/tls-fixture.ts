// A throwaway CA, a server certificate for 127.0.0.1, and a private TLS-only redis-server that uses them.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { freeLoopbackPort } from '../../services/free-loopback-port.ts';
import { stopChild } from './stop-child.ts';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const startTimeoutMs = 10_000;

export interface TestTlsFiles {
  /** The temp directory holding every file below; the caller removes it. */
  readonly dir: string;
  readonly caCertFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** The CA certificate (PEM), what a client pins with `tls: { ca }`. */
  readonly ca: string;
}

/**
 * Makes an EC P-256 CA and a server certificate (SAN `IP:127.0.0.1`, serverAuth) signed by it, valid
 * for one day, with the `openssl` command line. Nothing is read from or written to the system trust store.
 */
export async function createTestCertificates(): Promise<TestTlsFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'rbnet-tls-'));
  try {
    const file = (name: string) => join(dir, name);
    // Our own config, so the host's openssl.cnf cannot add or duplicate extensions.
    await writeFile(
      file('openssl.cnf'),
      [
        '[req]',
        'distinguished_name = dn',
        'prompt = no',
        '[dn]',
        'CN = rbnet test CA',
        '[v3_ca]',
        'basicConstraints = critical, CA:TRUE',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = hash',
        '',
      ].join('\n'),
    );
    await writeFile(
      file('server-ext.cnf'),
      [
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = serverAuth',
        'subjectAltName = IP:127.0.0.1',
        'authorityKeyIdentifier = keyid',
        '',
      ].join('\n'),
    );
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    await openssl([
      'req',
      '-x509',
      ...ec,
      '-config',
      file('openssl.cnf'),
      '-extensions',
      'v3_ca',
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.crt'),
      '-days',
      '1',
    ]);
    await openssl([
      'req',
      ...ec,
      '-config',
      file('openssl.cnf'),
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      file('server.key'),
      '-out',
      file('server.csr'),
    ]);
    await openssl([
      'x509',
      '-req',
      '-in',
      file('server.csr'),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-extfile',
      file('server-ext.cnf'),
      '-out',
      file('server.crt'),
      '-days',
      '1',
    ]);
    return {
      dir,
      caCertFile: file('ca.crt'),
      serverCertFile: file('server.crt'),
      serverKeyFile: file('server.key'),
      ca: await readFile(file('ca.crt'), 'utf8'),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 10_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${(error as Error).message}\n${stderr}`, { cause: error });
  }
}

export interface TestTlsRedisServer {
  /** `rediss://127.0.0.1:<tlsPort>`: the `default` user (no password, loopback only). */
  readonly url: string;
  readonly tlsPort: number;
  /** The server's log so far (last 8,000 characters). */
  log(): string;
  /** SIGTERM, then SIGKILL after 5 s. Leaves the certificate directory to the caller. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` with TLS only (`--port 0`: no plain-TCP listener) on a free port of 127.0.0.1,
 * clients not asked for certificates, no RDB and no AOF, `--dir` in the certificates' temp directory.
 *
 * @throws Error when redis-server is missing, was built without TLS, or does not answer a TLS PING
 *   (verified against `files.ca`) within 10 s.
 */
export async function startTlsRedisServer(files: TestTlsFiles): Promise<TestTlsRedisServer> {
  let lastError: unknown;
  // Another process can take the port between probing and binding it; a retry picks a new one.
  for (let attempt = 0; attempt < 3; attempt++) {
    const tlsPort = await freeLoopbackPort();
    const child = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        files.serverCertFile,
        '--tls-key-file',
        files.serverKeyFile,
        '--tls-ca-cert-file',
        files.caCertFile,
        '--tls-auth-clients',
        'no',
        '--bind',
        HOST,
        '--dir',
        files.dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    try {
      await waitForTlsPong(child, tlsPort, files.ca);
      return {
        url: `rediss://${HOST}:${tlsPort}`,
        tlsPort,
        log: () => output,
        stop: () => stopChild(child),
      };
    } catch (error) {
      await stopChild(child);
      const noTls =
        /TLS|tls-port/i.test(output) && /not (supported|built)|Bad directive|unknown/i.test(output);
      lastError = new Error(
        `${noTls ? 'redis-server was built without TLS support: ' : ''}redis-server on ${HOST}:${tlsPort} ` +
          `(TLS) did not start: ${(error as Error).message}\n${output}`,
        { cause: error },
      );
      if (noTls) break;
    }
  }
  throw lastError;
}

async function waitForTlsPong(child: ChildProcess, port: number, ca: string): Promise<void> {
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
    if (await tlsPing(port, ca)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no PONG over TLS within ${startTimeoutMs} ms`);
}

/** One inline PING over a raw TLS socket that verifies the server against `ca`: no Redis client involved. */
async function tlsPing(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: HOST, port, ca });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('secureConnect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
