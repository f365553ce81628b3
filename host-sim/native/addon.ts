/** Our own small N-API addons (C beside this file), compiled with the system cc on first use into build/native/. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Candidate folders with node_api.h (and uv.h): npm's nodedir, then the running Node's prefix. */
function nodeIncludeDir(): string {
  const candidates = [process.env.npm_config_nodedir, '/usr', resolve(dirname(process.execPath), '..')]
    .filter((dir): dir is string => !!dir)
    .map((dir) => join(dir, 'include/node'));
  const found = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
  if (!found) throw new Error(`EIO: node_api.h not found in ${candidates.join(', ')}; install Node's headers (Debian: nodejs-dev / libnode-dev)`);
  return found;
}

const loaded = new Map<string, unknown>();

/** Load host-sim/native/<name>.c as an addon, compiling it when the .node is missing or older than the source. */
export function loadAddon<T>(name: string): T {
  const cached = loaded.get(name);
  if (cached) return cached as T;
  const source = join(here, `${name}.c`);
  const output = resolve(here, `../../build/native/${name}.node`);
  if (!existsSync(output) || statSync(output).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(dirname(output), { recursive: true });
    const temporary = `${output}.${process.pid}.tmp`;
    execFileSync('cc', ['-O2', '-shared', '-fPIC', '-Wall', `-I${nodeIncludeDir()}`, `-DNODE_GYP_MODULE_NAME=${name.replace(/-/g, '_')}`, source, '-o', temporary]);
    execFileSync('mv', ['-f', temporary, output]);
  }
  const addon = createRequire(import.meta.url)(output) as T;
  loaded.set(name, addon);
  return addon;
}
