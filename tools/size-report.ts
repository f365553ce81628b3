/**
 * The size report of a firmware image: text split by where the code comes from (XS engine core,
 * XS built-ins, XS parser, the precompiled program, the preloaded machine, our platform layer,
 * libc/libm/libgcc), read
 * from the linker map; data and bss as `size` gives them. tools/build-firmware.ts writes it next
 * to the image (size-report.json) and prints it; bench/echo-instructions.ts adds the run-time
 * figures (heap, malloc and stack high-water marks, boot instructions).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

export type TextPart = 'engine' | 'builtins' | 'parser' | 'bytecode' | 'preload' | 'platform' | 'libc' | 'other';
export const TEXT_PARTS: TextPart[] = ['engine', 'builtins', 'parser', 'bytecode', 'preload', 'platform', 'libc', 'other'];

export interface SizeReport {
  image: string;
  text: number;
  data: number;
  bss: number;
  /** Bytes of read-only output sections (code, constants, unwind tables) per origin; sums to textMapped. */
  textParts: Record<TextPart, number>;
  /** What the map attributes to read-only sections (text from `size` may differ by a few bytes of alignment). */
  textMapped: number;
  /**
   * Bytes of the image's writable sections (data + bss) in the board's own RAM, and in the shared
   * window when that is memory apart from the RAM (qemu-mps2: the resource table, its trace buffer
   * and the crash record are in PSRAM, the host's memory; `size` counts them as data and bss).
   */
  ram: { own: number; sharedWindow: number };
}

/** Engine files that hold JS built-ins (their constructors, prototypes, and what only they use). */
const BUILTIN_FILES = new Set(['xsArguments', 'xsArray', 'xsAtomics', 'xsBigInt', 'xsBoolean', 'xsDataView', 'xsDate', 'xsError',
  'xsFunction', 'xsGenerator', 'xsGlobal', 'xsJSON', 'xsLockdown', 'xsMapSet', 'xsMath', 'xsNumber', 'xsObject', 'xsPromise',
  'xsProxy', 'xsRegExp', 'xsString', 'xsSymbol', 'xsre']);
/** Engine files of the parser and code generator (absent from byte-code images). */
const PARSER_FILES = new Set(['xsLexical', 'xsSyntaxical', 'xsTree', 'xsScope', 'xsCode', 'xsScript', 'xsSourceMap']);

/** Which part an input file of the link belongs to. */
export function partOf(file: string): TextPart {
  if (/\/xs-engine\//.test(file)) {
    const name = basename(file).replace(/\.o$/, '');
    if (PARSER_FILES.has(name)) return 'parser';
    if (BUILTIN_FILES.has(name)) return 'builtins';
    return 'engine';
  }
  if (/xs_app_(program|script)\.o$/.test(file)) return 'bytecode';
  // the preloaded machine xs-host generates (gen/preload/xs_preload.c): the built-ins' objects, and with
  // preload "program" the program's, as slots, keys and tables in flash
  if (/\/xs_preload\.o$/.test(file)) return 'preload';
  if (/lib(c|c_nano|m|g|g_nano|gcc|nosys)\.a\(|\/crt[^/]*\.o$|\/libgcc|\/libc[._]|\/ld-linux|\/Scrt1|\/crti|\/crtn|crtbegin|crtend/.test(file)) return 'libc';
  if (/\/obj\/[^/]+\.o$|\/xs-host\//.test(file)) return 'platform';
  return 'other';
}

/** Read-only output sections counted as text (as `size` counts them, Berkeley format). */
function isTextSection(name: string): boolean {
  return /^\.(vectors|text|text\.retram|text\.tcm|program|rodata|ARM\.extab|ARM\.exidx|init|fini|eh_frame|eh_frame_hdr|gcc_except_table|plt|plt\.got|plt\.sec|rela?\.(dyn|plt)|dynsym|dynstr|gnu\.hash|gnu\.version|gnu\.version_r|note\..*|interp|init_array|fini_array)$/.test(name) && !/^\.note\.GNU-stack$/.test(name);
}

/** Sums the input sections of the map's read-only output sections by part. */
export function textPartsFromMap(mapText: string): { parts: Record<TextPart, number>; total: number } {
  const parts = Object.fromEntries(TEXT_PARTS.map((p) => [p, 0])) as Record<TextPart, number>;
  const start = mapText.indexOf('Linker script and memory map');
  const lines = (start >= 0 ? mapText.slice(start) : mapText).split('\n');
  let output: string | null = null;
  let pendingName: string | null = null;
  let total = 0;
  for (const line of lines) {
    const top = /^(\.[^\s]+)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+))?/.exec(line);
    if (top) {
      output = top[1];
      pendingName = null;
      continue;
    }
    if (!output || !isTextSection(output)) continue;
    // " .text.name  0xADDR  0xSIZE file" or " .text.name" then "   0xADDR 0xSIZE file"; " *fill* 0xADDR 0xSIZE"
    let m = /^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/.exec(line);
    if (m && m[1] !== '*fill*') {
      const size = parseInt(m[3], 16);
      if (parseInt(m[2], 16) !== 0 || size !== 0) {
        parts[partOf(m[4].trim())] += size;
        total += size;
      }
      pendingName = null;
      continue;
    }
    m = /^ \*fill\*\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)/.exec(line);
    if (m) {
      const size = parseInt(m[2], 16);
      parts.other += size;
      total += size;
      continue;
    }
    m = /^ (\S+)$/.exec(line);
    if (m && !m[1].startsWith('*')) {
      pendingName = m[1];
      continue;
    }
    m = /^\s{10,}0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/.exec(line);
    if (m && pendingName) {
      const size = parseInt(m[2], 16);
      parts[partOf(m[3].trim())] += size;
      total += size;
      pendingName = null;
    }
  }
  return { parts, total };
}

/** Writable output sections of the map (name, address, size), and the shared window (`__shared_window_start/size`). */
export function ramFromMap(mapText: string, fallback: number): { own: number; sharedWindow: number } {
  const start = mapText.indexOf('Linker script and memory map');
  const text = start >= 0 ? mapText.slice(start) : mapText;
  const sections: { name: string; address: number; size: number }[] = [];
  for (const m of text.matchAll(/^(\.[^\s]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)/gm)) sections.push({ name: m[1], address: parseInt(m[2], 16), size: parseInt(m[3], 16) });
  const writable = sections.filter((s) => s.size > 0 && !isTextSection(s.name) && !/^\.(debug|comment|ARM\.attributes|stab|note|glue|vfp11|v4_bx|iplt|rel|igot)/.test(s.name));
  const window = /^\s+0x([0-9a-f]+)\s+__shared_window_start = /m.exec(text);
  const windowSize = /^\s+0x([0-9a-f]+)\s+__shared_window_size = /m.exec(text);
  if (writable.length === 0) return { own: fallback, sharedWindow: 0 };
  const low = window ? parseInt(window[1], 16) : 0;
  const high = window && windowSize ? low + parseInt(windowSize[1], 16) : 0;
  const inWindow = (s: { address: number }) => s.address >= low && s.address < high;
  const data = writable.find((s) => s.name === '.data');
  // a board whose RAM is inside the window (the real parts: the resource table is in their SRAM) counts everything as its own
  if (!window || (data && inWindow(data))) return { own: writable.reduce((t, s) => t + s.size, 0), sharedWindow: 0 };
  return { own: writable.filter((s) => !inWindow(s)).reduce((t, s) => t + s.size, 0), sharedWindow: writable.filter(inWindow).reduce((t, s) => t + s.size, 0) };
}

export function sizeReportOf(image: string, mapFile: string, size: { text: number; data: number; bss: number }): SizeReport {
  const mapText = existsSync(mapFile) ? readFileSync(mapFile, 'utf8') : null;
  const { parts, total } = mapText ? textPartsFromMap(mapText) : { parts: Object.fromEntries(TEXT_PARTS.map((p) => [p, 0])) as Record<TextPart, number>, total: 0 };
  const ram = mapText ? ramFromMap(mapText, size.data + size.bss) : { own: size.data + size.bss, sharedWindow: 0 };
  return { image, ...size, textParts: parts, textMapped: total, ram };
}

/** One table row per part (bytes and share of text). */
export function formatSizeReport(report: SizeReport): string {
  const rows = [`text ${report.text} bytes (map: ${report.textMapped}), data ${report.data}, bss ${report.bss}` +
    (report.ram.sharedWindow ? ` (RAM counts all ${report.ram.own + report.ram.sharedWindow}: ${report.ram.sharedWindow} of them, the resource table, trace buffer and crash record, are in this board's shared window, in the image's RAM on a real part)` : '')];
  for (const part of TEXT_PARTS) {
    const bytes = report.textParts[part];
    if (!bytes && part !== 'parser') continue;
    rows.push(`  ${part.padEnd(9)} ${String(bytes).padStart(8)}  ${report.textMapped ? ((100 * bytes) / report.textMapped).toFixed(1).padStart(5) : '  0.0'} %`);
  }
  return rows.join('\n');
}

/** Read-only bytes the map attributes to each input file (its base name, e.g. "xsRun.o"), for per-file comparisons. */
export function textByFile(mapText: string): Map<string, number> {
  const by = new Map<string, number>();
  const start = mapText.indexOf('Linker script and memory map');
  let output: string | null = null;
  let pendingName: string | null = null;
  const add = (file: string, size: number) => {
    const name = file.trim().replace(/^.*\//, '');
    by.set(name, (by.get(name) ?? 0) + size);
  };
  for (const line of (start >= 0 ? mapText.slice(start) : mapText).split('\n')) {
    const top = /^(\.[^\s]+)/.exec(line);
    if (top) { output = top[1]; pendingName = null; continue; }
    if (!output || !isTextSection(output)) continue;
    let m = /^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/.exec(line);
    if (m && m[1] !== '*fill*') { add(m[4], parseInt(m[3], 16)); pendingName = null; continue; }
    m = /^ (\S+)$/.exec(line);
    if (m && !m[1].startsWith('*')) { pendingName = m[1]; continue; }
    m = /^\s{10,}0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/.exec(line);
    if (m && pendingName) { add(m[3], parseInt(m[2], 16)); pendingName = null; }
  }
  return by;
}
