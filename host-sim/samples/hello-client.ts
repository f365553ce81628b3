/**
 * The quickstart's host side (docs/QUICKSTART.md): boots firmware/apps/hello on a target, binds
 * a driver to "hello-service" as a Linux rpmsg driver would, sends a few messages and prints the
 * answers. `npx tsx host-sim/samples/hello-client.ts [--target in-process|posix|qemu] [text...]`
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { send, type RpmsgDevice, type RpmsgDriver } from '../rpmsg/rpmsg-core.ts';
import { openSession, type TargetName } from '../session.ts';

/** Send each of `messages` to hello-service on `target`; resolves with the answers, in order. */
export async function helloClient(target: TargetName, messages: string[], log: (line: string) => void = () => {}): Promise<string[]> {
  let device: RpmsgDevice | null = null;
  const answers: string[] = [];
  let wake: (() => void) | null = null;
  const driver: RpmsgDriver = {
    name: 'hello_client',
    idTable: ['hello-service'],
    probe(bound) {
      device = bound;
      wake?.();
    },
    remove() {
      device = null;
    },
    callback(_device, data) {
      answers.push(new TextDecoder().decode(data));
      wake?.();
    },
  };
  const session = await openSession({ target, app: 'hello', console: (line) => log(`[remote] ${line}`), beforeBoot: (host) => host.rpmsg.registerRpmsgDriver(driver) });
  const waitFor = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`ETIMEDOUT: no ${what} from the remote within 20 s; see its console above`);
      await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
    }
  };
  try {
    await waitFor(() => device !== null, 'hello-service announcement');
    for (const [i, message] of messages.entries()) {
      await send((device as RpmsgDevice | null)!.ept!, new TextEncoder().encode(message)); // a string would go as Latin-1
      await waitFor(() => answers.length > i, 'answer');
    }
    return answers;
  } finally {
    await session.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--target');
  const target = (at >= 0 ? args.splice(at, 2)[1] : 'in-process') as TargetName;
  const messages = args.length > 0 ? args : ['world', 'grüß dich', '👋'];
  helloClient(target, messages, (line) => console.log(line)).then(
    (answers) => {
      for (const answer of answers) console.log(answer);
    },
    (error: Error) => {
      console.error(`hello-client: ${error.message}`);
      process.exit(1);
    },
  );
}
