/**
 * The end-to-end test app: the echo service plus a control service through which the
 * suite drives the remote (open/close services, pause receiving, send bursts).
 */
import type { Endpoint } from '../../runtime/rpmsg/endpoint.ts';
import type { Rpmsg } from '../../runtime/runtime.ts';
import { RpmsgError } from '../../../wire/errors.ts';
import { RPMSG_MTU } from '../../../wire/rpmsg.ts';
import echoApp from '../echo/main.ts';
import { zeroCopyEchoApp } from '../echo/zero-copy-echo.ts';
import { enableZeroCopy } from '../../runtime/rpmsg/zero-copy.ts';
import { utf8Decode, utf8Encode } from '../../runtime/text.ts';

/** The XS platform object, on native targets only (in-process has none). */
declare const platform: { heap?: (collect?: boolean) => { slots: number; chunks: number } } | undefined;

/** Messages a burst sends per event-loop pass. */
const BURST_PASS = 32;

/** Zero-copy services (the suite's zero-copy test): echo, echo with the RX buffers released a turn later and a TX buffer released unsent each time. */
export const ZERO_COPY_SERVICE = 'xs-zero-copy-echo';
export const ZERO_COPY_DEFERRED_SERVICE = 'xs-zero-copy-deferred';

/** The control service's name. */
export const CONTROL_SERVICE = 'xs-rpmsg-test-control';

/**
 * Commands: "open NAME", "close NAME", "pause MS", "burst COUNT SIZE", "flood COUNT SIZE",
 * "send ADDRESS SIZE", "crash", "stats". Each is answered "ok ..." or "error ...". A flood is sent
 * with blocking sends (each waits for a TX buffer) right after the reply; how it ended is logged
 * ("e2e: flood ..."). "send" sends one message of SIZE bytes to any host address.
 */
export default function e2eApp(rpmsg: Rpmsg): void {
  echoApp(rpmsg);
  zeroCopyEchoApp(rpmsg, ZERO_COPY_SERVICE);
  zeroCopyDeferred(rpmsg);
  const opened = new Map<string, Endpoint>();
  const scratch = new Uint8Array(RPMSG_MTU);
  const burst = { left: 0, sequence: 0, to: 0, payload: new Uint8Array(0) };

  const control = rpmsg.createEndpoint({
    name: CONTROL_SERVICE,
    onReadable(count, source) {
      const [command, argument, extra] = utf8Decode(scratch, 0, this.read(scratch)).split(' ');
      const reply = (message: string) => this.sendTo(source, utf8Encode(message));
      try {
        if (command === 'open') {
          if (opened.has(argument)) throw new RpmsgError('EEXIST', `service ${argument} is already open`);
          opened.set(argument, rpmsg.createEndpoint({
            name: argument,
            onReadable(length, from) {
              this.sendTo(from, scratch, this.read(scratch));
            },
          }));
          reply(`ok open ${argument} 0x${opened.get(argument)!.address.toString(16)}`);
        } else if (command === 'close') {
          const endpoint = opened.get(argument);
          if (endpoint === undefined) throw new RpmsgError('ENOENT', `service ${argument} is not open`);
          opened.delete(argument);
          endpoint.close();
          reply(`ok close ${argument}`);
        } else if (command === 'pause') {
          rpmsg.pauseReceive(true);
          // Answer from the next turn: the service pass that delivered this command still takes
          // what is already in the ring, so the host must not send until that pass is over.
          setTimeout(() => reply(`ok pause ${argument}`), 0);
          setTimeout(() => rpmsg.pauseReceive(false), Number(argument));
          // Reply after this pass, once the command's own buffer is back on vring 1's used ring:
          // a reply sent from here can reach the host first, which then counts one TX buffer short.
          setTimeout(() => reply(`ok pause ${argument}`), 0);
        } else if (command === 'burst') {
          burst.left = Number(argument);
          burst.payload = new Uint8Array(Number(extra)); // allocated per command, not per message
          burst.sequence = 0;
          burst.to = source;
          sendBurst(this);
        } else if (command === 'send') {
          // One message of SIZE bytes to any host address (tests: an address nobody listens at).
          this.sendTo(Number(argument), new Uint8Array(Number(extra)).fill(0x5e));
          reply(`ok send ${argument} ${extra}`);
        } else if (command === 'flood') {
          const count = Number(argument);
          const payload = new Uint8Array(Number(extra));
          const endpoint = this;
          reply(`ok flood ${count} ${payload.length}`);
          setTimeout(() => {
            let sent = 0;
            try {
              for (; sent < count; sent++) endpoint.sendTo(source, payload);
              rpmsg.log(`e2e: flood done, ${sent} sent`);
            } catch (error) {
              rpmsg.log(`e2e: flood stopped after ${sent}: ${error instanceof Error ? error.message : String(error)}`);
            }
          }, 0);
        } else if (command === 'crash') {
          reply('ok crash');
          // An uncaught exception from the event loop: the platform reports it and the firmware stops.
          setTimeout(() => {
            throw new Error('crash requested by the test');
          }, 10);
        } else if (command === 'stats') {
          const s = rpmsg.statistics;
          // XS targets: the engine's heap in use after a collection (the soak tests watch it for leaks)
          const heap = typeof platform === 'undefined' ? undefined : platform?.heap?.(true);
          const inUse = heap === undefined ? '' : ` heap=${heap.slots + heap.chunks}`;
          reply(`ok stats received=${s.received} sent=${s.sent} unrouted=${s.unrouted} refused=${rpmsg.errors.total()} appErrors=${s.appErrors}${inUse}`);
        } else {
          throw new RpmsgError('EINVAL', `unknown command "${command}"`);
        }
      } catch (error) {
        reply(`error ${error instanceof Error ? error.message : String(error)}`);
      }
    },
    onWritable() {
      sendBurst(this);
    },
    onError() {
      // The host went away: the rest of the burst was for that session's address; drop it.
      burst.left = 0;
    },
  });

  let continuing = false;
  /**
   * Send the rest of a burst with trySend; on ENOMEM wait for onWritable (no message lost).
   * At most BURST_PASS messages per pass, then back to the event loop: a pump that never hits
   * ENOMEM would otherwise never return and starve this core's receiving.
   */
  function sendBurst(endpoint: Endpoint): void {
    for (let pass = 0; burst.left > 0; pass++) {
      if (pass === BURST_PASS) {
        if (!continuing) {
          continuing = true;
          setTimeout(() => {
            continuing = false;
            sendBurst(endpoint);
          }, 0);
        }
        return;
      }
      const payload = burst.payload;
      payload.fill(burst.sequence & 0xff);
      if (payload.length >= 4) {
        payload[0] = burst.sequence & 0xff;
        payload[1] = (burst.sequence >> 8) & 0xff;
        payload[2] = (burst.sequence >> 16) & 0xff;
        payload[3] = (burst.sequence >>> 24) & 0xff;
      }
      try {
        endpoint.trySendTo(burst.to, payload);
      } catch (error) {
        if (error instanceof RpmsgError && error.code === 'ENOMEM') return;
        throw error;
      }
      burst.sequence++;
      burst.left--;
    }
  }
  void control;
}

/**
 * Zero-copy with everything held across callbacks: each message's RX buffer is held and released
 * from a timer (so several are held at once), a first TX buffer is obtained and given back unsent
 * (it must not leak: the test sends more messages than the ring has buffers), a second is filled
 * and sent. (A buffer held when the host resets is released without effect: its ring is gone.)
 */
function zeroCopyDeferred(rpmsg: Rpmsg): void {
  const zc = enableZeroCopy(rpmsg);
  const held: number[] = [];
  let releasing = false;
  const endpoint = rpmsg.createEndpoint({
    name: ZERO_COPY_DEFERRED_SERVICE,
    onReadable(count, source) {
      const message = zc.hold(this);
      held.push(message);
      const unsent = zc.getTxBuffer(this);
      zc.bytes[unsent] = 0xee;
      zc.releaseTxBuffer(this, unsent);
      const reply = zc.getTxBuffer(this);
      zc.bytes.copyWithin(reply, message, message + count);
      zc.sendToNoCopy(this, source, reply, count);
      if (!releasing) {
        releasing = true;
        setTimeout(() => {
          releasing = false;
          for (const offset of held.splice(0)) zc.release(endpoint, offset);
        }, 0);
      }
    },
  });
}
