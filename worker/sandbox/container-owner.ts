// Who owns a build container: the host, boot, pid namespace, pid and start time of the process that
// created it, written into the container's labels so a start-up sweep removes only containers whose
// owner is provably gone, never one that another live rbnet process is still running.
import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';

export const LABEL_OWNER_HOST = 'dev.rbnet.owner.host';
export const LABEL_OWNER_BOOT = 'dev.rbnet.owner.boot-id';
export const LABEL_OWNER_PIDNS = 'dev.rbnet.owner.pid-namespace';
export const LABEL_OWNER_PID = 'dev.rbnet.owner.pid';
export const LABEL_OWNER_START = 'dev.rbnet.owner.start-ticks';

/** A process, identified so that a reused pid is never mistaken for it. */
export interface ContainerOwner {
  readonly host: string;
  /** The kernel's boot id: a pid from another boot names another process. */
  readonly bootId: string;
  /** The pid namespace (`pid:[inode]`): pids are only comparable inside one namespace. */
  readonly pidNamespace: string;
  readonly pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot): tells a reused pid from the original. */
  readonly startTicks: string;
}

/** Why a sweep may or may not remove a container. */
export type OwnerVerdict =
  | { readonly kind: 'alive'; readonly detail: string }
  | { readonly kind: 'gone'; readonly detail: string }
  | { readonly kind: 'unknown'; readonly detail: string };

/** Reads the start time of PID from /proc, or undefined when no such process exists. */
export async function processStartTicks(pid: number, procRoot = '/proc'): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await readFile(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses; fields after the last ')' are plain.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

/** This process as a container owner. Read once per process (nothing here changes while it runs). */
export async function currentOwner(procRoot = '/proc'): Promise<ContainerOwner> {
  const [bootId, pidNamespace, startTicks] = await Promise.all([
    readFile(`${procRoot}/sys/kernel/random/boot_id`, 'utf8').then((text) => text.trim()),
    readlink(`${procRoot}/self/ns/pid`),
    processStartTicks(process.pid, procRoot),
  ]);
  if (!startTicks) throw new Error(`cannot read ${procRoot}/${process.pid}/stat`);
  return Object.freeze({ host: hostname(), bootId, pidNamespace, pid: process.pid, startTicks });
}

export function ownerLabels(owner: ContainerOwner): Record<string, string> {
  return {
    [LABEL_OWNER_HOST]: owner.host,
    [LABEL_OWNER_BOOT]: owner.bootId,
    [LABEL_OWNER_PIDNS]: owner.pidNamespace,
    [LABEL_OWNER_PID]: String(owner.pid),
    [LABEL_OWNER_START]: owner.startTicks,
  };
}

/** The owner a container's labels name, or undefined when they name none (or a malformed one). */
export function ownerOfLabels(
  labels: Readonly<Record<string, string>> | undefined,
): ContainerOwner | undefined {
  if (!labels) return undefined;
  const host = labels[LABEL_OWNER_HOST];
  const bootId = labels[LABEL_OWNER_BOOT];
  const pidNamespace = labels[LABEL_OWNER_PIDNS];
  const pidText = labels[LABEL_OWNER_PID];
  const startTicks = labels[LABEL_OWNER_START];
  if (!host || !bootId || !pidNamespace || !pidText || !startTicks || !/^[1-9][0-9]{0,9}$/.test(pidText)) {
    return undefined;
  }
  return { host, bootId, pidNamespace, pid: Number(pidText), startTicks };
}

/**
 * Whether the process that created a container is still running, judged from this process (`self`).
 * Only a verdict of `gone` allows removal: an owner on another host or in another pid namespace
 * cannot be checked from here and is left alone.
 */
export async function judgeOwner(
  owner: ContainerOwner,
  self: ContainerOwner,
  procRoot = '/proc',
): Promise<OwnerVerdict> {
  const who = `pid ${owner.pid} on ${owner.host}`;
  if (owner.host !== self.host) {
    return { kind: 'unknown', detail: `owned by ${who}, another host: it cannot be checked from here` };
  }
  if (owner.bootId !== self.bootId) {
    return { kind: 'gone', detail: `owned by ${who} in an earlier boot` };
  }
  if (owner.pidNamespace !== self.pidNamespace) {
    return { kind: 'unknown', detail: `owned by ${who} in pid namespace ${owner.pidNamespace}, not ours` };
  }
  const startTicks = await processStartTicks(owner.pid, procRoot);
  if (startTicks === undefined) return { kind: 'gone', detail: `owner ${who} no longer runs` };
  if (startTicks !== owner.startTicks) {
    return { kind: 'gone', detail: `owner ${who} exited; the pid now belongs to another process` };
  }
  return { kind: 'alive', detail: `owner ${who} is still running` };
}
