import { describe, expect, it } from 'vitest';
import { manifestFixture } from '../../test/support/manifest-fixture.ts';
import { defaultRunnerLimits } from '../runner-limits.ts';
import { buildEnvironmentVariables, containerCreateOptions, effectiveTimeLimitMs } from './container-spec.ts';

const spec = (enforceDiskLimit = true) =>
  containerCreateOptions({
    manifest: manifestFixture(),
    imageId: 'sha256:abc',
    limits: defaultRunnerLimits,
    labels: { a: 'b' },
    enforceDiskLimit,
    imageSizeBytes: 5_000_000,
  });

describe('containerCreateOptions', () => {
  it('isolates the build: no network, no capabilities, no new privileges, limits set', () => {
    const options = spec();
    expect(options.NetworkDisabled).toBe(true);
    expect(options.HostConfig?.NetworkMode).toBe('none');
    expect(options.HostConfig?.CapDrop).toEqual(['ALL']);
    expect(options.HostConfig?.CapAdd).toEqual([]);
    expect(options.HostConfig?.SecurityOpt).toEqual(['no-new-privileges']);
    expect(options.HostConfig?.Privileged).toBe(false);
    expect(options.HostConfig?.PidsLimit).toBe(defaultRunnerLimits.pidsLimit);
    expect(options.HostConfig?.Memory).toBe(defaultRunnerLimits.memoryBytes);
    expect(options.HostConfig?.MemorySwap).toBe(defaultRunnerLimits.memoryBytes);
    expect(options.HostConfig?.NanoCpus).toBe(defaultRunnerLimits.nanoCpus);
    // The quota counts the image too, so the write budget sits on top of it.
    expect(options.HostConfig?.StorageOpt).toEqual({
      size: String(defaultRunnerLimits.diskBytes + 5_000_000),
    });
    expect(options.HostConfig?.Binds).toEqual([]);
    expect(options.HostConfig?.LogConfig?.Type).toBe('none');
  });

  it('sets everything an image could otherwise supply', () => {
    const options = spec();
    expect(options.Entrypoint).toEqual(['/bin/sh', '-c', expect.any(String), 'rbnet-build', '0022']);
    expect(options.Cmd).toEqual(['/bin/sh', 'build.sh']);
    expect(options.WorkingDir).toBe('/build/fixture');
    expect(options.User).toBe('1000:1000');
    expect(options.Hostname).toBe('rbnet-build');
    expect(options.Env).toEqual([
      'HOME=/build',
      'LANG=C.UTF-8',
      'LC_ALL=C.UTF-8',
      'PATH=/bin',
      'SOURCE_DATE_EPOCH=1700000000',
      'TZ=UTC',
    ]);
  });

  it('omits StorageOpt when the driver cannot enforce it', () => {
    expect(spec(false).HostConfig?.StorageOpt).toBeUndefined();
  });

  it('derives env from the determinism fields, not from env', () => {
    const manifest = manifestFixture();
    const env = buildEnvironmentVariables({
      ...manifest,
      environment: { ...manifest.environment, timezone: 'Europe/Berlin', sourceDateEpoch: 5 },
    });
    expect(env).toContain('TZ=Europe/Berlin');
    expect(env).toContain('SOURCE_DATE_EPOCH=5');
  });

  it('never lets a manifest ask for more time than the worker allows', () => {
    const manifest = manifestFixture({ build: { argv: ['x'], workingDir: '.', timeLimitSeconds: 86_400 } });
    expect(effectiveTimeLimitMs(manifest, { ...defaultRunnerLimits, maxBuildTimeSeconds: 10 })).toBe(10_000);
    expect(effectiveTimeLimitMs(manifestFixture(), defaultRunnerLimits)).toBe(60_000);
  });
});
