// Test runner configuration: integration tests share one Docker engine and one Redis, so files run
// one at a time on this 2-core machine; a hung engine call fails the test instead of the suite.
// The global set-up builds dist/ when stale: tests that start `rbnet` as a process run the compiled entry.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/support/build-dist-global-setup.ts'],
    include: [
      'services/**/*.test.ts',
      'worker/**/*.test.ts',
      'coordinator/**/*.test.ts',
      'cli/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    allowOnly: false,
    passWithNoTests: false,
  },
});
