#!/usr/bin/env node
// The `rbnet` command: runs the JavaScript that `npm run build` compiled into dist/ (npm ci and
// npm install build it through `prepare`; the README's `npm test` and `npm run demo` do too).
// It refuses, with the fix, to run a dist/ that is missing or older than the sources beside it,
// rather than rebuild here: that needs the compiler and write access, and would race when several
// rbnet processes start at once (the demo starts five).
import { resolve } from 'node:path';
import { distProblem } from './build-stamp.mjs';

// A closed pipe (`rbnet ... | head`) is the reader's choice, not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const root = resolve(import.meta.dirname, '..');
const problem = distProblem(root);
if (problem) {
  process.stderr.write(
    `rbnet: error [NOT_BUILT]: ${problem}. Run \`npm run build\` in ${root} (npm ci does it too).\n`,
  );
  process.exit(1);
}
const { main } = await import('../dist/cli/rbnet.js');
process.exitCode = await main(process.argv.slice(2));
