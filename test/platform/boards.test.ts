/**
 * The real-part boards (firmware/platform/stm32mp15, firmware/platform/imx8m): the echo app
 * compiles and links with each part's memory map (the linker script's regions and ASSERTs prove
 * the image fits), the vector table has the doorbell handler where the part's NVIC line is, the
 * resource table is a .resource_table section a remoteproc host finds and loads, and no parser
 * is linked. They cannot run here (no emulator of these parts); see their README.md.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { firmwareImage } from '../../launch/firmware-image.ts';
import { decodeResourceTable } from '../../resource-table/codec.ts';
import { elfFindResourceTable, elfLoadSegments } from '../../resource-table/elf.ts';

interface Section { name: string; address: number; size: number }

function sections(elf: string): Section[] {
  const out = execFileSync('arm-none-eabi-readelf', ['-SW', elf], { encoding: 'utf8' });
  const list: Section[] = [];
  for (const line of out.split('\n')) {
    const m = /\]\s+(\S+)\s+\S+\s+([0-9a-f]{8})\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(line);
    if (m) list.push({ name: m[1], address: parseInt(m[2], 16), size: parseInt(m[3], 16) });
  }
  return list;
}

function symbol(elf: string, name: string): number {
  const out = execFileSync('arm-none-eabi-nm', [elf], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const m = new RegExp(`^([0-9a-f]+) \\S ${name}$`, 'm').exec(out);
  if (!m) throw new Error(`${elf} has no symbol ${name}`);
  return parseInt(m[1], 16);
}

const BOARDS = [
  { target: 'stm32mp15' as const, vectors: 0x00000000, table: 0x10000000, doorbellIrq: 103,
    regions: [[0x00000000, 64 << 10], [0x10000000, 256 << 10], [0x10050000, 64 << 10], [0xde000000, 1 << 20]], notIn: [0x10040000, 64 << 10] },
  { target: 'imx8m' as const, vectors: 0x1ffe0000, table: 0x80000000, doorbellIrq: 97,
    regions: [[0x1ffe0000, 128 << 10], [0x20000000, 128 << 10], [0x80000000, 2 << 20], [0x80200000, 2 << 20]], notIn: null },
];

describe('real-part boards: compile and link with the part\'s memory map', () => {
  for (const board of BOARDS) {
    it(`${board.target}: the echo image links, every section lies in the part's memory, doorbell vector and resource table in place`, async () => {
      const elf = await firmwareImage(board.target, 'echo');
      const list = sections(elf).filter((s) => s.address !== 0 || s.name === '.vectors');
      const inside = (s: Section) => board.regions.some(([start, size]) => s.address >= start && s.address + s.size <= start + size);
      for (const section of list) expect(inside(section), `${section.name} at 0x${section.address.toString(16)}`).toBe(true);
      if (board.notIn) {
        const [start, size] = board.notIn; // SRAM3: Linux's vrings and buffers
        for (const section of list) expect(section.address + section.size <= start || section.address >= start + size, section.name).toBe(true);
      }
      const vectors = list.find((s) => s.name === '.vectors')!;
      expect(vectors.address).toBe(board.vectors);
      // the vector table word for the doorbell line is Doorbell_IRQHandler (Thumb bit set)
      const bytes = new Uint8Array(readFileSync(elf));
      const segment = elfLoadSegments(bytes).find((s) => s.da === board.vectors)!;
      const view = new DataView(bytes.buffer, bytes.byteOffset + segment.offset);
      expect(view.getUint32((16 + board.doorbellIrq) * 4, true)).toBe(symbol(elf, 'Doorbell_IRQHandler') | 1);
      expect(view.getUint32(4, true)).toBe(symbol(elf, 'Reset_Handler') | 1);
      // the resource table: a loaded .resource_table section at the window's start, decodable as Linux would
      const table = elfFindResourceTable(bytes)!;
      expect(table.address).toBe(board.table);
      const decoded = decodeResourceTable(bytes.subarray(table.fileOffset, table.fileOffset + table.size));
      expect(decoded.table.entries.map((e) => e.kind)).toEqual(expect.arrayContaining(['vdev', 'trace']));
      expect(symbol(elf, 'xs_crash_record_area')).toBe(board.table + 0x3f00);
      // byte code, no parser
      const names = execFileSync('arm-none-eabi-nm', [elf], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(names).not.toMatch(/ fxParserTree$/m);
      expect(names).toMatch(/ xs_app_code$/m);
    }, 600_000);
  }
});
