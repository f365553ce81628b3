/**
 * The XS engine as built: the pinned sources (tools/fetch-xs.sh) with our patch files applied,
 * and the per-file optimisation flags of its hot files.
 *
 * Patches: tools/xs-patches/NNNN-name.patch, unified diffs with paths relative to the XS `xs/`
 * folder (a/sources/xsRun.c, b/sources/xsRun.c), applied with `patch -p1` in name order to a
 * copy under build/xs-patched/<key>/ (the fetched tree is never modified). The key hashes the
 * pinned path and every applied patch's name and bytes, so the engine object cache (keyed by the
 * tree's path) follows the patches' content.
 *
 * Hot files: the bytecode loop and its helpers are built -O2 on the Cortex-M3 while the rest
 * of the engine stays -Os (see docs/BENCHMARKS.md for the text size and instruction figures).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PATCH_FOLDER = join(root, 'tools/xs-patches');

/** Which engine to build. */
export interface EngineOptions {
  /**
   * Patch files to apply: true (default) every tools/xs-patches/*.patch, false none (the stock
   * engine, what the semantics tests compare against), or a list of file names (a subset, for
   * measuring one patch at a time).
   */
  patches?: boolean | string[];
  /** -O2 for the hot files on qemu-mps2 (default true); false: the whole engine at the target's level. */
  hotFiles?: boolean;
}

/** The engine's hot files (the profile of an echo: bytecode loop, conversions, lookup, typed arrays). */
export const HOT_FILES = ['xsRun.c', 'xsType.c', 'xsObject.c', 'xsDataView.c', 'xsProperty.c'];

/** Patch files of the folder, in the order they apply. */
export function patchFiles(folder = PATCH_FOLDER): string[] {
  if (!existsSync(folder)) return [];
  const names = readdirSync(folder).filter((name) => name.endsWith('.patch')).sort();
  for (const name of names) {
    if (!/^\d{4}-[a-z0-9][a-z0-9-]*\.patch$/.test(name)) {
      throw new Error(`xs-engine-patches: ${join(folder, name)} is not named NNNN-name.patch (four digits, lower-case words joined by -); rename it`);
    }
  }
  return names;
}

/** The patches an EngineOptions selects. */
export function selectedPatches(options: EngineOptions = {}, folder = PATCH_FOLDER): string[] {
  const all = patchFiles(folder);
  if (options.patches === false) return [];
  if (options.patches === undefined || options.patches === true) return all;
  for (const name of options.patches) {
    if (!all.includes(name)) throw new Error(`xs-engine-patches: no patch ${name} in ${folder} (have: ${all.join(', ') || 'none'})`);
  }
  return all.filter((name) => (options.patches as string[]).includes(name));
}

/**
 * The xs/ folder to compile: `pinned` itself when no patch applies, else a patched copy.
 * Safe for parallel builds: the copy is patched in a private folder and renamed into place.
 */
export function patchedEngine(pinned: string, options: EngineOptions = {}, folder = PATCH_FOLDER): { dir: string; patches: string[]; key: string } {
  const patches = selectedPatches(options, folder);
  const hash = createHash('sha256').update(pinned);
  for (const name of patches) hash.update(`\0${name}\0`).update(readFileSync(join(folder, name)));
  const key = hash.digest('hex').slice(0, 12);
  if (patches.length === 0) return { dir: pinned, patches, key };
  const dir = join(root, 'build/xs-patched', key);
  if (existsSync(join(dir, '.patched'))) return { dir, patches, key };
  const work = `${dir}.${process.pid}.tmp`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(dirname(work), { recursive: true });
  for (const part of ['includes', 'sources', 'platforms']) cpSync(join(pinned, part), join(work, part), { recursive: true });
  for (const name of patches) {
    const result = spawnSync('patch', ['-p1', '--forward', '--batch', '--no-backup-if-mismatch', '-i', join(folder, name)], { cwd: work, encoding: 'utf8' });
    if (result.error || result.status !== 0) {
      rmSync(work, { recursive: true, force: true });
      throw new Error(`xs-engine-patches: ${name} does not apply to the XS sources at ${pinned} (patch -p1 status ${result.status}):\n${result.stdout}${result.stderr}`);
    }
  }
  cpSync(join(pinned, '.extracted'), join(work, '.patched'));
  try {
    renameSync(work, dir);
  } catch {
    // another build renamed the same tree into place first
    rmSync(work, { recursive: true, force: true });
  }
  return { dir, patches, key };
}

/** Extra flags for one engine file (after the target's flags: the later -O wins). */
export function engineFileFlags(target: 'qemu-mps2' | 'posix', file: string, options: EngineOptions = {}): string[] {
  if (target !== 'qemu-mps2' || options.hotFiles === false) return [];
  return HOT_FILES.includes(file) ? ['-O2'] : [];
}
