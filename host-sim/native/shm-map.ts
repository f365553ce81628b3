/** A /dev/shm file mapped into an ArrayBuffer (our own small N-API addon, compiled on first use). */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, 'shm-map.c');
const output = resolve(here, '../../build/native/shm-map.node');

/** Candidate folders with node_api.h: npm's nodedir, then the running Node's prefix. */
function nodeIncludeDir(): string {
  const candidates = [process.env.npm_config_nodedir, '/usr', resolve(dirname(process.execPath), '..')]
    .filter((dir): dir is string => !!dir)
    .map((dir) => join(dir, 'include/node'));
  const found = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
  if (!found) throw new Error(`EIO: node_api.h not found in ${candidates.join(', ')}; install Node's headers (Debian: nodejs-dev / libnode-dev)`);
  return found;
}

let addon: { map(path: string, size: number, create: boolean): ArrayBuffer } | null = null;

function load() {
  if (addon) return addon;
  if (!existsSync(output) || statSync(output).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(dirname(output), { recursive: true });
    const temporary = `${output}.${process.pid}.tmp`;
    execFileSync('cc', ['-O2', '-shared', '-fPIC', '-Wall', `-I${nodeIncludeDir()}`, '-DNODE_GYP_MODULE_NAME=shm_map', source, '-o', temporary]);
    execFileSync('mv', ['-f', temporary, output]);
  }
  addon = createRequire(import.meta.url)(output);
  return addon!;
}

/** Map `size` bytes of the file at `path` (create and size it when `create`). Unmapped when garbage. */
export function mapSharedFile(path: string, size: number, create = false): ArrayBuffer {
  return load().map(path, size, create);
}
