/**
 * Engine patches (tools/xs-patches/) keep JS semantics: every patch has a script in
 * test/xs-patches/semantics/<patch name without .patch>.js, which runs (with corpus.js) on the
 * real XS engine built for this machine twice, from the pinned sources and from the patched copy,
 * and must print exactly the same. Plus what patch 0001 adds: stripped built-ins are absent and
 * nothing else changes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildXsHost } from '../../tools/build-firmware.ts';
import { patchFiles, xsSources } from '../../tools/xs-sources.ts';
import { root } from '../platform/helpers.ts';

const semantics = join(root, 'test/xs-patches/semantics');
let pinnedHost = '';
let patchedHost = '';

function run(host: string, script: string, strip: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(host, ['run', script, ...(strip.length ? ['--strip', strip.join(',')] : [])], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  pinnedHost = await buildXsHost({ patched: false, verbose: false });
  patchedHost = await buildXsHost({ patched: true, verbose: false });
}, 900_000);

describe('engine patches keep JS semantics (pinned vs patched XS, same scripts)', () => {
  it('has patches, applied to a copy: the fetched tree is unchanged', () => {
    const patched = xsSources();
    const pinned = xsSources({ patched: false });
    expect(patched.patches.length).toBeGreaterThan(0);
    expect(patched.dir).not.toBe(pinned.dir);
    expect(pinned.patches).toEqual([]);
    // the pinned tree has none of the patches' markers
    const pinnedApi = spawnSync('grep', ['-c', 'xs-rpmsg patch', join(pinned.dir, 'sources/xsAPI.c')], { encoding: 'utf8' });
    expect(pinnedApi.stdout.trim()).toBe('0');
  });

  // A patch is pinned either by a script here or by an engine suite of test/engine/ that names it
  // (those run their fixture on the engine with and without the patch, on posix and on qemu).
  const engineSuites = readdirSync(join(root, 'test/engine')).filter((name) => name.endsWith('.test.ts'));
  const suiteNaming = (patch: string) => engineSuites.find((name) => readFileSync(join(root, 'test/engine', name), 'utf8').includes(`'${patch}'`));
  for (const patch of patchFiles()) {
    const script = join(semantics, patch.replace(/\.patch$/, '.js'));
    const suite = existsSync(script) ? undefined : suiteNaming(patch);
    if (suite !== undefined) {
      it(`${patch}: its semantics are pinned by test/engine/${suite}`, () => {
        expect(readFileSync(join(root, 'test/engine', suite), 'utf8')).toMatch(/engineSemanticsSuite\(/);
      });
      continue;
    }
    it(`${patch}: its semantics script prints the same on both engines`, () => {
      expect(existsSync(script), `every patch needs ${script} (tools/xs-patches/README.md)`).toBe(true);
      const before = run(pinnedHost, script);
      const after = run(patchedHost, script);
      expect(before.status, before.stdout + before.stderr).toBe(0);
      expect(before.stdout).not.toMatch(/^(uncaught|SyntaxError):/m);
      expect(before.stdout.split('\n').length).toBeGreaterThan(10);
      expect(after.stdout).toBe(before.stdout);
      expect(after.status).toBe(0);
    });
  }

  it('corpus.js (typed arrays, DataView, integer and string edge cases) prints the same on both engines', () => {
    const corpus = join(root, 'test/xs-patches/corpus.js');
    const before = run(pinnedHost, corpus);
    expect(before.status, before.stdout + before.stderr).toBe(0);
    expect(before.stdout).toContain('u8 set');
    expect(run(patchedHost, corpus).stdout).toBe(before.stdout);
  });
});

describe('patch 0116: a slot heap full of live objects grows instead of collecting again and again', () => {
  // heap-growth.js keeps most of the heap live, then allocates garbage. The pinned engine clears
  // its thrashing flag in every slot allocation's collection, so it grows only when a collection
  // frees nothing at all: here it never grows (and collects every few thousand allocations). With
  // the patch two collections in a row that leave less than the heap's increment free grow it.
  it('the pinned engine does not grow the heap; the patched one grows it by its increment', () => {
    const script = join(root, 'test/xs-patches/heap-growth.js');
    const parse = (stdout: string) => {
      const match = /^reserved (\d+) (\d+) live 12000 sum 10000$/m.exec(stdout);
      expect(match, stdout).not.toBeNull();
      return { before: Number(match![1]), after: Number(match![2]) };
    };
    const pinned = parse(run(pinnedHost, script).stdout);
    const patched = parse(run(patchedHost, script).stdout);
    expect(pinned.after).toBe(pinned.before);
    expect(patched.before).toBe(pinned.before);
    expect(patched.after).toBeGreaterThan(patched.before);
  });
});

describe('patch 0001: built-ins left out of the builders table', () => {
  const all = ['Generator', 'BigInt', 'Date', 'RegExp', 'JSON', 'Atomics', 'Promise', 'Proxy'];

  it('are absent (typeof undefined), everything else behaves as on the pinned engine', () => {
    const corpus = join(root, 'test/xs-patches/corpus.js');
    const stripped = run(patchedHost, corpus, all);
    expect(stripped.status, stripped.stdout + stripped.stderr).toBe(0);
    expect(stripped.stdout).toBe(run(pinnedHost, corpus).stdout);
    const probe = join(root, 'test/xs-patches/probe-globals.js');
    const out = run(patchedHost, probe, all).stdout;
    for (const name of ['Date', 'RegExp', 'JSON', 'Atomics', 'Promise', 'Proxy', 'BigInt', 'SharedArrayBuffer', 'Reflect']) {
      expect(out).toContain(`${name}: undefined`);
    }
    for (const name of ['Object', 'Array', 'Math', 'Map', 'Uint8Array', 'DataView', 'Symbol', 'Error']) {
      expect(out).not.toContain(`${name}: undefined`);
    }
  });

  it('change what a script that uses them prints (the comparison above can fail)', () => {
    const script = join(semantics, '0001-builtin-builders-table.js');
    const stripped = run(patchedHost, script, ['Date']);
    expect(stripped.stdout).not.toBe(run(pinnedHost, script).stdout);
    expect(stripped.stdout).toMatch(/uncaught: (ReferenceError|TypeError)/);
  });

  it('refuses --strip on the engine without the patch, and an unknown name', () => {
    expect(run(pinnedHost, join(semantics, '0001-builtin-builders-table.js'), ['Date']).status).toBe(64);
    const unknown = run(patchedHost, join(semantics, '0001-builtin-builders-table.js'), ['Dates']);
    expect(unknown.status).toBe(64);
    expect(unknown.stderr).toContain('unknown built-in "Dates"');
  });
});
