// Child process of output-capture.bench.ts: captures one container's output directory and reports
// the time and this process's peak RSS, so the parent's own memory does not blur the figure.
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { createDockerClient } from '../worker/main.ts';
import { captureOutputs } from '../worker/sandbox/output-capture.ts';

const [containerId, outputPath] = process.argv.slice(2);
const docker = createDockerClient(process.env.RBNET_DOCKER_HOST ?? 'unix:///run/rbnet/docker.sock');
const started = process.hrtime.bigint();
const archive = (await docker
  .getContainer(containerId!)
  .getArchive({ path: outputPath! })) as unknown as Readable;
const result = await captureOutputs(archive, {
  rootName: posix.basename(outputPath!),
  maxOutputBytes: 8 * 1024 ** 3,
  maxOutputEntries: 1000,
});
const ms = Number(process.hrtime.bigint() - started) / 1e6;
if (result.kind !== 'captured') throw new Error(result.detail);
console.log(
  JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS, sha256: result.files[0]?.sha256 }),
);
