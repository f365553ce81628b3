/**
 * Line tables of debug builds, in TypeScript terms. Before the precompiler compiles a bundle for a
 * debug image, every line of the bundle that the bundler's source map places in a source file gets
 * an `//@line N "file"` comment in front of it: the XS lexer (LGPL xsLexical.c) takes such a
 * comment as "the next line is line N of file", so the byte code's file records (XS_CODE_FILE) and
 * line records (XS_CODE_LINE) name the TypeScript file and line, not the bundle's. An engine built
 * with mxDebug then shows TypeScript file:line in error stacks, in its exception reports and in
 * the frames and breakpoints of the debugger protocol, with no source map on the device.
 *
 * Where a comment goes: only at the start of a line that is not inside a template literal (the
 * only token of esbuild's output that spans lines; a comment there would become part of the
 * string). Such a comment adds a line break only where one already was (before the line's first
 * token), so it never changes automatic semicolon insertion. Lines inside a template literal keep
 * counting from the comment before them. Paths are relative to the repository root (what the
 * debug adapter and the error reports show; the adapter resolves them back).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import ts from 'typescript';
import { SourceMap } from './source-map.ts';

/** The line (0-based) ranges [first, last] that lie inside a multi-line template literal. */
function templateInteriorLines(js: string): Set<number> {
  const file = ts.createSourceFile('bundle.js', js, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const inside = new Set<number>();
  const visit = (node: ts.Node): void => {
    if (ts.isTemplateExpression(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      for (let line = first + 1; line <= last; line++) inside.add(line);
      // substitutions may hold other templates; their lines are already inside this one
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return inside;
}

/** `//@line` needs the path between double quotes, without a quote or a line break in it. */
function directivePath(path: string): string | null {
  return /["\n\r]/.test(path) ? null : path;
}

export interface DebugLines {
  /** The bundle with the directives. */
  js: string;
  /** How many lines got a directive. */
  directives: number;
  /** The source files named. */
  files: string[];
}

/**
 * The bundle `js` (whose source map is `map`) with `//@line` directives naming the original
 * files relative to `root`. Lines the map does not place (bundler glue) keep the bundle's own
 * numbering under `bundleName`.
 */
export function addLineDirectives(js: string, map: SourceMap, root: string, bundleName: string): DebugLines {
  const lines = js.split('\n');
  const inside = templateInteriorLines(js);
  const out: string[] = [];
  const files = new Set<string>();
  let directives = 0;
  let current: { file: string; line: number } | null = null; // where the previous line was said to be
  for (let index = 0; index < lines.length; index++) {
    const text = lines[index];
    if (!inside.has(index)) {
      const firstColumn = text.search(/\S/);
      const original = firstColumn < 0 ? null : map.originalOnLine(index + 1, firstColumn);
      let file: string;
      let line: number;
      if (original) {
        const rel = relative(root, original.file);
        file = directivePath(rel.startsWith('..') ? original.file : rel) ?? bundleName;
        line = file === bundleName ? index + 1 : original.line;
      } else {
        file = current?.file === bundleName || current === null ? bundleName : current.file;
        line = file === bundleName ? index + 1 : current!.line + 1;
      }
      // a directive only where the numbering would otherwise be wrong
      if (firstColumn >= 0 && (current === null || current.file !== file || current.line + 1 !== line)) {
        out.push(`//@line ${line} "${file}"`);
        directives++;
        if (file !== bundleName) files.add(file);
      }
      current = { file, line };
    } else if (current) {
      current = { file: current.file, line: current.line + 1 };
    }
    out.push(text);
  }
  return { js: out.join('\n'), directives, files: [...files].sort() };
}

/** addLineDirectives for a bundle file and its FILE.map. */
export function debugLinesOfFile(jsPath: string, root: string, bundleName: string): DebugLines {
  const map = SourceMap.load(`${jsPath}.map`);
  if (!map) throw new Error(`debug build: ${jsPath}.map does not exist; the debug build maps lines through the bundler's source map`);
  return addLineDirectives(readFileSync(jsPath, 'utf8'), map, root, bundleName);
}
