// `node --import ./test/support/record-loads.mjs …`: appends the URL of every module the process
// loads through the ES module loader to the file named by RBNET_LOAD_LOG (one per line), so a test
// can see what a command pulled in. The hooks run on Node's loader thread.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

// This file is also the hooks module; only the main thread registers it, once.
if (isMainThread && process.env.RBNET_LOAD_LOG) register(import.meta.url);

export async function load(url, context, nextLoad) {
  appendFileSync(process.env.RBNET_LOAD_LOG, `${url}\n`);
  return nextLoad(url, context);
}
