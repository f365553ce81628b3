/**
 * The echo, zero-copy (docs/ZERO-COPY.md): the bench and e2e apps serve it beside the copying
 * echo of main.ts. A module of its own: the entry imports every export of an app's main.ts, so
 * the echo app would otherwise carry zero-copy's code.
 */
import type { Rpmsg } from '../../runtime/runtime.ts';
import { enableZeroCopy } from '../../runtime/rpmsg/zero-copy.ts';

/** The zero-copy echo's service (docs/ZERO-COPY.md): the same echo without the copy into and out of a JS buffer. */
export const ZERO_COPY_ECHO_SERVICE = 'rpmsg-zero-copy-echo';

/**
 * Echo each message back zero-copy: the RX buffer held (its payload is at an offset in the shared
 * window), a TX buffer obtained and filled in place from it (`copyWithin` on the window's one view:
 * one memmove, window to window), the RX buffer released, the TX buffer sent. Nothing is allocated.
 */
export function zeroCopyEchoApp(rpmsg: Rpmsg, name = ZERO_COPY_ECHO_SERVICE): void {
  const window = enableZeroCopy(rpmsg);
  rpmsg.createEndpoint({
    name,
    onReadable(count, source) {
      const message = this.hold();
      const reply = this.getTxBuffer();
      window.bytes.copyWithin(reply, message, message + count);
      this.release(message);
      this.sendToNoCopy(source, reply, count);
    },
  });
}
