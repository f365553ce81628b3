/** The host end of a socket doorbell (QEMU's UART1, the posix remote's event socket). */
import type { Socket } from 'node:net';
import type { Rproc } from '../remoteproc/remoteproc-core.ts';

/**
 * Routes bytes from the remote to `rproc.vqInterrupt`: with `bytesAreNotifyIds` each byte is
 * the notifyid the remote rang (our qemu convention); otherwise a byte only says "something
 * changed" (OpenAMP's socket convention) and every vring is serviced.
 */
export class SocketDoorbell {
  private socket: Socket | null = null;
  private rproc: Rproc | null = null;
  /** Called when the remote closes its end (process gone). */
  onClose: (() => void) | null = null;

  constructor(private readonly bytesAreNotifyIds: boolean) {}

  /** Deliver interrupts to `rproc`. */
  attach(rproc: Rproc): void {
    this.rproc = rproc;
  }

  /** Use `socket` (replacing any previous one). */
  connect(socket: Socket): void {
    this.socket?.destroy();
    this.socket = socket;
    socket.setNoDelay?.(true);
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
    socket.on('close', () => {
      if (this.socket === socket) {
        this.socket = null;
        this.onClose?.();
      }
    });
    socket.on('error', () => { /* close follows */ });
  }

  /** Ring the remote: one byte, the notifyid (the posix remote ignores its value). */
  kick(notifyId: number): void {
    this.socket?.write(Uint8Array.of(notifyId & 0xff));
  }

  /** Drop the connection. */
  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}
