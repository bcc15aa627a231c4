// Runs test/go/tlogcheck (Go's golang.org/x/mod/sumdb/note and sumdb/tlog, from Debian's packages,
// GOPATH mode, offline) on a file of test vectors; its verdict per vector id.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './runner-harness.ts';

export interface GoVerdict {
  readonly ok: boolean;
  readonly error?: string;
  readonly cosigned?: readonly string[];
  readonly size?: number;
  readonly root?: string;
}

/** Writes `vectors` (missing lists empty) to `file` and runs the Go verifier on it. */
export async function runGoTlogCheck(
  file: string,
  vectors: Record<string, unknown>,
): Promise<Record<string, GoVerdict>> {
  await writeFile(
    file,
    JSON.stringify({
      witnesses: [],
      checkpoints: [],
      inclusion: [],
      consistency: [],
      tileTrees: [],
      tilePaths: [],
      ...vectors,
    }),
  );
  const program = join(REPO_ROOT, 'test', 'go', 'tlogcheck', 'main.go');
  const { stdout } = await promisify(execFile)('go', ['run', program, file], {
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: '/usr/share/gocode',
      GOFLAGS: '',
      GOCACHE: join(tmpdir(), 'rbnet-go-build-cache'),
    },
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(stdout);
}
