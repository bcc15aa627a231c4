// The shape of the code, checked on every run: services/ is the core and imports no other layer;
// worker/ and coordinator/ never import each other (nor the CLI above them); no import cycles; no
// shipped file over 400 lines without a `// size: …why…` comment near its top; every package loaded
// at run time is declared in package.json "dependencies". Each rule is also run on a small fixture
// tree that breaks it, so a rule that can no longer fail is noticed.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  importCycles,
  type LayerRule,
  layerViolations,
  oversizedFiles,
  type ScannedFile,
  scanTree,
  undeclaredRuntimePackages,
} from './support/architecture-scan.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');
/** What ships: the four layers, the entry and the build script. */
const SHIPPED_DIRS = ['services', 'worker', 'coordinator', 'cli', 'bin', 'infra'];
const MAX_LINES = 400;

const LAYER_RULES: readonly LayerRule[] = [
  { layer: 'services', forbidden: ['worker', 'coordinator', 'cli'] },
  { layer: 'worker', forbidden: ['coordinator', 'cli'] },
  { layer: 'coordinator', forbidden: ['worker', 'cli'] },
];

const fixtureRoots: string[] = [];
afterAll(() => {
  for (const root of fixtureRoots) rmSync(root, { recursive: true, force: true });
});

/** Writes `files` (path → content) into a new temp folder and scans it like the real tree. */
function fixtureTree(files: Record<string, string>): ScannedFile[] {
  const root = mkdtempSync(join(tmpdir(), 'rbnet-architecture-'));
  fixtureRoots.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return scanTree(root, SHIPPED_DIRS);
}

function lines(count: number, first = '// a module'): string {
  return `${[first, ...Array.from({ length: count - 1 }, (_, i) => `export const v${i} = ${i};`)].join('\n')}\n`;
}

describe('architecture of this repository', () => {
  const files = scanTree(REPO_ROOT, SHIPPED_DIRS);

  it('scans the real tree', () => {
    expect(files.some((f) => f.path === 'cli/rbnet.ts')).toBe(true);
    expect(files.some((f) => f.path === 'services/errors.ts')).toBe(true);
  });

  for (const rule of LAYER_RULES) {
    it(`${rule.layer}/ imports nothing from ${rule.forbidden.map((f) => `${f}/`).join(', ')}`, () => {
      const found = layerViolations(files, rule);
      expect(
        found,
        `${rule.layer}/ must not import ${rule.forbidden.join(', ')}:\n${found.join('\n')}`,
      ).toEqual([]);
    });
  }

  it('has no import cycles', () => {
    const cycles = importCycles(files);
    expect(cycles, `import cycles (one per tangle):\n${cycles.join('\n')}`).toEqual([]);
  });

  it(`has no non-test file over ${MAX_LINES} lines without a \`// size: …why…\` comment near its top`, () => {
    const long = oversizedFiles(files, MAX_LINES);
    expect(long, `split these, or say why near the top (// size: …):\n${long.join('\n')}`).toEqual([]);
  });

  it('declares in "dependencies" every package it loads at run time (npm ci --omit=dev installs no more)', () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const undeclared = undeclaredRuntimePackages(files, manifest.dependencies);
    expect(undeclared, `not in package.json "dependencies":\n${undeclared.join('\n')}`).toEqual([]);
  });
});

describe('each rule fails on a tree that breaks it', () => {
  it('layers: services importing worker (even a type), worker importing coordinator, coordinator importing worker', () => {
    const files = fixtureTree({
      'services/core.ts': "import type { Job } from '../worker/job.ts';\nexport const core = 1;\n",
      'services/clean.ts': "import { core } from './core.ts';\nexport const clean = core;\n",
      'worker/job.ts': "import { app } from '../coordinator/app.ts';\nexport type Job = typeof app;\n",
      'coordinator/app.ts':
        "import { core } from '../services/core.ts';\nexport const app = core;\nexport const later = () => import('../worker/job.ts');\n",
      'cli/main.ts': "import '../worker/job.ts';\nimport '../coordinator/app.ts';\n",
      'services/core.test.ts': "import '../worker/job.ts';\n",
    });
    expect(layerViolations(files, LAYER_RULES[0]!)).toEqual(['services/core.ts → worker/job.ts (type only)']);
    expect(layerViolations(files, LAYER_RULES[1]!)).toEqual(['worker/job.ts → coordinator/app.ts']);
    expect(layerViolations(files, LAYER_RULES[2]!)).toEqual(['coordinator/app.ts → worker/job.ts']);
  });

  it('cycles: reports each tangle as the path that closes it, and passes a tree without one', () => {
    const files = fixtureTree({
      'services/a.ts': "import { b } from './b.ts';\nexport const a = b;\n",
      'services/b.ts': "import { c } from './c.ts';\nexport const b = c;\n",
      'services/c.ts': "export { a as c } from './a.ts';\n",
      'worker/x.ts': "import type { Y } from './y.ts';\nexport type X = Y;\n",
      'worker/y.ts': "export type Y = 1;\nexport const load = () => import('./x.ts');\n",
      'cli/self.ts': "import './self.ts';\n",
      'cli/ok.ts': "import { a } from '../services/a.ts';\nexport const ok = a;\n",
      'cli/ok.test.ts': "import { ok } from './ok.ts';\nexport const t = ok;\n",
    });
    expect(importCycles(files)).toEqual([
      'cli/self.ts → cli/self.ts',
      'services/a.ts → services/b.ts → services/c.ts → services/a.ts',
      'worker/x.ts → (type) worker/y.ts → (dynamic) worker/x.ts',
    ]);
    expect(
      importCycles(fixtureTree({ 'services/a.ts': "import './b.ts';\n", 'services/b.ts': '\n' })),
    ).toEqual([]);
  });

  it('size: a long file needs a reason near its top; tests and short files do not', () => {
    const files = fixtureTree({
      'services/long.ts': lines(401),
      'services/exactly.ts': lines(400),
      'services/explained.ts': lines(
        450,
        '// size: one table of every code and its status, kept whole on purpose',
      ),
      'services/empty-reason.ts': lines(450, '// size:'),
      'services/long.test.ts': lines(900),
      'bin/entry.mjs': lines(420),
    });
    expect(oversizedFiles(files, MAX_LINES)).toEqual([
      'bin/entry.mjs (420 lines)',
      'services/empty-reason.ts (450 lines)',
      'services/long.ts (401 lines)',
    ]);
  });

  it('dependencies: a package loaded at run time but not declared, type-only imports and built-ins aside', () => {
    const files = fixtureTree({
      'worker/bundle.ts':
        "import { build } from 'esbuild';\nimport type { Redis } from 'ioredis';\nimport { join } from 'node:path';\nimport fs from 'fs';\nexport { build, join, fs };\nexport type R = Redis;\n",
      'coordinator/app.ts':
        "import { Hono } from 'hono';\nimport { sub } from '@scope/pkg/sub';\nexport { Hono, sub };\n",
      'worker/bundle.test.ts': "import { it } from 'vitest';\nexport { it };\n",
    });
    expect(undeclaredRuntimePackages(files, { hono: '^4' })).toEqual([
      'coordinator/app.ts imports @scope/pkg',
      'worker/bundle.ts imports esbuild',
    ]);
  });
});
