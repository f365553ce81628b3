/** The host end of a socket doorbell (QEMU's UART1, the posix remote's event socket). */
import type { Socket } from 'node:net';
import { loadAddon } from '../native/addon.ts';
import type { Rproc } from '../remoteproc/remoteproc-core.ts';

/** host-sim/native/doorbell.c: the socket's bytes read and its kicks sent without Node's stream machinery. */
interface NativeDoorbell {
  open(fd: number, seen: Uint32Array, onKick: (eof: boolean) => void): object;
  kick(handle: object, byte: number): number;
  close(handle: object): void;
}

let native: NativeDoorbell | null | undefined;
/** The addon, or null where it cannot be built (no Node headers): the stream socket then does the work. */
function nativeDoorbell(): NativeDoorbell | null {
  if (native === undefined) {
    try {
      native = process.env.XS_RPMSG_STREAM_DOORBELL === '1' ? null : loadAddon<NativeDoorbell>('doorbell');
    } catch {
      native = null;
    }
  }
  return native;
}

/**
 * Routes bytes from the remote to `rproc.vqInterrupt`: with `bytesAreNotifyIds` each byte is
 * the notifyid the remote rang (our qemu convention); otherwise a byte only says "something
 * changed" (OpenAMP's socket convention) and every vring is serviced. Kicks merge: one interrupt
 * per vring (or one for all) per wakeup.
 *
 * The socket's descriptor is watched by host-sim/native/doorbell.c where it builds (a dup of the
 * descriptor in the event loop's epoll; the Node socket is paused and only closes it): per round
 * trip that saves a Buffer, a stream 'data' event and a WriteWrap (docs/BENCHMARKS.md, "Round
 * trips"). XS_RPMSG_STREAM_DOORBELL=1 keeps the stream socket.
 */
export class SocketDoorbell {
  private socket: Socket | null = null;
  private rproc: Rproc | null = null;
  /** The native watcher of `socket`, or null (the stream socket reads). */
  private bell: object | null = null;
  /** Bit b: byte b arrived in the current wakeup (filled by the native watcher). */
  private readonly seen = new Uint32Array(8);
  private readonly kickByte = new Uint8Array(1);
  /** Called when the remote closes its end (process gone). */
  onClose: (() => void) | null = null;

  constructor(private readonly bytesAreNotifyIds: boolean) {}

  /** Deliver interrupts to `rproc`. */
  attach(rproc: Rproc): void {
    this.rproc = rproc;
  }

  /** Use `socket` (replacing any previous one). */
  connect(socket: Socket): void {
    this.close();
    this.socket = socket;
    socket.setNoDelay?.(true);
    const addon = nativeDoorbell();
    const handle = (socket as unknown as { _handle?: { fd?: number; reading?: boolean; readStop?: () => number } })._handle;
    const fd = handle?.fd;
    if (addon !== null && typeof fd === 'number' && fd >= 0 && typeof handle!.readStop === 'function') {
      // Node stops reading the descriptor (a paused net.Socket still reads up to its high-water
      // mark, so the handle's reading is stopped too): the watcher reads a dup of it. Bytes Node
      // had read already (a kick sent before we connected) count as a wakeup.
      socket.pause();
      const early = socket.read() as Buffer | null;
      handle!.reading = false;
      handle!.readStop!();
      const bell = addon.open(fd, this.seen, (eof) => {
        if (this.bell !== bell) return;
        if (this.rproc !== null) this.interruptFromSeen();
        if (eof) {
          this.bell = null;
          socket.destroy(); // 'close' below reports it
        }
      });
      this.bell = bell;
      if (early !== null && early.length > 0) queueMicrotask(() => this.early(socket, early));
    } else {
      socket.on('data', (chunk: Buffer) => {
        if (this.socket !== socket || this.rproc === null) return;
        if (!this.bytesAreNotifyIds) {
          this.rproc.vqInterrupt(null);
          return;
        }
        const seen = new Set<number>();
        for (const byte of chunk) seen.add(byte); // kicks merge: one interrupt per vring is enough
        for (const notifyId of seen) this.rproc.vqInterrupt(notifyId);
      });
    }
    socket.on('close', () => {
      if (this.socket === socket) {
        this.closeNative();
        this.socket = null;
        this.onClose?.();
      }
    });
    socket.on('error', () => { /* close follows */ });
  }

  /** Bytes Node had buffered before the watcher took over: what the stream socket's 'data' would have done. */
  private early(socket: Socket, chunk: Buffer): void {
    if (this.socket !== socket || this.rproc === null) return;
    if (!this.bytesAreNotifyIds) {
      this.rproc.vqInterrupt(null);
      return;
    }
    for (const notifyId of new Set(chunk)) this.rproc.vqInterrupt(notifyId);
  }

  /** One interrupt per byte value the native watcher saw (or one for all). */
  private interruptFromSeen(): void {
    const rproc = this.rproc!;
    const seen = this.seen;
    if (!this.bytesAreNotifyIds) {
      if ((seen[0] | seen[1] | seen[2] | seen[3] | seen[4] | seen[5] | seen[6] | seen[7]) !== 0) rproc.vqInterrupt(null);
      return;
    }
    for (let word = 0; word < 8; word++) {
      const bits = seen[word];
      if (bits === 0) continue;
      for (let bit = 0; bit < 32; bit++) if ((bits & (1 << bit)) !== 0) rproc.vqInterrupt(word * 32 + bit);
    }
  }

  /** Ring the remote: one byte, the notifyid (the posix remote ignores its value). */
  kick(notifyId: number): void {
    const bell = this.bell;
    if (bell !== null) {
      const outcome = native!.kick(bell, notifyId & 0xff);
      if (outcome !== 0) return; // sent, or failed (the close follows)
      // The socket is full: Node queues the byte and writes it once there is room.
    }
    if (this.socket === null) return;
    this.kickByte[0] = notifyId & 0xff;
    this.socket.write(Uint8Array.from(this.kickByte));
  }

  private closeNative(): void {
    const bell = this.bell;
    this.bell = null;
    if (bell !== null) native!.close(bell);
  }

  /** Drop the connection. */
  close(): void {
    this.closeNative();
    this.socket?.destroy();
    this.socket = null;
  }
}
