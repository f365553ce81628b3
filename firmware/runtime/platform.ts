/** The seam between the remote runtime and a target: everything that differs per target is here. */
import type { VhostUserDeviceInfo } from './virtio/vhost-user-transport.ts';

/**
 * What a target gives the runtime (docs/ARCHITECTURE.md, "The platform seam"). On XS the C
 * platform layer builds this object; in Node the in-process target does.
 */
export interface Platform {
  /** The shared window: an ArrayBuffer in Node, a host buffer on XS. */
  readonly memory: ArrayBuffer;
  /** The address byte 0 of `memory` has in the host's addresses (vring da, descriptor addr). */
  readonly memoryBase: number;
  /** Offset of the firmware's resource table inside `memory`. */
  readonly resourceTableOffset: number;
  /** Ring the host's doorbell for the vring with this notifyid. */
  notify(notifyId: number): void;
  /** Set by the runtime; the event loop calls it after the host rang (kicks merge). */
  onNotify: (() => void) | null;
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
  /** "vhost-user" when the device comes from a vhost-user frontend (UML) instead of a resource table. */
  readonly transport?: 'vhost-user';
  /** vhost-user: set by the runtime; the device is live with these rings and memory. */
  onDeviceReady?: ((info: VhostUserDeviceInfo) => void) | null;
  /** vhost-user: set by the runtime; the device went away (drop every view of its memory). */
  onDeviceReset?: ((reason: string) => void) | null;
}
