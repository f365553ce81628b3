/**
 * The precompiler: bundle -> XS byte code on the build machine, with tools/xs-host (built from
 * the pinned LGPL engine sources and our patches; see tools/xs-host/xs_host.c). Syntax and
 * early errors are reported here, at build time, as file:line:column of the TypeScript source
 * (through the bundler's source map, FILE.js.map, when there is one; else of the JS file).
 * Also decides the built-ins the image builds (manifest.json "strip") from what the byte code
 * uses, and refuses an explicit strip list the app contradicts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceMap, formatPosition } from './source-map.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface PrecompiledProgram {
  dir: string;
  codeSize: number;
  symbolsSize: number;
  symbolCount: number;
  functionsInPlace: number;
  /** Keys the device's machine holds after registering the program's names (built-in keys included). */
  keyCount: number;
  features: string[];
  names: string[];
}

/**
 * Built-ins that can be left out of an image (their builder is not called, so the linker drops
 * their code), in engine build order, and what in the byte code means the app needs one: a
 * name it uses (identifier or property) or a feature of its code.
 */
export const STRIPPABLE: Record<string, { names: string[]; features: string[]; why: string }> = {
  Generator: { names: [], features: ['generator', 'for-await'], why: 'generator functions, async generators and for await need it' },
  BigInt: { names: ['BigInt', 'BigInt64Array', 'BigUint64Array', 'getBigInt64', 'getBigUint64', 'setBigInt64', 'setBigUint64', 'fromBigInt'], features: ['bigint-literal'], why: 'BigInt values and bigint literals need it' },
  Date: { names: ['Date'], features: [], why: '' },
  RegExp: { names: ['RegExp', 'match', 'matchAll', 'search'], features: ['regexp-literal'], why: 'regular expression literals and String match/matchAll/search need it' },
  JSON: { names: ['JSON'], features: [], why: '' },
  Atomics: { names: ['Atomics', 'SharedArrayBuffer'], features: [], why: 'it also builds SharedArrayBuffer' },
  Promise: { names: ['Promise'], features: ['async', 'await', 'import', 'for-await'], why: 'async functions, await and import() need it' },
  Proxy: { names: ['Proxy', 'Reflect'], features: [], why: 'it also builds Reflect' },
};

/** All builders of fxCreateMachine, in order (patch 0001). */
export const BUILDERS = ['Global', 'Object', 'Function', 'Generator', 'Arguments', 'Array', 'String', 'Boolean', 'Number',
  'BigInt', 'Date', 'Math', 'RegExp', 'Error', 'JSON', 'DataView', 'Atomics', 'Promise', 'Symbol', 'Proxy', 'MapSet', 'Module'];

/** Why the program needs built-in `name` (first reason), or null if it does not. */
export function builtinUse(name: string, program: { names: string[]; features: string[] }): string | null {
  const rule = STRIPPABLE[name];
  const names = new Set(program.names);
  const usedName = rule.names.find((n) => names.has(n));
  if (usedName) return `the app uses the name "${usedName}"`;
  const usedFeature = rule.features.find((f) => program.features.includes(f));
  if (usedFeature) return `the app's code uses ${usedFeature}${rule.why ? ` (${rule.why})` : ''}`;
  return null;
}

/**
 * manifest "strip": "*" (Moddable's spelling: every strippable built-in the app does not use)
 * or a list of built-in names; absent: nothing stripped. Throws with a clear message for an
 * unknown name or a stripped built-in the app uses.
 */
export function resolveStrip(strip: unknown, program: { names: string[]; features: string[] }, manifestPath: string): string[] {
  if (strip === undefined || strip === null) return [];
  if (strip === '*') return Object.keys(STRIPPABLE).filter((name) => builtinUse(name, program) === null);
  if (!Array.isArray(strip) || strip.some((n) => typeof n !== 'string')) {
    throw new Error(`${manifestPath}: "strip" must be "*" or a list of built-in names (${Object.keys(STRIPPABLE).join(', ')})`);
  }
  const problems: string[] = [];
  for (const name of strip as string[]) {
    if (!(name in STRIPPABLE)) {
      problems.push(`"${name}" cannot be stripped: the strippable built-ins are ${Object.keys(STRIPPABLE).join(', ')}`);
      continue;
    }
    const use = builtinUse(name, program);
    if (use) problems.push(`"${name}" is stripped but ${use}: remove "${name}" from "strip" or stop using it`);
  }
  if (problems.length) throw new Error(`${manifestPath} "strip":\n  ${problems.join('\n  ')}`);
  return [...new Set(strip as string[])];
}

/** Turns xs-host's "error: LINE:COLUMN: message" lines into "file:line:column: error: message". */
export function mapDiagnostics(stderr: string, js: string, map: SourceMap | null): string[] {
  const out: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^(error|warning): (\d+):(\d+): (.*)$/.exec(line);
    if (!m) {
      if (line.trim()) out.push(line);
      continue;
    }
    const [, kind, l, c, message] = m;
    const original = map?.original(Number(l), Number(c));
    const where = original ? formatPosition(original, root) : `${relative(root, js).startsWith('..') ? js : relative(root, js)}:${l}:${Number(c) + 1}`;
    out.push(`${where}: ${kind}: ${message}${original ? ` (bundle line ${l})` : ''}`);
  }
  return out;
}

/** Runs the precompiler on `js` into `outDir` with the machine built as the device builds it (`strip`). */
export function precompile(xsHost: string, js: string, outDir: string, strip: string[], options: { debug?: boolean } = {}): PrecompiledProgram {
  mkdirSync(outDir, { recursive: true });
  // debug: keep the line tables (tools/debug-lines.ts put the TypeScript lines into `js`)
  const result = spawnSync(xsHost, ['compile', js, outDir, '--strip', strip.join(','), ...(options.debug ? ['--debug'] : [])], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (result.error) throw new Error(`precompile: ${xsHost}: ${result.error.message}`);
  if (result.status !== 0) {
    const map = SourceMap.load(`${js}.map`);
    const lines = mapDiagnostics(result.stderr, js, map);
    throw new Error(`precompile: the bundle does not compile (XS ${result.status === 2 ? 'syntax or early error' : `exit ${result.status}`}):\n${lines.join('\n')}${result.stdout}`);
  }
  const infoPath = resolve(outDir, 'info.json');
  if (!existsSync(infoPath)) throw new Error(`precompile: ${xsHost} wrote no ${infoPath}`);
  const info = JSON.parse(readFileSync(infoPath, 'utf8')) as Omit<PrecompiledProgram, 'dir'>;
  return { dir: outDir, ...info };
}
