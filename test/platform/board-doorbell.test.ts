/**
 * The STM32MP15 board's IPCC doorbell logic (firmware/platform/stm32mp15/board.c), built for the
 * host against a register block in RAM (the part cannot run here). Expected values come from
 * Linux's side of the contract, not from board.c: stm32_rproc (drivers/remoteproc/stm32_rproc.c)
 * rings vq0 and vq1 on IPCC channels 0 and 1 and sends "shutdown" on channel 2 and, since 5.13,
 * "detach" on channel 3, each a blocking mailbox send that completes when the M4 clears the
 * channel (stm32-ipcc's "channel free" interrupt); channels 4 and 5 are not the M4's. The M4 is
 * processor 2: it clears received channel n with C2SCR bit n and rings with C2SCR bit 16+n.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(import.meta.dirname, 'fixtures', 'board-doorbell');
function runStm32(): string[] {
  const dir = mkdtempSync(join(tmpdir(), `xs-rpmsg-board-${process.pid}-`));
  try {
    return buildAndRun(join(dir, 'stm32mp15-harness'));
  } finally {
    rmSync(dir, { recursive: true, force: true }); // also when the build fails
  }
}

function buildAndRun(exe: string): string[] {
  execFileSync('cc', [
    '-std=c11', '-Wall', '-Werror', '-O1',
    '-include', join(FIXTURES, 'host-stubs.h'),
    '-DSTM32_IPCC=((stm32_ipcc*)harness_registers)',
    '-I', join(ROOT, 'firmware/platform/stm32mp15'), '-I', join(ROOT, 'firmware/platform/xs'), '-I', join(ROOT, 'firmware/platform/cortex-m'),
    join(ROOT, 'firmware/platform/stm32mp15/board.c'), join(FIXTURES, 'stm32mp15-harness.c'),
    '-o', exe,
  ]);
  return execFileSync(exe, { encoding: 'utf8' }).trim().split('\n');
}

const VQ0 = 0, VQ1 = 1, SHUTDOWN = 2, DETACH = 3;
const bit = (n: number) => 1 << n;

describe('STM32MP15 IPCC doorbell against stm32_rproc\'s channel use', () => {
  const lines = runStm32();

  it('init unmasks "occupied" on vq0, vq1, shutdown and detach only, enables RXOIE and IPCC_RX1 (103)', () => {
    const [word, c2mr, c2cr, irq] = lines[0].split(' ');
    expect(word).toBe('init');
    const unmasked = ~Number(c2mr) & 0x3f;
    expect(unmasked).toBe(bit(VQ0) | bit(VQ1) | bit(SHUTDOWN) | bit(DETACH));
    expect(Number(c2cr) & 1).toBe(1);
    expect(Number(irq)).toBe(103);
  });

  it('every channel Linux uses is cleared (acknowledged) at once; channels 4 and 5 are left alone', () => {
    let requests = 0;
    for (const line of lines.filter((l) => l.startsWith('rx '))) {
      const [, occupied, c2scr, kicks, got] = line.split(' ').map(Number);
      const mine = occupied & (bit(VQ0) | bit(VQ1) | bit(SHUTDOWN) | bit(DETACH));
      expect(c2scr, `occupied 0x${occupied.toString(16)}`).toBe(mine);
      // a kick, a shutdown or a detach runs the runtime (Linux reset the virtio status before sending either)
      expect(kicks, `occupied 0x${occupied.toString(16)}`).toBe(mine !== 0 ? 1 : 0);
      if (occupied & bit(SHUTDOWN)) requests |= 1;
      if (occupied & bit(DETACH)) requests |= 2;
      expect(got, `occupied 0x${occupied.toString(16)}`).toBe(requests);
    }
  });

  it('a ring for notifyid n sets channel n occupied (C2SCR bit 16+n)', () => {
    for (const line of lines.filter((l) => l.startsWith('notify '))) {
      const [, id, c2scr] = line.split(' ').map(Number);
      expect(c2scr).toBe(bit(16 + id));
    }
  });
});
