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
  /** run --debug: the remote's console lines go to the attached editor too. */
  console?(line: string): void;
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

/** The gdb stub port `run --gdb` gives QEMU by default. */
export const GDB_PORT = 1234;

/** `run --gdb [--gdb-port N]` (qemu): QEMU's gdb stub on 127.0.0.1, and how to attach to it with the ELF's symbols. */
async function withGdb(run: DebugRun, app: string, port: number, debugImage: boolean, verbose: boolean, log: (text: string) => void): Promise<DebugRun> {
  const elf = run.session.firmware ?? (await buildAppFirmware('qemu-mps2', app, verbose, debugImage)).output;
  const extraArgs = [...(run.session.qemu?.extraArgs ?? []), '-gdb', `tcp:127.0.0.1:${port}`];
  log(`gdb: QEMU's gdb stub listens on 127.0.0.1:${port}; attach with the ELF's symbols:`);
  log(`     gdb-multiarch ${elf} -ex "target remote 127.0.0.1:${port}"   (Debian: apt-get install gdb-multiarch; arm-none-eabi-gdb works too)`);
  return { ...run, session: { ...run.session, firmware: elf, qemu: { ...run.session.qemu, extraArgs } } };
}

/** --debug-socket PATH, --debug [port], --gdb [port]: the session options, and what to close at the end. */
export async function prepareDebugRun(target: TargetName, app: string, debug: { socket?: string; port?: number; gdbPort?: number; xs?: boolean }, verbose: boolean, log: (text: string) => void): Promise<DebugRun> {
  if (debug.gdbPort !== undefined) {
    if (target !== 'qemu') throw new RpmsgError('EINVAL', `--gdb is for the qemu target (QEMU's gdb stub); on posix run gdb on build/posix-${app}/xs-rpmsg-posix or attach to its pid (docs/DEBUGGING.md)`);
    const xs = debug.xs === false ? { session: {}, close: async () => {} } : await prepareDebugRun(target, app, { socket: debug.socket, port: debug.port }, verbose, log);
    return withGdb(xs, app, debug.gdbPort, debug.xs !== false, verbose, log);
  }
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
      console: (line) => server.console(line),
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
