/** Driver side of a legacy split virtqueue, as drivers/virtio/virtio_ring.c does it (no indirect, one descriptor per buffer). */
import { ErrorCounters, RpmsgError } from '../../wire/errors.ts';
import type { SharedMemory } from '../../wire/shared-memory.ts';
import {
  VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_ADDR, VRING_DESC_F_WRITE, VRING_DESC_FLAGS, VRING_DESC_LEN, VRING_DESC_NEXT,
  VRING_DESC_SIZE, VRING_FLAGS, VRING_IDX, VRING_RING, VRING_USED_ELEM_SIZE, VRING_USED_F_NO_NOTIFY,
  availUsedEventOffset, isValidVringNum, usedAvailEventOffset, vringLayout, vringNeedEvent, type VringLayout,
} from '../../wire/vring.ts';

/** What a virtqueue needs from its device. */
export interface VirtqueueOptions {
  /** Queue index inside its device (0 = rpmsg rx, 1 = rpmsg tx). */
  index: number;
  name: string;
  num: number;
  align: number;
  /** The shared region and the local offset of the ring's first byte (zeroed here, as rp_find_vq does). */
  memory: SharedMemory;
  offset: number;
  /** VIRTIO_RING_F_EVENT_IDX was negotiated. */
  eventIdx: boolean;
  /** Ring the device's doorbell (rproc_virtio_notify -> ops.kick(notifyid)). */
  notify: () => void;
  /** Called from interrupt() when the device used buffers; null = "don't interrupt me". */
  callback: (() => void) | null;
  /** Where refusals of bad device input are counted. */
  counters: ErrorCounters;
}

/** A buffer the device returned. */
export interface UsedBuffer<Token> {
  token: Token;
  /** used.len as written by the device (untrusted). */
  len: number;
}

/**
 * One split ring. The host keeps its own record of every descriptor it gave out (the token),
 * so it never trusts descriptor contents read back from shared memory: only used.id (range- and
 * head-checked, else the ring is marked broken as BAD_RING does) and used.len.
 */
export class Virtqueue<Token> {
  readonly index: number;
  readonly name: string;
  readonly num: number;
  readonly layout: VringLayout;
  /** True after the device returned a bad id: every later operation fails, as in Linux. */
  broken = false;
  /** Free descriptors. */
  numFree: number;
  private readonly memory: SharedMemory;
  private readonly view: DataView;
  private readonly desc: number;
  private readonly avail: number;
  private readonly used: number;
  private readonly eventIdx: boolean;
  private readonly notifyDevice: () => void;
  private readonly callback: (() => void) | null;
  private readonly counters: ErrorCounters;
  /** desc_state[i].data: the token of the buffer whose head is i, or undefined. */
  private readonly tokens: (Token | undefined)[];
  /** desc_extra[i].next: the host's private free list. */
  private readonly nextFree: number[];
  private freeHead = 0;
  private availIdxShadow = 0;
  private availFlagsShadow = 0;
  private lastUsedIdx = 0;
  private numAdded = 0;
  private eventTriggered = false;

  constructor(options: VirtqueueOptions) {
    if (!isValidVringNum(options.num)) {
      // Linux 6.x's vring_new_virtqueue (remoteproc's path) has no power-of-two check; the refusal is ours.
      throw new RpmsgError('ENOMEM', `vring ${options.index} (${options.name}): num ${options.num} is not a power of two up to 32768. Linux 6.x accepts it (vring_new_virtqueue does not check), but its split ring then finds slots by masking indexes with num - 1, so buffers land in the wrong slots; this host refuses it. Use a power of two in the resource table`);
    }
    this.index = options.index;
    this.name = options.name;
    this.num = options.num;
    this.layout = vringLayout(options.num, options.align);
    this.memory = options.memory;
    if (!this.memory.contains(options.offset, this.layout.size)) {
      throw new RpmsgError('ENOMEM', `vring ${options.index} (${options.name}) of ${this.layout.size} bytes at offset 0x${options.offset.toString(16)} does not fit the shared region`);
    }
    this.view = this.memory.view;
    this.desc = options.offset + this.layout.desc;
    this.avail = options.offset + this.layout.avail;
    this.used = options.offset + this.layout.used;
    this.eventIdx = options.eventIdx;
    this.notifyDevice = options.notify;
    this.callback = options.callback;
    this.counters = options.counters;
    this.tokens = new Array(options.num).fill(undefined);
    this.nextFree = Array.from({ length: options.num }, (_, i) => i + 1);
    this.numFree = options.num;
    this.memory.bytes.fill(0, options.offset, options.offset + this.layout.size);
    if (this.callback === null) {
      // No callback? Tell the other side not to bother us.
      this.availFlagsShadow |= VRING_AVAIL_F_NO_INTERRUPT;
      if (!this.eventIdx) this.view.setUint16(this.avail + VRING_FLAGS, this.availFlagsShadow, true);
    }
  }

  /** Expose a buffer the device may write (virtqueue_add_inbuf). */
  addInbuf(address: number, length: number, token: Token): void {
    this.add(address, length, VRING_DESC_F_WRITE, token, false);
  }

  /** Expose a buffer the device reads (virtqueue_add_outbuf). */
  addOutbuf(address: number, length: number, token: Token): void {
    this.add(address, length, 0, token, true);
  }

  private add(address: number, length: number, flags: number, token: Token, out: boolean): void {
    if (this.broken) throw new RpmsgError('EIO', `virtqueue ${this.name} is broken after bad input from the device; restart the remote`);
    if (this.numFree < 1) {
      // Linux forces a notify when an outgoing buffer does not fit.
      if (out) this.notifyDevice();
      throw new RpmsgError('ENOSPC', `virtqueue ${this.name} has no free descriptor`);
    }
    const head = this.freeHead;
    const d = this.desc + head * VRING_DESC_SIZE;
    this.view.setUint16(d + VRING_DESC_FLAGS, flags, true);
    this.view.setUint32(d + VRING_DESC_ADDR, address >>> 0, true);
    this.view.setUint32(d + VRING_DESC_ADDR + 4, Math.floor(address / 0x100000000) >>> 0, true);
    this.view.setUint32(d + VRING_DESC_LEN, length >>> 0, true);
    this.view.setUint16(d + VRING_DESC_NEXT, this.nextFree[head] & 0xffff, true);
    this.freeHead = this.nextFree[head];
    this.numFree--;
    this.tokens[head] = token;
    const slot = this.availIdxShadow & (this.num - 1);
    this.view.setUint16(this.avail + VRING_RING + 2 * slot, head, true);
    this.availIdxShadow = (this.availIdxShadow + 1) & 0xffff;
    this.view.setUint16(this.avail + VRING_IDX, this.availIdxShadow, true);
    this.numAdded++;
    if (this.numAdded === 0xffff) this.kick();
  }

  /** virtqueue_kick_prepare: does the device want a notification for what was added since the last one? */
  kickPrepare(): boolean {
    const newIdx = this.availIdxShadow;
    const oldIdx = (newIdx - this.numAdded) & 0xffff;
    this.numAdded = 0;
    if (this.eventIdx) {
      const availEvent = this.view.getUint16(this.used + usedAvailEventOffset(this.num), true);
      return vringNeedEvent(availEvent, newIdx, oldIdx);
    }
    return (this.view.getUint16(this.used + VRING_FLAGS, true) & VRING_USED_F_NO_NOTIFY) === 0;
  }

  /** virtqueue_notify: ring the doorbell unconditionally. */
  notify(): boolean {
    if (this.broken) return false;
    this.notifyDevice();
    return true;
  }

  /** virtqueue_kick: notify if the device asked for it. True when a notification was sent. */
  kick(): boolean {
    if (this.kickPrepare()) return this.notify();
    return false;
  }

  /** more_used(): the device returned buffers the host has not collected. */
  moreUsed(): boolean {
    return this.lastUsedIdx !== this.view.getUint16(this.used + VRING_IDX, true);
  }

  /**
   * virtqueue_get_buf: the next buffer the device returned, or null (none, or the ring is
   * broken). A used.id out of range or not a head the host gave out breaks the ring, counted.
   */
  getBuf(): UsedBuffer<Token> | null {
    if (this.broken || !this.moreUsed()) return null;
    const slot = this.lastUsedIdx & (this.num - 1);
    const element = this.used + VRING_RING + VRING_USED_ELEM_SIZE * slot;
    const id = this.view.getUint32(element, true);
    const len = this.view.getUint32(element + 4, true);
    if (id >= this.num) {
      this.breakRing('used-id-out-of-range', `used.ring[${slot}].id = ${id} is out of range (num ${this.num})`);
      return null;
    }
    const token = this.tokens[id];
    if (token === undefined) {
      this.breakRing('used-id-not-a-head', `used.ring[${slot}].id = ${id} is not a head the host gave out`);
      return null;
    }
    this.tokens[id] = undefined;
    this.nextFree[id] = this.freeHead;
    this.freeHead = id;
    this.numFree++;
    this.lastUsedIdx = (this.lastUsedIdx + 1) & 0xffff;
    // Ask for an interrupt at the next entry unless callbacks are off (Linux 6.1's
    // virtqueue_get_buf_ctx_split tests avail_flags_shadow only; event_triggered matters to disable_cb).
    if ((this.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) === 0) {
      this.view.setUint16(this.avail + availUsedEventOffset(this.num), this.lastUsedIdx, true);
    }
    return { token, len };
  }

  private breakRing(reason: string, detail: string): void {
    this.broken = true;
    this.counters.record(reason, new RpmsgError('EIO', `virtqueue ${this.name}: ${detail}; the ring is now broken (BAD_RING), restart the remote`));
  }

  /** virtqueue_disable_cb: ask the device not to interrupt (a hint). */
  disableCb(): void {
    if ((this.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) === 0) {
      this.availFlagsShadow |= VRING_AVAIL_F_NO_INTERRUPT;
      if (this.eventTriggered) return;
      // With EVENT_IDX Linux parks used_event at 0 ("a hack" in virtio_ring.c) instead of setting the flag.
      if (this.eventIdx) this.view.setUint16(this.avail + availUsedEventOffset(this.num), 0, true);
      else this.view.setUint16(this.avail + VRING_FLAGS, this.availFlagsShadow, true);
    }
  }

  /** virtqueue_enable_cb: ask for interrupts again; false if buffers are already pending (caller should poll). */
  enableCb(): boolean {
    if (this.eventTriggered) this.eventTriggered = false;
    if ((this.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) !== 0) {
      this.availFlagsShadow &= ~VRING_AVAIL_F_NO_INTERRUPT;
      if (!this.eventIdx) this.view.setUint16(this.avail + VRING_FLAGS, this.availFlagsShadow, true);
    }
    const last = this.lastUsedIdx;
    this.view.setUint16(this.avail + availUsedEventOffset(this.num), last, true);
    return !this.broken && last === this.view.getUint16(this.used + VRING_IDX, true);
  }

  /** vring_interrupt: run the callback if the device used buffers. True = IRQ_HANDLED. */
  interrupt(): boolean {
    if (!this.moreUsed()) return false;
    if (this.broken) return true;
    if (this.eventIdx) this.eventTriggered = true;
    this.callback?.();
    return true;
  }

  /** Tokens of buffers still given out (virtqueue_detach_unused_buf, for teardown). */
  detachUnused(): Token[] {
    const tokens: Token[] = [];
    for (let i = 0; i < this.num; i++) {
      const token = this.tokens[i];
      if (token !== undefined) tokens.push(token);
      this.tokens[i] = undefined;
    }
    return tokens;
  }

  /** Read-only view of the ring's state, for statistics and tests. */
  stats(): { availIdx: number; lastUsedIdx: number; numFree: number; broken: boolean; availFlags: number } {
    return { availIdx: this.availIdxShadow, lastUsedIdx: this.lastUsedIdx, numFree: this.numFree, broken: this.broken, availFlags: this.availFlagsShadow };
  }
}
