/**
 * Example app: echoes every message back to its sender on the "rpmsg-client-sample" service.
 *
 * Two peers use that service and end differently:
 * - Linux's samples/rpmsg/rpmsg_client_sample.c sends 100 messages and stops; the channel
 *   stays (later users, e.g. /dev/rpmsgN round trips, keep echoing). LINUX_SAMPLE_ECHO.
 * - OpenAMP's rpmsg-sample-ping sends 100 messages, destroys its endpoint, then waits until
 *   the remote withdraws "rpmsg-client-sample" (NS destroy), as OpenAMP's rpmsg-sample-echo
 *   does after its 100th echo. OPENAMP_SAMPLE_ECHO.
 * The app reads `echoOptions` (below); apps that embed the echo pass their own.
 */
import type { Rpmsg } from '../../runtime/runtime.ts';
import { RPMSG_MTU } from '../../../wire/rpmsg.ts';

/** The service the Linux sample driver (samples/rpmsg/rpmsg_client_sample.c) binds to. */
export const ECHO_SERVICE = 'rpmsg-client-sample';

export interface EchoOptions {
  /**
   * After echoing this many messages (all senders together), withdraw the endpoint: close it,
   * which sends the NS destroy. 0 = never.
   */
  withdrawAfter: number;
}

/** Linux's rpmsg_client_sample: echo for ever, keep the channel. */
export const LINUX_SAMPLE_ECHO: EchoOptions = { withdrawAfter: 0 };
/** OpenAMP's rpmsg-sample-echo: echo 100 messages (its MSG_LIMIT), then withdraw the endpoint. */
export const OPENAMP_SAMPLE_ECHO: EchoOptions = { withdrawAfter: 100 };

/** What the echo app does when it is the firmware's app. The default keeps Linux's sample working. */
export const echoOptions: EchoOptions = LINUX_SAMPLE_ECHO;

/** Announce the echo service and send each message back unchanged. */
export default function echoApp(rpmsg: Rpmsg, options: EchoOptions = echoOptions): void {
  const scratch = new Uint8Array(RPMSG_MTU); // one buffer for every message: nothing allocated per echo
  const withdrawAfter = options.withdrawAfter;
  let echoed = 0;
  rpmsg.createEndpoint({
    name: ECHO_SERVICE,
    onReadable(count, source) {
      const length = this.read(scratch);
      this.sendTo(source, scratch, length);
      echoed++;
      if (withdrawAfter > 0 && echoed === withdrawAfter) {
        rpmsg.log(`echo: ${echoed} messages echoed; withdrawing "${ECHO_SERVICE}" (NS destroy)`);
        this.close();
      }
    },
  });
  rpmsg.log(`echo: serving "${ECHO_SERVICE}"${options.withdrawAfter > 0 ? ` (withdrawn after ${options.withdrawAfter} messages)` : ''}`);
}
