/** The virtio transport of a remoteproc remote: the vdev entry of its own resource table. */
import { RpmsgError, type ErrorCounters } from '../../../wire/errors.ts';
import type { SharedMemory } from '../../../wire/shared-memory.ts';
import { vringLayout, isValidVringNum } from '../../../wire/vring.ts';
import { TRACE_DA, TRACE_LEN, VDEV_NUM_OF_VRINGS, VDEV_STATUS, VIRTIO_CONFIG_S_DRIVER_OK } from '../../../resource-table/layout.ts';
import {
  readVdevGfeatures,
  readVringAlign,
  readVringDa,
  readVringNotifyid,
  readVringNum,
  walkResourceTable,
} from '../../../resource-table/in-place.ts';
import type { DeviceConfiguration } from './device-configuration.ts';
import { checkVringAlignment, type VringPlacement } from './vring-device.ts';

/** Where the runtime's resources sit in its own table (local offsets into shared memory). */
export interface OwnResources {
  /** Offset of the rpmsg vdev entry's type word. */
  vdev: number;
  /** Offset and length of the trace buffer, or null when the table has no trace entry. */
  trace: { offset: number; length: number } | null;
}

/**
 * Reads the remote's own resource table in place. The host writes vring da, gfeatures and
 * status into it, so every value is read as if a stranger wrote it.
 */
export class RemoteprocTransport {
  private readonly memory: SharedMemory;
  private readonly counters: ErrorCounters;
  private readonly vdev: number;
  /** Offset of the vdev status byte (read at every service pass). */
  readonly statusOffset: number;
  /** Where the trace buffer is (found at boot from the firmware's own table). */
  readonly trace: { offset: number; length: number } | null;

  constructor(memory: SharedMemory, tableOffset: number, counters: ErrorCounters) {
    this.memory = memory;
    this.counters = counters;
    const found = findOwnResources(memory, tableOffset, counters);
    this.vdev = found.vdev;
    this.statusOffset = found.vdev + VDEV_STATUS;
    this.trace = found.trace;
  }

  /** The vdev status byte the host last wrote. */
  status(): number {
    return this.memory.bytes[this.statusOffset];
  }

  /** Answer a NEEDS_RESET request (OpenAMP's host): the device writes 0, which the host waits for. */
  acknowledgeReset(): void {
    this.memory.bytes[this.statusOffset] = 0;
  }

  /** True once the host set DRIVER_OK (OpenAMP hosts write 0x04 alone, Linux 0x07). */
  driverReady(): boolean {
    return (this.status() & VIRTIO_CONFIG_S_DRIVER_OK) !== 0;
  }

  /** Read gfeatures and both vrings as the host set them; refuse anything outside memory. */
  configuration(): DeviceConfiguration {
    return {
      features: readVdevGfeatures(this.memory.view, this.vdev),
      transmit: this.vring(0),
      receive: this.vring(1),
    };
  }

  private vring(index: number): VringPlacement {
    const view = this.memory.view;
    const da = readVringDa(view, this.vdev, index);
    const align = readVringAlign(view, this.vdev, index);
    const num = readVringNum(view, this.vdev, index);
    const notifyId = readVringNotifyid(view, this.vdev, index);
    if (!isValidVringNum(num) || align === 0 || (align & (align - 1)) !== 0) {
      throw this.counters.record('vring-malformed', new RpmsgError('EINVAL', `vdev vring ${index}: num ${num} / align ${align} must be powers of two; fix the resource table`));
    }
    if (da % align !== 0) {
      // The used ring sits at an offset rounded up from the ring's start; Linux rounds the absolute
      // address, so the two agree only when the ring itself is aligned (vring_init on both sides).
      throw this.counters.record('vring-misaligned', new RpmsgError('EINVAL', `vdev vring ${index}: da 0x${da.toString(16)} is not a multiple of its align ${align}; the host and the remote would place the used ring differently`));
    }
    const layout = vringLayout(num, align);
    const desc = this.memory.translate(da, layout.size, `vdev vring ${index} (da)`, this.counters);
    const placement = { num, notifyId, desc, avail: desc + layout.avail, used: desc + layout.used };
    checkVringAlignment(this.memory, placement, `vdev vring ${index} (da 0x${da.toString(16)}, align ${align})`, this.counters);
    return placement;
  }
}

/** Find the rpmsg vdev and the trace entry in the firmware's own table: a strict walk, every problem refused with a named error. */
export function findOwnResources(memory: SharedMemory, table: number, counters: ErrorCounters): OwnResources {
  const view = memory.view;
  const refuse = (reason: string, message: string): never => {
    throw counters.record(reason, new RpmsgError('EINVAL', `own resource table at offset 0x${table.toString(16)}: ${message}`));
  };
  const found = walkResourceTable(view, table, memory.size - table, { refuse });
  if (found.vdev < 0) refuse('no-rpmsg-vdev', 'has no VDEV entry with id 7 (rpmsg); generate it from manifest.json');
  const vrings = view.getUint8(found.vdev + VDEV_NUM_OF_VRINGS);
  if (vrings !== 2) refuse('vdev-vrings', `rpmsg vdev entry has ${vrings} vrings; rpmsg needs 2`);
  let trace: OwnResources['trace'] = null;
  if (found.trace >= 0) {
    const length = view.getUint32(found.trace + TRACE_LEN, true);
    trace = { offset: memory.translate(view.getUint32(found.trace + TRACE_DA, true), length, 'trace entry buffer', counters), length };
  }
  return { vdev: found.vdev, trace };
}
