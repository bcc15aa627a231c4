// Finds rbnet's own folder (where package.json, bin/ and samples/ are) from a module's location,
// the same from the TypeScript sources (cli/...) as from the compiled JavaScript (dist/cli/...).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The nearest folder at or above `fromDir` holding a package.json; throws if there is none. */
export function packageRoot(fromDir: string): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json at or above ${fromDir}`);
  }
}
