// Owners for build containers in tests: a process that still runs, one that is gone, and the way to
// take away a container the engine itself cannot remove (a tree nested past the host's path limit).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import {
  type ContainerOwner,
  currentOwner,
  processStartTicks,
} from '../../worker/sandbox/container-owner.ts';

const run = promisify(execFile);

async function ownerOfChild(child: ChildProcess): Promise<ContainerOwner> {
  const self = await currentOwner();
  const pid = child.pid!;
  for (let i = 0; i < 100; i += 1) {
    const startTicks = await processStartTicks(pid);
    if (startTicks) return { ...self, pid, startTicks };
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no /proc entry for pid ${pid}`);
}

/** A process that runs until `stop()`, as a container owner. */
export async function liveProcessOwner(): Promise<{ owner: ContainerOwner; stop: () => void }> {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  const owner = await ownerOfChild(child);
  return { owner, stop: () => child.kill('SIGKILL') };
}

/** The owner identity of a process that has already exited. */
export async function deadProcessOwner(): Promise<ContainerOwner> {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  const owner = await ownerOfChild(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return owner;
}

/**
 * Removes a container whose writable layer holds a tree nested past PATH_MAX on the host: the
 * engine names the layer's host path in its refusal; GNU rm walks any depth; then the engine can.
 */
export async function removeUnremovableContainer(docker: Docker, containerId: string): Promise<void> {
  const container = docker.getContainer(containerId);
  const message = await container.remove({ force: true }).then(
    () => '',
    (err: Error) => err.message,
  );
  if (message === '') return;
  const layer = /(\/\S+?\/btrfs\/subvolumes\/[0-9a-f]{64})\//.exec(message)?.[1];
  if (!layer) throw new Error(`cannot find the layer path in: ${message.slice(0, 300)}`);
  await run('rm', ['-rf', '--one-file-system', `${layer}/build`]);
  await container.remove({ force: true });
}
