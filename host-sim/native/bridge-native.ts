/** The bridge's system calls (host-sim/native/bridge.c): SOCK_SEQPACKET sockets, pseudo-terminals, readiness on Node's loop. */
import { loadAddon } from './addon.ts';

/** Readiness flags of poll(). */
export const READABLE = 1;
export const WRITABLE = 2;
export const DISCONNECT = 4;

/** An opaque uv_poll handle. */
export type PollHandle = { readonly __poll: unique symbol };

export interface BridgeNative {
  /** A non-blocking listening SOCK_SEQPACKET socket bound at `path`. */
  seqpacketListen(path: string): number;
  /** A connected non-blocking fd, or -1 when none is waiting. */
  accept(fd: number): number;
  /** One packet (socket) or the bytes available (pty); null: nothing waiting; false: end of file. */
  read(fd: number, max: number): Buffer | null | false;
  /** Bytes written; a socket write is one packet. Throws with code EAGAIN, EPIPE, ... */
  write(fd: number, bytes: Uint8Array, isSocket: boolean): number;
  close(fd: number): void;
  shutdown(fd: number): void;
  /** A raw pseudo-terminal: master (ours), slave (kept open by us), path (/dev/pts/N). */
  openpty(): { master: number; slave: number; path: string };
  /** Calls `callback(flags)` when the fd is ready for `flags`; -1 on a poll error. */
  poll(fd: number, flags: number, callback: (flags: number) => void): PollHandle;
  pollUpdate(handle: PollHandle, flags: number): void;
  /** Stop before closing the fd. Idempotent. */
  pollStop(handle: PollHandle): void;
}

/** The addon, compiled on first use. */
export function bridgeNative(): BridgeNative {
  return loadAddon<BridgeNative>('bridge');
}
