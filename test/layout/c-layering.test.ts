// The C layering of firmware/: the XS core (firmware/platform/xs/) calls boards only through the
// seam xs_board.h declares, boards call the core only through what xs_board.h declares for them,
// nothing is linked through weak symbols, and no #include circle exists. Every name the checks use
// is read from the sources (function definitions, the seam's declarations, the folders on disk).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boardSourceFiles, REAL_BOARDS, type FirmwareTarget } from '../../tools/build-firmware.ts';

const root = resolve(import.meta.dirname, '../..');

/** C files by path relative to the repository root (forward slashes). */
type Tree = Map<string, string>;

/** The XS core's folder and the seam header in it: the architecture these checks pin. */
const coreFolder = 'firmware/platform/xs';
const seamHeader = `${coreFolder}/xs_board.h`;

function readTree(folder: string): Tree {
  const tree: Tree = new Map();
  const walk = (path: string): void => {
    for (const name of readdirSync(join(root, path)).sort()) {
      const child = posix.join(path, name);
      if (statSync(join(root, child)).isDirectory()) walk(child);
      else if (/\.[ch]$/.test(name)) tree.set(child, readFileSync(join(root, child), 'utf8'));
    }
  };
  walk(folder);
  return tree;
}

/** Comments become spaces (newlines kept); with `strings`, string and character literals too. */
function strip(text: string, strings: boolean): string {
  let out = '';
  let i = 0;
  const blank = (s: string): string => s.replace(/[^\n]/g, ' ');
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += blank(text.slice(i, stop));
      i = stop;
    } else if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += blank(text.slice(i, stop));
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      const literal = text.slice(i, j + 1);
      out += strings ? c + blank(literal.slice(1, -1)) + c : literal;
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const keywords = new Set(['if', 'else', 'while', 'for', 'do', 'switch', 'case', 'return', 'sizeof', 'typedef', 'struct', 'union', 'enum', 'defined']);

interface Definition {
  name: string;
  external: boolean;
}

/** Function definitions: a declarator starting in column 0 whose parameter list is followed by a body. */
function definitions(text: string): Definition[] {
  const code = strip(text, true);
  const found: Definition[] = [];
  const pattern = /^([A-Za-z_][\w \t*\n]*?)\b([A-Za-z_]\w*)\s*\(([^;{}]*)\)\s*(?:__attribute__\s*\(\([^;{}]*?\)\)\s*)?\{/gm;
  for (const match of code.matchAll(pattern)) {
    const [, head, name] = match;
    if (keywords.has(name) || name.startsWith('__') || /(^|\W)(typedef|struct|enum|union)\W/.test(` ${head} `)) continue;
    found.push({ name, external: !/\bstatic\b/.test(head) });
  }
  return found;
}

/** Names used as calls or prototypes: an identifier followed by an opening parenthesis. */
function calledNames(text: string): Set<string> {
  const code = strip(text, true);
  return new Set([...code.matchAll(/\b([A-Za-z_]\w*)\s*\(/g)].map((m) => m[1]).filter((n) => !keywords.has(n) && !n.startsWith('__')));
}

/** Every identifier of the code (comments and literals left out). */
function identifiers(text: string): Set<string> {
  return new Set(strip(text, true).match(/\b[A-Za-z_]\w*\b/g) ?? []);
}

/** Object-like macros that stand for a function (`#define c_printf xs_platform_printf`). */
function functionAliases(text: string): Map<string, string> {
  const code = strip(text, false);
  return new Map([...code.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+([A-Za-z_]\w*)[ \t]*$/gm)].map((m) => [m[1], m[2]]));
}

function quotedIncludes(text: string): string[] {
  return [...strip(text, false).matchAll(/^[ \t]*#[ \t]*include[ \t]*"([^"]+)"/gm)].map((m) => m[1]);
}

/** Where `#include "name"` from `from` lands: the includer's folder first, then any firmware folder (the builds pass them all as -I). */
function resolveInclude(tree: Tree, from: string, name: string): string[] {
  const local = posix.normalize(posix.join(posix.dirname(from), name));
  if (tree.has(local)) return [local];
  return [...tree.keys()].filter((path) => path.endsWith(`/${name}`));
}

const folderOf = (path: string): string => posix.dirname(path);

/** Folders beside the core that hold C: the boards and their capabilities (qemu-mps2, posix, vhost-user today). */
function boardFolders(tree: Tree): string[] {
  const platform = posix.dirname(coreFolder);
  return [...new Set([...tree.keys()].map(folderOf))].filter((folder) => folder !== coreFolder && folder.startsWith(`${platform}/`)).sort();
}

function definedIn(tree: Tree, inFolders: (folder: string) => boolean): Map<string, string> {
  const defined = new Map<string, string>();
  for (const [path, text] of tree)
    if (path.endsWith('.c') && inFolders(folderOf(path)))
      for (const definition of definitions(text)) if (definition.external) defined.set(definition.name, path);
  return defined;
}

/** What the seam declares: the hooks boards implement and the core functions boards may call. */
function seamNames(tree: Tree): Set<string> {
  const text = tree.get(seamHeader);
  if (text === undefined) throw new Error(`${seamHeader} is missing: it is the seam between the XS core and the boards`);
  return calledNames(text);
}

function weakSymbols(tree: Tree): string[] {
  const weak = /__attribute__\s*\(\([^;{}]*\bweak\b|#\s*pragma\s+weak\b|\b__weak\b/;
  return [...tree].filter(([, text]) => weak.test(strip(text, true))).map(([path]) => `${path} uses a weak symbol`);
}

function coreReachingIntoBoards(tree: Tree): string[] {
  const boards = new Set(boardFolders(tree));
  const seam = seamNames(tree);
  const coreDefined = definedIn(tree, (folder) => folder === coreFolder);
  const boardOnly = [...definedIn(tree, (folder) => boards.has(folder))].filter(([name]) => !seam.has(name) && !coreDefined.has(name));
  const problems: string[] = [];
  for (const [path, text] of tree) {
    if (folderOf(path) !== coreFolder) continue;
    for (const name of quotedIncludes(text))
      for (const target of resolveInclude(tree, path, name))
        if (boards.has(folderOf(target))) problems.push(`${path} includes ${target}`);
    const used = identifiers(text);
    for (const [name, definer] of boardOnly) if (used.has(name)) problems.push(`${path} names ${name}, defined in ${definer} and not declared in ${seamHeader}`);
  }
  return problems;
}

function boardsReachingIntoCore(tree: Tree): string[] {
  const boards = new Set(boardFolders(tree));
  const seam = seamNames(tree);
  const coreDefined = definedIn(tree, (folder) => folder === coreFolder);
  const aliases = new Map<string, string>();
  for (const [path, text] of tree) if (folderOf(path) === coreFolder) for (const [alias, target] of functionAliases(text)) aliases.set(alias, target);
  const problems: string[] = [];
  for (const [path, text] of tree) {
    if (!boards.has(folderOf(path))) continue;
    const called = calledNames(text);
    for (const name of called)
      if (name.startsWith('xs_platform_') && !seam.has(name)) problems.push(`${path} calls ${name}, which ${seamHeader} does not declare for boards`);
    for (const name of identifiers(text)) {
      const target = aliases.get(name) ?? name;
      if (!seam.has(target) && coreDefined.has(target) && !(name === target && target.startsWith('xs_platform_') && called.has(name)))
        problems.push(`${path} names ${name === target ? name : `${name} (${target})`}, defined in ${coreDefined.get(target)} and not declared in ${seamHeader}`);
    }
  }
  return problems;
}

function includeCircles(tree: Tree): string[] {
  const edges = new Map([...tree].map(([path, text]) => [path, quotedIncludes(text).flatMap((name) => resolveInclude(tree, path, name))]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const circles: string[] = [];
  const visit = (path: string): void => {
    state.set(path, 'open');
    stack.push(path);
    for (const next of edges.get(path) ?? []) {
      if (state.get(next) === 'open') circles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(path, 'done');
  };
  for (const path of [...tree.keys()].sort()) if (!state.has(path)) visit(path);
  return circles;
}

/** Boards are the folders with a main(); each must define every xs_board_ function of the seam. */
/**
 * Every image defines every board hook: for each target the build knows, the board C files it
 * links (tools/build-firmware.ts boardSourceFiles, e.g. stm32mp15 + the shared cortex-m folder).
 * For a synthetic tree (no targets given): each board folder with a main() on its own.
 */
function missingHooks(tree: Tree, images?: Map<string, string[]>): string[] {
  const seam = [...seamNames(tree)].filter((name) => name.startsWith('xs_board_'));
  const problems: string[] = [];
  const groups = images ?? new Map(boardFolders(tree).map((folder) => [folder, [...tree.keys()].filter((file) => file.startsWith(`${folder}/`))]));
  for (const [image, files] of groups) {
    const defined = new Set(files.flatMap((file) => definitions(tree.get(file) ?? '').map((d) => d.name)));
    if (!defined.has('main')) continue;
    for (const name of seam) if (!defined.has(name)) problems.push(`${image} has a main() but does not define ${name} (${seamHeader})`);
  }
  return problems;
}

/** The board files each firmware target links, as repository paths. */
function imagesOfTargets(): Map<string, string[]> {
  const targets: FirmwareTarget[] = ['qemu-mps2', 'posix', ...REAL_BOARDS];
  return new Map(targets.map((target) => [`the ${target} image`, boardSourceFiles(target).map((path) => relative(root, path))]));
}

function allProblems(tree: Tree): string[] {
  return [...weakSymbols(tree), ...coreReachingIntoBoards(tree), ...boardsReachingIntoCore(tree), ...includeCircles(tree), ...missingHooks(tree)];
}

describe('C layering of firmware/', () => {
  const tree = readTree('firmware');

  it('reads the sources it judges (the parsers find the seam, the core and the boards)', () => {
    const seam = seamNames(tree);
    expect(seam).toContain('xs_board_now');
    expect(seam).toContain('xs_platform_main');
    expect(seam).toContain('xs_platform_crash');
    expect(boardFolders(tree)).toEqual(expect.arrayContaining(['firmware/platform/posix', 'firmware/platform/qemu-mps2']));
    const core = definedIn(tree, (folder) => folder === coreFolder);
    expect(core.get('xs_platform_main')).toBe(`${coreFolder}/xs_platform.c`);
    expect(core.has('fxAllocateChunks')).toBe(true);
    expect(definitions(tree.get('firmware/platform/posix/main.c')!).map((d) => d.name)).toEqual(expect.arrayContaining(['main', 'xs_board_now', 'cleanup']));
    expect([...tree.values()].some((text) => quotedIncludes(text).includes('xs_board.h'))).toBe(true);
  });

  it('no C file under firmware/ uses a weak symbol', () => {
    expect(weakSymbols(tree)).toEqual([]);
  });

  it('the XS core includes nothing of a board folder and names no function only a board defines', () => {
    expect(coreReachingIntoBoards(tree)).toEqual([]);
  });

  it('board folders call nothing of the core beyond what xs_board.h declares for them', () => {
    expect(boardsReachingIntoCore(tree)).toEqual([]);
  });

  it('no #include circle among the C files', () => {
    expect(includeCircles(tree)).toEqual([]);
  });

  it('every board (a folder with a main) implements every board hook of xs_board.h', () => {
    expect(missingHooks(tree, imagesOfTargets())).toEqual([]);
  });
});

describe('the C layering checks catch what they are for', () => {
  const seam = [
    'void xs_board_console_write(const char* text, size_t length);',
    'bool xs_board_deliver_event(struct sxMachine* machine, struct sxSlot* platform);',
    'void xs_platform_main(void) __attribute__((noreturn));',
  ].join('\n');
  const core = (body: string): [string, string] => [`${coreFolder}/xs_platform.c`, `#include "xs_board.h"\n${body}\nvoid xs_platform_main(void)\n{\n\tfor (;;) xs_board_deliver_event(0, 0);\n}\nint xs_platform_printf(const char* f, ...)\n{\n\treturn 0;\n}\n`];
  const board = (body: string): [string, string] => [
    'firmware/platform/toy/main.c',
    `#include "xs_board.h"\nvoid xs_board_console_write(const char* text, size_t length)\n{\n}\nbool xs_board_deliver_event(struct sxMachine* m, struct sxSlot* p)\n{\n\treturn toy_event();\n}\n${body}\nint main(void)\n{\n\txs_platform_main();\n}\n`,
  ];
  const capability: [string, string] = ['firmware/platform/toy-capability/toy.c', 'bool toy_event(void)\n{\n\treturn false;\n}\n'];
  const make = (...files: [string, string][]): Tree => new Map([[`${coreFolder}/xs_board.h`, seam], ...files]);

  it('a clean toy tree passes', () => {
    expect(allProblems(make(core(''), board(''), capability))).toEqual([]);
  });

  it('a weak declaration fails, in any of its spellings', () => {
    expect(weakSymbols(make(core('__attribute__((weak)) bool toy_event(void);')))).toHaveLength(1);
    expect(weakSymbols(make(board('extern void f(void) __attribute__ ((used, weak));')))).toHaveLength(1);
    expect(weakSymbols(make(board('#pragma weak f')))).toHaveLength(1);
    expect(weakSymbols(make(board('/* not __attribute__((weak)) in a comment */')))).toEqual([]);
  });

  it('the core naming a board function, or including a board header, fails', () => {
    expect(coreReachingIntoBoards(make(core('static void f(void)\n{\n\tif (toy_event) toy_event();\n}'), board(''), capability))).toEqual([
      `${coreFolder}/xs_platform.c names toy_event, defined in firmware/platform/toy-capability/toy.c and not declared in ${seamHeader}`,
    ]);
    expect(coreReachingIntoBoards(make(core('#include "toy.h"'), board(''), capability, ['firmware/platform/toy/toy.h', '']))).toEqual([
      `${coreFolder}/xs_platform.c includes firmware/platform/toy/toy.h`,
    ]);
  });

  it('a board calling a core function the seam does not declare fails, also through a macro alias', () => {
    expect(boardsReachingIntoCore(make(core(''), board('static void f(void)\n{\n\txs_platform_printf("x");\n}')))).toEqual([
      'firmware/platform/toy/main.c calls xs_platform_printf, which firmware/platform/xs/xs_board.h does not declare for boards',
    ]);
    const header: [string, string] = [`${coreFolder}/xs_platform.h`, '#define c_printf xs_platform_printf\n'];
    expect(boardsReachingIntoCore(make(core(''), header, board('static void f(void)\n{\n\tc_printf("x");\n}')))).toEqual([
      `firmware/platform/toy/main.c names c_printf (xs_platform_printf), defined in ${coreFolder}/xs_platform.c and not declared in ${seamHeader}`,
    ]);
  });

  it('an include circle fails, however long', () => {
    const circle = make(['firmware/a/a.h', '#include "b.h"\n'], ['firmware/b/b.h', '#include "c.h"\n'], ['firmware/b/c.h', '#include "../a/a.h"\n']);
    expect(includeCircles(circle)).toEqual(['firmware/a/a.h -> firmware/b/b.h -> firmware/b/c.h -> firmware/a/a.h']);
    expect(includeCircles(make(['firmware/a/a.h', '// #include "a.h"\n#include <a.h>\n']))).toEqual([]);
  });

  it('a board without one of the hooks fails', () => {
    const tree = make(core(''), capability, ['firmware/platform/toy/main.c', 'int main(void)\n{\n\txs_platform_main();\n}\n']);
    expect(missingHooks(tree)).toEqual([
      `firmware/platform/toy has a main() but does not define xs_board_console_write (${seamHeader})`,
      `firmware/platform/toy has a main() but does not define xs_board_deliver_event (${seamHeader})`,
    ]);
  });
});
