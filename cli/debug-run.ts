/**
 * `run --debug` and `run --debug-socket PATH` (docs/DEBUGGING.md): the session boots the app's
 * debug image (tools/build-firmware.ts option debug) and its XS engine connects to the debugger
 * socket: posix through the environment variable XS_RPMSG_XSBUG (the remote process inherits it),
 * qemu through a third -serial (CMSDK UART2) on a chardev socket. The host's blocking-send timeout
 * is relaxed, since a firmware stopped at a breakpoint does not return TX buffers.
 * --debug-socket: an adapter started by the editor listens there (debug/main.ts launched us);
 * --debug: we listen ourselves and serve the adapter to an editor over TCP (debug/server.ts).
 */
import { RpmsgError } from '../wire/errors.ts';
import { buildAppFirmware } from '../launch/firmware-image.ts';
import type { SessionOptions, TargetName } from '../host-sim/session.ts';
import { serveDap } from '../debug/server.ts';
import { XsbugListener } from '../debug/xsbug.ts';

/** The host's blocking-send timeout while a debugger is attached (Linux's is 15 s): a day. */
export const DEBUG_TX_TIMEOUT_MS = 24 * 3600 * 1000;

/** The DAP port `run --debug` serves by default (.vscode/launch.json's attach configuration). */
export const DEBUG_DAP_PORT = 4711;

export interface DebugRun {
  /** What openSession gets on top of the run's own options. */
  session: Partial<SessionOptions>;
  close(): Promise<void>;
}

/** The session options of a debugged run: the debug image and the engine's connection to `socketPath`. */
export async function debugSessionOptions(target: TargetName, app: string, socketPath: string, verbose: boolean): Promise<Partial<SessionOptions>> {
  if (target === 'in-process') {
    throw new RpmsgError('EINVAL', '--debug: the in-process target runs the TypeScript in Node, not on XS: debug it with Node\'s own debugger (docs/DEBUGGING.md); the XS debugger works on posix and qemu');
  }
  const image = await buildAppFirmware(target === 'qemu' ? 'qemu-mps2' : 'posix', app, verbose, true);
  if (target === 'posix') {
    process.env.XS_RPMSG_XSBUG = socketPath; // the posix remote inherits it (xs_debug_posix.c)
    return { firmware: image.output, txTimeoutMs: DEBUG_TX_TIMEOUT_MS };
  }
  // qemu: UART0 console, UART1 doorbell, UART2 the debugger (xs_debug_mps2.c); QEMU connects to the adapter's socket
  return { firmware: image.output, txTimeoutMs: DEBUG_TX_TIMEOUT_MS, qemu: { extraArgs: ['-chardev', `socket,id=xsbug,path=${socketPath}`, '-serial', 'chardev:xsbug'] } };
}

/** --debug-socket PATH or --debug [port]: the session options, and what to close at the end. */
export async function prepareDebugRun(target: TargetName, app: string, debug: { socket?: string; port?: number }, verbose: boolean, log: (text: string) => void): Promise<DebugRun> {
  if (debug.socket) {
    return { session: await debugSessionOptions(target, app, debug.socket, verbose), close: async () => {} };
  }
  const listener = await XsbugListener.listen();
  try {
    const session = await debugSessionOptions(target, app, listener.path, verbose);
    const server = await serveDap(listener, debug.port ?? DEBUG_DAP_PORT, log);
    log(`debug: the debug adapter listens on 127.0.0.1:${server.port}; the firmware waits at boot for an editor: in VS Code run "xs-rpmsg: attach to run --debug" (.vscode/launch.json, "debugServer": ${server.port})`);
    return {
      session,
      close: async () => {
        await server.close();
        await listener.close();
      },
    };
  } catch (error) {
    await listener.close();
    throw error;
  }
}
