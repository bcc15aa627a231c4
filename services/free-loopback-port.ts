// A TCP port that nothing listens on right now, on a loopback address unless told another, for a
// server started next (the demo's coordinator, the tests' Redis and coordinators, a coordinator told
// to listen on port 0). The kernel picks it; a race with another process that binds it first is
// possible and shows as EADDRINUSE at the real listen.
import { createServer } from 'node:net';

/** Binds port 0 on `host`, reads the port the kernel chose, and releases it. */
export async function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, host, resolve);
  });
  const address = probe.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (port === 0) throw new Error(`no free port on ${host}`);
  return port;
}
