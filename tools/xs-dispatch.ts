/**
 * Engine patch 0113 (tools/xs-patches/0113-dispatch-load-pc.patch): the byte-code dispatch of
 * fxRunID on Thumb-2 in one instruction. GCC compiles XS's `goto *bytes[byte]` as
 *
 *     ldr  rN, [r4, rI, lsl #2]   @ the label's address from the table (r4: patch 0109)
 *     orr  rN, rN, #1             @ GCC's arm backend sets the Thumb bit before every indirect jump
 *     bx   rN
 *
 * and offers no option to do otherwise (the table of label addresses holds them without the bit).
 * The build compiles xsRun.c to assembly, and this rewrite, before it is assembled:
 *   1. gives every entry of the dispatch table (the one `gxBytes.N` object) the Thumb bit
 *      (`.word .L123` -> `.word .L123+1`): a `bx` of an entry, with GCC's `orr` or without, goes
 *      to the same label;
 *   2. turns each of those three instructions that follow each other (no label between) into
 *      `ldr pc, [r4, rI, lsl #2]`: on ARMv7-M a load into the PC with bit 0 set is a branch to the
 *      address without the bit in Thumb state, which is what the three did;
 *   3. turns every other adjacent `orr rN, rN, #1` + `bx rN` into `mov pc, rN` (the branch ignores
 *      bit 0: the same target). In both cases rN is dead after the jump: it held only the orr's
 *      result, which the bx consumed (GCC gives it a register no value live at the target uses).
 * Nothing else changes: every other instruction, label and directive stays where GCC put it.
 * The patch file itself adds the marker this rewrite requires (so a build without the patch,
 * the stock engine of the semantics test, is compiled the ordinary way).
 */

/** The line the patch puts in xsRun.c's assembly (a top-level asm comment). */
export const DISPATCH_MARKER = '@ xs-rpmsg patch 0113: dispatch-load-pc';

export interface DispatchRewrite {
  text: string;
  /** Table entries given the Thumb bit. */
  entries: number;
  /** Dispatches turned into one `ldr pc`. */
  loads: number;
  /** Dispatches turned into `mov pc` (the load was not next to them). */
  moves: number;
}

const isInstruction = (line: string) => /^\t[a-z]/.test(line);
const isDirective = (line: string) => /^\t\./.test(line) || /^\s*$/.test(line) || /^\s*@/.test(line);

/** Rewrites GCC's assembly of xsRun.c for Thumb-2 (see the file comment); throws if it is not what the rewrite expects. */
export function rewriteDispatch(assembly: string): DispatchRewrite {
  if (!assembly.includes(DISPATCH_MARKER)) throw new Error(`xs-dispatch: the assembly of xsRun.c lacks "${DISPATCH_MARKER}" (patch 0113 not applied?)`);
  if (!/^\t\.thumb$/m.test(assembly) && !/^\t\.code\t16$/m.test(assembly)) throw new Error('xs-dispatch: xsRun.c was not compiled for Thumb');
  const lines = assembly.split('\n');

  // 1. the dispatch table
  const tables = lines.flatMap((line, i) => (/^gxBytes\.\d+:$/.test(line) ? [i] : []));
  if (tables.length !== 1) throw new Error(`xs-dispatch: expected one dispatch table (gxBytes.N:) in xsRun.c's assembly, found ${tables.length}`);
  let entries = 0;
  for (let i = tables[0] + 1; i < lines.length && /^\t\.word\t/.test(lines[i]); i++) {
    const m = /^\t\.word\t(\.L\d+)$/.exec(lines[i]);
    if (!m) throw new Error(`xs-dispatch: unexpected dispatch table entry "${lines[i]}"`);
    lines[i] = `\t.word\t${m[1]}+1`;
    entries++;
  }
  if (entries < 200) throw new Error(`xs-dispatch: the dispatch table has ${entries} entries, expected one per byte code (over 200)`);

  // the instruction before line i, skipping directives (.loc); -1 at a label or the start
  const previous = (i: number): number => {
    for (let j = i - 1; j >= 0; j--) {
      if (isInstruction(lines[j])) return j;
      if (!isDirective(lines[j])) return -1; // a label: the jump may be reached from elsewhere
    }
    return -1;
  };

  const removed = new Set<number>();
  let loads = 0;
  let moves = 0;
  for (let i = 0; i < lines.length; i++) {
    const bx = /^\tbx\t(r\d+|ip)$/.exec(lines[i]);
    if (!bx) continue;
    const reg = bx[1];
    const o = previous(i);
    if (o < 0 || lines[o] !== `\torr\t${reg}, ${reg}, #1`) continue;
    const l = previous(o);
    const load = l >= 0 ? new RegExp(`^\\tldr\\t${reg}, \\[r4, (r\\d+|fp|ip|lr), lsl #2\\]$`).exec(lines[l]) : null;
    if (load) {
      lines[l] = `\tldr\tpc, [r4, ${load[1]}, lsl #2]\t@ xs-rpmsg patch 0113`;
      removed.add(o).add(i);
      loads++;
    } else {
      lines[o] = `\tmov\tpc, ${reg}\t@ xs-rpmsg patch 0113`;
      removed.add(i);
      moves++;
    }
  }
  // -Os: GCC shares one dispatch (a label before the orr) among the byte codes: one mov pc
  if (loads + moves === 0) throw new Error('xs-dispatch: no dispatch (orr rN, rN, #1; bx rN) found in xsRun.c');
  return { text: lines.filter((_, i) => !removed.has(i)).join('\n'), entries, loads, moves };
}
