#!/usr/bin/env node
// The `rbnet` command: loads the TypeScript entry through tsx so no build step stands between a
// clone and a working CLI.
import { tsImport } from 'tsx/esm/api';

// A closed pipe (`rbnet ... | head`) is the reader's choice, not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const { main } = await tsImport('../cli/rbnet.ts', import.meta.url);
process.exitCode = await main(process.argv.slice(2));
