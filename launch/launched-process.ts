/**
 * A firmware process started from Node (QEMU, the posix remote): collects what it prints,
 * records how it ended, and lets a caller wait for a line of its console.
 */
import type { ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';

/** How the process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Output and exit of one child process; `what` names it in error messages ("qemu", "posix remote"). */
export class LaunchedProcess {
  /** Everything it wrote to stdout (the firmware console). */
  console = '';
  /** Everything it wrote to stderr. */
  stderr = '';
  exitStatus: ProcessExit | null = null;
  /** Resolves when the process has ended. */
  readonly exited: Promise<ProcessExit>;
  private readonly waiters = new Set<() => void>();
  /** The doorbell connections made through connectDoorbellSocket (destroyed by closeDoorbellSockets). */
  private readonly doorbellSockets = new Set<Socket>();

  constructor(readonly child: ChildProcess, private readonly what: string, onConsole?: (text: string) => void) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.console += chunk;
      onConsole?.(chunk);
      this.wake();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk;
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        this.wake();
        resolve(this.exitStatus);
      });
    });
  }

  /** Waits until the console matches `pattern`; rejects on timeout or if the process ends first. */
  async waitForConsole(pattern: RegExp | string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = typeof pattern === 'string' ? (this.console.includes(pattern) ? pattern : null) : (this.console.match(pattern)?.[0] ?? null);
      if (found !== null) return found;
      if (this.exitStatus) throw new Error(`${this.what} exited (${JSON.stringify(this.exitStatus)}) before its console showed ${pattern}; console:\n${this.console}\nstderr:\n${this.stderr}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} on the ${this.what} console; console:\n${this.console}\nstderr:\n${this.stderr}`);
      let wake: () => void = () => {};
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => wake(), remaining);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.waiters.add(wake);
      });
      this.waiters.delete(wake);
    }
  }

  private wake(): void {
    for (const wake of this.waiters) wake();
  }

  /** Connect to the doorbell socket the process serves at `path` once; the connection is closed by closeDoorbellSockets(). */
  protected async connectDoorbellSocket(path: string): Promise<Socket> {
    const socket = await connectUnixSocket(path);
    this.doorbellSockets.add(socket);
    socket.once('close', () => this.doorbellSockets.delete(socket));
    return socket;
  }

  /** Destroy every doorbell connection made through connectDoorbellSocket. */
  protected closeDoorbellSockets(): void {
    for (const socket of this.doorbellSockets) socket.destroy();
  }
}

/** One connection to a UNIX socket: resolves when connected, rejects with the connect error. */
export function connectUnixSocket(path: string): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect(path);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}
