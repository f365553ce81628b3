/**
 * The layout's rules, checked on the import graph of every TypeScript file: which folder may
 * import which (imports run one way, docs/ARCHITECTURE.md), no Node API or host-side code in
 * firmware/ (the in-process platform may use Node), and no import circle. The test suite runs
 * it (test/layout/); `npx tsx tools/check-layout.ts` prints the problems.
 */
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Top-level folders and what each may import besides itself (cli, bench, test and linux harness sit on top). */
export const allowedImports: Record<string, readonly string[]> = {
  wire: [],
  'resource-table': ['wire'],
  firmware: ['wire', 'resource-table'],
  tools: ['wire', 'resource-table'],
  launch: ['wire', 'resource-table', 'firmware', 'tools'],
  'host-sim': ['wire', 'resource-table', 'launch', 'tools'],
  linux: ['wire', 'resource-table', 'launch', 'tools'],
  // The soak (bench/soak.ts) drives the suites' own peers (scripted remote, OpenAMP host model): bench may use test helpers, never a .test.ts file.
  bench: ['wire', 'resource-table', 'launch', 'tools', 'host-sim', 'firmware', 'test'],
  // The debug adapter: DAP to the editor, xsbug to the firmware's engine; it starts sessions through the command line as a program, never by import.
  debug: [],
  cli: ['wire', 'resource-table', 'launch', 'tools', 'host-sim', 'linux', 'bench', 'firmware', 'debug'],
  test: ['wire', 'resource-table', 'launch', 'tools', 'host-sim', 'linux', 'bench', 'firmware', 'cli', 'debug'],
};

/** The one folder under firmware/ that runs inside Node (the in-process target). */
const nodeHostedFirmware = 'firmware/platform/in-process/';

/** One import of one file: the specifier as written and, for a relative one, the repository path it names. */
export interface ImportEdge {
  from: string;
  specifier: string;
  target: string | null;
}

const nodeBuiltins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
const importPattern = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,]+?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The imports of one file's text (comments are not stripped: a specifier in a comment is not an import statement). */
export function importsOf(path: string, text: string): ImportEdge[] {
  // Comments and template literals (code generators write import lines into templates) hold no import.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '').replace(/`(?:\\[\s\S]|[^\\`])*`/g, '``');
  const edges: ImportEdge[] = [];
  for (const match of code.matchAll(importPattern)) {
    const specifier = match[1] ?? match[2];
    const target = specifier.startsWith('.') ? posix.normalize(posix.join(posix.dirname(path), specifier)) : null;
    edges.push({ from: path, specifier, target });
  }
  return edges;
}

/** Every TypeScript file of the repository (not node_modules, build output or caches). */
export function repositoryFiles(dir = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    if (name === 'node_modules' || name === 'build' || name.startsWith('.')) continue;
    const path = dir ? `${dir}/${name}` : name;
    if (statSync(join(root, path)).isDirectory()) out.push(...repositoryFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const folderOf = (path: string): string => path.split('/')[0];

/** Every broken rule in a graph, one sentence each (empty when the layout holds). */
export function layoutProblems(edges: ImportEdge[]): string[] {
  const problems: string[] = [];
  for (const edge of edges) {
    const from = folderOf(edge.from);
    if (!(from in allowedImports)) continue; // top-level config files (vitest.config.ts) sit outside the layout
    const inFirmware = from === 'firmware' && !edge.from.startsWith(nodeHostedFirmware);
    if (edge.target === null) {
      if (inFirmware && edge.specifier !== 'xs-rpmsg-app') {
        const kind = nodeBuiltins.has(edge.specifier) ? 'the Node API' : 'the package';
        problems.push(`${edge.from} imports ${kind} "${edge.specifier}": firmware code runs on XS, which has neither`);
      }
      continue;
    }
    if (edge.target.endsWith('.test.ts')) {
      problems.push(`${edge.from} imports ${edge.target}: a test file is run by vitest, never imported`);
      continue;
    }
    const to = folderOf(edge.target);
    if (to === from) continue;
    if (!(allowedImports[from] ?? []).includes(to)) {
      problems.push(`${edge.from} imports ${edge.target}: ${from}/ may import only ${[from, ...allowedImports[from]].join(', ')}`);
    }
  }
  for (const circle of importCircles(edges)) problems.push(`import circle: ${circle.join(' -> ')} -> ${circle[0]}`);
  return problems;
}

/** The circles of the file graph (Tarjan's strongly connected components with more than one file, or a file importing itself). */
export function importCircles(edges: ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const edge of edges) {
    if (edge.target === null) continue;
    if (!next.has(edge.from)) next.set(edge.from, []);
    next.get(edge.from)!.push(edge.target);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
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
      if (component.length > 1 || (next.get(node) ?? []).includes(node)) circles.push(component.reverse());
    }
  };
  for (const node of next.keys()) if (!index.has(node)) visit(node);
  return circles;
}

/** The import graph of the repository as it is on disk. */
export function repositoryImports(): ImportEdge[] {
  return repositoryFiles().flatMap((path) => importsOf(path, readFileSync(join(root, path), 'utf8')));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const problems = layoutProblems(repositoryImports());
  for (const problem of problems) console.log(problem);
  console.log(problems.length === 0 ? 'layout: every import runs one way, no circle' : `layout: ${problems.length} problem(s)`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}
