// Bundles the in-container .deb inspector (inspection/inspect-main.ts and its dependencies, tar-stream included)
// into one self-contained ESM file for Node 18, cached under the sha256 of its bytes.
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Sha256Hex, sha256File, sha256Hex } from '../../services/digest.ts';
import { InspectionError } from '../../services/errors.ts';

export interface InspectorBundle {
  /** Absolute path of the cached bundle, `<cacheDir>/inspector-<sha256>.mjs`. */
  readonly path: string;
  readonly sha256: Sha256Hex;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The entry is a sibling of this module's tree: TypeScript beside the sources, the compiled .js in dist/.
const ENTRY = fileURLToPath(new URL(`./inspection/inspect-main${extname(import.meta.url)}`, import.meta.url));

/**
 * CommonJS dependencies (tar-stream, streamx) call `require` for Node built-ins; an ESM bundle has no
 * `require`, so the bundle makes one.
 */
const REQUIRE_SHIM =
  "import { createRequire as __rbnetCreateRequire } from 'node:module';\nconst require = __rbnetCreateRequire(import.meta.url);";

let memo: Promise<Uint8Array> | undefined;

async function bundleBytes(): Promise<Uint8Array> {
  // Loaded here, not at the top: every worker start would otherwise pay for esbuild's API.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [ENTRY],
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'esm',
    write: false,
    minify: false,
    sourcemap: false,
    legalComments: 'inline',
    banner: { js: REQUIRE_SHIM },
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file || result.outputFiles.length !== 1) {
    throw new InspectionError(
      'INSPECTION_FAILED',
      'esbuild produced no single output file for the inspector',
    );
  }
  return file.contents;
}

/**
 * Builds the inspector bundle (once per process) and stores it as `<cacheDir>/inspector-<sha256>.mjs`
 * unless a file with that name and digest is already there. The bundle's bytes depend only on the
 * sources and esbuild's version, so the digest names exactly what runs in the container.
 *
 * @throws InspectionError INSPECTION_FAILED when esbuild fails or the cache cannot be written.
 */
export async function buildInspectorBundle(cacheDir: string): Promise<InspectorBundle> {
  memo ??= bundleBytes().catch((cause: unknown) => {
    memo = undefined;
    throw cause instanceof InspectionError
      ? cause
      : new InspectionError(
          'INSPECTION_FAILED',
          `bundling the inspector failed: ${(cause as Error).message}`,
          {
            cause,
          },
        );
  });
  const bytes = await memo;
  const sha256 = sha256Hex(bytes);
  const path = join(cacheDir, `inspector-${sha256}.mjs`);
  try {
    const existing = await sha256File(path).catch(() => undefined);
    if (existing?.sha256 === sha256) return { path, sha256 };
    await mkdir(cacheDir, { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    const handle = await open(
      temporary,
      fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW,
      0o644,
    );
    try {
      await handle.writeFile(bytes);
    } finally {
      await handle.close();
    }
    await rename(temporary, path).catch(async (cause: unknown) => {
      await rm(temporary, { force: true });
      throw cause;
    });
  } catch (cause) {
    throw new InspectionError('INSPECTION_FAILED', `writing the inspector bundle to ${cacheDir} failed`, {
      cause,
    });
  }
  return { path, sha256 };
}
