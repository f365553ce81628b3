/**
 * The predefined keys are ours (firmware/platform/xs/xs_build_keys.h: the names in place, not
 * copied into the chunk heap): every built-in function's name and length, every accessor's name
 * and the well-known symbols' descriptions must be what the language defines. xs-host includes
 * the same fxBuildKeys as the firmware; V8 prints the reference, compared on every path both
 * engines have (stripped or absent built-ins are missing on XS, so XS's paths must be most of V8's).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildXsHost } from '../../tools/build-firmware.ts';
import { root } from '../platform/helpers.ts';

const script = join(root, 'test/tools/fixtures/predefined-keys.js');
let host = '';

beforeAll(async () => {
  host = await buildXsHost({ verbose: false });
}, 900_000);

const byPath = (text: string) => new Map(text.trim().split('\n').map((line) => [line.replace(/ (name|description)=.*$/, ''), line] as const));

describe('predefined keys (names in place)', () => {
  it('built-in names, lengths and symbol descriptions are the language\'s (XS vs V8)', () => {
    const xs = spawnSync(host, ['run', script], { encoding: 'utf8', timeout: 60_000 });
    expect(xs.stderr).toBe('');
    expect(xs.status).toBe(0);
    const v8 = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
    expect(v8.status).toBe(0);
    const onXs = byPath(xs.stdout);
    const onV8 = byPath(v8.stdout);
    const common = [...onXs.keys()].filter((path) => onV8.has(path));
    expect(common.length).toBeGreaterThan(250);
    expect(common.length).toBeGreaterThan(0.8 * onXs.size);
    const differing = common.filter((path) => onXs.get(path) !== onV8.get(path)).map((path) => `xs: ${onXs.get(path)}\nv8: ${onV8.get(path)}`);
    expect(differing).toEqual([]);
    // the well-known symbols XS has, by description
    expect(xs.stdout).toContain('Symbol.iterator description="Symbol.iterator" string=Symbol(Symbol.iterator) keyFor=undefined');
    expect(xs.stdout).toContain('Symbol.for false x');
    expect(xs.stdout).toMatch(/^Array\.prototype\.map name="map" length=1$/m);
  });
});
