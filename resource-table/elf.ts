/** Firmware ELF reading as drivers/remoteproc/remoteproc_elf_loader.c does it: sanity check, PT_LOAD segments, `.resource_table`. Shared by host-sim's remoteproc and the command line. */
import { RpmsgError } from '../wire/errors.ts';
import { RSC_TABLE_HEADER_SIZE, RSC_TABLE_NUM, RSC_TABLE_RESERVED, RSC_TABLE_VER, RSC_TABLE_VERSION } from './layout.ts';

/** PT_LOAD program header type. */
export const PT_LOAD = 1;

/** One PT_LOAD segment: its bytes go to `da` (p_paddr), zero-filled up to memsz. */
export interface ElfSegment {
  da: number;
  memsz: number;
  filesz: number;
  offset: number;
}

/** The `.resource_table` section: where it is in the file and where it is loaded (sh_addr). */
export interface ElfResourceTable {
  fileOffset: number;
  size: number;
  /** sh_addr: rproc_elf_find_loaded_rsc_table looks for the loaded table here. */
  address: number;
}

function einval(text: string): RpmsgError {
  return new RpmsgError('EINVAL', `firmware ELF: ${text}`);
}

/** Field reader that refuses reads outside the file (Linux trusts the header; we do not). */
class ElfReader {
  readonly view: DataView;
  readonly is64: boolean;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.is64 = bytes[4] === 2;
  }
  private check(offset: number, width: number, what: string): void {
    if (offset < 0 || offset + width > this.bytes.length) throw einval(`${what} at 0x${offset.toString(16)} lies outside the ${this.bytes.length}-byte image`);
  }
  u16(offset: number, what: string): number {
    this.check(offset, 2, what);
    return this.view.getUint16(offset, true);
  }
  u32(offset: number, what: string): number {
    this.check(offset, 4, what);
    return this.view.getUint32(offset, true);
  }
  /** A 64-bit field as a number (exact up to 2^53; larger values are out of range for us anyway). */
  u64(offset: number, what: string): number {
    this.check(offset, 8, what);
    return this.view.getUint32(offset, true) + this.view.getUint32(offset + 4, true) * 0x100000000;
  }
  /** An address/offset/size field: u32 in ELF32, u64 in ELF64. */
  word(offset32: number, offset64: number, what: string): number {
    return this.is64 ? this.u64(offset64, what) : this.u32(offset32, what);
  }
}

/** rproc_elf_sanity_check: the checks Linux makes before anything else. */
export function elfSanityCheck(bytes: Uint8Array): void {
  if (bytes.length < 52) throw einval('Image is too small');
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw einval('Image is corrupted (bad magic)');
  const elfClass = bytes[4];
  if (elfClass !== 1 && elfClass !== 2) throw einval(`Unsupported class: ${elfClass}`);
  if (elfClass === 2 && bytes.length < 64) throw einval('elf64 header is too small');
  if (bytes[5] !== 1) throw einval('Unsupported firmware endianness (the host is little-endian)');
  const elf = new ElfReader(bytes);
  const phoff = elf.word(0x1c, 0x20, 'e_phoff');
  const shoff = elf.word(0x20, 0x28, 'e_shoff');
  const phnum = elf.u16(elf.is64 ? 0x38 : 0x2c, 'e_phnum');
  const shdrSize = elf.is64 ? 64 : 40;
  if (bytes.length < shoff + shdrSize) throw einval('Image is too small (section headers)');
  if (phnum === 0) throw einval('No loadable segments');
  if (phoff > bytes.length) throw einval('Firmware size is too small');
}

/** The PT_LOAD segments, checked as rproc_elf_load_segments does (filesz <= memsz, file bytes present). */
export function elfLoadSegments(bytes: Uint8Array): ElfSegment[] {
  const elf = new ElfReader(bytes);
  const phoff = elf.word(0x1c, 0x20, 'e_phoff');
  const phentsize = elf.is64 ? 56 : 32;
  const phnum = elf.u16(elf.is64 ? 0x38 : 0x2c, 'e_phnum');
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    const type = elf.u32(ph, `phdr ${i} p_type`);
    if (type !== PT_LOAD) continue;
    const segment: ElfSegment = elf.is64
      ? { offset: elf.u64(ph + 8, 'p_offset'), da: elf.u64(ph + 24, 'p_paddr'), filesz: elf.u64(ph + 32, 'p_filesz'), memsz: elf.u64(ph + 40, 'p_memsz') }
      : { offset: elf.u32(ph + 4, 'p_offset'), da: elf.u32(ph + 12, 'p_paddr'), filesz: elf.u32(ph + 16, 'p_filesz'), memsz: elf.u32(ph + 20, 'p_memsz') };
    if (segment.filesz > segment.memsz) throw einval(`bad phdr filesz 0x${segment.filesz.toString(16)} memsz 0x${segment.memsz.toString(16)}`);
    if (segment.offset + segment.filesz > bytes.length) throw einval(`truncated fw: need 0x${(segment.offset + segment.filesz).toString(16)} avail 0x${bytes.length.toString(16)}`);
    segments.push(segment);
  }
  return segments;
}

/**
 * find_table: the section named `.resource_table`, with the header checks Linux makes there
 * (whole section inside the file, header present, ver 1, reserved zero, offset[] inside).
 * null when there is no such section (many platform drivers accept that).
 */
export function elfFindResourceTable(bytes: Uint8Array): ElfResourceTable | null {
  const elf = new ElfReader(bytes);
  const shoff = elf.word(0x20, 0x28, 'e_shoff');
  const shentsize = elf.is64 ? 64 : 40;
  const shnum = elf.u16(elf.is64 ? 0x3c : 0x30, 'e_shnum');
  const shstrndx = elf.u16(elf.is64 ? 0x3e : 0x32, 'e_shstrndx');
  const sectionOffset = (sh: number): number => elf.word(sh + 16, sh + 24, 'sh_offset');
  const names = sectionOffset(shoff + shstrndx * shentsize);
  const wanted = '.resource_table';
  for (let i = 0; i < shnum; i++) {
    const sh = shoff + i * shentsize;
    const nameAt = names + elf.u32(sh, `section ${i} sh_name`);
    let matches = true;
    for (let c = 0; c <= wanted.length; c++) {
      if (nameAt + c >= bytes.length) { matches = false; break; }
      const expected = c < wanted.length ? wanted.charCodeAt(c) : 0;
      if (bytes[nameAt + c] !== expected) { matches = false; break; }
    }
    if (!matches) continue;
    const fileOffset = sectionOffset(sh);
    const size = elf.word(sh + 20, sh + 32, 'sh_size');
    const address = elf.word(sh + 12, sh + 16, 'sh_addr');
    if (fileOffset + size > bytes.length) throw einval('resource table truncated');
    if (size < RSC_TABLE_HEADER_SIZE) throw einval('header-less resource table');
    const view = new DataView(bytes.buffer, bytes.byteOffset + fileOffset, size);
    const ver = view.getUint32(RSC_TABLE_VER, true);
    if (ver !== RSC_TABLE_VERSION) throw einval(`unsupported fw ver: ${ver}`);
    if (view.getUint32(RSC_TABLE_RESERVED, true) !== 0 || view.getUint32(RSC_TABLE_RESERVED + 4, true) !== 0) throw einval('non zero reserved bytes');
    if (RSC_TABLE_HEADER_SIZE + 4 * view.getUint32(RSC_TABLE_NUM, true) > size) throw einval('resource table incomplete');
    return { fileOffset, size, address };
  }
  return null;
}
