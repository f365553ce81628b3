// The footprint's RAM counts every writable section: the resource table, trace buffer and crash
// record too (in PSRAM on qemu-mps2, in the image's RAM on a real part; docs/MEMORY.md).
import { describe, expect, it } from 'vitest';
import { footprint, type EchoResult } from '../../bench/echo-instructions.ts';

const heap = { slots: 80_000, chunks: 4_000, allocated: 100_000, peak: 90_000, mallocPeak: 119_728, stackPeak: 1_504, stackSize: 8_192 };
const result = {
  sizes: [], zeroCopy: [], batches: [],
  sizeReport: { image: 'x.elf', text: 244_340, data: 300, bss: 1_392, textMapped: 0, textParts: { engine: 0, builtins: 0, parser: 0, bytecode: 0, preload: 0, platform: 0, libc: 0, other: 0 }, ram: { own: 272, sharedWindow: 1_420 } },
  heapAfter: heap, heapBefore: heap, footprintLines: [], bootInstructions: 1, traceAtBoot: 142, traceUsed: 142,
} as unknown as EchoResult;

describe('footprint', () => {
  it('RAM = every writable section (the shared-window ones too) + malloc high-water + the reserved C stack', () => {
    const f = footprint(result);
    expect(f['ram.dataBss']).toBe(272 + 1_420);
    expect(f['ram.resourceTable']).toBe(1_420);
    expect(f['ram.total']).toBe(272 + 1_420 + 119_728 + 8_192);
    expect(f['trace.atBoot']).toBe(142);
  });
});
