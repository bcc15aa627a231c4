// The environment cache against the real engine: least-recently-used eviction under a byte cap (an
// image in use survives), and the per-identity lock (one preparation at a time; a dead holder's
// lock is taken over).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sha256Hex } from '../../services/digest.ts';
import { busyboxEnvironmentSha256, ENGINE_HOST } from '../../test/support/runner-harness.ts';
import { createDockerClient } from '../main.ts';
import { DebianEnvironmentCache } from './debian-environment-cache.ts';

const docker = createDockerClient(ENGINE_HOST);
const logger = pino({ level: 'silent' });
let dir: string;
const fakeImages: Sha256Hex[] = [];

function identity(n: number): Sha256Hex {
  return n.toString(16).padStart(64, 'c') as Sha256Hex;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbnet-envcache-'));
  // Extra tags of the busybox environment stand in for prepared images: removing a tag is cheap.
  const busybox = docker.getImage(`rbnet-env:${await busyboxEnvironmentSha256()}`);
  for (let n = 1; n <= 3; n += 1) {
    const image = `${process.pid.toString(16)}${n}`.padStart(64, 'e') as Sha256Hex;
    await busybox.tag({ repo: 'rbnet-env', tag: image });
    fakeImages.push(image);
  }
});

afterAll(async () => {
  for (const image of fakeImages)
    await docker
      .getImage(`rbnet-env:${image}`)
      .remove()
      .catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function tagExists(image: string): Promise<boolean> {
  return docker
    .getImage(`rbnet-env:${image}`)
    .inspect()
    .then(() => true)
    .catch(() => false);
}

describe('DebianEnvironmentCache', () => {
  it('evicts least recently used environments until the cap holds, never the one in use', async () => {
    const cache = new DebianEnvironmentCache(join(dir, 'lru'), docker, 250, logger);
    for (const [index, image] of fakeImages.entries()) {
      await cache.record({
        identitySha256: identity(index + 1),
        imageSha256: image,
        sizeBytes: 100,
        createdAt: new Date(2026, 0, 1).toISOString(),
        lastUsedAt: new Date(2026, 0, 1 + index).toISOString(),
      });
    }
    // The oldest is in use by the build that triggered eviction: it is kept; the next oldest goes.
    const removed = await cache.evict(identity(1));
    expect(removed).toEqual([identity(2)]);
    expect(await tagExists(fakeImages[1]!)).toBe(false);
    expect(await tagExists(fakeImages[0]!)).toBe(true);
    expect(await tagExists(fakeImages[2]!)).toBe(true);
    expect((await cache.list()).map((e) => e.identitySha256).sort()).toEqual([identity(1), identity(3)]);
    // A lookup of an entry whose image is gone forgets the entry.
    expect(await cache.lookup(identity(2))).toBeUndefined();
    const hit = await cache.lookup(identity(3));
    expect(hit?.imageSha256).toBe(fakeImages[2]);
  });

  it('runs one preparation per identity at a time', async () => {
    const cache = new DebianEnvironmentCache(join(dir, 'lock'), docker, 1e12, logger);
    const order: string[] = [];
    const work = (label: string) => async () => {
      order.push(`${label}:start`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      order.push(`${label}:end`);
      return label;
    };
    await Promise.all([
      cache.withLock(identity(7), 10_000, work('a')),
      cache.withLock(identity(7), 10_000, work('b')),
    ]);
    expect(order).toEqual(['a:start', 'a:end', 'b:start', 'b:end']);
  });

  it('takes over a lock whose holder process is gone, and times out on a live one', async () => {
    const cache = new DebianEnvironmentCache(join(dir, 'stale'), docker, 1e12, logger);
    const lock = join(dir, 'stale', `${identity(8)}.lock`);
    await mkdir(lock, { recursive: true });
    await writeFile(join(lock, 'pid'), '999999999');
    expect(await cache.withLock(identity(8), 5_000, async () => 'ran')).toBe('ran');

    const live = join(dir, 'stale', `${identity(9)}.lock`);
    await mkdir(live, { recursive: true });
    await writeFile(join(live, 'pid'), String(process.pid));
    await expect(cache.withLock(identity(9), 1_000, async () => 'ran')).rejects.toThrow(
      /still being prepared/,
    );
  });
});
