/**
 * `xs-rpmsg run --debug`: the adapter served over TCP (127.0.0.1) for an editor that attaches to a
 * running adapter (VS Code's "debugServer"), one editor at a time, for a session the command line
 * already runs: the firmware connects to `listener` at boot and waits there until the editor's
 * configurationDone (breakpoints first, then the engine goes).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { DebugAdapter } from './adapter.ts';
import { DapStream } from './dap.ts';
import type { XsbugListener } from './xsbug.ts';

export interface DapServer {
  port: number;
  /** Hands a console line of the remote to the attached editor's debug console. */
  console(line: string): void;
  close(): Promise<void>;
}

/** Listens for editors on 127.0.0.1:`port` (0: any free port). */
export async function serveDap(listener: XsbugListener, port: number, log: (text: string) => void): Promise<DapServer> {
  let busy: Socket | null = null;
  let attached: DebugAdapter | null = null;
  const server: Server = createServer((socket) => {
    if (busy) {
      log('debug: a second editor was refused (one at a time)');
      socket.destroy();
      return;
    }
    busy = socket;
    log('debug: an editor attached');
    const dap = new DapStream(socket, socket);
    const adapter = new DebugAdapter(dap, listener);
    attached = adapter;
    const done = () => {
      if (busy !== socket) return;
      busy = null;
      attached = null;
      log('debug: the editor detached');
      adapter.shutdown().catch(() => undefined);
    };
    socket.on('close', done);
    socket.on('error', done);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    console: (line) => attached?.remoteConsole(line),
    close: () => new Promise<void>((resolve) => {
      busy?.destroy();
      server.close(() => resolve());
    }),
  };
}
