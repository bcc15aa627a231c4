import { describe, expect, it } from 'vitest';
import { commandEntries, findCommandEntry } from './command-registry.ts';

describe('command registry', () => {
  it('each entry loads the command its path names, and no path is listed twice', async () => {
    const paths = commandEntries.map((entry) => entry.path.join(' '));
    expect(new Set(paths).size).toBe(paths.length);
    for (const entry of commandEntries) {
      const command = await entry.load();
      expect(command.path, `the loader of "${entry.path.join(' ')}"`).toEqual(entry.path);
      expect(command.help).toMatch(new RegExp(`^Usage: rbnet ${entry.path.join(' ')}\\b`));
    }
  });

  it('finds the longest matching path and returns the words after it', () => {
    const found = findCommandEntry(['worker', 'run', '--worker-dir', 'x']);
    expect(found?.entry.path).toEqual(['worker', 'run']);
    expect(found?.rest).toEqual(['--worker-dir', 'x']);
    expect(findCommandEntry(['worker'])).toBeUndefined();
    expect(findCommandEntry(['nope'])).toBeUndefined();
  });
});
