/**
 * Runs a classic script on the real XS engine, built with our engine patches or without any
 * (tools/xs-engine-patches.ts), on the posix target (native process) or on qemu-mps2 (the
 * Cortex-M3 firmware in QEMU), and returns its console lines. And in Node (vm, sloppy script)
 * as a third opinion for the standard parts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import vm from 'node:vm';
import { launchPosixRemote } from '../../launch/posix.ts';
import { launchQemu } from '../../launch/qemu.ts';
import { buildFirmware, type FirmwareTarget } from '../../tools/build-firmware.ts';
import { patchFiles, type EngineOptions } from '../../tools/xs-engine-patches.ts';
import { root } from '../platform/helpers.ts';

export const FIXTURES = join(root, 'test/engine/fixtures');

/** Builds `script` for `target` with the given engine (the variant names it) into build/test/engine/<target>-<variant>-<name>. */
export async function buildScript(target: FirmwareTarget, script: string, variant: 'patched' | 'stock', engine: EngineOptions = {}): Promise<string> {
  const name = basename(script, '.js');
  const result = await buildFirmware({
    target,
    js: script,
    out: join(root, 'build/test/engine', `${target}-${variant}-${name}`),
    verbose: false,
    engine,
  });
  return result.output;
}

const lines = (text: string) => text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.length > 0);

/** Runs a built posix executable to its exit; returns console lines and the exit code. Cleans up its shm file and socket. */
export async function runPosix(executable: string, timeoutMs = 60_000): Promise<{ lines: string[]; code: number | null }> {
  const remote = launchPosixRemote({ executable });
  try {
    await remote.waitForConsole('waiting for the host', timeoutMs);
    await remote.connectDoorbell();
    const exit = await Promise.race([remote.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`posix remote did not exit within ${timeoutMs} ms:\n${remote.console}`)), timeoutMs))]);
    return { lines: lines(remote.console), code: exit.code };
  } finally {
    await remote.close();
    if (existsSync(remote.shmPath) || existsSync(remote.socketPath)) throw new Error('posix remote left its files behind');
  }
}

/** Runs a built qemu-mps2 ELF to its exit (platform.exit); returns console lines and the exit code. */
export async function runQemu(elf: string, timeoutMs = 120_000): Promise<{ lines: string[]; code: number | null }> {
  const qemu = await launchQemu({ elf });
  try {
    await qemu.connectDoorbell();
    await qemu.cont();
    const exit = await Promise.race([qemu.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`qemu did not exit within ${timeoutMs} ms:\n${qemu.console}`)), timeoutMs))]);
    return { lines: lines(qemu.console), code: exit.code };
  } finally {
    await qemu.close();
  }
}

/** Runs the script in a fresh Node context as a sloppy classic script (as XS runs it), promise jobs included; returns its lines. */
export async function runNode(script: string): Promise<string[]> {
  const out: string[] = [];
  const platform = { log: (text: string) => out.push(String(text)), exit: () => {} };
  vm.runInNewContext(readFileSync(script, 'utf8'), { platform, structuredClone }, { filename: script });
  await new Promise((resolve) => setImmediate(resolve));
  return out;
}

/** The script's own lines ("| name: value") and its last line ("semantics done N"), checked complete. */
export function scriptLines(all: string[]): string[] {
  const done = all.find((l) => l.startsWith('semantics done '));
  const cases = all.filter((l) => l.startsWith('| '));
  if (!done) throw new Error(`the script did not finish (no "semantics done" line); console ends:\n${all.slice(-20).join('\n')}`);
  if (Number(done.split(' ')[2]) !== cases.length + 1) throw new Error(`${done}, but ${cases.length} case lines arrived`);
  return cases;
}

/**
 * The semantics test of engine patches: `fixture` runs on the engine without them ("stock": every
 * other patch) and with them, on posix and on the Cortex-M3 in QEMU; every line must be the same, and the cases
 * not named "xs ..." must print what V8 prints.
 */
export function engineSemanticsSuite(vitest: typeof import('vitest'), patches: string[], fixture: string, minimumCases: number): void {
  const { beforeAll, describe, expect, it } = vitest;
  const script = join(FIXTURES, fixture);
  const built: Record<string, string> = {};
  const portable = (list: string[]) => list.filter((l) => !l.startsWith('| xs '));
  beforeAll(async () => {
    // one build at a time: the machine has two cores
    for (const target of ['posix', 'qemu-mps2'] as const) {
      // "stock": every patch but the ones under test (0001 and 0002 build the stripped images the
      // manifest asks for); "patched": every patch. The difference is exactly the patches under test.
      built[`${target}-stock`] = await buildScript(target, script, 'stock', { patches: patchFiles().filter((name) => !patches.includes(name)) });
      built[`${target}-patched`] = await buildScript(target, script, 'patched');
    }
  }, 1_200_000);

  describe(`engine patches ${patches.join(', ')}`, () => {
    it('are among the patches the firmware is built with', () => {
      expect(patchFiles()).toEqual(expect.arrayContaining(patches));
    });

    it('posix: the patched engine prints exactly what the stock engine prints, and the standard cases match V8', async () => {
      const stock = await runPosix(built['posix-stock']);
      const patched = await runPosix(built['posix-patched']);
      expect(stock.code).toBe(0);
      expect(patched.code).toBe(0);
      const expected = scriptLines(stock.lines);
      expect(expected.length).toBeGreaterThanOrEqual(minimumCases);
      expect(scriptLines(patched.lines)).toEqual(expected);
      expect(portable(expected)).toEqual(portable((await runNode(script)).filter((l) => l.startsWith('| '))));
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
}
