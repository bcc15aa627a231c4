// Who owns a build container, judged from /proc: only a provably gone owner lets a sweep remove it.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ContainerOwner,
  currentOwner,
  judgeOwner,
  ownerLabels,
  ownerOfLabels,
  processStartTicks,
} from './container-owner.ts';

let proc: string;
beforeEach(async () => {
  proc = await mkdtemp(join(tmpdir(), 'rbnet-proc-'));
});
afterEach(async () => {
  await rm(proc, { recursive: true, force: true });
});

/** A /proc/PID/stat line whose command name holds spaces and parentheses, start time `ticks`. */
async function fakeProcess(pid: number, ticks: string): Promise<void> {
  await mkdir(join(proc, String(pid)), { recursive: true });
  const after = ['S', '1', ...Array.from({ length: 17 }, (_, i) => String(i)), ticks, '999', '0'];
  await writeFile(join(proc, String(pid), 'stat'), `${pid} (evil) (name ) ${after.join(' ')}\n`);
}

const self: ContainerOwner = {
  host: 'builder-1',
  bootId: 'boot-a',
  pidNamespace: 'pid:[4026531836]',
  pid: 100,
  startTicks: '5000',
};

describe('judgeOwner', () => {
  it('alive only when the pid runs with the recorded start time, in our boot and pid namespace', async () => {
    await fakeProcess(200, '7000');
    const owner = { ...self, pid: 200, startTicks: '7000' };
    expect((await judgeOwner(owner, self, proc)).kind).toBe('alive');
  });

  it('gone when the pid no longer runs, or now belongs to another process, or the host rebooted', async () => {
    await fakeProcess(200, '7001');
    expect((await judgeOwner({ ...self, pid: 300, startTicks: '1' }, self, proc)).kind).toBe('gone');
    const reused = await judgeOwner({ ...self, pid: 200, startTicks: '7000' }, self, proc);
    expect(reused).toEqual({ kind: 'gone', detail: expect.stringContaining('another process') });
    expect((await judgeOwner({ ...self, bootId: 'boot-b' }, self, proc)).kind).toBe('gone');
  });

  it('unknown (never removed) for an owner on another host or in another pid namespace', async () => {
    expect((await judgeOwner({ ...self, host: 'builder-2', pid: 999 }, self, proc)).kind).toBe('unknown');
    expect((await judgeOwner({ ...self, pidNamespace: 'pid:[1]', pid: 999 }, self, proc)).kind).toBe(
      'unknown',
    );
  });
});

describe('owner labels', () => {
  it('round-trip, and a malformed or partial set names no owner', () => {
    expect(ownerOfLabels(ownerLabels(self))).toEqual(self);
    const labels = ownerLabels(self);
    expect(ownerOfLabels({ ...labels, 'dev.rbnet.owner.pid': '0' })).toBeUndefined();
    expect(ownerOfLabels({ ...labels, 'dev.rbnet.owner.pid': '12x' })).toBeUndefined();
    const { 'dev.rbnet.owner.boot-id': _boot, ...partial } = labels;
    expect(ownerOfLabels(partial)).toBeUndefined();
    expect(ownerOfLabels(undefined)).toBeUndefined();
  });

  it('reads this process from the real /proc', async () => {
    const me = await currentOwner();
    expect(me.pid).toBe(process.pid);
    expect(await processStartTicks(process.pid)).toBe(me.startTicks);
    expect((await judgeOwner(me, me)).kind).toBe('alive');
  });
});
