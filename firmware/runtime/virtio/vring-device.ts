/** Device side of one split vring: takes the driver's buffers from avail, returns them on used. */
import { RpmsgError, type ErrorCounters } from '../../../wire/errors.ts';
import type { SharedMemory } from '../../../wire/shared-memory.ts';
import type { PlatformCommon } from '../platform.ts';
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
} from '../../../wire/vring.ts';

// The byte offsets of wire/vring.ts as element indexes of the u16 (>> 1) and u32 (>> 2) views.
/** avail and used, as u16: flags, idx, first avail ring entry. */
const FLAGS_HALF = VRING_FLAGS >> 1;
const IDX_HALF = VRING_IDX >> 1;
const AVAIL_RING_HALF = VRING_RING >> 1;
/** used, as u32: first element, u32s per element (id, then len). */
const USED_RING_WORD = VRING_RING >> 2;
const USED_ELEM_WORDS = VRING_USED_ELEM_SIZE >> 2;
/** A descriptor, as u32: its size, addr low, addr high, len; as u16: its size, flags. */
const DESC_WORDS = VRING_DESC_SIZE >> 2;
const DESC_ADDR_WORD = VRING_DESC_ADDR >> 2;
const DESC_LEN_WORD = VRING_DESC_LEN >> 2;
const DESC_HALVES = VRING_DESC_SIZE >> 1;
const DESC_FLAGS_HALF = VRING_DESC_FLAGS >> 1;

/** The platform's memory-ordering hooks a vring uses (the barrier, and the cache hooks of a cached window). */
export type MemoryOrdering = Pick<PlatformCommon, 'barrier' | 'cacheClean' | 'cacheInvalidate'>;

/** No ordering hooks: for a ring read and written by one thread (tests, in-process). */
const PROGRAM_ORDER: MemoryOrdering = { barrier() {} };

/** Where a vring lives, as local offsets into the shared memory. */
export interface VringPlacement {
  /** Take the ring's indexes over from used.idx in memory (vhost-user) instead of starting at 0. */
  adoptIndexes?: boolean;
  num: number;
  notifyId: number;
  desc: number;
  avail: number;
  used: number;
}

/**
 * Refuse a placement whose parts are not aligned as the virtio spec requires (desc table 16 bytes,
 * avail 2, used 4): the device reads them through Uint16Array/Uint32Array views, which need it.
 */
export function checkVringAlignment(memory: SharedMemory, placement: VringPlacement, what: string, counters: ErrorCounters): void {
  const start = memory.bytes.byteOffset;
  if (((start + placement.desc) & 15) !== 0 || ((start + placement.avail) & 1) !== 0 || ((start + placement.used) & 3) !== 0) {
    throw counters.record(
      'vring-misaligned',
      new RpmsgError('EINVAL', `${what}: desc/avail/used at offsets 0x${placement.desc.toString(16)}/0x${placement.avail.toString(16)}/0x${placement.used.toString(16)} are not 16/2/4-byte aligned as virtio requires`),
    );
  }
}

/**
 * The device's view of a vring. Every index and address the driver wrote is checked before
 * use; the buffer found by takeAvailable() is reported through bufferOffset/bufferLength so
 * the message path allocates nothing.
 *
 * The ring's fields are read through little-endian typed-array views (every supported CPU is
 * little-endian, WIRE.md): on XS an indexed typed-array access is much cheaper than a DataView
 * method call. XS finds a property by walking the object's list in creation order, so the
 * fields used on every message are declared (and assigned) first.
 */
export class VringDevice {
  // The fields below without `private` are also read and written inline by the rpmsg message path
  // (firmware/runtime/rpmsg/message-path.ts), which makes every check takeAvailable() makes.
  /** Local offset of the buffer found by the last successful takeAvailable(). */
  bufferOffset = 0;
  /** Length (desc.len) of that buffer. */
  bufferLength = 0;
  /** Next avail ring slot the device will read (free-running, 16 bits). */
  lastAvail = 0;
  /** used.idx the device last published (kept locally: the driver may scribble on it). */
  usedIndex = 0;
  /** num - 1: num is a power of two, so `index & mask` is the ring slot. */
  readonly mask: number;
  /** avail as u16: flags, idx, ring[num], used_event. */
  readonly availHalves: Uint16Array;
  /** used as u16: flags, idx, then (after the elements) avail_event. */
  readonly usedHalves: Uint16Array;
  /** used as u32: flags and idx, then ring[num] of {id, len}. */
  readonly usedWords: Uint32Array;
  /** The descriptor table as u32 (addr low, addr high, len, flags and next). */
  readonly descWords: Uint32Array;
  /** The descriptor table as u16 (for flags). */
  readonly descHalves: Uint16Array;
  /**
   * The platform's full memory barrier, called as a method of this ring (the hook must not use
   * `this`): a field (after the ring views, which are used more), and no wrapper call on the
   * message path. CachedVringDevice puts its cache maintenance in it.
   */
  protected barrier: () => void;
  /** used.idx when the driver was last notified, for EVENT_IDX. */
  lastNotifiedUsed = 0;
  /** Set once the driver corrupted avail.idx (Linux: BAD_RING), or re-initialised the ring under us: not used until a host reset. */
  broken = false;
  /** avail.idx was seen behind lastAvail: the driver started counting afresh (see corrupted). */
  private restarted = false;
  /** Whether the driver's kicks are wanted (VRING_USED_F_NO_NOTIFY clear; with EVENT_IDX, avail_event kept at lastAvail). */
  kicksWanted = true;
  /** Local offsets of avail, used and the descriptor table (for CachedVringDevice). */
  protected readonly availOffset: number;
  protected readonly usedOffset: number;
  protected readonly descOffset: number;
  readonly num: number;
  readonly notifyId: number;
  private readonly memory: SharedMemory;
  private readonly counters: ErrorCounters;
  /** VIRTIO_RING_F_EVENT_IDX was negotiated. */
  readonly eventIndex: boolean;
  /** EVENT_IDX fields: avail.used_event and used.avail_event, as u16 indexes. */
  readonly usedEventHalf: number;
  readonly availEventHalf: number;
  /** Where takeValid() reports the malformed entries it skips. */
  private readonly report: (error: unknown) => void;

  constructor(
    memory: SharedMemory,
    placement: VringPlacement,
    eventIndex: boolean,
    counters: ErrorCounters,
    report: (error: unknown) => void = () => {},
    ordering: MemoryOrdering = PROGRAM_ORDER,
  ) {
    checkVringAlignment(memory, placement, `vring ${placement.notifyId}`, counters);
    const num = placement.num;

    const buffer = memory.bytes.buffer;
    const start = memory.bytes.byteOffset;
    this.mask = num - 1;
    this.availHalves = new Uint16Array(buffer, start + placement.avail, (availUsedEventOffset(num) >> 1) + 1);
    this.usedHalves = new Uint16Array(buffer, start + placement.used, (usedAvailEventOffset(num) >> 1) + 1);
    this.usedWords = new Uint32Array(buffer, start + placement.used, usedAvailEventOffset(num) >> 2);
    this.descWords = new Uint32Array(buffer, start + placement.desc, DESC_WORDS * num);
    this.descHalves = new Uint16Array(buffer, start + placement.desc, DESC_HALVES * num);
    this.barrier = ordering.barrier;
    this.availOffset = placement.avail;
    this.usedOffset = placement.used;
    this.descOffset = placement.desc;
    this.usedEventHalf = availUsedEventOffset(num) >> 1;
    this.availEventHalf = usedAvailEventOffset(num) >> 1;
    this.num = num;
    this.notifyId = placement.notifyId;
    this.memory = memory;
    this.counters = counters;
    this.eventIndex = eventIndex;
    this.report = report;
    // A ring the driver hands over starts empty. A remoteproc host has just set it up (Linux's
    // rp_find_vq zeroes it): both indexes start at 0, whatever the memory still holds (a late write
    // of the device's previous session). A vhost-user frontend may hand over a ring with a base:
    // its used index is taken over as published.
    this.usedIndex = placement.adoptIndexes === true ? this.usedHalves[IDX_HALF] : 0;
    if (this.usedHalves[IDX_HALF] !== this.usedIndex) this.usedHalves[IDX_HALF] = this.usedIndex;
    this.lastAvail = this.usedIndex;
    this.lastNotifiedUsed = this.usedIndex;
    this.setKicksWanted(true);
  }

  // The message path's methods first: XS finds a method by walking the prototype's list in order.

  /**
   * Take the next posted buffer: returns its descriptor head (and sets bufferOffset and
   * bufferLength), or -1 when none is posted. A malformed entry throws a counted error and is
   * not taken; the caller then calls discard() so the ring keeps moving.
   */
  takeAvailable(): number {
    if (this.broken) return -1;
    const lastAvail = this.lastAvail;
    const pending = (this.availHalves[IDX_HALF] - lastAvail) & 0xffff;
    if (pending === 0) return -1;
    if (pending > this.num) throw this.corrupted(pending);
    // The entry and its descriptor only after avail.idx (Linux's vhost: smp_rmb after reading avail->idx).
    this.barrier();
    const slot = lastAvail & this.mask;
    const head = this.availHalves[AVAIL_RING_HALF + slot];
    if (head >= this.num) {
      throw this.counters.record(
        'descriptor-index-out-of-range',
        new RpmsgError('EIO', `vring ${this.notifyId}: avail ring names descriptor ${head}, but the ring has only ${this.num}; the driver corrupted the ring`),
      );
    }
    const flags = this.descHalves[DESC_HALVES * head + DESC_FLAGS_HALF];
    if ((flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT)) !== 0) {
      throw this.counters.record(
        'descriptor-chain-refused',
        new RpmsgError('EINVAL', `vring ${this.notifyId}: descriptor ${head} is chained or indirect (flags 0x${flags.toString(16)}); rpmsg buffers are single descriptors`),
      );
    }
    const words = this.descWords;
    const descriptor = DESC_WORDS * head;
    const address = words[descriptor + DESC_ADDR_WORD];
    const addressHigh = words[descriptor + DESC_ADDR_WORD + 1];
    const length = words[descriptor + DESC_LEN_WORD];
    if (addressHigh !== 0) {
      throw this.counters.record(
        'address-outside-region',
        new RpmsgError('EFAULT', `vring ${this.notifyId}: descriptor ${head} address 0x${addressHigh.toString(16)}${address.toString(16).padStart(8, '0')} is above 4 GiB, outside the shared region`),
      );
    }
    const memory = this.memory;
    const offset = address - memory.base;
    // memory.contains(offset, length) written out (length is a u32, never negative): one call fewer per
    // message. The description is built only on failure: the message path allocates nothing.
    if (offset < 0 || offset > memory.size || length > memory.size - offset) throw memory.refuse(address, length, `vring ${this.notifyId} descriptor ${head} buffer`, this.counters);
    this.bufferOffset = offset;
    this.bufferLength = length;
    this.lastAvail = (lastAvail + 1) & 0xffff;
    return head;
  }

  /**
   * Take the next well-formed posted buffer, or -1: each malformed entry on the way is reported
   * (already counted by takeAvailable) and discarded, so the ring keeps moving.
   */
  takeValid(): number {
    for (;;) {
      try {
        return this.takeAvailable();
      } catch (error) {
        this.report(error);
        this.discard();
      }
    }
  }

  /** Return buffer `head` to the driver with `length` bytes written. */
  pushUsed(head: number, length: number): void {
    const usedIndex = this.usedIndex;
    const element = USED_RING_WORD + USED_ELEM_WORDS * (usedIndex & this.mask);
    this.usedWords[element] = head;
    this.usedWords[element + 1] = length;
    // The element before the index (OpenAMP: atomic_thread_fence before used->idx; Linux's vhost: smp_wmb).
    this.barrier();
    this.usedIndex = (usedIndex + 1) & 0xffff;
    this.usedHalves[IDX_HALF] = this.usedIndex;
  }

  /** Does the driver want an interrupt for the buffers returned since the last notify? */
  shouldNotify(): boolean {
    const usedIndex = this.usedIndex;
    if (usedIndex === this.lastNotifiedUsed) return false;
    // used.idx out before the driver's fields are read (Linux's vhost_notify: smp_mb; OpenAMP: vq_ring_must_notify after a fence).
    this.barrier();
    let wanted: boolean;
    if (this.eventIndex) {
      wanted = vringNeedEvent(this.availHalves[this.usedEventHalf], usedIndex, this.lastNotifiedUsed);
    } else {
      wanted = (this.availHalves[FLAGS_HALF] & VRING_AVAIL_F_NO_INTERRUPT) === 0;
    }
    this.lastNotifiedUsed = usedIndex;
    return wanted;
  }

  /** How many buffers the driver has posted that the device has not taken. */
  pending(): number {
    if (this.broken) return 0;
    const pending = (this.availHalves[IDX_HALF] - this.lastAvail) & 0xffff;
    if (pending > this.num) throw this.corrupted(pending);
    return pending;
  }

  /** avail.idx ran more than num ahead: stop using the ring (skipping entries would hand back buffers the driver never posted). */
  private corrupted(pending: number): RpmsgError {
    this.broken = true;
    // avail.idx behind the entries already taken, at a count a fresh driver reaches (<= num): a
    // driver never moves it back, so it counts afresh (a garbage value stays plain corruption).
    if (pending > 0x8000 && this.availHalves[IDX_HALF] <= this.num) this.restarted = true;
    if (this.reinitialised()) {
      // Not the driver's fault: it set the ring up afresh (a reset we did not see); the runtime resets at its next look.
      return new RpmsgError('ECONNRESET', `vring ${this.notifyId}: the host re-initialised the ring (used.idx reads ${this.usedHalves[IDX_HALF]}, this device published ${this.usedIndex}); treated as a host reset`);
    }
    return this.counters.record(
      'avail-index-corrupt',
      new RpmsgError('EIO', `vring ${this.notifyId}: avail.idx runs ${pending} entries ahead of the device, more than the ring's ${this.num}; the driver corrupted the ring; the ring is unused until the host resets the device (status 0)`),
    );
  }

  /** Skip a malformed avail entry: return its head (if valid) with length 0 so it is not lost. */
  discard(): void {
    if (this.broken) return;
    const head = this.availHalves[AVAIL_RING_HALF + (this.lastAvail & this.mask)];
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (head < this.num) this.pushUsed(head, 0);
  }

  /**
   * Ask the driver not to kick this ring, or to kick it again. Without EVENT_IDX: used.flags =
   * VRING_USED_F_NO_NOTIFY or 0 (the device owns used.flags; no other flag is defined). With
   * EVENT_IDX (the driver then ignores the flag): used.avail_event = the next entry we will read,
   * or, to suppress, num + 1 entries behind it, so vring_need_event stays false for any batch the
   * driver can post (OpenAMP's vq_ring_enable_interrupt / virtqueue_disable_cb for the device role).
   */
  setKicksWanted(wanted: boolean): void {
    this.kicksWanted = wanted;
    if (this.eventIndex) {
      this.usedHalves[this.availEventHalf] = wanted ? this.lastAvail : (this.lastAvail - this.num - 1) & 0xffff;
    } else {
      this.usedHalves[FLAGS_HALF] = wanted ? 0 : VRING_USED_F_NO_NOTIFY;
    }
  }

  /**
   * Turn the driver's kicks back on; the caller then looks at the ring again. The barrier between
   * the two is what closes the store-buffer race (both sides miss the other's write and nobody kicks):
   * Linux's virtqueue_enable_cb and OpenAMP's vq_ring_enable_interrupt do the same.
   */
  enableKicks(): void {
    this.setKicksWanted(true);
    this.barrier();
  }

  /**
   * True when used.idx in memory is not what this device last published. The driver never writes
   * used.idx, so the ring was set up afresh (Linux's rp_find_vq zeroes it at every probe): a host
   * reset the status byte did not show (unbind and rebind between two looks).
   */
  reinitialised(): boolean {
    if (this.restarted) return true;
    return this.usedHalves[IDX_HALF] !== this.usedIndex;
  }
}

/**
 * A vring in a cached window (the platform has cacheClean and cacheInvalidate: OpenAMP's
 * VIRTIO_CACHED_VRINGS). Its barrier also writes the used ring back and drops cached copies of
 * the avail ring and the descriptor table, so every point where the base class fences is also
 * where the cache is kept right: after reading avail.idx (before the entry and its descriptor),
 * between the used element and used.idx, before the driver's notification fields are read, and
 * between enabling kicks and the re-check. avail.idx and used.idx are invalidated before they are
 * read. A subclass, so a coherent window (every target today) pays nothing for it.
 */
export class CachedVringDevice extends VringDevice {
  private readonly hooks: Required<MemoryOrdering>;
  private readonly availBytes: number;
  private readonly usedBytes: number;

  constructor(memory: SharedMemory, placement: VringPlacement, eventIndex: boolean, counters: ErrorCounters, report: (error: unknown) => void, ordering: Required<MemoryOrdering>) {
    super(memory, placement, eventIndex, counters, report, ordering);
    this.hooks = ordering;
    this.availBytes = availUsedEventOffset(placement.num) + 2;
    this.usedBytes = usedAvailEventOffset(placement.num) + 2;
    const fence = ordering.barrier;
    this.barrier = () => {
      fence.call(ordering);
      ordering.cacheClean(this.usedOffset, this.usedBytes);
      ordering.cacheInvalidate(this.availOffset, this.availBytes);
      ordering.cacheInvalidate(this.descOffset, VRING_DESC_SIZE * this.num);
    };
    // What the base constructor wrote (used.idx, the kick setting) out to memory.
    ordering.cacheClean(this.usedOffset, this.usedBytes);
  }

  override takeAvailable(): number {
    this.hooks.cacheInvalidate(this.availOffset + VRING_IDX, 2);
    return super.takeAvailable();
  }

  override pending(): number {
    this.hooks.cacheInvalidate(this.availOffset + VRING_IDX, 2);
    return super.pending();
  }

  override reinitialised(): boolean {
    this.hooks.cacheInvalidate(this.usedOffset + VRING_IDX, 2);
    return super.reinitialised();
  }
}
