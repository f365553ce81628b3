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
import { engineFileFlags, HOT_FILES, patchedEngine, type EngineOptions } from './xs-engine-patches.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The two XS targets of the remote. */
export type FirmwareTarget = 'qemu-mps2' | 'posix';

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
  /** Engine patches (tools/xs-patches/) and per-file flags; default: every patch, hot files -O2 (tools/xs-engine-patches.ts). */
  engine?: EngineOptions;
}

export interface BuildResult {
  /** The ELF (qemu-mps2) or the executable (posix). */
  output: string;
  /** text/data/bss in bytes, as `size` reports them. */
  size: { text: number; data: number; bss: number };
  seconds: number;
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
};

const DEFAULT_BOARD: Record<FirmwareTarget, string> = { 'qemu-mps2': 'mps2-an385', posix: 'posix' };

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

function toolchain(target: FirmwareTarget): Toolchain {
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
function xsDefines(): string[] {
  return ['-DINCLUDE_XSPLATFORM', '-DXSPLATFORM="xs_platform.h"', '-DmxParse=1', '-DmxRun=1', '-DmxSloppy=1'];
}

function xsIncludes(xs: string): string[] {
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
  };
  if (!manifest) notes.push('no manifest.json: default XS creation sizes');
  else if (Object.keys(merged).length === 0) notes.push('manifest has no "creation": default XS creation sizes');
  const boardValue = asObject(asObject(manifest?.platforms)[target]).board ?? (target === 'qemu-mps2' ? manifest?.board : undefined);
  const board = typeof boardValue === 'string' ? boardValue : DEFAULT_BOARD[target];
  if (target === 'qemu-mps2' && board !== 'mps2-an385' && board !== 'mps2-an386') {
    fail(`manifest board "${board}" is not supported by firmware/platform/qemu-mps2 (mps2-an385, mps2-an386)`);
  }
  return { creation, board, notes };
}

function configSource(creation: Creation, board: string): string {
  const c = creation;
  return `/* Generated by tools/build-firmware.ts from manifest.json: do not edit. */
#include "xsAll.h"
#include "xs.h"

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

/** The resource table C source for this target (manifest "resourceTable", "targets" overrides). */
function resourceTableSource(target: FirmwareTarget, manifestPath: string): string {
  if (!existsSync(manifestPath)) fail(`${manifestPath} does not exist: its "resourceTable" section describes the firmware's resource table`);
  const generated = resourceTableFromManifest(JSON.parse(readFileSync(manifestPath, 'utf8')), target);
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

  run('bash', [join(root, 'scripts/install-toolchain.sh')]);
  const pinnedXs = run('bash', [join(root, 'tools/fetch-xs.sh')], { capture: true }).trim().split('\n').pop()!;
  if (!existsSync(join(pinnedXs, 'sources/xsAll.h'))) fail(`XS sources not found at ${pinnedXs}`);
  const xs = patchedEngine(pinnedXs, options.engine).dir;

  // The JS to embed.
  let js = options.js ? resolve(options.js) : join(out, 'firmware.js');
  if (!options.js) {
    if (!existsSync(join(root, 'tools/bundle-firmware.ts'))) fail('no --js given and tools/bundle-firmware.ts does not exist');
    progress('bundling firmware JS (tools/bundle-firmware.ts)');
    run('npx', ['tsx', join(root, 'tools/bundle-firmware.ts'), js], { capture: true });
  }
  if (!existsSync(js)) fail(`JS file ${js} does not exist`);
  const jsText = readFileSync(js);
  if (jsText.includes(0)) fail(`${js} contains a NUL byte; XS reads the script as a C string`);

  const manifest = readManifest(manifestPath);
  const { creation, board, notes } = creationFromManifest(manifest, target);
  for (const note of notes) progress(note);

  const tc = toolchain(target);
  if (options.sanitize) {
    if (target !== 'posix') fail('sanitize is only available for the posix target');
    const sanitizers = ['-fsanitize=address,undefined', '-fno-omit-frame-pointer'];
    tc.cflags.push(...sanitizers);
    tc.ldflags.push(...sanitizers);
  }
  const defines = xsDefines();
  const includes = xsIncludes(xs);

  // 1. The engine: cached per target and flag set.
  // Sanitized engine: XS reads its byte-packed bytecode with unaligned loads, and measures UTF-8 a
  // word at a time past the NUL of constant strings (as glibc's strlen does); both are by design.
  const engineSanitizerExceptions = options.sanitize ? ['-fno-sanitize=alignment', '--param', 'asan-globals=0'] : [];
  // -fwrapv: XS runs JS's wrapping integer operators (<<, +, * on int32) as C int arithmetic,
  // which C leaves undefined on overflow; wrapping is what JS requires.
  const engineFlags = [...tc.cflags, '-fwrapv', ...engineSanitizerExceptions, ...defines, '-w'];
  const flagHash = createHash('sha256').update(JSON.stringify([tc.cc, engineFlags, xs, HOT_FILES.map((f) => engineFileFlags(target, f, options.engine))])).digest('hex').slice(0, 12);
  const engineDir = join(root, 'build/xs-engine', `${target}-${flagHash}`);
  const engineSources = readdirSync(join(xs, 'sources')).filter((f) => f.endsWith('.c') && f !== 'xsSnapshot.c').sort();
  const platformHeader = join(root, 'firmware/platform/xs/xs_platform.h');
  const engineObjects = engineSources.map((f) => join(engineDir, f.replace(/\.c$/, '.o')));
  await withLock(engineDir, async () => {
    mkdirSync(engineDir, { recursive: true });
    const stale = engineSources.filter((f, i) => !upToDate(engineObjects[i], engineObjects[i].replace(/\.o$/, '.d'), [platformHeader]));
    if (stale.length === 0) {
      progress(`XS engine: ${engineSources.length} objects up to date (${relative(root, engineDir)})`);
      return;
    }
    progress(`XS engine: compiling ${stale.length} of ${engineSources.length} files with ${jobs} jobs (${tc.cc})`);
    let done = 0;
    await runParallel(stale.map((f) => {
      const object = join(engineDir, f.replace(/\.c$/, '.o'));
      const temporary = `${object}.tmp`;
      return {
        label: f,
        command: 'bash',
        args: ['-c', `"$@" && mv "${temporary}" "${object}"`, 'compile', tc.cc, ...engineFlags, ...engineFileFlags(target, f, options.engine), ...includes, '-MMD', '-MF', object.replace(/\.o$/, '.d'), '-MT', object, '-c', join(xs, 'sources', f), '-o', temporary],
      };
    }), jobs, (label) => {
      done++;
      if (done % 8 === 0 || done === stale.length) progress(`  XS engine ${done}/${stale.length} (${label})`);
    });
  });

  // 2. Generated sources for this image.
  const genDir = join(out, 'gen');
  writeIfChanged(join(genDir, 'xs_build_config.c'), configSource(creation, board));
  writeIfChanged(join(genDir, 'xs_app_script.S'), scriptAssembly(js));
  writeIfChanged(join(genDir, 'resource_table.c'), resourceTableSource(target, manifestPath));

  // 3. Platform layer + generated sources (small: always checked, rebuilt when changed).
  // posix also links the vhost-user backend (--vhost-user: the remote of a User-Mode Linux kernel, docs/LINUX.md).
  const boardFolders = target === 'posix' ? [target, 'vhost-user'] : [target];
  const ourFlags = [...tc.cflags, ...defines, '-Wall', '-Wno-unused-parameter', ...boardFolders.map((folder) => `-I${join(root, 'firmware/platform', folder)}`)];
  const boardSources = boardFolders.flatMap((folder) =>
    readdirSync(join(root, 'firmware/platform', folder)).filter((f) => f.endsWith('.c')).map((f) => join(root, 'firmware/platform', folder, f)));
  const sources = [
    join(root, 'firmware/platform/xs/xs_platform.c'),
    ...boardSources,
    join(genDir, 'xs_build_config.c'),
    join(genDir, 'resource_table.c'),
    join(genDir, 'xs_app_script.S'),
  ];
  const objDir = join(out, 'obj');
  mkdirSync(objDir, { recursive: true });
  const ourObjects = sources.map((s) => join(objDir, `${basename(s).replace(/\.(c|S)$/, '')}.o`));
  const ourStale = sources.filter((s, i) => !upToDate(ourObjects[i], ourObjects[i].replace(/\.o$/, '.d'), s.endsWith('.S') ? [js] : []));
  if (ourStale.length) {
    progress(`platform: compiling ${ourStale.map((s) => basename(s)).join(', ')}`);
    await runParallel(ourStale.map((s) => {
      const object = join(objDir, `${basename(s).replace(/\.(c|S)$/, '')}.o`);
      const isTable = s.endsWith('resource_table.c');
      return {
        label: basename(s),
        command: tc.cc,
        args: [...ourFlags, ...(isTable ? ['-w'] : []), ...includes, '-MMD', '-MF', object.replace(/\.o$/, '.d'), '-MT', object, '-c', s, '-o', object],
      };
    }), jobs, () => {});
  }

  // 4. Link.
  const output = join(out, target === 'qemu-mps2' ? 'firmware.elf' : 'xs-rpmsg-posix');
  const linkExtra = target === 'posix'
    ? [`-T${join(root, 'firmware/platform/posix/resource-table.ld')}`, '-lm']
    : [`-Wl,-Map=${join(out, 'firmware.map')}`, '-lm'];
  progress(`linking ${relative(root, output)}`);
  run(tc.cc, [...tc.ldflags, '-o', `${output}.tmp`, ...ourObjects, ...engineObjects, ...linkExtra]);
  renameSync(`${output}.tmp`, output);

  const size = sizeReport(tc.size, output);
  const result: BuildResult = { output, size, seconds: (Date.now() - started) / 1000 };
  progress(`size: text ${size.text} data ${size.data} bss ${size.bss} (bytes; ${basename(output)}, JS ${jsText.length} bytes, board ${board})`);
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
      if (t !== 'qemu-mps2' && t !== 'posix') fail(`unknown target "${t}" (qemu-mps2, posix)`);
      options.target = t;
    } else if (argument === '--js') options.js = value();
    else if (argument === '--out') options.out = value();
    else if (argument === '--manifest') options.manifest = value();
    else if (argument === '--jobs') options.jobs = Number(value());
    else if (argument === '--quiet') options.verbose = false;
    else if (argument === '--sanitize') options.sanitize = true;
    else if (argument === '--help' || argument === '-h') {
      process.stdout.write('usage: npx tsx tools/build-firmware.ts [--target qemu-mps2|posix] [--js file] [--out dir] [--manifest file] [--jobs n] [--quiet] [--sanitize]\n');
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
