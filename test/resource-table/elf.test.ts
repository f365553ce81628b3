import { describe, expect, it } from 'vitest';
import { RpmsgError } from '../../wire/errors.ts';
import { encodeResourceTable } from '../../resource-table/index.ts';
import { LinuxHost, elfFindResourceTable } from '../../host-sim/index.ts';
import { BASE, ScriptedRemote, rpmsgTable } from '../host-sim/scripted-remote.ts';

const LOAD_DA = BASE + 0x80000;
const TRACE_DA = LOAD_DA + 0x400;

/** A minimal little-endian ELF32, laid out by hand: one PT_LOAD at p_paddr `loadDa` holding the table, sections null/.resource_table/.shstrtab. */
function elf32(table: Uint8Array, options: { loadDa?: number; memsz?: number; extraSegmentDa?: number } = {}): Uint8Array {
  const loadDa = options.loadDa ?? LOAD_DA;
  const image = new Uint8Array(0x400);
  const view = new DataView(image.buffer);
  image.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0); // magic, ELFCLASS32, ELFDATA2LSB, EV_CURRENT
  view.setUint16(0x10, 2, true); // e_type ET_EXEC
  view.setUint16(0x12, 40, true); // e_machine ARM
  view.setUint32(0x14, 1, true); // e_version
  view.setUint32(0x18, loadDa, true); // e_entry
  view.setUint32(0x1c, 0x34, true); // e_phoff
  view.setUint32(0x20, 0x240, true); // e_shoff
  view.setUint16(0x28, 52, true); // e_ehsize
  view.setUint16(0x2a, 32, true); // e_phentsize
  view.setUint16(0x2c, options.extraSegmentDa === undefined ? 1 : 2, true); // e_phnum
  view.setUint16(0x2e, 40, true); // e_shentsize
  view.setUint16(0x30, 3, true); // e_shnum
  view.setUint16(0x32, 2, true); // e_shstrndx
  const phdr = (at: number, offset: number, da: number, filesz: number, memsz: number): void => {
    view.setUint32(at, 1, true); // PT_LOAD
    view.setUint32(at + 4, offset, true);
    view.setUint32(at + 8, da, true); // p_vaddr
    view.setUint32(at + 12, da, true); // p_paddr
    view.setUint32(at + 16, filesz, true);
    view.setUint32(at + 20, memsz, true);
    view.setUint32(at + 24, 6, true); // RW
    view.setUint32(at + 28, 8, true);
  };
  phdr(0x34, 0x100, loadDa, table.length, options.memsz ?? 0x800);
  if (options.extraSegmentDa !== undefined) phdr(0x54, 0x100, options.extraSegmentDa, 16, 16);
  image.set(table, 0x100);
  const names = '\0.resource_table\0.shstrtab\0';
  for (let i = 0; i < names.length; i++) image[0x200 + i] = names.charCodeAt(i);
  const shdr = (at: number, name: number, type: number, addr: number, offset: number, size: number): void => {
    view.setUint32(at, name, true);
    view.setUint32(at + 4, type, true);
    view.setUint32(at + 12, addr, true);
    view.setUint32(at + 16, offset, true);
    view.setUint32(at + 20, size, true);
  };
  shdr(0x240 + 40, 1, 1, loadDa, 0x100, table.length);
  shdr(0x240 + 80, 17, 3, 0, 0x200, names.length);
  return image;
}

function setup(ops: Partial<ReturnType<ScriptedRemote['ops']>> = {}) {
  const remote = new ScriptedRemote(0x80000);
  const host = new LinuxHost();
  const rproc = host.addRproc({ ops: { ...remote.ops(), ...ops }, memory: remote.memory });
  const table = encodeResourceTable(rpmsgTable({ trace: { da: TRACE_DA, len: 256 } }));
  remote.tableSize = table.length;
  return { remote, host, rproc, table };
}

describe('ELF firmware', () => {
  it('finds .resource_table by name, loads PT_LOAD at p_paddr, copies the processed table over the loaded one', async () => {
    const { remote, rproc, table } = setup();
    remote.memory.bytes.fill(0xee, 0x80000, 0x80800);
    await rproc.boot(elf32(table));
    expect(rproc.loadedTable()).toEqual({ offset: 0x80000, size: table.length });
    expect(remote.status()).toBe(7);
    expect(remote.ring(0).notifyid).toBe(0);
    // memsz beyond filesz is zeroed
    expect(remote.memory.bytes[0x80000 + table.length + 10]).toBe(0);
    expect(rproc.traces).toEqual([{ name: 'trace0', da: TRACE_DA, len: 256 }]);
  });

  it('reads strnlen(buffer, len) bytes of the trace buffer', async () => {
    const { remote, rproc, table } = setup();
    await rproc.boot(elf32(table));
    const message = 'booted\nhello from the remote\n';
    for (let i = 0; i < message.length; i++) remote.memory.bytes[TRACE_DA - BASE + i] = message.charCodeAt(i);
    expect(rproc.readTrace(0)).toBe(message);
    remote.memory.bytes.fill(0x41, TRACE_DA - BASE, TRACE_DA - BASE + 256);
    expect(rproc.readTrace(0)).toHaveLength(256);
  });

  it('reads a trace buffer outside the shared memory through ops.readMemory, else says it is not available', async () => {
    const outside = 0x20000000;
    const bytesAt = new Uint8Array(64);
    bytesAt.set([0x6f, 0x6b, 0x0a]);
    const { rproc } = setup({ readMemory: (da, length) => (da === outside ? bytesAt.subarray(0, length) : null) });
    const table = encodeResourceTable(rpmsgTable({ trace: { da: outside, len: 64 } }));
    await rproc.boot(elf32(table));
    expect(rproc.readTrace(0)).toBe('ok\n');
    const plain = setup();
    await plain.rproc.boot(elf32(table));
    expect(plain.rproc.readTrace(0)).toBe('Trace trace0 not available\n');
  });

  it('hands segments outside the shared memory to ops.loadSegment, and refuses them without it', async () => {
    const loaded: number[] = [];
    const { rproc, table } = setup({ loadSegment: (da) => { loaded.push(da); return true; } });
    await rproc.boot(elf32(table, { extraSegmentDa: 0x0 }));
    expect(loaded).toEqual([0]);
    const plain = setup();
    const error = await plain.rproc.boot(elf32(plain.table, { extraSegmentDa: 0x0 })).then(() => null, (e: unknown) => e);
    expect((error as RpmsgError).code).toBe('EINVAL');
    expect((error as Error).message).toContain('bad phdr da 0x0');
  });

  it('refuses what rproc_elf_sanity_check refuses', async () => {
    const { rproc, table } = setup();
    const image = elf32(table);
    const bad = (mutate: (b: Uint8Array) => void) => { const copy = image.slice(); mutate(copy); return copy; };
    for (const [image2, reason] of [
      [bad((b) => { b[1] = 0; }), 'bad magic'],
      [bad((b) => { b[4] = 3; }), 'Unsupported class'],
      [bad((b) => { b[5] = 2; }), 'endianness'],
      [bad((b) => { b[0x2c] = 0; }), 'No loadable segments'],
      [image.slice(0, 40), 'too small'],
    ] as const) {
      const error = await rproc.boot(image2).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(RpmsgError);
      expect((error as Error).message).toContain(reason);
    }
  });

  it('find_table: checks the header of the section (ver 1)', () => {
    const { table } = setup();
    const image = elf32(table);
    image[0x100] = 2;
    expect(() => elfFindResourceTable(image)).toThrow(/unsupported fw ver: 2/);
  });
});
