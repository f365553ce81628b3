/**
 * Engine patch 0107 (tools/xs-patches/0107-stack-bound-copy.patch): on Thumb-2, fxRunID keeps a
 * copy of the machine's stack bottom in r7 and every push compares with it, instead of loading the
 * machine pointer from the C frame and the bound through it. test/engine/fixtures/
 * stack-bound-semantics.js pushes through the byte codes that check the bound (locals, closures,
 * constants, calls, apply and spread arguments, array literals, deep expressions, generators whose
 * stack is copied back at each resume, exceptions through deep frames, host callbacks deep in the
 * stack): the same lines on the patched and the stock engine, on posix (where the patch compiles to
 * nothing) and on qemu (where it applies), and V8's. fixtures/stack-overflow.js recurses until the
 * JS stack overflows: both engines must abort at the same depth with the same reason.
 */
import * as vitest from 'vitest';
import { join } from 'node:path';
import { buildScript, engineSemanticsSuite, FIXTURES, runPosix, runQemu } from './engine-runner.ts';
import { patchFiles } from '../../tools/xs-engine-patches.ts';

const PATCH = '0107-stack-bound-copy.patch';
engineSemanticsSuite(vitest, [PATCH], 'stack-bound-semantics.js', 12);

const { beforeAll, describe, expect, it } = vitest;
const script = join(FIXTURES, 'stack-overflow.js');
const built: Record<string, string> = {};
const depths = (lines: string[]) => lines.filter((l) => l.startsWith('| '));

describe(`engine patch ${PATCH}: the JS stack overflow`, () => {
  beforeAll(async () => {
    for (const target of ['posix', 'qemu-mps2'] as const) {
      built[`${target}-stock`] = await buildScript(target, script, 'stock', { patches: patchFiles().filter((name) => name !== PATCH) });
      built[`${target}-patched`] = await buildScript(target, script, 'patched');
    }
  }, 1_200_000);

  for (const target of ['posix', 'qemu-mps2'] as const) {
    it(`${target}: both engines abort at the same depth with "stack overflow (JS stack ...)"`, async () => {
      const run = target === 'posix' ? runPosix : runQemu;
      const stock = await run(built[`${target}-stock`]);
      const patched = await run(built[`${target}-patched`]);
      const reached = depths(stock.lines);
      expect(reached.length).toBeGreaterThan(20);
      expect(reached).not.toContain('| not reached');
      expect(stock.code).not.toBe(0);
      expect(stock.lines.join('\n')).toMatch(/stack overflow \(JS stack of \d+ slots/);
      expect(patched.code).toBe(stock.code);
      expect(depths(patched.lines)).toEqual(reached);
      expect(patched.lines.join('\n')).toMatch(/stack overflow \(JS stack of \d+ slots/);
    }, 300_000);
  }
});
