#!/usr/bin/env node
// The `rbnet` command: loads the TypeScript entry through tsx so no build step stands between a
// clone and a working CLI.
import { tsImport } from 'tsx/esm/api';

const { main } = await tsImport('../cli/rbnet.ts', import.meta.url);
process.exitCode = await main(process.argv.slice(2));
