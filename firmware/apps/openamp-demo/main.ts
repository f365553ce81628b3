/**
 * The interop test app: what an OpenAMP remote of the legacy demos offers a host, on our
 * runtime. Echoes "rpmsg-client-sample" as OpenAMP's rpmsg-sample-echo does (100 messages, then
 * the endpoint is withdrawn, which OpenAMP's rpmsg-sample-ping waits for) and "rpmsg-openamp-demo-channel" (the
 * echo demo, payload {u64 num; u64 size; data[size]}), and answers "xs-rpmsg-interop-stats"
 * with the runtime's counters as JSON so tests can see what was refused.
 */
import type { Rpmsg } from '../../runtime/runtime.ts';
import { RPMSG_MTU } from '../../../wire/rpmsg.ts';
import echoApp, { OPENAMP_SAMPLE_ECHO } from '../echo/main.ts';
import { utf8EncodeInto } from '../../runtime/text.ts';

/** The channel both sides of OpenAMP's echo demo announce. */
export const OPENAMP_DEMO_SERVICE = 'rpmsg-openamp-demo-channel';
/** Replies to any message with the runtime's statistics and refusal counts (JSON). */
export const STATS_SERVICE = 'xs-rpmsg-interop-stats';
/** First word of the echo demo's shutdown message (SHUTDOWN_MSG). */
const SHUTDOWN_MSG = 0xef56a55a;

export default function openampDemoApp(rpmsg: Rpmsg): void {
  echoApp(rpmsg, OPENAMP_SAMPLE_ECHO);
  const scratch = new Uint8Array(RPMSG_MTU);
  // getUint32, not `b3 << 24`: XS evaluates << with C int shifts, undefined behaviour into the sign bit.
  const scratchView = new DataView(scratch.buffer);
  let echoed = 0;
  rpmsg.createEndpoint({
    name: OPENAMP_DEMO_SERVICE,
    onReadable(count, source) {
      const length = this.read(scratch);
      const first = length >= 4 ? scratchView.getUint32(0, true) : 0;
      if (first === SHUTDOWN_MSG) {
        rpmsg.log(`openamp-demo: shutdown message from 0x${source.toString(16)} after ${echoed} echoes`);
        return;
      }
      this.sendTo(source, scratch, length);
      echoed++;
    },
  });
  rpmsg.onNameService = (name, address, destroyed) => {
    rpmsg.log(`openamp-demo: host ${destroyed ? 'withdrew' : 'announced'} "${name}" at 0x${address.toString(16)}`);
  };
  rpmsg.createEndpoint({
    name: STATS_SERVICE,
    onReadable(count, source) {
      this.read(scratch);
      const s = rpmsg.statistics;
      const reply = JSON.stringify({ received: s.received, sent: s.sent, unrouted: s.unrouted, echoed, refused: rpmsg.errors.counts });
      this.sendTo(source, scratch, utf8EncodeInto(reply, scratch)); // cut at the MTU, never inside a character
    },
  });
}
