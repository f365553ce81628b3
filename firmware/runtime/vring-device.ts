/** Device side of one split vring: takes the driver's buffers from avail, returns them on used. */
import { RpmsgError, type ErrorCounters } from '../../wire/errors.ts';
import type { SharedMemory } from '../../wire/shared-memory.ts';
import {
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_ADDR,
  VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT,
  VRING_DESC_FLAGS,
  VRING_DESC_LEN,
  VRING_DESC_SIZE,
  VRING_FLAGS,
  VRING_IDX,
  VRING_RING,
  VRING_USED_ELEM_SIZE,
  VRING_USED_F_NO_NOTIFY,
  availUsedEventOffset,
  usedAvailEventOffset,
  vringNeedEvent,
} from '../../wire/vring.ts';

/** Where a vring lives, as local offsets into the shared memory. */
export interface VringPlacement {
  num: number;
  notifyId: number;
  desc: number;
  avail: number;
  used: number;
}

/**
 * The device's view of a vring. Every index and address the driver wrote is checked before
 * use; the buffer found by takeAvailable() is reported through bufferOffset/bufferLength so
 * the message path allocates nothing.
 */
export class VringDevice {
  readonly num: number;
  readonly notifyId: number;
  private readonly memory: SharedMemory;
  private readonly view: DataView;
  private readonly counters: ErrorCounters;
  private readonly desc: number;
  private readonly avail: number;
  private readonly used: number;
  private readonly eventIndex: boolean;
  /** Next avail ring slot the device will read. */
  private lastAvail = 0;
  /** used.idx the device last published (kept locally: the driver may scribble on it). */
  private usedIndex = 0;
  /** used.idx when the driver was last notified, for EVENT_IDX. */
  private lastNotifiedUsed = 0;
  /** Local offset of the buffer found by the last successful takeAvailable(). */
  bufferOffset = 0;
  /** Length (desc.len) of that buffer. */
  bufferLength = 0;
  /** Set once the driver corrupted avail.idx (Linux: BAD_RING): the ring is not used until a host reset. */
  broken = false;

  constructor(memory: SharedMemory, placement: VringPlacement, eventIndex: boolean, counters: ErrorCounters) {
    this.memory = memory;
    this.view = memory.view;
    this.counters = counters;
    this.num = placement.num;
    this.notifyId = placement.notifyId;
    this.desc = placement.desc;
    this.avail = placement.avail;
    this.used = placement.used;
    this.eventIndex = eventIndex;
    // A ring the driver hands over starts empty; take over its used index as published.
    this.usedIndex = this.view.getUint16(this.used + VRING_IDX, true);
    this.lastAvail = this.usedIndex;
    this.lastNotifiedUsed = this.usedIndex;
  }

  /** How many buffers the driver has posted that the device has not taken. */
  pending(): number {
    if (this.broken) return 0;
    const pending = (this.view.getUint16(this.avail + VRING_IDX, true) - this.lastAvail) & 0xffff;
    if (pending > this.num) {
      // Skipping entries would hand back buffers the driver never posted: stop using the ring instead.
      this.broken = true;
      throw this.counters.record(
        'avail-index-corrupt',
        new RpmsgError('EIO', `vring ${this.notifyId}: avail.idx runs ${pending} entries ahead of the device, more than the ring's ${this.num}; the driver corrupted the ring; the ring is unused until the host resets the device (status 0)`),
      );
    }
    return pending;
  }

  /**
   * Peek at the next posted buffer without taking it: returns its descriptor head (and sets
   * bufferOffset/bufferLength), or -1 when none is posted. A malformed entry throws a counted
   * error; the caller then calls discard() so the ring keeps moving.
   */
  peekAvailable(): number {
    if (this.pending() === 0) return -1;
    const slot = this.lastAvail % this.num;
    const head = this.view.getUint16(this.avail + VRING_RING + 2 * slot, true);
    if (head >= this.num) {
      throw this.counters.record(
        'descriptor-index-out-of-range',
        new RpmsgError('EIO', `vring ${this.notifyId}: avail ring names descriptor ${head}, but the ring has only ${this.num}; the driver corrupted the ring`),
      );
    }
    const descriptor = this.desc + head * VRING_DESC_SIZE;
    const flags = this.view.getUint16(descriptor + VRING_DESC_FLAGS, true);
    if ((flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT)) !== 0) {
      throw this.counters.record(
        'descriptor-chain-refused',
        new RpmsgError('EINVAL', `vring ${this.notifyId}: descriptor ${head} is chained or indirect (flags 0x${flags.toString(16)}); rpmsg buffers are single descriptors`),
      );
    }
    const addressHigh = this.view.getUint32(descriptor + VRING_DESC_ADDR + 4, true);
    const address = this.view.getUint32(descriptor + VRING_DESC_ADDR, true);
    const length = this.view.getUint32(descriptor + VRING_DESC_LEN, true);
    if (addressHigh !== 0) {
      throw this.counters.record(
        'address-outside-region',
        new RpmsgError('EFAULT', `vring ${this.notifyId}: descriptor ${head} address 0x${addressHigh.toString(16)}${address.toString(16).padStart(8, '0')} is above 4 GiB, outside the shared region`),
      );
    }
    const offset = address - this.memory.base;
    // The description is built only on failure: the message path allocates nothing.
    if (!this.memory.contains(offset, length)) throw this.memory.refuse(address, length, `vring ${this.notifyId} descriptor ${head} buffer`, this.counters);
    this.bufferOffset = offset;
    this.bufferLength = length;
    return head;
  }

  /** Take the buffer that peekAvailable() returned. */
  take(): void {
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
  }

  /** Skip a malformed avail entry: return its head (if valid) with length 0 so it is not lost. */
  discard(): void {
    if (this.broken) return;
    const slot = this.lastAvail % this.num;
    const head = this.view.getUint16(this.avail + VRING_RING + 2 * slot, true);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (head < this.num) this.pushUsed(head, 0);
  }

  /** Return buffer `head` to the driver with `length` bytes written. */
  pushUsed(head: number, length: number): void {
    const slot = this.usedIndex % this.num;
    const element = this.used + VRING_RING + slot * VRING_USED_ELEM_SIZE;
    this.view.setUint32(element, head, true);
    this.view.setUint32(element + 4, length, true);
    // The element must be visible before the index; JS stores to shared memory are in order.
    this.usedIndex = (this.usedIndex + 1) & 0xffff;
    this.view.setUint16(this.used + VRING_IDX, this.usedIndex, true);
    if (this.eventIndex) {
      this.view.setUint16(this.used + usedAvailEventOffset(this.num), this.lastAvail, true);
    }
  }

  /** Does the driver want an interrupt for the buffers returned since the last notify? */
  shouldNotify(): boolean {
    if (this.usedIndex === this.lastNotifiedUsed) return false;
    let wanted: boolean;
    if (this.eventIndex) {
      const usedEvent = this.view.getUint16(this.avail + availUsedEventOffset(this.num), true);
      wanted = vringNeedEvent(usedEvent, this.usedIndex, this.lastNotifiedUsed);
    } else {
      wanted = (this.view.getUint16(this.avail + VRING_FLAGS, true) & VRING_AVAIL_F_NO_INTERRUPT) === 0;
    }
    this.lastNotifiedUsed = this.usedIndex;
    return wanted;
  }

  /** Ask the driver not to kick this ring (VRING_USED_F_NO_NOTIFY), or allow kicks again. */
  setKicksWanted(wanted: boolean): void {
    const flags = this.view.getUint16(this.used + VRING_FLAGS, true);
    this.view.setUint16(this.used + VRING_FLAGS, wanted ? flags & ~VRING_USED_F_NO_NOTIFY : flags | VRING_USED_F_NO_NOTIFY, true);
  }
}
