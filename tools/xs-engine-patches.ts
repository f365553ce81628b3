/**
 * Which XS engine a build makes: the patches of tools/xs-patches/ to apply (all by default, none
 * for the stock engine the semantics tests compare against, or a subset to measure one patch at a
 * time; tools/xs-sources.ts applies them) and the per-file optimisation flags of the engine's hot
 * files: the bytecode loop and its helpers are built -O2 on the Cortex-M3 while the rest of the
 * engine stays -Os (docs/BENCHMARKS.md has the text size and instruction figures).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rewriteDispatch } from './xs-dispatch.ts';
import { patchFiles, PATCH_FOLDER, xsSources, type XsSources } from './xs-sources.ts';

export { patchFiles, PATCH_FOLDER };

/** Which engine to build. */
export interface EngineOptions {
  /**
   * Patch files to apply: true (default) every tools/xs-patches/*.patch, false none (the stock
   * engine, what the semantics tests compare against), or a list of file names (a subset, for
   * measuring one patch at a time).
   */
  patches?: boolean | string[];
  /**
   * -O2 for the hot files on qemu-mps2 (default true: every file of HOT_FILES); false: the whole
   * engine at the target's level; a list of engine file names (e.g. ['xsRun.c']): only those -O2
   * (for measuring what each file costs and buys, bench/echo-instructions.ts --hot-files).
   */
  hotFiles?: boolean | string[];
}

/** The engine's hot files, built -O2 on qemu-mps2 (the profile of an echo: the bytecode loop and conversions). */
// Measured per file with bench/hot-files.ts (docs/BENCHMARKS.md, "-O2 hot files"): xsRun.c saves 4,208
// instructions per 16-byte echo for 2.4 KB of text, xsType.c 210 for 1.4 KB; xsObject.c, xsDataView.c and
// xsProperty.c saved 0 to 2 instructions per echo for 2.2 KB together, so they are built -Os. After the
// lean3 message path (no conversions left on it) xsType.c at -O2 saves 1 instruction per echo for 1,072
// bytes of text (echo app 21,875 at -Os against 21,874 at -O2), so it is -Os again.
export const HOT_FILES = ['xsRun.c'];

/** The patches an EngineOptions selects, in the order they apply. */
export function selectedPatches(options: EngineOptions = {}, folder = PATCH_FOLDER): string[] {
  const all = patchFiles(folder);
  if (options.patches === false) return [];
  if (options.patches === undefined || options.patches === true) return all;
  for (const name of options.patches) {
    if (!all.includes(name)) throw new Error(`xs-engine-patches: no patch ${name} in ${folder} (have: ${all.join(', ') || 'none'})`);
  }
  return all.filter((name) => (options.patches as string[]).includes(name));
}

/** The engine sources (pinned, patched as `options` says) a build compiles. */
export function engineSources(options: EngineOptions = {}): XsSources {
  if (options.patches === false) return xsSources({ patched: false });
  return Array.isArray(options.patches) ? xsSources({ only: selectedPatches(options) }) : xsSources();
}

/** The engine files a build compiles -O2 on qemu-mps2 (none on the other targets). */
export function hotFilesOf(options: EngineOptions = {}): string[] {
  if (options.hotFiles === false) return [];
  return Array.isArray(options.hotFiles) ? [...options.hotFiles] : HOT_FILES;
}

/** Extra flags for one engine file (after the target's flags: the later -O wins). */
export function engineFileFlags(target: string, file: string, options: EngineOptions = {}): string[] {
  if (target !== 'qemu-mps2') return [];
  return hotFilesOf(options).includes(file) ? ['-O2'] : [];
}

/** A rewrite of one engine file's assembly between the compiler and the assembler. */
export interface AssemblyRewrite {
  /** Changes when the rewrite's code does (part of the engine object cache's key). */
  version: string;
  rewrite(assembly: string): { text: string; summary: string };
}

/**
 * Patch 0113 (tools/xs-dispatch.ts): on the Cortex-M targets, xsRun.c of a tree with the patch is
 * compiled to assembly and its byte-code dispatch rewritten before it is assembled. None otherwise.
 */
export function engineFileRewrite(target: string, file: string, sources: XsSources): AssemblyRewrite | null {
  if (target === 'posix' || file !== 'xsRun.c' || !sources.patches.some((name) => name.startsWith('0113-'))) return null;
  const version = createHash('sha256').update(readFileSync(fileURLToPath(new URL('./xs-dispatch.ts', import.meta.url)))).digest('hex').slice(0, 12);
  return {
    version,
    rewrite(assembly) {
      const r = rewriteDispatch(assembly);
      return { text: r.text, summary: `patch 0113: ${r.loads} dispatches to one ldr pc, ${r.moves} to mov pc, ${r.entries} table entries with the Thumb bit` };
    },
  };
}
