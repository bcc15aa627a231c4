// The opt-in run against Debian's real archive (`npm run test:real-archive`): never part of `npm test`
// (its files do not match the main config's *.test.ts), as it needs http://deb.debian.org.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/real-archive/**/*.real-test.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 300_000,
    allowOnly: false,
    passWithNoTests: false,
  },
});
