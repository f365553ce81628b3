/**
 * The XS engine sources a build compiles: the pinned tree tools/fetch-xs.sh extracts, with our
 * patch files (tools/xs-patches/NNNN-name.patch, applied in name order, see its README.md)
 * applied to a copy under build/xs-patched/<key>/. The fetched tree is never modified. The key
 * is a hash of the pinned tree's path and of every patch's bytes, so a changed, added or removed
 * patch gives a new tree (and, since the engine object cache is keyed by the tree's path, new
 * engine objects).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PATCH_FOLDER = join(root, 'tools/xs-patches');

export interface XsSources {
  /** The xs/ folder to compile (includes/, sources/, platforms/). */
  dir: string;
  /** The pinned, unpatched tree. */
  pinned: string;
  /** Patch file names applied, in order (empty: `dir` is the pinned tree). */
  patches: string[];
  /** Hash of the pinned path + the patches' contents (12 hex digits). */
  key: string;
}

/** Patch files of tools/xs-patches/, in the order they apply (NNNN-name.patch). */
export function patchFiles(folder = PATCH_FOLDER): string[] {
  if (!existsSync(folder)) return [];
  const names = readdirSync(folder).filter((name) => name.endsWith('.patch')).sort();
  for (const name of names) {
    if (!/^\d{4}-[a-z0-9][a-z0-9-]*\.patch$/.test(name)) {
      throw new Error(`xs-sources: ${join(folder, name)} is not named NNNN-name.patch (four digits, lower-case words joined by -); rename it (tools/xs-patches/README.md)`);
    }
  }
  return names;
}

function pinnedTree(): string {
  const result = spawnSync('bash', [join(root, 'tools/fetch-xs.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) throw new Error(`xs-sources: tools/fetch-xs.sh failed:\n${result.stderr}`);
  const dir = result.stdout.trim().split('\n').pop()!;
  if (!existsSync(join(dir, 'sources/xsAll.h'))) throw new Error(`xs-sources: XS sources not found at ${dir}`);
  return dir;
}

/**
 * The engine sources with our patches (default), a subset of them (`only`), or without any (`patched: false`, what the
 * semantics tests compare against). Idempotent and safe to call from parallel builds: the
 * patched copy is made in a private folder and renamed into place.
 */
export function xsSources(options: { patched?: boolean; only?: string[]; folder?: string } = {}): XsSources {
  const pinned = pinnedTree();
  const folder = options.folder ?? PATCH_FOLDER;
  const all = patchFiles(folder);
  for (const name of options.only ?? []) {
    if (!all.includes(name)) throw new Error(`xs-sources: no patch ${name} in ${folder} (have: ${all.join(', ') || 'none'})`);
  }
  // `only`: a subset, still in name order (the benchmark measures one patch at a time).
  const patches = options.patched === false ? [] : options.only ? all.filter((name) => options.only!.includes(name)) : all;
  const hash = createHash('sha256').update(pinned);
  for (const name of patches) hash.update(`\0${name}\0`).update(readFileSync(join(folder, name)));
  const key = hash.digest('hex').slice(0, 12);
  if (patches.length === 0) return { dir: pinned, pinned, patches, key };

  const base = join(root, 'build/xs-patched', key);
  const dir = join(base, 'xs');
  if (existsSync(join(base, '.applied'))) return { dir, pinned, patches, key };

  const temporary = `${base}.tmp-${process.pid}`;
  rmSync(temporary, { recursive: true, force: true });
  for (const part of ['includes', 'sources', 'platforms']) {
    cpSync(join(pinned, part), join(temporary, 'xs', part), { recursive: true });
  }
  for (const name of patches) {
    const result = spawnSync('patch', ['-p1', '--batch', '--forward', '--no-backup-if-mismatch', '-d', join(temporary, 'xs'), '-i', join(folder, name)], { encoding: 'utf8' });
    if (result.status !== 0) {
      rmSync(temporary, { recursive: true, force: true });
      throw new Error(`xs-sources: ${name} does not apply to the pinned XS sources (${pinned}):\n${result.stdout}${result.stderr}` +
        'Regenerate it against the pinned tree (tools/xs-patches/README.md).');
    }
  }
  writeFileSync(join(temporary, '.applied'), `${patches.join('\n')}\n`);
  mkdirSync(dirname(base), { recursive: true });
  try {
    renameSync(temporary, base);
  } catch {
    // another build renamed its identical copy first
    rmSync(temporary, { recursive: true, force: true });
    if (!existsSync(join(base, '.applied'))) throw new Error(`xs-sources: could not create ${base}`);
  }
  return { dir, pinned, patches, key };
}
