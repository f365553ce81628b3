/**
 * Engine patch 0113 (tools/xs-patches/0113-dispatch-load-pc.patch, tools/xs-dispatch.ts): on
 * Thumb-2 the build rewrites fxRunID's byte-code dispatch (`ldr rN, [r4, rI, lsl #2]; orr rN, rN,
 * #1; bx rN`) into one `ldr pc, [r4, rI, lsl #2]`, the other dispatches' `orr + bx` into `mov pc`,
 * and gives the dispatch table's entries the Thumb bit. Every byte code ends in one of these
 * jumps, so 0105's fixture test/engine/fixtures/interpreter-semantics.js (every way control leaves
 * and re-enters the loop: host functions, host functions calling back into JS, exceptions through
 * setjmp/longjmp, generators resumed) runs on the patched and the stock engine, on posix (where the
 * rewrite is not made) and on qemu (where it is): the same lines, and V8's. Checked that it fails
 * (the Cortex-M3 faults at the first dispatch) with the `ldr pc` rewrite but without the table's
 * Thumb bit. The rewrite itself is pinned on a piece of GCC's output below.
 */
import * as vitest from 'vitest';
import { describe, expect, it } from 'vitest';
import { DISPATCH_MARKER, rewriteDispatch } from '../../tools/xs-dispatch.ts';
import { engineSemanticsSuite } from './engine-runner.ts';

engineSemanticsSuite(vitest, ['0113-dispatch-load-pc.patch'], 'interpreter-semantics.js', 28);

describe('tools/xs-dispatch.ts: the assembly rewrite of patch 0113', () => {
  const table = ['gxBytes.0:', ...Array.from({ length: 230 }, (_, i) => `\t.word\t.L${i + 10}`), '\t.section\t.text']; // one entry per byte code
  const gcc = [
    '\t.syntax unified', '\t.thumb', `\t${DISPATCH_MARKER}`, 'fxRunID:',
    '.L10:', '\tldrb\tr9, [fp, #1]!', '\t.loc 1 1669 4', '\tldr\tr3, [r4, r9, lsl #2]', '\torr\tr3, r3, #1', '\tbx\tr3', // adjacent: one ldr pc
    '.L11:', '\tldr\tr2, [r4, r5, lsl #2]', '\tadd\tfp, fp, #1', '\torr\tr2, r2, #1', '\tbx\tr2', // load not adjacent: mov pc
    '.L12:', '\tldr\tr3, [r4, r9, lsl #2]', '.L13:', '\torr\tr3, r3, #1', '\tbx\tr3', // a label between: mov pc
    '\tbx\tlr', '\torr\tr0, r0, #1', // not a dispatch: unchanged
    ...table,
  ].join('\n');

  it('turns each dispatch into one ldr pc (or mov pc) and gives the table entries the Thumb bit; nothing else changes', () => {
    const r = rewriteDispatch(gcc);
    expect([r.loads, r.moves, r.entries]).toEqual([1, 2, 230]);
    const lines = r.text.split('\n');
    expect(lines.slice(4, 17)).toEqual([
      '.L10:', '\tldrb\tr9, [fp, #1]!', '\t.loc 1 1669 4', '\tldr\tpc, [r4, r9, lsl #2]\t@ xs-rpmsg patch 0113',
      '.L11:', '\tldr\tr2, [r4, r5, lsl #2]', '\tadd\tfp, fp, #1', '\tmov\tpc, r2\t@ xs-rpmsg patch 0113',
      '.L12:', '\tldr\tr3, [r4, r9, lsl #2]', '.L13:', '\tmov\tpc, r3\t@ xs-rpmsg patch 0113',
      '\tbx\tlr',
    ]);
    expect(lines.filter((l) => l.startsWith('\t.word')).every((l, i) => l === `\t.word\t.L${i + 10}+1`)).toBe(true);
  });

  it('refuses assembly without the patch marker, without one dispatch table, or without a dispatch', () => {
    expect(() => rewriteDispatch(gcc.replace(DISPATCH_MARKER, '@'))).toThrow(/lacks/);
    expect(() => rewriteDispatch(gcc.replace('gxBytes.0:', 'other:'))).toThrow(/one dispatch table/);
    expect(() => rewriteDispatch(gcc.replace(/\torr\tr\d, r\d, #1\n/g, ''))).toThrow(/no dispatch/);
  });
});
