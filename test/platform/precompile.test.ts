/**
 * The precompiler (tools/precompile.ts, tools/xs-host): syntax and early errors at build time with
 * the TypeScript source position, the parser gone from byte-code images, the same byte code for
 * both targets, and manifest "strip" checked against what the app uses.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFirmware, type BuildResult } from '../../tools/build-firmware.ts';
import { bundleFirmware } from '../../tools/bundle-firmware.ts';
import { launchQemu } from '../../launch/qemu.ts';
import { root } from './helpers.ts';

const fixture = (name: string): string => join(root, 'test/platform/fixtures', name);

function build(target: 'posix' | 'qemu-mps2', name: string, extra: { program?: 'bytecode' | 'source'; manifest?: string; out?: string } = {}): Promise<BuildResult> {
  return buildFirmware({
    target,
    js: fixture(`${name}.js`),
    out: join(root, 'build/test/precompile', target, extra.out ?? name),
    manifest: extra.manifest ? fixture(extra.manifest) : undefined,
    program: extra.program,
    verbose: false,
  });
}

/** Defined symbols of an image (nm). */
function symbols(target: 'posix' | 'qemu-mps2', file: string): Set<string> {
  const out = execFileSync(target === 'posix' ? 'nm' : 'arm-none-eabi-nm', ['--defined-only', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return new Set(out.split('\n').map((line) => line.trim().split(/\s+/)[2]).filter(Boolean));
}

const PARSER = ['fxParserTree', 'fxParserCode', 'fxParserBind', 'fxParserHoist', 'fxGetNextToken', 'fxInitializeParser'];

describe('precompiler', () => {
  it('reports a syntax error of a JS file at build time with file:line:column', async () => {
    await expect(build('posix', 'syntax-error')).rejects.toThrow(/test\/platform\/fixtures\/syntax-error\.js:2:\d+: error: missing ,/);
  }, 300_000);

  it('reports an early error of the TypeScript source through the bundle\'s source map', async () => {
    const out = join(root, 'build/test/precompile/early-error');
    const js = join(out, 'firmware.js');
    await bundleFirmware(js, '../../test/platform/fixtures/early-error-app');
    const failure = buildFirmware({ target: 'posix', js, out, verbose: false });
    await expect(failure).rejects.toThrow(/test\/platform\/fixtures\/early-error-app\/main\.ts:6:\d+: error: .*duplicate capture/);
  }, 300_000);

  it('links no parser into a byte-code image (the source image has it), on both targets', async () => {
    for (const target of ['posix', 'qemu-mps2'] as const) {
      const bytecode = await build(target, 'hello');
      const source = await build(target, 'hello', { program: 'source', out: 'hello-source' });
      expect(bytecode.program).toBe('bytecode');
      const withParser = symbols(target, source.output);
      const without = symbols(target, bytecode.output);
      for (const name of PARSER) {
        expect(withParser.has(name), `${name} in the source image`).toBe(true);
        expect(without.has(name), `${name} in the byte-code image`).toBe(false);
      }
      expect(bytecode.size.text).toBeLessThan(source.size.text);
    }
  }, 600_000);

  it('gives posix and the Cortex-M image the same byte code, names and IDs', async () => {
    const posix = (await build('posix', 'doorbell')).precompiled!;
    const qemu = (await build('qemu-mps2', 'doorbell')).precompiled!;
    for (const file of ['code.bin', 'symbols.bin', 'ids.bin']) {
      expect(readFileSync(join(qemu.dir, file)).equals(readFileSync(join(posix.dir, file))), file).toBe(true);
    }
    expect(posix.codeSize).toBeGreaterThan(1000);
    expect(posix.functionsInPlace).toBeGreaterThan(0);
  }, 600_000);

  it('runs function code in place from flash: defining a 20 KB function takes no chunk memory (the source image copies it)', async () => {
    // one function with a large body, defined and never called; the script prints the chunk bytes in use
    const body = Array.from({ length: 2500 }, (_, i) => `  total = (total + ${i}) | 0;`).join('\n');
    const js = join(root, 'build/test/precompile/big-function.js');
    mkdirSync(join(root, 'build/test/precompile'), { recursive: true });
    writeFileSync(js, `function big(total) {\n${body}\n  return total;\n}\nplatform.log("chunks " + platform.heap(true).chunks + " " + typeof big);\nplatform.exit(0);\n`);
    const chunks: Record<string, number> = {};
    for (const program of ['bytecode', 'source'] as const) {
      const image = await buildFirmware({ target: 'qemu-mps2', js, out: join(root, 'build/test/precompile/big-function', program), program, verbose: false });
      if (program === 'bytecode') expect(image.precompiled!.codeSize).toBeGreaterThan(20_000);
      const qemu = await launchQemu({ elf: image.output });
      try {
        await qemu.connectDoorbell();
        await qemu.cont();
        expect((await qemu.exited).code, qemu.console).toBe(0);
        chunks[program] = Number(/chunks (\d+) function/.exec(qemu.console)![1]);
      } finally {
        await qemu.close();
      }
    }
    expect(chunks.source - chunks.bytecode).toBeGreaterThan(20_000);
  }, 300_000);

  it('strip "*" leaves out the methods the app never names: not linked, and a call through a computed name throws a clear TypeError', async () => {
    const js = join(root, 'build/test/precompile/method-strip.js');
    mkdirSync(join(root, 'build/test/precompile'), { recursive: true });
    writeFileSync(js, [
      'const doubled = [1, 2, 3].map((x) => x * 2);',
      "const name = 'rev' + 'erse';",
      'let outcome;',
      'try { [1, 2][name](); outcome = "called"; } catch (error) { outcome = error.name + ": " + error.message; }',
      // an engine feature left out with its built-in (patch 0004: BigInt not built, no BigInt value can exist)
      "let feature;",
      "try { feature = String(new globalThis['Big' + 'Int64Array'](1)[0]); } catch (error) { feature = error.name + ': ' + error.message; }",
      'platform.log("map " + doubled.join(",") + "; " + outcome + "; " + feature);',
      'platform.exit(0);',
      '',
    ].join('\n'));
    const image = await buildFirmware({ target: 'qemu-mps2', js, out: join(root, 'build/test/precompile/method-strip'), verbose: false });
    expect(image.strippedMethods).toContain('fx_Array_prototype_reverse');
    expect(image.strippedMethods).not.toContain('fx_Array_prototype_map');
    expect(image.strippedMethods).not.toContain('fx_Array_prototype_join');
    const linked = symbols('qemu-mps2', image.output);
    expect(linked.has('fx_Array_prototype_map')).toBe(true);
    expect(linked.has('fx_Array_prototype_reverse')).toBe(false);
    const qemu = await launchQemu({ elf: image.output });
    try {
      await qemu.connectDoorbell();
      await qemu.cont();
      expect((await qemu.exited).code, qemu.console).toBe(0);
      expect(qemu.console).toContain('map 2,4,6; TypeError: this built-in method is not in the image');
      expect(qemu.console).toContain('; TypeError: this engine feature is not in the image: manifest "strip" left out the built-ins');
    } finally {
      await qemu.close();
    }
  }, 300_000);

  it('refuses to strip a built-in the app uses, naming it and the use', async () => {
    await expect(build('posix', 'doorbell', { manifest: 'strip-json.manifest.json', out: 'doorbell-strip' }))
      .rejects.toThrow(/"JSON" is stripped but the app uses the name "JSON": remove "JSON" from "strip"/);
  }, 300_000);
});
