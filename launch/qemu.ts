/**
 * QEMU launch definition for the qemu target (the role the design card gives Renode
 * scripts): builds the qemu-system-arm mps2-an385/an386 argument list, starts it paused,
 * talks QMP (stop, cont, system_reset, quit), and always cleans up (qemu process, /dev/shm
 * file, sockets) — also when the caller forgets, at process exit.
 *
 * Machine layout (firmware/platform/qemu-mps2/mps2-an385.ld): PSRAM 16 MB at 0x21000000 is
 * the board's machine RAM, backed by a /dev/shm file the host maps; UART0 is the console
 * (the process's stdout); UART1 is the doorbell on a UNIX socket (one byte per kick).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, unlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { connectUnixSocket, LaunchedProcess, type ProcessExit } from './launched-process.ts';
import { join } from 'node:path';

/** Size of the mps2 PSRAM = the shared window; QEMU requires the backend to be exactly this. */
export const PSRAM_SIZE = 16 * 1024 * 1024;
/** Address of PSRAM on mps2-an385/an386: memoryBase of the qemu target. */
export const PSRAM_BASE = 0x21000000;

export type QemuMachine = 'mps2-an385' | 'mps2-an386';

/** Options of launchQemu. Paths default to unique names for this process. */
export interface QemuOptions {
  /** The firmware ELF (tools/build-firmware.ts --target qemu-mps2). */
  elf: string;
  /** Default mps2-an385 (Cortex-M3). */
  machine?: QemuMachine;
  /** The PSRAM backing file; default /dev/shm/xs-rpmsg-qemu-<pid>-<n>. Deleted by close(). */
  shmPath?: string;
  /** UART1's UNIX socket (QEMU is the server); default in the temp folder. Deleted by close(). */
  doorbellPath?: string;
  /** QMP UNIX socket; default in the temp folder. Deleted by close(). */
  qmpPath?: string;
  /** Start with the CPU stopped (-S) until cont(); default true. */
  paused?: boolean;
  /** -icount shift=N: guest time follows the instruction count (deterministic benchmarks). */
  icount?: number | { shift: number; sleep?: boolean };
  /** Called with every chunk of UART0 output. */
  onConsole?: (text: string) => void;
  /** Appended to the argument list. */
  extraArgs?: string[];
  /** qemu-system-arm binary; default from PATH. */
  qemuBinary?: string;
  /** How long to wait for QEMU to create its sockets; default 10 s. */
  startTimeoutMs?: number;
}

/** How the qemu process ended: code is the semihosting exit status of the firmware. */
export type QemuExit = ProcessExit;

let instanceCounter = 0;
const live = new Set<QemuInstance>();

process.once('exit', () => {
  // Last resort: the caller did not close(); kill synchronously and remove the files.
  for (const instance of live) instance.killNow();
});

/** The qemu-system-arm argument list for these options (pure: no process is started). */
export function qemuArguments(options: QemuOptions & { shmPath: string; doorbellPath: string; qmpPath: string }): string[] {
  const machine = options.machine ?? 'mps2-an385';
  const args = [
    '-machine', `${machine},memory-backend=psram`,
    '-object', `memory-backend-file,id=psram,size=${PSRAM_SIZE},mem-path=${options.shmPath},share=on`,
    '-display', 'none',
    '-monitor', 'none',
    '-nodefaults',
    // UART0: console on stdout; UART1: the doorbell (once any -serial is given, list both)
    '-chardev', 'stdio,id=console,signal=off',
    '-serial', 'chardev:console',
    '-chardev', `socket,id=doorbell,path=${options.doorbellPath},server=on,wait=off`,
    '-serial', 'chardev:doorbell',
    '-qmp', `unix:${options.qmpPath},server=on,wait=off`,
    '-semihosting-config', 'enable=on,target=native',
    '-kernel', options.elf,
  ];
  if (options.paused ?? true) args.push('-S');
  if (options.icount !== undefined) {
    const icount = typeof options.icount === 'number' ? { shift: options.icount } : options.icount;
    args.push('-icount', `shift=${icount.shift},align=off,sleep=${icount.sleep === false ? 'off' : 'on'}`);
  }
  return args.concat(options.extraArgs ?? []);
}

/** A minimal QMP client: one command at a time, events recorded. */
export class QmpClient {
  readonly events: { event: string; data?: unknown }[] = [];
  private buffer = '';
  private waiting: { resolve: (value: unknown) => void; reject: (error: Error) => void; command: string }[] = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('close', () => {
      this.closed = true;
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(`QMP ${waiter.command}: connection closed (qemu exited?)`));
    });
    socket.on('error', () => { /* reported through close */ });
  }

  /** Connects to QEMU's QMP socket and leaves capabilities negotiation mode. */
  static async connect(path: string): Promise<QmpClient> {
    const client = new QmpClient(await connectUnixSocket(path));
    await client.greeting;
    await client.execute('qmp_capabilities');
    return client;
  }

  private greetingResolve!: () => void;
  private readonly greeting = new Promise<void>((resolve) => { this.greetingResolve = resolve; });

  private receive(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (!line) continue;
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if ('QMP' in message) this.greetingResolve();
      else if ('event' in message) this.events.push({ event: String(message.event), data: message.data });
      else if ('return' in message || 'error' in message) {
        const waiter = this.waiting.shift();
        if (!waiter) continue;
        if ('error' in message) {
          const error = message.error as { class?: string; desc?: string };
          waiter.reject(new Error(`QMP ${waiter.command}: ${error.class ?? 'error'}: ${error.desc ?? JSON.stringify(error)}`));
        } else waiter.resolve(message.return);
      }
    }
  }

  /** Runs one QMP command and resolves with its "return" value. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error(`QMP ${command}: connection closed`));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject, command });
      this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A running qemu-system-arm with the firmware; see launchQemu. Console: UART0; stderr: QEMU's own. */
export class QemuInstance extends LaunchedProcess {
  qmp: QmpClient | null = null;
  private closing: Promise<void> | null = null;
  private keepShm = false;

  constructor(
    child: ChildProcess,
    readonly args: string[],
    readonly shmPath: string,
    readonly doorbellPath: string,
    readonly qmpPath: string,
    onConsole?: (text: string) => void,
  ) {
    super(child, 'qemu', onConsole);
    live.add(this);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Connects to UART1 (the doorbell). Do it before cont(): bytes sent to no client are lost. */
  async connectDoorbell(): Promise<Socket> {
    return this.connectDoorbellSocket(this.doorbellPath);
  }

  private requireQmp(): QmpClient {
    if (!this.qmp) throw new Error('QMP is not connected');
    return this.qmp;
  }

  /** Starts (or resumes) the CPU: remoteproc "start" once the resource table is set up. */
  async cont(): Promise<void> { await this.requireQmp().execute('cont'); }
  /** Pauses the CPU. */
  async stop(): Promise<void> { await this.requireQmp().execute('stop'); }
  /** Resets the board; QEMU reloads the ELF's segments (this rewrites the loaded resource table in PSRAM). */
  async systemReset(): Promise<void> { await this.requireQmp().execute('system_reset'); }

  /** Asks QEMU to quit, then waits for the process (kills it after 2 s). */
  async quit(): Promise<QemuExit> {
    if (!this.exitStatus) {
      this.qmp?.execute('quit').catch(() => { /* the connection drops as QEMU exits */ });
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exitStatus!;
  }

  /** Stops QEMU if running and deletes the sockets but keeps the shm file (a new QEMU will reuse it). */
  closeKeepingFile(): Promise<void> {
    this.keepShm = true;
    return this.close();
  }

  /** Stops QEMU if running and deletes the shm file and sockets. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closeDoorbellSockets();
      if (!this.exitStatus) {
        this.child.kill('SIGKILL');
        await this.exited;
      }
      this.qmp?.close();
      this.removeFiles();
      live.delete(this);
    })();
    return this.closing;
  }

  /** Synchronous kill + file removal (process exit path). */
  killNow(): void {
    if (!this.exitStatus) {
      try { this.child.kill('SIGKILL'); } catch { /* already gone */ }
    }
    this.removeFiles();
    live.delete(this);
  }

  private removeFiles(): void {
    const files = this.keepShm ? [this.doorbellPath, this.qmpPath] : [this.shmPath, this.doorbellPath, this.qmpPath];
    for (const path of files) {
      try {
        if (existsSync(path)) unlinkSync(path);
      } catch { /* already removed */ }
    }
  }
}

async function waitForFile(path: string, instance: QemuInstance, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (instance.exitStatus) throw new Error(`qemu exited (${JSON.stringify(instance.exitStatus)}) during start-up:\n${instance.stderr}`);
    if (Date.now() > deadline) throw new Error(`qemu did not create ${path} within ${timeoutMs} ms:\n${instance.stderr}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Starts qemu-system-arm with the firmware (paused unless `paused: false`) and connects
 * QMP. Typical use: launch, write the resource table into `shmPath`, connectDoorbell(),
 * cont(), ..., close().
 */
export async function launchQemu(options: QemuOptions): Promise<QemuInstance> {
  const n = instanceCounter++;
  const tag = `xs-rpmsg-qemu-${process.pid}-${n}`;
  const shmPath = options.shmPath ?? `/dev/shm/${tag}`;
  const doorbellPath = options.doorbellPath ?? join(tmpdir(), `${tag}.doorbell`);
  const qmpPath = options.qmpPath ?? join(tmpdir(), `${tag}.qmp`);
  if (!existsSync(options.elf)) throw new Error(`ENOENT: firmware ELF ${options.elf} does not exist; build it with npx tsx tools/build-firmware.ts`);
  for (const path of [doorbellPath, qmpPath]) if (existsSync(path)) unlinkSync(path);
  const args = qemuArguments({ ...options, shmPath, doorbellPath, qmpPath });
  const child = spawn(options.qemuBinary ?? 'qemu-system-arm', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const instance = new QemuInstance(child, args, shmPath, doorbellPath, qmpPath, options.onConsole);
  child.once('error', (error) => { instance.stderr += `spawn error: ${error.message}\n`; });
  try {
    const timeout = options.startTimeoutMs ?? 10_000;
    await waitForFile(qmpPath, instance, timeout);
    await waitForFile(doorbellPath, instance, timeout);
    // QEMU creates the socket file before it listens: on a loaded machine a connect can come in between.
    const deadline = Date.now() + timeout;
    for (;;) {
      try {
        instance.qmp = await QmpClient.connect(qmpPath);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > deadline || instance.exitStatus) throw error;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  } catch (error) {
    await instance.close();
    throw error;
  }
  return instance;
}
