/**
 * The quickstart's service (docs/QUICKSTART.md): "hello-service" answers each text message with
 * "hello, <text> (#n)" in UTF-8. Copy this folder to start your own.
 */
import type { Rpmsg } from '../../runtime/runtime.ts';
import { utf8Decode, utf8EncodeInto } from '../../runtime/text.ts';
import { RPMSG_MTU } from '../../../wire/rpmsg.ts';

/** The name the host binds a driver to (Linux: the rpmsg channel name). */
export const HELLO_SERVICE = 'hello-service';

export default function helloApp(rpmsg: Rpmsg): void {
  const incoming = new Uint8Array(RPMSG_MTU); // allocated once: nothing per message but the strings
  const outgoing = new Uint8Array(RPMSG_MTU);
  let answered = 0;
  rpmsg.createEndpoint({
    name: HELLO_SERVICE,
    onReadable(count, source) {
      const text = utf8Decode(incoming, 0, this.read(incoming));
      answered++;
      // utf8EncodeInto stops at the buffer's end, never inside a character.
      this.sendTo(source, outgoing, utf8EncodeInto(`hello, ${text} (#${answered})`, outgoing));
    },
    onError(error) {
      rpmsg.log(`hello: ${error.message}`);
    },
  });
  rpmsg.log(`hello: serving "${HELLO_SERVICE}"`);
}
