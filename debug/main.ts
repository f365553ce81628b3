/**
 * The debug adapter as an editor starts it: `npx tsx debug/main.ts` speaks the Debug Adapter
 * Protocol on stdin/stdout (.vscode/launch.json; docs/DEBUGGING.md). Its launch request boots the
 * app's debug image with `xs-rpmsg run --debug-socket` and relays between the editor and the
 * firmware's XS engine. Nothing but DAP frames is ever written to stdout.
 */
import { DebugAdapter } from './adapter.ts';
import { DapStream } from './dap.ts';

const dap = new DapStream(process.stdin, process.stdout);
const adapter = new DebugAdapter(dap);
let ending = false;
const end = (code: number) => {
  if (ending) return;
  ending = true;
  adapter.shutdown().finally(() => process.exit(code));
};
dap.on('close', () => end(0));
dap.on('message', (message: { command?: string }) => {
  if (message.command === 'disconnect') setTimeout(() => end(0), 100);
});
process.on('SIGTERM', () => end(0));
process.on('SIGINT', () => end(0));
