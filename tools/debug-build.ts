/**
 * What a debug image adds to tools/build-firmware.ts (option `debug`, docs/DEBUGGING.md): the
 * engine defines, the byte code with TypeScript line tables, and the C file that connects the
 * engine's debugger (xsDebug.c's fxConnect ... fxSend) to the target's debug channel. A release
 * build calls none of this.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debugLinesOfFile } from './debug-lines.ts';
import { precompile, type PrecompiledProgram } from './precompile.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** mxDebug: the engine keeps the line of every frame and speaks the xsbug protocol (xsDebug.c) over the platform's connection. */
export const DEBUG_DEFINES = ['-DmxDebug=1'];

/** The debugger connection of a target: posix a UNIX socket, qemu-mps2 the third UART (CMSDK UART2). */
export function debugConnectionSource(target: string): string {
  if (target === 'posix') return join(root, 'firmware/platform/xs/xs_debug_posix.c');
  if (target === 'qemu-mps2') return join(root, 'firmware/platform/xs/xs_debug_mps2.c');
  throw new Error(`build-firmware: no debugger connection for ${target} yet (debug images: posix, qemu-mps2)`);
}

/**
 * Byte code with line tables: the bundle gets `//@line` directives from its source map
 * (tools/debug-lines.ts), then xs-host compiles it with --debug (mxDebugFlag).
 */
export function precompileDebug(xsHost: string, js: string, genDir: string, strip: string[], progress: (text: string) => void): PrecompiledProgram {
  const lines = debugLinesOfFile(js, root, relative(root, js).startsWith('..') ? basename(js) : relative(root, js));
  const debugJs = join(genDir, 'firmware.debug.js');
  writeFileSync(debugJs, lines.js);
  const program = precompile(xsHost, debugJs, join(genDir, 'program-debug'), strip, { debug: true });
  progress(`debug: line tables of ${lines.files.length} TypeScript files (${lines.directives} //@line directives), engine with mxDebug`);
  return program;
}

/**
 * The size report's debug line: what the debug image adds to the release image of the same app
 * (the release build's size-report.json beside it: build/<target>-<app>/ for build/<target>-<app>-debug/).
 */
export function debugSizeComparison(out: string, report: { text: number; textParts?: Record<string, number> }): string {
  const release = join(dirname(out), basename(out).replace(/-debug$/, ''), 'size-report.json');
  if (release === join(out, 'size-report.json') || !existsSync(release)) return 'debug image (build the release image beside it to see what debugging adds)';
  const base = JSON.parse(readFileSync(release, 'utf8')) as { text: number; textParts?: Record<string, number> };
  const parts = Object.keys(report.textParts ?? {})
    .map((part) => [part, (report.textParts?.[part] ?? 0) - (base.textParts?.[part] ?? 0)] as const)
    .filter(([, delta]) => delta !== 0)
    .map(([part, delta]) => `${part} ${delta > 0 ? '+' : ''}${delta}`);
  return `debug image: text ${report.text} vs release ${base.text} (${report.text - base.text >= 0 ? '+' : ''}${report.text - base.text} bytes: ${parts.join(', ')})`;
}
