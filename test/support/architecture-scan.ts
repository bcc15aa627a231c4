// Reads a source tree's imports with the TypeScript parser and checks the architecture rules on them:
// layers, cycles, file size, declared packages. Pure functions over a scan, so the rules run on the
// real tree and on small fixture trees alike (test/architecture.test.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix } from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  /** The specifier as written: './x.ts', 'bullmq', 'node:fs'. */
  readonly specifier: string;
  /** Repository-relative path of the imported file, for relative specifiers that resolve. */
  readonly target?: string;
  /** `import type …` / `export type … from`: gone after compilation. */
  readonly typeOnly: boolean;
  /** `import('…')`: loaded only when that code runs. */
  readonly dynamic: boolean;
}

export interface ScannedFile {
  /** Repository-relative, with forward slashes. */
  readonly path: string;
  readonly lineCount: number;
  readonly text: string;
  readonly imports: readonly ImportEdge[];
}

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.mjs', '.js'];

export function isTestFile(path: string): boolean {
  return /\.test\.[cm]?[jt]s$/.test(path) || path.startsWith('test/');
}

/** Every source file under `dirs` of `root` (node_modules and dist skipped). */
export function scanTree(root: string, dirs: readonly string[]): ScannedFile[] {
  const paths: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = posix.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'dist') walk(path);
      } else if (SOURCE_EXTENSIONS.some((ext) => entry.name.endsWith(ext)) && !entry.name.endsWith('.d.ts')) {
        paths.push(path);
      }
    }
  };
  for (const dir of dirs) if (existsSync(join(root, dir))) walk(dir);
  return paths.sort().map((path) => scanFile(root, path));
}

function scanFile(root: string, path: string): ScannedFile {
  const text = readFileSync(join(root, path), 'utf8');
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false);
  const imports: ImportEdge[] = [];
  const add = (specifier: string, typeOnly: boolean, dynamic: boolean) => {
    const target = specifier.startsWith('.') ? resolveRelative(root, path, specifier) : undefined;
    imports.push({ specifier, typeOnly, dynamic, ...(target ? { target } : {}) });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, importIsTypeOnly(node), false);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node.moduleSpecifier.text, node.isTypeOnly, false);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      add(node.arguments[0].text, false, true);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      // `typeof import('./x.ts')` in a type position.
      add(node.argument.literal.text, true, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  const lineCount = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
  return { path, lineCount, text, imports };
}

function importIsTypeOnly(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import './x.ts'` runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return (
    bindings !== undefined &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((element) => element.isTypeOnly)
  );
}

function resolveRelative(root: string, from: string, specifier: string): string | undefined {
  const base = posix.join(posix.dirname(from), specifier);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`];
  candidates.push(posix.join(base, 'index.ts'));
  return candidates.find((candidate) => existsSync(join(root, candidate)));
}

// ---------------------------------------------------------------- rules

export interface LayerRule {
  /** Top-level folder whose files are checked, e.g. 'services'. */
  readonly layer: string;
  /** Top-level folders it must not import. */
  readonly forbidden: readonly string[];
}

/** "from → to" for every import of a file in `rule.layer` that lands in a forbidden folder. */
export function layerViolations(files: readonly ScannedFile[], rule: LayerRule): string[] {
  const found: string[] = [];
  for (const file of files) {
    if (topFolder(file.path) !== rule.layer || isTestFile(file.path)) continue;
    for (const edge of file.imports) {
      if (edge.target && rule.forbidden.includes(topFolder(edge.target)))
        found.push(`${file.path} → ${edge.target}${edge.typeOnly ? ' (type only)' : ''}`);
    }
  }
  return found;
}

function topFolder(path: string): string {
  return path.split('/')[0] ?? '';
}

/**
 * Every import cycle among non-test files, one per strongly connected component (Tarjan), written
 * as the path that closes it: "a.ts → b.ts → a.ts". Type-only and dynamic imports count: both tie
 * the modules together for whoever reads or moves them.
 */
export function importCycles(files: readonly ScannedFile[]): string[] {
  const scanned = new Set(files.filter((file) => !isTestFile(file.path)).map((file) => file.path));
  const graph = new Map<string, string[]>();
  /** "from\0to" → the strongest way the one imports the other (static, else dynamic, else type only). */
  const kinds = new Map<string, EdgeKind>();
  for (const file of files) {
    if (!scanned.has(file.path)) continue;
    const targets: string[] = [];
    for (const edge of file.imports) {
      if (!edge.target || !scanned.has(edge.target)) continue;
      targets.push(edge.target);
      const key = `${file.path}\0${edge.target}`;
      const kind: EdgeKind = edge.typeOnly ? 'type' : edge.dynamic ? 'dynamic' : 'static';
      const previous = kinds.get(key);
      if (previous === undefined || EDGE_RANK[kind] > EDGE_RANK[previous]) kinds.set(key, kind);
    }
    graph.set(file.path, [...new Set(targets)].sort());
  }

  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  const strongConnect = (node: string) => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        strongConnect(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfLoop = component.length === 1 && (graph.get(node) ?? []).includes(node);
      if (component.length > 1 || selfLoop) components.push(component);
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) strongConnect(node);
  return components.map((component) => renderCycle(cyclePath(graph, new Set(component)), kinds)).sort();
}

type EdgeKind = 'static' | 'dynamic' | 'type';
const EDGE_RANK: Readonly<Record<EdgeKind, number>> = { type: 0, dynamic: 1, static: 2 };

/** "a.ts → b.ts → (type) a.ts": an arrow is marked when that import is type-only or dynamic. */
function renderCycle(path: readonly string[], kinds: ReadonlyMap<string, EdgeKind>): string {
  return path
    .map((node, i) => {
      if (i === 0) return node;
      const kind = kinds.get(`${path[i - 1]}\0${node}`);
      return kind === 'static' ? `→ ${node}` : `→ (${kind}) ${node}`;
    })
    .join(' ');
}

/** A shortest cycle through the component's first file (breadth-first within the component). */
function cyclePath(graph: Map<string, string[]>, component: Set<string>): string[] {
  const start = [...component].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const target of graph.get(node) ?? []) {
      if (!component.has(target)) continue;
      if (target === start) {
        const path = [start];
        for (let at = node; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

/** A marker near the top of a file that says why it may be long: `// size: <reason>`. */
export const SIZE_MARKER = /^[ \t]*\/\/[ \t]*size:[ \t]*\S.{9,}/m;
const SIZE_MARKER_WITHIN_LINES = 15;

/** Non-test files over `maxLines` lines without a `// size: …why…` comment in their first lines. */
export function oversizedFiles(files: readonly ScannedFile[], maxLines: number): string[] {
  return files
    .filter((file) => !isTestFile(file.path) && file.lineCount > maxLines)
    .filter((file) => !SIZE_MARKER.test(file.text.split('\n').slice(0, SIZE_MARKER_WITHIN_LINES).join('\n')))
    .map((file) => `${file.path} (${file.lineCount} lines)`);
}

/** The npm package a bare specifier names ('@scope/name/sub' → '@scope/name'); undefined for node built-ins. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Packages that non-test files load at run time (type-only imports are erased) without declaring
 * them in package.json "dependencies", which is all `npm ci --omit=dev` installs.
 */
export function undeclaredRuntimePackages(
  files: readonly ScannedFile[],
  dependencies: Readonly<Record<string, string>>,
): string[] {
  const found: string[] = [];
  for (const file of files) {
    if (isTestFile(file.path)) continue;
    for (const edge of file.imports) {
      const name = edge.typeOnly ? undefined : packageOf(edge.specifier);
      if (name && !(name in dependencies)) found.push(`${file.path} imports ${name}`);
    }
  }
  return found;
}
