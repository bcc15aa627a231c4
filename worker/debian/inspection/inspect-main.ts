// Entry point that runs inside the inspection container: reads a job file, runs it (run-inspection-job.ts)
// and writes report.json into the output directory. Bundled for Node 18 by worker/debian/inspector-bundle.ts.
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type InspectionJob,
  InspectionJobError,
  JOB_MAX_BYTES,
  parseInspectionJob,
  REPORT_FILE,
} from './inspection-job.ts';
import { findExecutable } from './run-diffoscope.ts';
import { runInspectionJob } from './run-inspection-job.ts';

/** `node inspector.mjs JOB.json OUT_DIR`: exit 0 with report.json written, 2 for a bad job, 1 otherwise. */
export async function main(argv: readonly string[]): Promise<number> {
  const [jobPath, outDir] = argv;
  if (!jobPath || !outDir || argv.length !== 2) {
    process.stderr.write('usage: inspector JOB.json OUT_DIR\n');
    return 2;
  }
  let job: InspectionJob;
  try {
    const text = await readFile(jobPath, 'utf8');
    if (Buffer.byteLength(text) > JOB_MAX_BYTES)
      throw new InspectionJobError('INSPECTION_JOB_INVALID', `larger than ${JOB_MAX_BYTES} bytes`);
    job = parseInspectionJob(text);
  } catch (err) {
    process.stderr.write(`inspector: job ${jobPath}: ${(err as Error).message}\n`);
    return 2;
  }
  const diffoscopePath = job.diffoscope ? findExecutable('diffoscope', process.env.PATH ?? '') : undefined;
  const report = await runInspectionJob(job, outDir, diffoscopePath ? { diffoscopePath } : {});
  process.stderr.write(
    `inspector: ${report.debs.length} .debs, ${report.comparisons.length} comparisons, report in ${join(outDir, REPORT_FILE)}\n`,
  );
  return 0;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`inspector: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
