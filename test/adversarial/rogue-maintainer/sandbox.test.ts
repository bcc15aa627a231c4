// A rogue maintainer's hostile builds against the hermetic runner on the real engine: each test is one
// attack, and asserts the refusal (issue 13, items 14–16). The maintainer controls the build script,
// so it controls the build's log, its output names and everything it writes; it controls nothing the
// engine reports.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RebuildResult, rebuildManifest } from '../../../worker/rebuild-manifest.ts';
import { removeUnremovableContainer } from '../../support/container-owners.ts';
import { createRunnerHarness, type RunnerHarness } from '../../support/runner-harness.ts';

let harness: RunnerHarness;
beforeAll(async () => {
  harness = await createRunnerHarness('rogue-sandbox');
});
afterAll(async () => {
  await harness?.cleanup();
});
afterEach(async () => {
  // Whatever the build did, nothing of it may stay on the engine once the test has cleaned up.
  expect(await harness.labelledContainers()).toBe(0);
});

type Context = ReturnType<RunnerHarness['context']>;

async function rebuild(script: string, context: Context = harness.context()): Promise<RebuildResult> {
  const { dir, parsed } = await harness.writeManifest({ script });
  return rebuildManifest(context, {
    parsed,
    inputs: harness.inputsFor(dir),
    outDir: await harness.freshOutDir(),
  });
}

function failureOf(result: RebuildResult): { reason: string; detail: string } {
  if (result.kind !== 'failed') throw new Error(`expected a refusal, got outputs ${JSON.stringify(result)}`);
  return result;
}

/** Nests directories until the shell's own path limit stops it: past PATH_MAX on the host. */
const NEST_PAST_PATH_MAX = `
nest() {
  cd "$1" || exit 3
  while mkdir dddddddddddddddd 2>/dev/null && cd dddddddddddddddd 2>/dev/null; do :; done
  echo deep > leaf.txt
}
`;

describe('a build cannot wedge its worker (item 14)', () => {
  it('an output tree nested past the host path limit: output-rejected naming the rule, and the next build runs', async () => {
    const context = harness.context();
    const result = await rebuild(
      `#!/bin/sh\n${NEST_PAST_PATH_MAX}\nmkdir -p out\n( nest out )\nexit 0\n`,
      context,
    );
    const failure = failureOf(result);
    expect(failure.reason).toBe('output-rejected');
    expect(failure.detail).toMatch(/has more than 32 segments|is longer than 255 characters/);
    // The engine cannot remove this container; the worker flagged it instead of crashing.
    const leftovers = [...context.sandbox.leftovers.values()];
    expect(leftovers).toHaveLength(1);
    expect(leftovers[0]!.detail).toMatch(/could not remove/);
    const next = await rebuild('#!/bin/sh\nmkdir -p out\necho fine > out/a.txt\n', context);
    expect(next.kind).toBe('built');
    await removeUnremovableContainer(harness.docker, leftovers[0]!.containerId);
  });

  it('a tree the engine cannot remove, left outside the outputs: the result stands, the container is flagged, the start-up sweep carries on', async () => {
    const context = harness.context();
    const result = await rebuild(
      `#!/bin/sh\n${NEST_PAST_PATH_MAX}\nmkdir -p out junk\necho made > out/a.txt\n( nest junk )\nexit 0\n`,
      context,
    );
    expect(result.kind).toBe('built');
    const leftovers = [...context.sandbox.leftovers.values()];
    expect(leftovers).toHaveLength(1);
    expect(result.leftoverContainer?.containerId).toBe(leftovers[0]!.containerId);
    // The leftover's owner (this process) still runs, so a sweep keeps it; a sweep never throws.
    const sweep = await harness.context().sandbox.removeOrphans(harness.workerId);
    expect(sweep.kept.map((k) => k.containerId)).toContain(leftovers[0]!.containerId);
    const next = await rebuild('#!/bin/sh\nmkdir -p out\necho fine > out/a.txt\n', context);
    expect(next.kind).toBe('built');
    await removeUnremovableContainer(harness.docker, leftovers[0]!.containerId);
  });
});

describe('output names are refused or kept exactly, never mangled (item 15)', () => {
  it('an output named with a newline: output-rejected with the reason, nothing signed', async () => {
    const result = await rebuild(`#!/bin/sh\nmkdir -p out\necho x > "out/$(printf 'a\\nb')"\n`);
    const failure = failureOf(result);
    expect(failure.reason).toBe('output-rejected');
    expect(failure.detail).toContain('control character');
    expect(failure.detail).toContain(JSON.stringify('a\nb'));
  });

  it('an output named with a backslash: output-rejected with the reason, nothing signed', async () => {
    const result = await rebuild(`#!/bin/sh\nmkdir -p out\necho x > 'out/a\\b.txt'\n`);
    const failure = failureOf(result);
    expect(failure.reason).toBe('output-rejected');
    expect(failure.detail).toContain('backslash');
  });

  it('an output whose name is not UTF-8: output-rejected, never signed as U+FFFD', async () => {
    const result = await rebuild(`#!/bin/sh\nmkdir -p out\necho x > "out/$(printf 'bad\\377name')"\n`);
    const failure = failureOf(result);
    expect(failure.reason).toBe('output-rejected');
    expect(failure.detail).toContain('not valid UTF-8');
  });

  it('two outputs whose names are different invalid byte strings: refused as not UTF-8, not merged into one name', async () => {
    const result = await rebuild(
      `#!/bin/sh\nmkdir -p out\necho 1 > "out/$(printf 'x\\377')"\necho 2 > "out/$(printf 'x\\376')"\n`,
    );
    const failure = failureOf(result);
    expect(failure.reason).toBe('output-rejected');
    expect(failure.detail).toContain('not valid UTF-8');
    expect(failure.detail).not.toContain('duplicate');
  });

  it('an output path deeper than 32 segments: output-rejected naming the limit', async () => {
    const deep = Array.from({ length: 33 }, () => 'd').join('/');
    const result = await rebuild(`#!/bin/sh\nmkdir -p out/${deep}\necho x > out/${deep}/f\n`);
    expect(failureOf(result).detail).toMatch(/more than 32 segments/);
  });
});

describe('failure reasons come from the engine, not from the log (item 16)', () => {
  it('a build that fills its disk quota and hides its error output: disk, not exit-code', async () => {
    const result = await rebuild(
      '#!/bin/sh\nexec >/dev/null 2>&1\ndd if=/dev/zero of=/tmp/fill bs=1M count=400\nexit 1\n',
      harness.context({ diskBytes: 64 * 1024 ** 2 }),
    );
    const failure = failureOf(result);
    expect(failure.reason).toBe('disk');
    expect(failure.detail).toMatch(/writable layer/);
  });

  it('a build that fills its quota with small files and hides its error output: disk, not exit-code', async () => {
    const result = await rebuild(
      '#!/bin/sh\nexec >/dev/null 2>&1\nmkdir /tmp/f && cd /tmp/f || exit 1\ni=0\nwhile echo x > $i; do i=$((i+1)); done\nexit 1\n',
      harness.context({ diskBytes: 16 * 1024 ** 2 }),
    );
    expect(failureOf(result).reason).toBe('disk');
  });

  it('a build that prints a disk-full message without filling its disk: exit-code, not disk', async () => {
    const result = await rebuild(
      '#!/bin/sh\necho "dd: error writing /tmp/fill: No space left on device" >&2\necho "Disk quota exceeded"\nexit 1\n',
    );
    const failure = failureOf(result);
    expect(failure.reason).toBe('exit-code');
  });

  it('a build that exits 137 as if SIGKILLed, to be retried elsewhere: exit-code, not an infrastructure failure', async () => {
    const result = await rebuild('#!/bin/sh\nexit 137\n');
    const failure = failureOf(result);
    expect(failure.reason).toBe('exit-code');
    expect(failure.detail).toContain('137');
  });
});
