// The firmware build finds its compiler through CROSS_COMPILE, CC, then PATH, before installing
// Debian packages; and npm is told, the right way, that esbuild's postinstall need not run.
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseToolchain, findToolchain, onPath } from '../../tools/toolchain.ts';

const root = resolve(import.meta.dirname, '../..');
const work = join(root, 'build', `test-toolchain-${process.pid}`);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const realGcc = onPath('arm-none-eabi-gcc')!;
const realSize = onPath('arm-none-eabi-size')!;
/** A folder like an unpacked Arm GNU toolchain: bin/<prefix>gcc and bin/<prefix>size. */
function fakeTarball(name: string, prefix: string): string {
  const bin = join(work, name, 'bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(realGcc, join(bin, `${prefix}gcc`));
  symlinkSync(realSize, join(bin, `${prefix}size`));
  return bin;
}
const systemPath = process.env.PATH ?? '';

describe('toolchain discovery', () => {
  it('CROSS_COMPILE wins, as a path prefix', () => {
    const bin = fakeTarball('cross', 'my-arm-');
    expect(findToolchain('qemu-mps2', { PATH: systemPath, CROSS_COMPILE: join(bin, 'my-arm-') })).toEqual({ cc: join(bin, 'my-arm-gcc'), size: join(bin, 'my-arm-size'), source: 'CROSS_COMPILE' });
  });

  it('a CROSS_COMPILE that names nothing is an error naming CROSS_COMPILE', () => {
    expect(() => findToolchain('qemu-mps2', { PATH: systemPath, CROSS_COMPILE: '/nowhere/arm-none-eabi-' })).toThrow(/^ENOENT: CROSS_COMPILE=\/nowhere\/arm-none-eabi- but \/nowhere\/arm-none-eabi-gcc is not an executable/);
  });

  it('a CROSS_COMPILE for another machine is refused (the host gcc is no Cortex-M compiler)', () => {
    expect(() => findToolchain('qemu-mps2', { PATH: systemPath, CROSS_COMPILE: '' + onPath('gcc')!.replace(/gcc$/, '') })).toThrow(/does not target arm-\*-eabi/);
  });

  it('CC is used for qemu-mps2 when it is an arm-none-eabi compiler, and ignored when it is the host compiler', () => {
    const bin = fakeTarball('cc', 'arm-none-eabi-');
    expect(findToolchain('qemu-mps2', { PATH: systemPath, CC: join(bin, 'arm-none-eabi-gcc') })).toEqual({ cc: join(bin, 'arm-none-eabi-gcc'), size: join(bin, 'arm-none-eabi-size'), source: 'CC' });
    expect(findToolchain('qemu-mps2', { PATH: systemPath, CC: 'gcc' })?.source).toBe('PATH');
  });

  it('an arm-none-eabi-gcc on PATH (an Arm tarball\'s bin/) is found before the Debian packages', () => {
    const bin = fakeTarball('tarball', 'arm-none-eabi-');
    const installs: string[] = [];
    const choice = chooseToolchain('qemu-mps2', () => installs.push('apt'), () => {}, { PATH: bin });
    expect(choice).toEqual({ cc: 'arm-none-eabi-gcc', size: 'arm-none-eabi-size', source: 'PATH' });
    expect(installs).toEqual([]);
  });

  it('with nothing on PATH, the Debian install runs, and its failure to provide one is an error saying what to set', () => {
    const installs: string[] = [];
    expect(() => chooseToolchain('qemu-mps2', () => installs.push('apt'), () => {}, { PATH: join(work, 'empty') })).toThrow(/put one on PATH or set CROSS_COMPILE/);
    expect(installs).toEqual(['apt']);
  });

  it('posix: CC, else gcc on PATH', () => {
    expect(findToolchain('posix', { PATH: systemPath, CC: 'gcc' })).toEqual({ cc: onPath('gcc'), size: onPath('size'), source: 'CC' });
    expect(findToolchain('posix', { PATH: systemPath })).toEqual({ cc: 'gcc', size: 'size', source: 'PATH' });
    expect(() => findToolchain('posix', { PATH: systemPath, CC: 'no-such-cc' })).toThrow(/^ENOENT: CC=no-such-cc/);
  });
});

describe('esbuild install script', () => {
  it('is denied in package.json allowScripts (npm quiet about it), and esbuild runs from its platform package without it', async () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { allowScripts: Record<string, boolean> };
    expect(manifest.allowScripts).toEqual({ esbuild: false });
    // The platform package carries the binary: esbuild's postinstall only re-checks it (and on some platforms copies it over bin/esbuild).
    const require = createRequire(join(root, 'package.json'));
    const platformPackage = `@esbuild/${process.platform}-${process.arch === 'x64' ? 'x64' : process.arch}`;
    expect(require.resolve(`${platformPackage}/package.json`)).toContain(platformPackage);
    const { transform } = await import('esbuild');
    expect((await transform('const a: number = 1', { loader: 'ts' })).code).toBe('const a = 1;\n');
  });
});
