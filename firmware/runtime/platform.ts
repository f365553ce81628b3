/**
 * The seam between the remote runtime and a target: everything that differs per target is here.
 * Two kinds of target: one whose host finds the device in the firmware's resource table
 * (remoteproc: qemu, posix, in-process) and one whose device arrives from a vhost-user frontend
 * (the real kernel in UML). This file imports nothing: every other runtime file may use it.
 */

/** What every target gives the runtime (docs/ARCHITECTURE.md, "The platform seam"). */
export interface PlatformCommon {
  /** Ring the host's doorbell for the vring with this notifyid. */
  notify(notifyId: number): void;
  /** Set by the runtime; the event loop calls it after the host rang (kicks merge). */
  onNotify: (() => void) | null;
  /**
   * Optional: a platform whose event loop catches what escapes onNotify has this member (null until
   * the runtime sets it) and calls it with the exception (xs_platform.c: a C try costs no JS try per
   * doorbell); while it is null the exception is unhandled, as without it. A platform without it gets
   * an onNotify that catches its exceptions itself.
   */
  onNotifyException?: ((error: unknown) => void) | null;
  /** Console output (UART0 on the board, stdout on posix). */
  log(text: string): void;
  /** Monotonic milliseconds. */
  now(): number;
  /** Block up to `ms` for a doorbell; true if one came. Used only by blocking sends. */
  waitForNotify(ms: number): boolean;
  /** Stop the firmware with a status (0 = clean). */
  exit(code: number): void;
  /**
   * Copy `length` bytes between the window at `sharedOffset` and `bytes` at `bytesOffset`
   * (into the window when `toShared`): memcpy on XS. Optional: without it the runtime copies in JS.
   */
  copy?(toShared: boolean, sharedOffset: number, bytes: Uint8Array, bytesOffset: number, length: number): void;
  /**
   * A full memory barrier between the runtime's loads and stores of shared memory and the host's
   * (OpenAMP's atomic_thread_fence(memory_order_seq_cst), Linux's virtio_mb): DMB on Cortex-M, a
   * full fence (__sync_synchronize) on posix. Called where the ring protocol needs an order the
   * other side can see: after reading avail.idx, before publishing used.idx, between enabling
   * kicks and re-checking the ring, before reading the driver's notification fields.
   */
  barrier(): void;
  /**
   * Optional, for cached shared memory (OpenAMP's VRING_FLUSH / metal_cache_flush): write back
   * `length` bytes at window offset `offset` so the host sees them. Absent: the memory is coherent.
   */
  cacheClean?(offset: number, length: number): void;
  /**
   * Optional, for cached shared memory (OpenAMP's VRING_INVALIDATE / metal_cache_invalidate):
   * drop cached copies of `length` bytes at `offset` before reading what the host wrote there.
   */
  cacheInvalidate?(offset: number, length: number): void;
}

/** A remoteproc target: the host reads the firmware's resource table inside `memory` and writes status and vrings there. */
export interface ResourceTablePlatform extends PlatformCommon {
  /** Absent (or "resource-table"): the device is described by the resource table. */
  readonly transport?: 'resource-table';
  /** The shared window: an ArrayBuffer in Node, a host buffer on XS. */
  readonly memory: ArrayBuffer;
  /** The address byte 0 of `memory` has in the host's addresses (vring da, descriptor addr). */
  readonly memoryBase: number;
  /** Offset of the firmware's resource table inside `memory`. */
  readonly resourceTableOffset: number;
}

/** One vring as a vhost-user frontend set it up: addresses are guest-physical, like descriptor addresses. */
export interface VhostUserVring {
  index: number;
  notifyId: number;
  num: number;
  desc: number;
  avail: number;
  used: number;
}

/** What onDeviceReady receives (docs/LINUX.md, "The seam with the runtime"). */
export interface VhostUserDeviceInfo {
  /** Acked features (64-bit value as a Number). */
  features: number;
  /** The shared region (a host buffer on XS). */
  memory: ArrayBuffer;
  /** Guest-physical address of byte 0 of `memory`. */
  memoryBase: number;
  vrings: VhostUserVring[];
}

/** A vhost-user target: no resource table; the C layer hands over each live device's memory and rings. */
export interface VhostUserPlatform extends PlatformCommon {
  readonly transport: 'vhost-user';
  /** Set by the runtime; the device is live with these rings and memory. */
  onDeviceReady: ((info: VhostUserDeviceInfo) => void) | null;
  /** Set by the runtime; the device went away (drop every view of its memory). */
  onDeviceReset: ((reason: string) => void) | null;
}

/** What a target gives the runtime: one of the two kinds, told apart by `transport`. */
export type Platform = ResourceTablePlatform | VhostUserPlatform;
