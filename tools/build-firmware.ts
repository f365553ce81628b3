/**
 * Build the remote's XS firmware: `npx tsx tools/build-firmware.ts [--target qemu-mps2|posix]
 * [--js file] [--out dir] [--manifest file] [--jobs n]`. Installs the toolchain and XS sources
 * if needed, compiles the XS engine (objects cached in build/xs-engine/), the platform layer,
 * the resource table and the embedded JS, links, prints a size report, and prints the
 * ELF (qemu-mps2) or executable (posix) path as its last line on stdout.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resourceTableCSource } from '../resource-table/c-source.ts';
import { resourceTableFromManifest } from '../resource-table/manifest.ts';
import { manifestApp } from './bundle-firmware.ts';
import { typecheckOrFail } from './typecheck.ts';
import { chooseToolchain } from './toolchain.ts';
import { BUILDERS, precompile, resolveStrip, type PrecompiledProgram } from './precompile.ts';
import { xsSources, type XsSources } from './xs-sources.ts';
import { formatSizeReport, sizeReportOf, type SizeReport } from './size-report.ts';
import { callbackInventory, callbackTableSource, strippedCallbacks } from './callback-strip.ts';
import { engineTablesSource } from './engine-tables.ts';
import { engineFileFlags, engineSources, engineFileRewrite, HOT_FILES, hotFilesOf, type EngineOptions } from './xs-engine-patches.ts';
import { DEBUG_DEFINES, debugConnectionSource, precompileDebug } from './debug-build.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The two XS targets of the remote. */
export type FirmwareTarget = 'qemu-mps2' | 'posix' | 'stm32mp15' | 'imx8m';

/** Cortex-M4F boards of real parts: they build and link here (the linker proves the image fits their memory), they cannot run here. */
export const REAL_BOARDS = ['stm32mp15', 'imx8m'] as const;
const isRealBoard = (target: FirmwareTarget): boolean => (REAL_BOARDS as readonly string[]).includes(target);
const CORTEX_M_SHARED_WITH_QEMU = ['footprint.c', 'sbrk.c', 'newlib.c', 'board_hooks.c'];

/** The board folders under firmware/platform/ a target's image links (besides the core, xs/): posix also links the vhost-user backend (docs/LINUX.md). */
export function platformFolders(target: FirmwareTarget): string[] {
  return target === 'posix' ? [target, 'vhost-user'] : [target, 'cortex-m'];
}

/**
 * The board C files a target's image links. firmware/platform/cortex-m is shared by every Cortex-M
 * board; qemu-mps2 has its own start-up, console, clock and doorbell, and takes only the malloc
 * heap, the newlib hooks, the footprint hooks and the platform hooks from it.
 */
export function boardSourceFiles(target: FirmwareTarget): string[] {
  return platformFolders(target).flatMap((folder) =>
    readdirSync(join(root, 'firmware/platform', folder))
      .filter((f) => f.endsWith('.c') && (folder !== 'cortex-m' || isRealBoard(target) || CORTEX_M_SHARED_WITH_QEMU.includes(f)))
      .map((f) => join(root, 'firmware/platform', folder, f)));
}

export interface BuildOptions {
  target: FirmwareTarget;
  /** The classic script to embed; default: tools/bundle-firmware.ts output. */
  js?: string;
  /** Output folder; default build/<target>. */
  out?: string;
  /** manifest.json to read creation sizes, board and resource table from. */
  manifest?: string;
  /** Parallel compile jobs; default the number of CPUs. */
  jobs?: number;
  /** Progress lines (stderr). Default true. */
  verbose?: boolean;
  /** posix only: build with -fsanitize=address,undefined (engine objects cached apart; default off). */
  sanitize?: boolean;
  /**
   * "bytecode" (default): the JS is compiled on the build machine (tools/precompile.ts) and the
   * image runs its byte code without a parser; "source": the image embeds the JS and parses it
   * at boot (the parser is linked).
   */
  program?: 'bytecode' | 'source';
  /** Engine patches (tools/xs-patches/) and per-file flags; default: every patch, hot files -O2 (tools/xs-engine-patches.ts). */
  engine?: EngineOptions;
  /**
   * A debug image (docs/DEBUGGING.md): the engine with mxDebug (the xsbug protocol, xsDebug.c),
   * the byte code with line tables in TypeScript terms (tools/debug-lines.ts) and the target's
   * debugger connection (firmware/platform/xs/xs_debug_*.c). Default false: none of it.
   */
  debug?: boolean;
  /**
   * The preloaded machine (issue 10's big step, docs/BENCHMARKS.md "The preloaded machine"): the
   * built-ins' objects are generated at build time (tools/xs-host preload) as C source of a
   * txPreparation in flash, and the firmware boots with fxPrepareMachine instead of building
   * them. Byte-code images only, not debug images. "program": the program's top level runs at
   * build time too (its module-level objects in flash; the bundle's entry call is deferred to
   * boot). Default: manifest "preload" (true, false, "program", or {"program": bool, "creation": {...}}),
   * else the environment's XS_RPMSG_PRELOAD (1, 0 or program), else true for the Cortex-M images
   * and false for posix.
   */
  preload?: boolean | 'program';
}

export interface BuildResult {
  /** The ELF (qemu-mps2) or the executable (posix). */
  output: string;
  /** text/data/bss in bytes, as `size` reports them. */
  size: { text: number; data: number; bss: number };
  seconds: number;
  program: 'bytecode' | 'source';
  /** The byte code (program "bytecode"). */
  precompiled?: PrecompiledProgram;
  /** Built-ins left out of the image (manifest "strip"). */
  stripped: string[];
  /** Host functions (methods) left out of the image (manifest "strip": "*", engine patch 0002). */
  strippedMethods: string[];
  /** text by origin (engine, built-ins, parser, byte code, platform, libc), data, bss; also in size-report.json. */
  report: SizeReport;
  /** The preloaded machine's counts (option preload), else null. */
  preload: PreloadCounts | null;
}

/** What tools/xs-host preload wrote (its stdout). */
export interface PreloadCounts { slots: number; stack: number; keys: number; aliases: number; arrays: number }

/**
 * The preloaded machine's C source for this image (gen/xs_preload.c): builds the image's own
 * generator (tools/xs-host/xs_host.c with XS_HOST_IMAGE_CONFIG, linked with the image's
 * xs_build_config.c and the host engine compiled with the image's engine defines), so the host
 * builds the machine exactly as the device would, then runs it.
 */
async function preloadSource(sources: XsSources, defines: string[], genDir: string, jobs: number, programDir: string | null): Promise<PreloadCounts> {
  const tc = toolchain('posix');
  const engineObjects = await compileEngine({ target: 'posix', sources, tc, jobs, defines });
  const dir = join(genDir, 'preload');
  mkdirSync(dir, { recursive: true });
  const flags = [...tc.cflags, ...defines, '-w', ...xsIncludes(sources.dir)];
  const hostObject = join(dir, 'xs_host.o');
  run(tc.cc, [...flags, '-DXS_HOST_IMAGE_CONFIG=1', '-c', join(root, 'tools/xs-host/xs_host.c'), '-o', hostObject]);
  const configObject = join(dir, 'xs_build_config.o');
  run(tc.cc, [...flags, '-c', join(genDir, 'xs_build_config.c'), '-o', configObject]);
  const generator = join(dir, 'xs-preload');
  run(tc.cc, [...tc.ldflags, '-o', generator, hostObject, configObject, ...engineObjects, '-lm']);
  const output = run(generator, ['preload', join(dir, 'xs_preload.c.tmp'), ...(programDir ? [programDir] : [])], { capture: true });
  const counts = JSON.parse(output.trim().split('\n').pop()!) as PreloadCounts;
  const text = readFileSync(join(dir, 'xs_preload.c.tmp'), 'utf8');
  writeIfChanged(join(genDir, 'xs_preload.c'), text);
  return counts;
}

/** XS creation sizes (xsCreation), Moddable manifest "creation" naming. */
interface Creation {
  initialChunkSize: number;
  incrementalChunkSize: number;
  initialHeapCount: number;
  incrementalHeapCount: number;
  stackCount: number;
  initialKeyCount: number;
  incrementalKeyCount: number;
  nameModulo: number;
  symbolModulo: number;
  parserBufferSize: number;
  parserTableModulo: number;
  staticSize: number;
  /** Bytes of C stack the Cortex-M image reserves (manifest creation.cStack; null: the linker script's 128 KB). */
  cStack: number | null;
  /**
   * manifest keys.available without keys.initial (Moddable's meaning: keys the app may create at
   * run time beyond those it starts with): a byte-code image then starts with exactly the keys its
   * machine holds after registering the program's names (the precompiler counts them) plus these,
   * so the key array is allocated once instead of growing (each growth leaves the old array as a
   * hole in the malloc heap). null: initialKeyCount as given.
   */
  keysAvailable: number | null;
}

/** Used when manifest.json has no "creation": roomy for 4 MB of RAM, a few hundred KB of JS. */
const DEFAULT_CREATION: Creation = {
  initialChunkSize: 128 * 1024,
  incrementalChunkSize: 32 * 1024,
  initialHeapCount: 8192,
  incrementalHeapCount: 2048,
  stackCount: 1024,
  initialKeyCount: 2048,
  incrementalKeyCount: 512,
  nameModulo: 1021,
  symbolModulo: 127,
  parserBufferSize: 32 * 1024,
  parserTableModulo: 509,
  staticSize: 0,
  cStack: null,
  keysAvailable: null,
};

/**
 * Creation sizes of a preloaded image unless manifest "preload".creation gives them: the slot heap
 * holds only what the program makes (the bench-echo app: measured in docs/BENCHMARKS.md, "The
 * preloaded machine").
 */
const PRELOAD_CREATION: Record<string, unknown> = { heap: { initial: 4096, incremental: 256 } };
/** The same with the program's top level preloaded too: the heap holds what main() makes. */
const PRELOAD_PROGRAM_CREATION: Record<string, unknown> = { heap: { initial: 1536, incremental: 256 } };

/**
 * The bundle with its entry call deferred (preload "program"): the last statement of the bundle's
 * IIFE, xs-entry.ts's bootFirmware(platform, app), becomes a global function the firmware calls
 * at boot (xs_program_preloaded.c), so the top level can run at build time without `platform`.
 * Same lines (the source map still holds).
 */
export function deferEntry(bundle: string): string | null {
  const entry = /^(\s*)bootFirmware\(platform, (\w+)\);(\s*\}\)\(\);\s*(?:\/\/# sourceMappingURL=.*)?\s*)$/m;
  const match = entry.exec(bundle);
  if (!match || bundle.indexOf('bootFirmware(platform, ') !== match.index + match[1].length) return null;
  return `${bundle.slice(0, match.index)}${match[1]}globalThis.__xsRpmsgBoot = () => bootFirmware(platform, ${match[2]});${match[3]}`;
}

/** Keys a source image starts with besides manifest keys.available (the runtime's names and the engine's built-in keys are about a thousand). */
const SOURCE_IMAGE_KEYS = 1024;

const DEFAULT_BOARD: Record<FirmwareTarget, string> = { 'qemu-mps2': 'mps2-an385', posix: 'posix', stm32mp15: 'stm32mp157-m4', imx8m: 'imx8mm-m4' };

let verbose = true;
function progress(text: string): void {
  if (verbose) process.stderr.write(`build-firmware: ${text}\n`);
}

function fail(text: string): never {
  throw new Error(`build-firmware: ${text}`);
}

function run(command: string, args: string[], options: { cwd?: string; capture?: boolean } = {}): string {
  const result = spawnSync(command, args, { cwd: options.cwd ?? root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  if (result.error) fail(`${command}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} failed (status ${result.status}):\n${result.stderr}${result.stdout}`);
  if (!options.capture && verbose && result.stderr.trim()) process.stderr.write(result.stderr);
  return result.stdout;
}

/** Run commands `jobs` at a time; rejects with the first failure's output. */
async function runParallel(tasks: { label: string; command: string; args: string[] }[], jobs: number, onDone: (label: string) => void): Promise<void> {
  let next = 0;
  let failure: Error | null = null;
  async function worker(): Promise<void> {
    while (next < tasks.length && !failure) {
      const task = tasks[next++];
      await new Promise<void>((resolveTask) => {
        const child = spawn(task.command, task.args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk) => { output += chunk; });
        child.stderr.on('data', (chunk) => { output += chunk; });
        child.on('error', (error) => { failure ??= new Error(`build-firmware: ${task.command}: ${error.message}`); resolveTask(); });
        child.on('close', (status) => {
          if (status !== 0) failure ??= new Error(`build-firmware: compiling ${task.label} failed:\n${output}`);
          else onDone(task.label);
          resolveTask();
        });
      });
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  if (failure) throw failure;
}

/** True when `object` exists and is newer than every file its .d lists (and than `extra`). */
function upToDate(object: string, depFile: string, extra: string[] = []): boolean {
  if (!existsSync(object) || !existsSync(depFile)) return false;
  const built = statSync(object).mtimeMs;
  const text = readFileSync(depFile, 'utf8').replace(/\\\n/g, ' ');
  const colon = text.indexOf(': ');
  const deps = text.slice(colon + 2).split(/\s+/).filter(Boolean).concat(extra);
  return deps.every((dep) => existsSync(dep) && statSync(dep).mtimeMs <= built);
}

/** A directory lock so that parallel builds (e.g. vitest workers) never write the same objects. */
async function withLock<T>(dir: string, body: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  const start = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // a lock older than 10 minutes belongs to a build that died
      try {
        if (Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { recursive: true, force: true });
      } catch { /* gone meanwhile */ }
      if (Date.now() - start > 900_000) fail(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await body();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

interface Toolchain {
  cc: string;
  size: string;
  cflags: string[];
  ldflags: string[];
}

export function toolchain(target: FirmwareTarget): Toolchain {
  if (isRealBoard(target)) {
    const cpu = ['-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16'];
    return {
      cc: 'arm-none-eabi-gcc',
      size: 'arm-none-eabi-size',
      cflags: [...cpu, '-Os', '-g', '-ffunction-sections', '-fdata-sections', '-fno-common'],
      ldflags: [...cpu, '-nostartfiles', '--specs=nano.specs', '--specs=nosys.specs', '-Wl,--gc-sections', '-Wl,--no-warn-execstack',
        '-Wl,--print-memory-usage', `-T${join(root, 'firmware/platform', target, `${target}.ld`)}`],
    };
  }
  if (target === 'qemu-mps2') {
    return {
      cc: 'arm-none-eabi-gcc',
      size: 'arm-none-eabi-size',
      cflags: ['-mcpu=cortex-m3', '-mthumb', '-Os', '-g', '-ffunction-sections', '-fdata-sections', '-fno-common'],
      ldflags: ['-mcpu=cortex-m3', '-mthumb', '-nostartfiles', '--specs=nano.specs', '--specs=nosys.specs', '-Wl,--gc-sections', '-Wl,--no-warn-execstack',
        `-T${join(root, 'firmware/platform/qemu-mps2/mps2-an385.ld')}`],
    };
  }
  return {
    cc: 'gcc',
    size: 'size',
    cflags: ['-O2', '-g', '-ffunction-sections', '-fdata-sections', '-fno-common'],
    ldflags: ['-Wl,--gc-sections'],
  };
}

/** Engine defines: see shared/design/PLATFORM-NOTES.md (mxNoConsole left off: parse errors reach the console). */
export function xsDefines(sources?: XsSources): string[] {
  const defines = ['-DINCLUDE_XSPLATFORM', '-DXSPLATFORM="xs_platform.h"', '-DmxParse=1', '-DmxRun=1', '-DmxSloppy=1'];
  // patch 0001: fxCreateMachine builds the built-ins listed in gxBuiltinBuilders (generated per image)
  if (sources?.patches.some((name) => name.startsWith('0001-'))) defines.push('-DmxBuiltinBuilders=1');
  // patch 0002: host functions through gxCallbackTable (generated per image: method-level strip)
  if (sources?.patches.some((name) => name.startsWith('0002-'))) defines.push('-DmxCallbackTable=1');
  // patch 0004: the feature tables of xsDefaults.c are generated per image (tools/engine-tables.ts)
  if (sources?.patches.some((name) => name.startsWith('0004-'))) defines.push('-DmxDefaultsTables=1');
  return defines;
}

export function xsIncludes(xs: string): string[] {
  return [`-I${join(xs, 'includes')}`, `-I${join(xs, 'sources')}`, `-I${join(xs, 'platforms')}`, `-I${join(root, 'firmware/platform/xs')}`];
}

function readManifest(path: string): Record<string, unknown> | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    fail(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * XS creation sizes: manifest "creation" (Moddable naming), overridden by
 * "platforms"[target]."creation"; every missing field takes DEFAULT_CREATION.
 */
export function creationFromManifest(manifest: Record<string, unknown> | null, target: FirmwareTarget): { creation: Creation; board: string; notes: string[] } {
  const notes: string[] = [];
  const base = asObject(manifest?.creation);
  const perTarget = asObject(asObject(asObject(manifest?.platforms)[target]).creation);
  const merged = { ...base, ...perTarget } as Record<string, unknown>;
  const pick = (value: unknown, fallback: number, name: string): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) fail(`manifest creation.${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
    return value;
  };
  const chunk = asObject(merged.chunk);
  const heap = asObject(merged.heap);
  const keys = asObject(merged.keys);
  const parser = asObject(merged.parser);
  const d = DEFAULT_CREATION;
  const creation: Creation = {
    initialChunkSize: pick(chunk.initial, d.initialChunkSize, 'chunk.initial'),
    incrementalChunkSize: pick(chunk.incremental, d.incrementalChunkSize, 'chunk.incremental'),
    initialHeapCount: pick(heap.initial, d.initialHeapCount, 'heap.initial'),
    incrementalHeapCount: pick(heap.incremental, d.incrementalHeapCount, 'heap.incremental'),
    stackCount: pick(merged.stack, d.stackCount, 'stack'),
    initialKeyCount: pick(keys.initial ?? keys.available, d.initialKeyCount, 'keys.initial'),
    incrementalKeyCount: pick(keys.incremental, d.incrementalKeyCount, 'keys.incremental'),
    nameModulo: pick(keys.name, d.nameModulo, 'keys.name'),
    symbolModulo: pick(keys.symbol, d.symbolModulo, 'keys.symbol'),
    parserBufferSize: pick(parser.buffer, d.parserBufferSize, 'parser.buffer'),
    parserTableModulo: pick(parser.table, d.parserTableModulo, 'parser.table'),
    staticSize: pick(merged.static, d.staticSize, 'static'),
    cStack: merged.cStack === undefined ? null : pick(merged.cStack, 0, 'cStack'),
    keysAvailable: keys.initial === undefined && keys.available !== undefined ? pick(keys.available, 0, 'keys.available') : null,
  };
  if (creation.cStack !== null && (creation.cStack < 8192 || creation.cStack % 8 !== 0)) fail(`manifest creation.cStack must be a multiple of 8 of at least 8192 bytes, got ${creation.cStack}`);
  if (!manifest) notes.push('no manifest.json: default XS creation sizes');
  else if (Object.keys(merged).length === 0) notes.push('manifest has no "creation": default XS creation sizes');
  const boardValue = asObject(asObject(manifest?.platforms)[target]).board ?? (target === 'qemu-mps2' ? manifest?.board : undefined);
  const board = typeof boardValue === 'string' ? boardValue : DEFAULT_BOARD[target];
  if (target === 'qemu-mps2' && board !== 'mps2-an385' && board !== 'mps2-an386') {
    fail(`manifest board "${board}" is not supported by firmware/platform/qemu-mps2 (mps2-an385, mps2-an386)`);
  }
  return { creation, board, notes };
}

function configSource(creation: Creation, board: string, builders: string[] | null, callbackTable = ''): string {
  const c = creation;
  const table = builders
    ? `\n/* The built-ins this image builds (engine patch 0001; manifest "strip" left out the others). */\nvoid (*const gxBuiltinBuilders[])(txMachine* the) = {\n${builders.map((b) => `\tfxBuild${b},\n`).join('')}\tC_NULL,\n};\n`
    : '';
  return `/* Generated by tools/build-firmware.ts from manifest.json: do not edit. */
#include "xsAll.h"
#include "xs.h"
${table}
${callbackTable}
const xsCreation xs_build_creation = {
\t${c.initialChunkSize}, /* initialChunkSize */
\t${c.incrementalChunkSize}, /* incrementalChunkSize */
\t${c.initialHeapCount}, /* initialHeapCount */
\t${c.incrementalHeapCount}, /* incrementalHeapCount */
\t${c.stackCount}, /* stackCount */
\t${c.initialKeyCount}, /* initialKeyCount */
\t${c.incrementalKeyCount}, /* incrementalKeyCount */
\t${c.nameModulo}, /* nameModulo */
\t${c.symbolModulo}, /* symbolModulo */
\t${c.parserBufferSize}, /* parserBufferSize */
\t${c.parserTableModulo}, /* parserTableModulo */
\t${c.staticSize}, /* staticSize */
};

const char xs_build_board[] = ${JSON.stringify(board)};
`;
}

function scriptAssembly(jsPath: string): string {
  return `/* Generated by tools/build-firmware.ts: the bundled JS as a NUL-terminated string in flash. */
\t.section .rodata.xs_app_script,"a"
\t.global xs_app_script
\t.type xs_app_script, %object
\t.balign 4
xs_app_script:
\t.incbin ${JSON.stringify(jsPath)}
\t.byte 0
\t.size xs_app_script, . - xs_app_script
\t.section .note.GNU-stack,"",%progbits
`;
}

/** The precompiled program in flash (tools/precompile.ts): code, names, their IDs. */
function programAssembly(dir: string, symbolCount: number): string {
  const blob = (name: string, file: string, align: number, terminator: string): string => `\t.section .rodata.${name},"a"
\t.global ${name}
\t.type ${name}, %object
\t.balign ${align}
${name}:
\t.incbin ${JSON.stringify(join(dir, file))}
${terminator}\t.size ${name}, . - ${name}
`;
  return `/* Generated by tools/build-firmware.ts: the byte code tools/precompile.ts made, in flash. */
${blob('xs_app_code', 'code.bin', 4, '')}${blob('xs_app_symbols', 'symbols.bin', 1, '\t.byte 0\n')}${blob('xs_app_ids', 'ids.bin', 2, '')}
\t.section .rodata.xs_app_code_size,"a"
\t.global xs_app_code_size
\t.global xs_app_symbol_count
\t.balign 4
xs_app_code_size:
\t.long xs_app_symbols_code_end - xs_app_code
xs_app_symbol_count:
\t.long ${symbolCount}
\t.section .rodata.xs_app_code,"a"
xs_app_symbols_code_end:
\t.section .note.GNU-stack,"",%progbits
`;
}

/** The resource table C source for this target (manifest "resourceTable", "targets" overrides). */
function resourceTableSource(target: FirmwareTarget, manifestPath: string): string {
  if (!existsSync(manifestPath)) fail(`${manifestPath} does not exist: its "resourceTable" section describes the firmware's resource table`);
  // the real boards take the table a Linux remoteproc host wants, as qemu-mps2 does (da/notifyid ANY, trace)
  const generated = resourceTableFromManifest(JSON.parse(readFileSync(manifestPath, 'utf8')), isRealBoard(target) ? 'qemu-mps2' : target);
  for (const warning of generated.warnings) process.stderr.write(`warning: ${warning}\n`);
  return resourceTableCSource(generated);
}

function writeIfChanged(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

function sizeReport(tool: string, file: string): { text: number; data: number; bss: number } {
  const lines = run(tool, [file], { capture: true }).trim().split('\n');
  const [text, data, bss] = lines[lines.length - 1].trim().split(/\s+/).map(Number);
  return { text, data, bss };
}

export interface EngineBuild {
  target: FirmwareTarget;
  sources: XsSources;
  tc: Toolchain;
  jobs: number;
  sanitize?: boolean;
  /** Engine defines (xsDefines() plus any per-image ones, e.g. -DmxRegExp=0). */
  defines: string[];
  /** Which patches and per-file flags (tools/xs-engine-patches.ts); default: every patch, hot files -O2 on qemu-mps2. */
  engine?: EngineOptions;
}

/** Compiles the XS engine (what changed) into build/xs-engine/<target>-<hash>/; returns the objects. */
export async function compileEngine(build: EngineBuild): Promise<string[]> {
  const { target, tc, jobs, defines } = build;
  const xs = build.sources.dir;
  const includes = xsIncludes(xs);
  // Sanitized engine: XS reads its byte-packed bytecode with unaligned loads, and measures UTF-8 a
  // word at a time past the NUL of constant strings (as glibc's strlen does); both are by design.
  const engineSanitizerExceptions = build.sanitize ? ['-fno-sanitize=alignment', '--param', 'asan-globals=0'] : [];
  // -fwrapv: XS runs JS's wrapping integer operators (<<, +, * on int32) as C int arithmetic,
  // which C leaves undefined on overflow; wrapping is what JS requires.
  const engineFlags = [...tc.cflags, '-fwrapv', ...engineSanitizerExceptions, ...defines, '-w'];
  const engineSources = readdirSync(join(xs, 'sources')).filter((f) => f.endsWith('.c') && f !== 'xsSnapshot.c').sort();
  // patch 0113: files whose assembly is rewritten before it is assembled (tools/xs-dispatch.ts)
  const rewrites = new Map(engineSources.flatMap((f) => { const r = engineFileRewrite(target, f, build.sources); return r ? [[f, r] as const] : []; }));
  const flagHash = createHash('sha256').update(JSON.stringify([tc.cc, engineFlags, xs, [...new Set([...HOT_FILES, ...hotFilesOf(build.engine)])].map((f) => engineFileFlags(target, f, build.engine)), [...rewrites.values()].map((r) => r.version)])).digest('hex').slice(0, 12);
  // the two Cortex-M4F boards compile the engine identically: one cache
  const engineDir = join(root, 'build/xs-engine', `${isRealBoard(target) ? 'cortex-m4f' : target}-${flagHash}`);
  const platformHeader = join(root, 'firmware/platform/xs/xs_platform.h');
  const engineObjects = engineSources.map((f) => join(engineDir, f.replace(/\.c$/, '.o')));
  await withLock(engineDir, async () => {
    mkdirSync(engineDir, { recursive: true });
    const stale = engineSources.filter((f, i) => !upToDate(engineObjects[i], engineObjects[i].replace(/\.o$/, '.d'), [platformHeader]));
    if (stale.length === 0) {
      progress(`XS engine: ${engineSources.length} objects up to date (${relative(root, engineDir)})`);
      return;
    }
    progress(`XS engine: compiling ${stale.length} of ${engineSources.length} files with ${jobs} jobs (${tc.cc}${build.sources.patches.length ? `, patches ${build.sources.patches.join(' ')}` : ''})`);
    let done = 0;
    await runParallel(stale.map((f) => {
      const object = join(engineDir, f.replace(/\.c$/, '.o'));
      const temporary = `${object}.tmp`;
      const flags = [...engineFlags, ...engineFileFlags(target, f, build.engine), ...includes, '-MMD', '-MF', object.replace(/\.o$/, '.d'), '-MT', object];
      if (rewrites.has(f)) return { label: f, command: tc.cc, args: [...flags, '-S', join(xs, 'sources', f), '-o', `${object}.s`] };
      return {
        label: f,
        command: 'bash',
        args: ['-c', `"$@" && mv "${temporary}" "${object}"`, 'compile', tc.cc, ...flags, '-c', join(xs, 'sources', f), '-o', temporary],
      };
    }), jobs, (label) => {
      done++;
      if (done % 8 === 0 || done === stale.length) progress(`  XS engine ${done}/${stale.length} (${label})`);
    });
    for (const f of stale.filter((f) => rewrites.has(f))) {
      const object = join(engineDir, f.replace(/\.c$/, '.o'));
      const rewritten = rewrites.get(f)!.rewrite(readFileSync(`${object}.s`, 'utf8'));
      writeFileSync(`${object}.rewritten.s`, rewritten.text);
      progress(`  XS engine ${f}: ${rewritten.summary}`);
      run(tc.cc, [...tc.cflags, '-c', `${object}.rewritten.s`, '-o', `${object}.tmp`]);
      renameSync(`${object}.tmp`, object);
    }
  });
  return engineObjects;
}

/**
 * Builds tools/xs-host (the precompiler and the engine-patch test runner) for the build machine
 * from `sources` (patched by default), reusing the posix engine objects; returns its path.
 */
export async function buildXsHost(options: { sources?: XsSources; patched?: boolean; jobs?: number; verbose?: boolean } = {}): Promise<string> {
  if (options.verbose !== undefined) verbose = options.verbose;
  const sources = options.sources ?? xsSources({ patched: options.patched });
  const tc = toolchain('posix');
  const defines = xsDefines(sources);
  const engineObjects = await compileEngine({ target: 'posix', sources, tc, jobs: options.jobs ?? availableParallelism(), defines });
  const dir = join(root, 'build/xs-host', sources.key);
  const output = join(dir, 'xs-host');
  const source = join(root, 'tools/xs-host/xs_host.c');
  return withLock(dir, async () => {
    mkdirSync(dir, { recursive: true });
    const object = join(dir, 'xs_host.o');
    if (!upToDate(object, join(dir, 'xs_host.d'), [source])) {
      run(tc.cc, [...tc.cflags, ...defines, '-Wall', '-Wno-unused-parameter', ...xsIncludes(sources.dir), '-MMD', '-MF', join(dir, 'xs_host.d'), '-MT', object, '-c', source, '-o', object]);
    }
    const objects = [object];
    if (defines.includes('-DmxCallbackTable=1')) {
      // patch 0002: the host engine keeps every host function
      const tableSource = join(dir, 'xs_host_callbacks.c');
      const tables = defines.includes('-DmxDefaultsTables=1') ? engineTablesSource(sources.dir, null).source : '';
      writeIfChanged(tableSource, `#include "xsAll.h"\n${callbackTableSource(callbackInventory(sources.dir), [])}${tables}`);
      const tableObject = join(dir, 'xs_host_callbacks.o');
      if (!upToDate(tableObject, join(dir, 'xs_host_callbacks.d'))) {
        run(tc.cc, [...tc.cflags, ...defines, '-w', ...xsIncludes(sources.dir), '-MMD', '-MF', join(dir, 'xs_host_callbacks.d'), '-MT', tableObject, '-c', tableSource, '-o', tableObject]);
      }
      objects.push(tableObject);
    }
    if (!existsSync(output) || objects.some((o) => statSync(o).mtimeMs > statSync(output).mtimeMs) || engineObjects.some((o) => statSync(o).mtimeMs > statSync(output).mtimeMs)) {
      run(tc.cc, [...tc.ldflags, '-o', `${output}.tmp`, ...objects, ...engineObjects, '-lm']);
      renameSync(`${output}.tmp`, output);
    }
    return output;
  });
}

/** Compiles what changed and links; see the file comment. Builds of one output folder are serialized. */
export async function buildFirmware(options: BuildOptions): Promise<BuildResult> {
  const out = resolve(options.out ?? join(root, 'build', options.target));
  return withLock(out, () => buildLocked(options, out));
}

async function buildLocked(options: BuildOptions, out: string): Promise<BuildResult> {
  const started = Date.now();
  verbose = options.verbose ?? true;
  const target = options.target;
  const jobs = options.jobs ?? availableParallelism();
  const manifestPath = resolve(options.manifest ?? join(root, 'manifest.json'));

  if (!options.js) typecheckOrFail(manifestApp(manifestPath)); // first: a type error stops the build with file:line:column
  const chosen = chooseToolchain(target === 'posix' ? 'posix' : 'qemu-mps2' /* every board: arm-none-eabi */, () => run('bash', [join(root, 'scripts/install-toolchain.sh')]), progress); // CROSS_COMPILE, CC, PATH, then Debian (tools/toolchain.ts)
  const sources = engineSources(options.engine);
  const xs = sources.dir;
  const programKind = options.program ?? 'bytecode';

  // The JS to embed.
  let js = options.js ? resolve(options.js) : join(out, 'firmware.js');
  if (!options.js) {
    if (!existsSync(join(root, 'tools/bundle-firmware.ts'))) fail('no --js given and tools/bundle-firmware.ts does not exist');
    // The app the --manifest names (not manifest.json's, unless that is the one given).
    const app = manifestApp(manifestPath);
    progress(`bundling firmware JS of app "${app}" (tools/bundle-firmware.ts)`);
    run('npx', ['tsx', join(root, 'tools/bundle-firmware.ts'), js, app], { capture: true });
  }
  if (!existsSync(js)) fail(`JS file ${js} does not exist`);
  const jsText = readFileSync(js);
  if (jsText.includes(0)) fail(`${js} contains a NUL byte; XS reads the script as a C string`);

  const manifest = readManifest(manifestPath);
  // The preloaded machine (option preload): the built-ins' objects are in flash, so the RAM heap
  // holds only what the program makes; manifest "preload": {"creation": {...}} sizes it, else PRELOAD_CREATION.
  const preloadManifest = manifest?.preload;
  // needs engine patch 0002 (host functions by name through gxCallbackTable): a stock engine builds its built-ins at boot
  const preloadEnvironment = process.env.XS_RPMSG_PRELOAD;
  const preloadChoice = options.preload ?? (preloadManifest !== undefined
    ? (preloadManifest === 'program' || asObject(preloadManifest).program === true ? 'program' : preloadManifest !== false)
    : preloadEnvironment === 'program' ? 'program' : preloadEnvironment === '1' ? true : preloadEnvironment === '0' ? false
    : target !== 'posix' /* the default: the Cortex-M images preload the built-ins */);
  const preload = preloadChoice !== false && programKind === 'bytecode' && !options.debug && sources.patches.some((name) => name.startsWith('0002-'));
  const preloadProgram = preload && preloadChoice === 'program';
  const preloadCreation = preload ? { ...(preloadProgram ? PRELOAD_PROGRAM_CREATION : PRELOAD_CREATION), ...asObject(asObject(preloadManifest).creation) } : {};
  const { creation, board, notes } = creationFromManifest(preload ? { ...manifest, creation: { ...asObject(manifest?.creation), ...preloadCreation } } : manifest, target);
  for (const note of notes) progress(note);

  const tc = { ...toolchain(target), cc: chosen.cc, size: chosen.size };
  if (options.sanitize) {
    if (target !== 'posix') fail('sanitize is only available for the posix target');
    const sanitizers = ['-fsanitize=address,undefined', '-fno-omit-frame-pointer'];
    tc.cflags.push(...sanitizers);
    tc.ldflags.push(...sanitizers);
  }
  const defines = options.debug ? [...xsDefines(sources), ...DEBUG_DEFINES] : xsDefines(sources);
  const debugConnection = options.debug ? debugConnectionSource(target) : null;
  const includes = xsIncludes(xs);
  const genDir = join(out, 'gen');

  // 0. The program: byte code compiled here (tools/precompile.ts), and the built-ins it needs.
  // The first pass learns the names and features the code uses (it also reports syntax errors,
  // mapped to the TypeScript source); the second compiles against the machine as the image
  // creates it, without the stripped built-ins, so the IDs are the device's.
  const xsHost = await buildXsHost({ sources, jobs, verbose });
  let precompiled: PrecompiledProgram | undefined;
  let stripped: string[] = [];
  const strip = manifest?.strip;
  if (preloadProgram) {
    const deferred = deferEntry(readFileSync(js, 'utf8'));
    if (!deferred) fail(`preload "program": the bundle ${js} does not end with xs-entry.ts's bootFirmware(platform, app) call`);
    const programJs = join(genDir, 'firmware-preload.js');
    writeIfChanged(programJs, deferred);
    if (existsSync(`${js}.map`)) writeIfChanged(`${programJs}.map`, readFileSync(`${js}.map`, 'utf8'));
    js = programJs;
  }
  if (programKind === 'bytecode') {
    const analysis = precompile(xsHost, js, join(genDir, 'program-analysis'), []);
    stripped = resolveStrip(strip, analysis, manifestPath);
    if (stripped.length && !defines.includes('-DmxBuiltinBuilders=1')) fail('manifest "strip" needs engine patch 0001 (tools/xs-patches/0001-builtin-builders-table.patch)');
    precompiled = options.debug ? precompileDebug(xsHost, js, genDir, stripped, progress)
      : stripped.length ? precompile(xsHost, js, join(genDir, 'program'), stripped) : { ...analysis };
    progress(`precompiled ${relative(root, js)}: ${precompiled.codeSize} bytes of code, ${precompiled.symbolCount} names (${precompiled.symbolsSize} bytes), ${precompiled.functionsInPlace} functions run in place${stripped.length ? `; not built: ${stripped.join(', ')}` : ''}`);
  } else if (strip !== undefined) {
    // source mode: strip from what the script uses, if it compiles here; else the device reports the error
    try {
      stripped = resolveStrip(strip, precompile(xsHost, js, join(genDir, 'program-analysis'), []), manifestPath);
    } catch (error) {
      if (!(error as Error).message.startsWith('precompile:')) throw error;
      progress('the script does not compile on the host: no built-in stripped, the device will report the error');
    }
  }
  if (creation.keysAvailable !== null) {
    // source image: the parser creates the names on the device; the runtime and an app make about a thousand keys
    const start = precompiled ? precompiled.keyCount : SOURCE_IMAGE_KEYS;
    creation.initialKeyCount = start + creation.keysAvailable;
    // a preloaded machine's built-in keys are in flash (fxCloneMachine: the key array holds only the keys made after them)
    if (preload && precompiled) creation.initialKeyCount -= preloadProgram ? precompiled.keyCount : (precompiled as { firstFreeId?: number }).firstFreeId ?? 0;
    progress(`keys: ${start} ${precompiled ? 'after the program\'s names' : '(source image: a guess)'} + ${creation.keysAvailable} available (manifest keys.available) = ${creation.initialKeyCount}`);
  }
  const engineDefines = stripped.includes('RegExp') ? [...defines, '-DmxRegExp=0'] : defines;

  // 1. The engine: cached per target, source tree (patches) and flag set.
  const engineObjects = await compileEngine({ target, sources, tc, jobs, sanitize: options.sanitize, defines: engineDefines, engine: options.engine });

  // 2. Generated sources for this image.
  let strippedMethods: string[] = [];
  let callbackTable = '';
  if (defines.includes('-DmxCallbackTable=1')) {
    const inventory = callbackInventory(xs);
    // "*": also every method the app never names (needs the byte code's names)
    strippedMethods = strippedCallbacks(inventory, strip === '*' && precompiled ? precompiled.names : null, stripped);
    callbackTable = callbackTableSource(inventory, strippedMethods);
    if (strippedMethods.length) progress(`not built: ${strippedMethods.length} of ${inventory.all.length} host functions (of stripped built-ins, and methods the app never names)`);
  }
  let absentFeatures: string[] = [];
  if (defines.includes('-DmxDefaultsTables=1')) {
    const tables = engineTablesSource(xs, { stripped, bytecode: precompiled !== undefined });
    callbackTable += tables.source;
    absentFeatures = tables.replaced;
    if (absentFeatures.length) progress(`not built: ${absentFeatures.length} engine feature entries (engine patch 0004: ${absentFeatures.slice(0, 6).join(', ')}${absentFeatures.length > 6 ? ', ...' : ''})`);
  }
  writeIfChanged(join(genDir, 'xs_build_config.c'), configSource(creation, board, defines.includes('-DmxBuiltinBuilders=1') ? BUILDERS.filter((b) => !stripped.includes(b)) : null, callbackTable));
  if (precompiled) writeIfChanged(join(genDir, 'xs_app_program.S'), programAssembly(precompiled.dir, precompiled.symbolCount));
  else writeIfChanged(join(genDir, 'xs_app_script.S'), scriptAssembly(js));
  writeIfChanged(join(genDir, 'resource_table.c'), resourceTableSource(target, manifestPath));
  const preloadCounts = preload ? await preloadSource(sources, engineDefines, genDir, jobs, preloadProgram ? precompiled!.dir : null) : null;
  if (preloadCounts) progress(`preloaded machine: ${preloadCounts.slots} slots (${preloadCounts.slots * 16} bytes on a 32-bit part), ${preloadCounts.keys} keys, ${preloadCounts.aliases} aliases, in flash (gen/xs_preload.c)`);
  writeIfChanged(join(genDir, 'xs_build_preload.h'), preload ? '/* Generated by tools/build-firmware.ts: this image boots from the preloaded machine (gen/xs_preload.c). */\n#define XS_RPMSG_PRELOAD 1\n' : '/* Generated by tools/build-firmware.ts: no preloaded machine in this image. */\n');

  // 3. Platform layer + generated sources (small: always checked, rebuilt when changed).
  // posix also links the vhost-user backend (--vhost-user: the remote of a User-Mode Linux kernel, docs/LINUX.md).
  const boardFolders = platformFolders(target);
  const ourFlags = [...tc.cflags, ...defines, '-Wall', '-Wno-unused-parameter', ...boardFolders.map((folder) => `-I${join(root, 'firmware/platform', folder)}`), `-I${genDir}`];
  const boardSources = boardSourceFiles(target);
  const ourSources = [
    join(root, 'firmware/platform/xs/xs_platform.c'),
    join(root, 'firmware/platform/xs', preloadProgram ? 'xs_program_preloaded.c' : precompiled ? 'xs_program_bytecode.c' : 'xs_program_source.c'),
    join(root, 'firmware/platform/xs/xs_footprint.c'),
    ...boardSources,
    ...(debugConnection ? [debugConnection] : []),
    join(genDir, 'xs_build_config.c'),
    join(genDir, 'resource_table.c'),
    join(genDir, precompiled ? 'xs_app_program.S' : 'xs_app_script.S'),
    ...(preload ? [join(genDir, 'xs_preload.c')] : []),
  ];
  const programInputs = precompiled ? ['code.bin', 'symbols.bin', 'ids.bin'].map((f) => join(precompiled!.dir, f)) : [js];
  const objDir = join(out, 'obj');
  mkdirSync(objDir, { recursive: true });
  // the preloaded machine is data, not "our C": outside obj/, so the real boards' linker scripts place it with the read-only data (stm32mp15 puts obj/*.o in its 64 KB RETRAM)
  const objectOf = (s: string): string => s.endsWith('xs_preload.c') ? join(genDir, 'preload', 'xs_preload.o') : join(objDir, `${basename(s).replace(/\.(c|S)$/, '')}.o`);
  const ourObjects = ourSources.map(objectOf);
  const ourStale = ourSources.filter((s, i) => !upToDate(ourObjects[i], ourObjects[i].replace(/\.o$/, '.d'), s.endsWith('.S') ? programInputs : []));
  if (ourStale.length) {
    progress(`platform: compiling ${ourStale.map((s) => basename(s)).join(', ')}`);
    await runParallel(ourStale.map((s) => {
      const object = objectOf(s);
      const isTable = s.endsWith('resource_table.c') || s.endsWith('xs_preload.c');
      return {
        label: basename(s),
        command: tc.cc,
        args: [...ourFlags, ...(isTable ? ['-w'] : []), ...includes, '-MMD', '-MF', object.replace(/\.o$/, '.d'), '-MT', object, '-c', s, '-o', object],
      };
    }), jobs, () => {});
  }

  // 4. Link.
  const output = join(out, target === 'posix' ? 'xs-rpmsg-posix' : 'firmware.elf');
  const mapFile = join(out, 'firmware.map');
  const linkExtra = target === 'posix'
    ? [`-T${join(root, 'firmware/platform/posix/resource-table.ld')}`, `-Wl,-Map=${mapFile}`, '-lm']
    : [`-Wl,-Map=${mapFile}`, '-lm',
      // the C stack from the manifest; XS aborts with "stack overflow" 4 KB above its bottom (room for the crash report)
      ...(creation.cStack !== null ? [`-Wl,--defsym=__stack_size=${creation.cStack}`, '-Wl,--defsym=__stack_guard_margin=4096'] : [])];
  progress(`linking ${relative(root, output)}`);
  run(tc.cc, [...tc.ldflags, '-o', `${output}.tmp`, ...ourObjects, ...engineObjects, ...linkExtra]);
  renameSync(`${output}.tmp`, output);

  const size = sizeReport(tc.size, output);
  const report = sizeReportOf(output, mapFile, size);
  writeFileSync(join(out, 'size-report.json'), `${JSON.stringify({ ...report, ...(options.debug ? { debug: true } : {}), program: programKind, stripped, strippedMethods, absentFeatures, precompiled: precompiled ? { codeSize: precompiled.codeSize, symbolsSize: precompiled.symbolsSize, symbolCount: precompiled.symbolCount, functionsInPlace: precompiled.functionsInPlace } : null, creation, preload: preloadCounts }, null, 2)}\n`);
  const result: BuildResult = { output, size, seconds: (Date.now() - started) / 1000, program: programKind, precompiled, stripped, strippedMethods, report, preload: preloadCounts };
  progress(`size: text ${size.text} data ${size.data} bss ${size.bss} (bytes; ${basename(output)}, JS ${jsText.length} bytes, ${programKind}, board ${board})`);
  progress(`size report (${relative(root, join(out, 'size-report.json'))}):\n${formatSizeReport(report)}`);
  progress(`done in ${result.seconds.toFixed(1)} s`);
  return result;
}

function parseArguments(argv: string[]): BuildOptions {
  const options: BuildOptions = { target: 'qemu-mps2' };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) fail(`${argument} needs a value`);
      return v;
    };
    if (argument === '--target') {
      const t = value();
      if (t !== 'qemu-mps2' && t !== 'posix' && t !== 'stm32mp15' && t !== 'imx8m') fail(`unknown target "${t}" (qemu-mps2, posix, stm32mp15, imx8m)`);
      options.target = t;
    } else if (argument === '--js') options.js = value();
    else if (argument === '--out') options.out = value();
    else if (argument === '--manifest') options.manifest = value();
    else if (argument === '--jobs') options.jobs = Number(value());
    else if (argument === '--quiet') options.verbose = false;
    else if (argument === '--sanitize') options.sanitize = true;
    else if (argument === '--debug') options.debug = true;
    else if (argument === '--preload') options.preload = true;
    else if (argument === '--preload-program') options.preload = 'program';
    else if (argument === '--help' || argument === '-h') {
      process.stdout.write('usage: npx tsx tools/build-firmware.ts [--target qemu-mps2|posix|stm32mp15|imx8m] [--js file] [--out dir] [--manifest file] [--jobs n] [--quiet] [--sanitize] [--debug] [--preload]\n');
      process.exit(0);
    } else fail(`unknown argument ${argument}`);
  }
  return options;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildFirmware(parseArguments(process.argv.slice(2))).then(
    (result) => {
      process.stdout.write(`${result.output}\n`);
    },
    (error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    },
  );
}
