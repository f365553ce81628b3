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
 * Echo each message back zero-copy: the payload is read where it is in the shared window (the
 * `offset` onReadable gets), a TX buffer obtained and filled in place from it (`copyWithin` on the
 * window's one view: one memmove, window to window) and sent. The RX buffer goes back to the host
 * when the callback returns, as with read(). Nothing is allocated.
 */
export function zeroCopyEchoApp(rpmsg: Rpmsg, name = ZERO_COPY_ECHO_SERVICE): void {
  const zc = enableZeroCopy(rpmsg);
  rpmsg.createEndpoint({
    name,
    onReadable(count, source, offset) {
      const reply = zc.getTxBuffer(this);
      zc.bytes.copyWithin(reply, offset, offset + count);
      zc.sendToNoCopy(this, source, reply, count);
    },
  });
}

/** The zero-copy echo that holds its RX buffer (docs/ZERO-COPY.md): the bench's second zero-copy row. */
export const ZERO_COPY_HELD_ECHO_SERVICE = 'rpmsg-zero-copy-held-echo';

/**
 * The same echo with the RX buffer held and released (what an app does that keeps a message past
 * its callback, here released at once): hold, getTxBuffer, copy, release, sendToNoCopy.
 */
export function zeroCopyHeldEchoApp(rpmsg: Rpmsg, name = ZERO_COPY_HELD_ECHO_SERVICE): void {
  const zc = enableZeroCopy(rpmsg);
  rpmsg.createEndpoint({
    name,
    onReadable(count, source) {
      const message = zc.hold(this);
      const reply = zc.getTxBuffer(this);
      zc.bytes.copyWithin(reply, message, message + count);
      zc.release(this, message);
      zc.sendToNoCopy(this, source, reply, count);
    },
  });
}
