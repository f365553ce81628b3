/**
 * Engine patch 0100 (tools/xs-patches/0100-typed-array-index-fast-path.patch): integer-indexed
 * get/set of typed arrays in XS_CODE_GET_PROPERTY_AT / SET_PROPERTY_AT without the accessor
 * call. The same script (test/engine/fixtures/typed-array-semantics.js, about 610 cases) runs
 * on the patched and on the stock engine, on posix and on the Cortex-M3 in QEMU: every line
 * must be the same. Node runs it too, as a check that the cases print what the language says
 * (the cases named "xs ..." are where XS 13.3 and V8 differ; those are compared only
 * between the two XS engines).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { patchFiles } from '../../tools/xs-engine-patches.ts';
import { buildScript, FIXTURES, runNode, runPosix, runQemu, scriptLines } from './engine-runner.ts';

const script = join(FIXTURES, 'typed-array-semantics.js');
const built: Record<string, string> = {};

beforeAll(async () => {
  // one at a time: the machine has two cores
  for (const target of ['posix', 'qemu-mps2'] as const) {
    for (const variant of ['stock', 'patched'] as const) built[`${target}-${variant}`] = await buildScript(target, script, variant);
  }
}, 1_200_000);

const portable = (lines: string[]) => lines.filter((l) => !l.startsWith('| xs '));

describe('engine patch 0100: typed-array element fast path', () => {
  it('is one of the patches the firmware is built with', () => {
    expect(patchFiles()).toContain('0100-typed-array-index-fast-path.patch');
  });

  it('posix: the patched engine prints exactly what the stock engine prints, and the standard cases match V8', async () => {
    const stock = await runPosix(built['posix-stock']);
    const patched = await runPosix(built['posix-patched']);
    expect(stock.code).toBe(0);
    expect(patched.code).toBe(0);
    const expected = scriptLines(stock.lines);
    expect(expected.length).toBeGreaterThan(600);
    expect(scriptLines(patched.lines)).toEqual(expected);
    expect(portable(expected)).toEqual(portable(runNode(script).filter((l) => l.startsWith('| '))));
  }, 120_000);

  it('qemu-mps2 (Cortex-M3): the patched engine prints exactly what the stock engine prints (and what posix prints)', async () => {
    const stock = await runQemu(built['qemu-mps2-stock']);
    const patched = await runQemu(built['qemu-mps2-patched']);
    expect(stock.code).toBe(0);
    expect(patched.code).toBe(0);
    const expected = scriptLines(stock.lines);
    expect(scriptLines(patched.lines)).toEqual(expected);
    expect(expected).toEqual(scriptLines((await runPosix(built['posix-stock'])).lines));
  }, 300_000);
});
