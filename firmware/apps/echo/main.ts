/** Example app: echoes every message back to its sender on the "rpmsg-client-sample" service. */
import type { Rpmsg } from '../../runtime/runtime.ts';
import { RPMSG_MTU } from '../../../wire/rpmsg.ts';

/** The service the Linux sample driver (samples/rpmsg/rpmsg_client_sample.c) binds to. */
export const ECHO_SERVICE = 'rpmsg-client-sample';

/** Announce the echo service and send each message back unchanged. */
export default function echoApp(rpmsg: Rpmsg): void {
  const scratch = new Uint8Array(RPMSG_MTU); // one buffer for every message: nothing allocated per echo
  rpmsg.createEndpoint({
    name: ECHO_SERVICE,
    onReadable(count, source) {
      const length = this.read(scratch);
      this.sendTo(source, scratch, length);
    },
  });
  rpmsg.log(`echo: serving "${ECHO_SERVICE}"`);
}
