/**
 * The end-to-end test app: the echo service plus a control service through which the
 * suite drives the remote (open/close services, pause receiving, send bursts).
 */
import type { Endpoint } from '../../runtime/rpmsg/endpoint.ts';
import type { Rpmsg } from '../../runtime/runtime.ts';
import { RpmsgError } from '../../../wire/errors.ts';
import { RPMSG_MTU } from '../../../wire/rpmsg.ts';
import echoApp from '../echo/main.ts';
import { asciiBytes as ascii, asciiText as text } from '../lib/ascii.ts';

/** The control service's name. */
export const CONTROL_SERVICE = 'xs-rpmsg-test-control';

/**
 * Commands: "open NAME", "close NAME", "pause MS", "burst COUNT SIZE", "flood COUNT SIZE", "crash",
 * "stats". Each is answered "ok ..." or "error ...". A flood is sent with blocking sends (each waits
 * for a TX buffer) right after the reply; how it ended is logged ("e2e: flood ...").
 */
export default function e2eApp(rpmsg: Rpmsg): void {
  echoApp(rpmsg);
  const opened = new Map<string, Endpoint>();
  const scratch = new Uint8Array(RPMSG_MTU);
  const burst = { left: 0, sequence: 0, to: 0, payload: new Uint8Array(0) };

  const control = rpmsg.createEndpoint({
    name: CONTROL_SERVICE,
    onReadable(count, source) {
      const [command, argument, extra] = text(scratch, this.read(scratch)).split(' ');
      const reply = (message: string) => this.sendTo(source, ascii(message));
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
          reply(`ok pause ${argument}`);
          rpmsg.pauseReceive(true);
          setTimeout(() => rpmsg.pauseReceive(false), Number(argument));
        } else if (command === 'burst') {
          burst.left = Number(argument);
          burst.payload = new Uint8Array(Number(extra)); // allocated per command, not per message
          burst.sequence = 0;
          burst.to = source;
          sendBurst(this);
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
          reply(`ok stats received=${s.received} sent=${s.sent} unrouted=${s.unrouted} refused=${rpmsg.errors.total()}`);
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

  /** Send the rest of a burst with trySend; on ENOMEM wait for onWritable (no message lost). */
  function sendBurst(endpoint: Endpoint): void {
    while (burst.left > 0) {
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
