/** The virtio transport over a resource-table vdev entry (drivers/remoteproc/remoteproc_virtio.c). */
import { ErrorCounters, RpmsgError } from '../../wire/errors.ts';
import type { SharedMemory } from '../../wire/shared-memory.ts';
import {
  VDEV_CONFIG_LEN, VDEV_DFEATURES, VDEV_GFEATURES, VDEV_NUM_OF_VRINGS, VDEV_STATUS, VRING_RSC_DA, vdevConfigOffset,
  vdevVringOffset,
} from '../../resource-table/layout.ts';
import type { HostLog } from '../log.ts';
import type { VirtioConfigOps, VirtqueueRequest } from '../virtio/virtio.ts';
import { Virtqueue } from '../virtio/virtqueue.ts';
import type { DeviceMemory, DeviceMemoryEntry } from './device-memory.ts';

/** Where rproc->table_ptr points: the cached copy before start, the loaded table after. */
export interface TablePointer {
  view: DataView;
  /** Offset of the table's first byte inside `view`. */
  offset: number;
}

/** One vring of an rproc vdev (struct rproc_vring). */
export interface RprocVring {
  num: number;
  align: number;
  notifyid: number;
  /** Its carveout "vdev<N>vring<i>". */
  memory: DeviceMemoryEntry | null;
  /** The virtqueue once the driver found it. */
  vq: Virtqueue<number> | null;
}

/** What a vdev needs from its rproc. */
export interface RprocVdevContext {
  tablePointer(): TablePointer;
  memory: SharedMemory;
  deviceMemory: DeviceMemory;
  kick(notifyid: number): void;
  /** Bracket memory access (see RprocOps.syncMemory). */
  access<T>(fn: () => T): T;
  counters: ErrorCounters;
  log: HostLog;
}

/** struct rproc_vdev plus rproc_virtio_config_ops. */
export class RprocVdev implements VirtioConfigOps {
  /** The DMA buffer pool handed to the driver, if allocated. */
  private buffers: DeviceMemoryEntry | null = null;

  constructor(
    private readonly context: RprocVdevContext,
    /** rvdev->index: the N of "vdev<N>vring<i>". */
    readonly index: number,
    /** Offset of the vdev entry's body (after the type word) in the table: rsc_offset. */
    readonly rscOffset: number,
    readonly id: number,
    readonly vrings: RprocVring[],
  ) {}

  /** Offset in the table view of a field given relative to the entry's type word. */
  private field(relativeToTypeWord: number): { view: DataView; at: number } {
    const table = this.context.tablePointer();
    return { view: table.view, at: table.offset + this.rscOffset - 4 + relativeToTypeWord };
  }

  getStatus(): number {
    const { view, at } = this.field(VDEV_STATUS);
    return view.getUint8(at);
  }

  setStatus(status: number): void {
    const { view, at } = this.field(VDEV_STATUS);
    view.setUint8(at, status);
  }

  reset(): void {
    this.setStatus(0);
  }

  getFeatures(): number {
    const { view, at } = this.field(VDEV_DFEATURES);
    return view.getUint32(at, true);
  }

  finalizeFeatures(features: number): void {
    const { view, at } = this.field(VDEV_GFEATURES);
    view.setUint32(at, features >>> 0, true);
  }

  /** rp_find_vq for each request: zero the ring, create the virtqueue, publish its da in the table. */
  findVqs(requests: VirtqueueRequest[], eventIdx: boolean): Virtqueue<number>[] {
    const created: Virtqueue<number>[] = [];
    try {
      requests.forEach((request, id) => {
        if (id >= 2) throw new RpmsgError('EINVAL', `vdev${this.index}: remoteproc supports two virtqueues per vdev, ${requests.length} requested`);
        const vring = this.vrings[id];
        const memory = vring?.memory;
        if (!vring || !memory) {
          throw new RpmsgError('ENOMEM', `vdev${this.index}: no vring ${id} in the resource table (num_of_vrings ${this.vrings.length}); the driver needs ${requests.length}`);
        }
        const vq = new Virtqueue<number>({
          index: id, name: request.name, num: vring.num, align: vring.align, memory: this.context.memory, offset: memory.offset,
          eventIdx, notify: () => this.context.kick(vring.notifyid), callback: request.callback, counters: this.context.counters,
        });
        vring.vq = vq;
        created.push(vq);
        const { view, at } = this.field(vdevVringOffset(id) + VRING_RSC_DA);
        view.setUint32(at, memory.da >>> 0, true);
      });
    } catch (error) {
      this.delVqs();
      throw error;
    }
    return created;
  }

  delVqs(): void {
    for (const vring of this.vrings) vring.vq = null;
  }

  getConfig(offset: number, length: number): Uint8Array {
    const { view, at } = this.field(VDEV_CONFIG_LEN);
    const configLen = view.getUint32(at, true);
    if (offset + length > configLen) throw new RpmsgError('EINVAL', `vdev${this.index}: config access ${offset}+${length} beyond config_len ${configLen}`);
    const { at: numAt } = this.field(VDEV_NUM_OF_VRINGS);
    const start = this.field(vdevConfigOffset(view.getUint8(numAt))).at + offset;
    // The remote can rewrite config_len and num_of_vrings in the loaded table: stay inside the view.
    if (offset < 0 || length < 0 || start + length > view.byteLength) {
      throw new RpmsgError('EFAULT', `vdev${this.index}: config access ${offset}+${length} falls outside the table's memory; the remote rewrote its vdev entry`);
    }
    return new Uint8Array(view.buffer, view.byteOffset + start, length).slice();
  }

  /** dma_alloc_coherent for the driver's buffers: the "vdev<N>buffer" region if the platform has one. */
  allocBuffers(length: number): DeviceMemoryEntry {
    this.buffers = this.context.deviceMemory.allocate(`vdev${this.index}buffer`, length, null);
    return this.buffers;
  }

  access<T>(fn: () => T): T {
    return this.context.access(fn);
  }

  errorCounters(): ErrorCounters {
    return this.context.counters;
  }

  sharedMemory(): SharedMemory {
    return this.context.memory;
  }

  /** dma_free_coherent of the driver's buffers. */
  freeBuffers(): void {
    if (this.buffers) this.context.deviceMemory.free(this.buffers.name);
    this.buffers = null;
  }
}
