/** The remote's memory as the host hands it out: carveouts, vrings and buffers (dma_alloc_coherent with pa == da). */
import { RpmsgError } from '../../wire/errors.ts';
import type { SharedMemory } from '../../wire/shared-memory.ts';
import type { ReservedMemory } from './ops.ts';

/** PAGE_SIZE: allocations are page-aligned and page-rounded, as dma_alloc_coherent's are. */
export const PAGE_SIZE = 4096;

/** An allocated range (struct rproc_mem_entry). */
export interface DeviceMemoryEntry {
  name: string;
  /** Device address (== pa here). */
  da: number;
  len: number;
  /** Offset of da inside the shared memory. */
  offset: number;
}

/** PAGE_ALIGN. */
export function pageAlign(length: number): number {
  return Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * First-fit allocator over the shared memory in device addresses. Fixed-address requests
 * must fall inside the memory and on free space (as a platform's reserved-memory carveout
 * would); "ANY" requests take the lowest free page-aligned range of the pool.
 */
export class DeviceMemory {
  private readonly entries: DeviceMemoryEntry[] = [];
  private readonly poolStart: number;
  private readonly poolEnd: number;

  constructor(
    private readonly memory: SharedMemory,
    /** Named regions the platform pre-registered (like DT "vdev0buffer"): requests by that name land there. */
    private readonly reserved: ReservedMemory[] = [],
    pool: { da: number; len: number } | null = null,
  ) {
    this.poolStart = pool ? pool.da : memory.base;
    this.poolEnd = pool ? pool.da + pool.len : memory.base + memory.size;
  }

  /** Every live allocation, lowest address first. */
  list(): readonly DeviceMemoryEntry[] {
    return this.entries;
  }

  /** The live allocation named `name`. */
  find(name: string): DeviceMemoryEntry | undefined {
    return this.entries.find((entry) => entry.name === name);
  }

  private overlaps(da: number, len: number): DeviceMemoryEntry | undefined {
    return this.entries.find((entry) => da < entry.da + entry.len && entry.da < da + len);
  }

  private insert(entry: DeviceMemoryEntry): DeviceMemoryEntry {
    this.entries.push(entry);
    this.entries.sort((a, b) => a.da - b.da);
    return entry;
  }

  /** Mark [da, da+len) used (firmware segments, the loaded table) when it lies in the shared memory; ignored otherwise. */
  reserve(name: string, da: number, len: number): void {
    const offset = da - this.memory.base;
    if (len === 0 || !this.memory.contains(offset, len) || this.overlaps(da, len)) return;
    this.insert({ name, da, len, offset });
  }

  /**
   * Allocate `len` bytes named `name` at `da` (fixed) or anywhere (da === null). A region the
   * platform reserved under that name is used whole, as rproc_check_carveout_da accepts it: a
   * fixed da anywhere inside it, with the length fitting from there. Throws ENOMEM / EINVAL.
   * `avoid` lists ranges other requests will ask for later (fixed da still to allocate): an ANY
   * request does not take them.
   */
  allocate(name: string, len: number, da: number | null, avoid: readonly { da: number; len: number }[] = []): DeviceMemoryEntry {
    const region = this.reserved.find((candidate) => candidate.name === name);
    if (region) {
      const regionText = `the platform reserved "${name}" at 0x${region.da.toString(16)} (+0x${region.len.toString(16)})`;
      if (len > region.len) throw new RpmsgError('EINVAL', `Registered carveout doesn't fit len request: ${regionText}, ${len} bytes needed`);
      if (da !== null) {
        if (da < region.da) throw new RpmsgError('EINVAL', `Registered carveout doesn't fit da request: "${name}" asks for da 0x${da.toString(16)}, below the region; ${regionText}`);
        if (da - region.da + len > region.len) throw new RpmsgError('EINVAL', `Registered carveout doesn't fit len request: "${name}" at da 0x${da.toString(16)} (+0x${len.toString(16)}) runs past the region; ${regionText}`);
      }
      const offset = region.da - this.memory.base;
      if (!this.memory.contains(offset, region.len)) throw new RpmsgError('ENOMEM', `${regionText}, which lies outside the remote's memory`);
      const clash = this.overlaps(region.da, region.len);
      if (clash) throw new RpmsgError('ENOMEM', `${regionText}, which overlaps "${clash.name}" at 0x${clash.da.toString(16)}`);
      return this.insert({ name, da: region.da, len: region.len, offset });
    }
    if (da !== null) {
      const offset = da - this.memory.base;
      if (!this.memory.contains(offset, len)) {
        throw new RpmsgError('ENOMEM', `"${name}" at fixed da 0x${da.toString(16)} (+0x${len.toString(16)}) lies outside the remote's memory 0x${this.memory.base.toString(16)}..0x${(this.memory.base + this.memory.size).toString(16)}`);
      }
      const clash = this.overlaps(da, len);
      if (clash) throw new RpmsgError('ENOMEM', `"${name}" at fixed da 0x${da.toString(16)} overlaps "${clash.name}" at 0x${clash.da.toString(16)}`);
      return this.insert({ name, da, len, offset });
    }
    const size = pageAlign(len);
    let candidate = Math.ceil(this.poolStart / PAGE_SIZE) * PAGE_SIZE;
    for (;;) {
      if (candidate + size > this.poolEnd) {
        throw new RpmsgError('ENOMEM', `no room for "${name}" (0x${len.toString(16)} bytes) in the remote's memory; enlarge the shared region or shrink the vrings`);
      }
      const clash = this.overlaps(candidate, size) ?? avoid.find((range) => candidate < range.da + range.len && range.da < candidate + size);
      if (!clash) break;
      candidate = Math.ceil((clash.da + clash.len) / PAGE_SIZE) * PAGE_SIZE;
    }
    if (!this.memory.contains(candidate - this.memory.base, size)) {
      throw new RpmsgError('ENOMEM', `no room for "${name}" inside the shared region`);
    }
    return this.insert({ name, da: candidate, len: size, offset: candidate - this.memory.base });
  }

  /** Release the allocation named `name` (no-op if absent). */
  free(name: string): void {
    const at = this.entries.findIndex((entry) => entry.name === name);
    if (at >= 0) this.entries.splice(at, 1);
  }

  /** Release everything. */
  clear(): void {
    this.entries.length = 0;
  }
}
