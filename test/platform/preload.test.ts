/**
 * The preloaded machine (tools/xs-host preload, build option preload, docs/BENCHMARKS.md "The
 * preloaded machine"): the built-ins' objects generated at build time as C source, the firmware
 * booting from them with fxCloneMachine. The same script on qemu-mps2 built both ways must print
 * the same; the preloaded image does not link the builders, and holds far less XS heap after boot.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFirmware, type BuildResult } from '../../tools/build-firmware.ts';
import { launchQemu } from '../../launch/qemu.ts';
import { bundleFirmware } from '../../tools/bundle-firmware.ts';
import { root } from './helpers.ts';

const script = join(root, 'test/platform/fixtures/preload-semantics.js');

function build(preload: boolean): Promise<BuildResult> {
  return buildFirmware({ target: 'qemu-mps2', js: script, out: join(root, 'build/test/preload', preload ? 'preloaded' : 'built-at-boot'), preload, verbose: false });
}

async function run(image: BuildResult): Promise<{ output: string; heapAfterBoot: number }> {
  const qemu = await launchQemu({ elf: image.output });
  try {
    await qemu.connectDoorbell();
    await qemu.cont();
    expect((await qemu.exited).code, qemu.console).toBe(0);
    const heap = /xs: heap after boot \([^)]*\): (\d+) bytes in use/.exec(qemu.console);
    expect(heap, qemu.console).not.toBeNull();
    // what the script printed: every line after the heap report that follows the boot
    const lines = qemu.console.split('\n').filter((line) => !line.startsWith('xs: ') && line.trim() !== '');
    return { output: lines.join('\n'), heapAfterBoot: Number(heap![1]) };
  } finally {
    await qemu.close();
  }
}

describe('the preloaded machine (built-ins in flash)', () => {
  it('runs the same script with the same output as the image that builds its built-ins at boot, on qemu-mps2', async () => {
    const atBoot = await build(false);
    const preloaded = await build(true);
    expect(atBoot.preload).toBeNull();
    expect(preloaded.preload!.slots).toBeGreaterThan(1000);
    const generated = readFileSync(join(root, 'build/test/preload/preloaded/gen/xs_preload.c'), 'utf8');
    expect(generated).toContain('const txPreparation xs_preload_preparation');
    expect(generated).not.toMatch(/0x[0-9a-f]{8,}/); // no host address: references are &xs_preload_heap[n]

    const expected = await run(atBoot);
    const actual = await run(preloaded);
    expect(expected.output).toContain('array 6,2,4 true 1 3');
    expect(expected.output).toContain('replaced -1');
    const without = (text: string) => text.split('\n').filter((line) => !line.startsWith('global shape')).join('\n');
    expect(without(actual.output)).toBe(without(expected.output));
    // the known difference: the built-ins are the clone's global's inherited properties, not its own
    expect(expected.output).toContain('global shape true true function');
    expect(actual.output).toContain('global shape false false function');
    // the built-ins' objects are not in the RAM heap any more (about 40 KB of slots on the echo app)
    expect(actual.heapAfterBoot).toBeLessThan(expected.heapAfterBoot / 2);
  }, 900_000);

  it('does not link the builders of the built-ins into a preloaded image', async () => {
    const preloaded = await build(true);
    const atBoot = await build(false);
    const names = (file: string) => new Set(execFileSync('arm-none-eabi-nm', ['--defined-only', file], { encoding: 'utf8', maxBuffer: 64 << 20 })
      .split('\n').map((line) => line.trim().split(/\s+/)[2]).filter(Boolean));
    const withBuilders = names(atBoot.output);
    const without = names(preloaded.output);
    for (const builder of ['fxBuildArray', 'fxBuildObject', 'fxBuildString', 'fxCreateMachine']) {
      expect(withBuilders.has(builder), `${builder} in the image built at boot`).toBe(true);
      expect(without.has(builder), `${builder} in the preloaded image`).toBe(false);
    }
    expect(without.has('xs_preload_preparation')).toBe(true);
  }, 900_000);

  it('preload "program": the echo app\'s top level ran at build time, its entry runs at boot and starts the runtime', async () => {
    const out = join(root, 'build/test/preload/program-echo');
    const js = join(out, 'firmware.js');
    await bundleFirmware(js, 'echo');
    const image = await buildFirmware({ target: 'qemu-mps2', js, out, preload: 'program', verbose: false });
    // the module-level objects are in the preload: far more slots than the built-ins' 2,100
    expect(image.preload!.slots).toBeGreaterThan(3000);
    const qemu = await launchQemu({ elf: image.output });
    try {
      await qemu.connectDoorbell();
      await qemu.cont();
      const deadline = Date.now() + 60_000;
      while (!qemu.console.includes('waiting for the host') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(qemu.console).toContain('preloaded bytecode');
      expect(qemu.console).toContain('echo: serving "rpmsg-client-sample"');
      expect(qemu.console).toContain('xs-rpmsg: remote up, waiting for the host');
      const heap = /xs: heap after boot \([^)]*\): (\d+) bytes in use/.exec(qemu.console);
      expect(Number(heap![1])).toBeLessThan(8_000);
    } finally {
      await qemu.close();
    }
  }, 900_000);
});
