// Test support: runs Debian's in-toto 1.3.1 (python3-in-toto) on our documents, the reference verifier.
import { execFile } from 'node:child_process';

/**
 * Debian's interpreter, the one /usr/lib/apt/methods/intoto runs under (`#!/usr/bin/python3`). A
 * `python3` earlier on PATH (pyenv, a venv) has no in_toto or securesystemslib.
 */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * Runs `script` with Debian's python3, passing `input` as JSON on stdin; the script prints one JSON
 * value on stdout, which is returned. Fails with python's stderr when the script exits non-zero.
 */
export function runInTotoPython<T = unknown>(
  script: string,
  input: unknown,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      DEBIAN_PYTHON,
      ['-c', script],
      { cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`python3 failed: ${error.message}\n${stderr}`, { cause: error }));
          return;
        }
        try {
          resolve(JSON.parse(stdout) as T);
        } catch (parseError) {
          reject(new Error(`python3 printed no JSON: ${stdout}\n${stderr}`, { cause: parseError }));
        }
      },
    );
    child.stdin?.end(JSON.stringify(input));
  });
}
