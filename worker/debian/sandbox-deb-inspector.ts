// The worker's DebInspector: runs the .deb parsers and diffoscope in a single-use, no-network
// container and writes one report file (rbnet.deb-inspection-result/v1) naming each .deb by role
// and file name, whatever came of the inspection.
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { DEB_INSPECTION_RESULT_SCHEMA } from '../../services/debian/deb-inspection/inspection-report.ts';
import type { DockerSandbox } from '../sandbox/docker-sandbox.ts';
import type { DebInspector } from './inspect-against-archive.ts';
import { inspectDebsInSandbox } from './inspect-debs-in-sandbox.ts';
import { buildInspectorBundle } from './inspector-bundle.ts';

/** diffoscope per differing pair: 5 minutes and 8 MiB of HTML at most. */
const DIFFOSCOPE_LIMITS = Object.freeze({ timeoutSeconds: 300, maxOutputBytes: 8 * 1024 ** 2 });

export function createSandboxDebInspector(deps: {
  readonly sandbox: DockerSandbox;
  readonly docker: Docker;
  readonly stateDir: string;
  readonly workerId: string;
  readonly inspectionImageSha256: string;
  /** Per .deb decompression cap (a bigger expansion is reported as a decompression-bomb hazard). */
  readonly maxDecompressedBytes: number;
  readonly logger: Logger;
}): DebInspector {
  return async (request) => {
    await mkdir(request.workDir, { recursive: true });
    // Labels are short and safe; the report maps them back to roles and file names.
    const labelled = request.debs.map((deb, index) => {
      const [role, ...rest] = deb.label.split('/');
      return {
        label: `${role === 'published' ? 'p' : 'r'}${index}`,
        role: role ?? 'rebuilt',
        file: rest.join('/'),
        path: deb.path,
      };
    });
    const labelOf = new Map(request.debs.map((deb, index) => [deb.label, labelled[index]?.label ?? '']));
    const bundle = await buildInspectorBundle(join(deps.stateDir, 'inspector'));
    const inspection = await inspectDebsInSandbox({
      sandbox: deps.sandbox,
      docker: deps.docker,
      stateDir: deps.stateDir,
      workerId: deps.workerId,
      limits: { maxDecompressedBytes: deps.maxDecompressedBytes },
      debs: labelled.map((deb) => ({ label: deb.label, path: deb.path })),
      compare: request.compare.map((pair) => ({
        left: labelOf.get(pair.left) ?? '',
        right: labelOf.get(pair.right) ?? '',
      })),
      ...(request.sourceDateEpoch !== undefined ? { sourceDateEpoch: request.sourceDateEpoch } : {}),
      ...(request.buildPaths ? { buildPaths: request.buildPaths } : {}),
      ...(request.compare.length > 0 ? { diffoscope: DIFFOSCOPE_LIMITS } : {}),
      bundle,
      inspectionImageSha256: deps.inspectionImageSha256,
      outDir: join(request.workDir, 'sandbox'),
      logger: deps.logger,
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const reportPath = join(request.workDir, 'deb-inspection.json');
    const result = {
      schema: DEB_INSPECTION_RESULT_SCHEMA,
      debs: labelled.map((deb) => ({ label: deb.label, role: deb.role, file: deb.file })),
      ...(inspection.report.kind === 'inspected'
        ? { report: inspection.report.report }
        : { failure: { reason: inspection.report.reason, detail: inspection.report.detail } }),
      diffoscope: inspection.diffoscopeHtml.map((html, index) => ({
        left: html.pair.left,
        right: html.pair.right,
        byproduct: `rbnet/diffoscope-${index + 1}.html`,
        file: basename(html.path),
      })),
    };
    await writeFile(reportPath, `${JSON.stringify(result)}\n`);
    return { reportPath, htmlPaths: inspection.diffoscopeHtml.map((html) => html.path) };
  };
}
