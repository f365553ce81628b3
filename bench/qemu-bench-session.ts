/**
 * A host-simulator session on the qemu target with extra QEMU arguments (the TCG plugin).
 * host-sim/session.ts's openSession and QemuRemote do not pass extra arguments through, so
 * this is the same wiring, trimmed: no relaunch after a firmware exit (a benchmark fails instead).
 */
import { readFileSync } from 'node:fs';
import { launchQemu, PSRAM_BASE, PSRAM_SIZE, type QemuInstance } from '../emulator/qemu/qemu.ts';
import { LinuxHost } from '../host-sim/host.ts';
import { mapSharedFile } from '../host-sim/native/shm-map.ts';
import type { RprocOps } from '../host-sim/remoteproc/ops.ts';
import type { Rproc } from '../host-sim/remoteproc/remoteproc-core.ts';
import { SocketDoorbell } from '../host-sim/transports/doorbell-socket.ts';
import { QEMU_FIRMWARE_RESERVED } from '../host-sim/transports/qemu.ts';
import { SharedMemory } from '../wire/shared-memory.ts';

/** Options of openBenchSession. */
export interface BenchSessionOptions {
  elf: string;
  /** Appended to QEMU's argument list (e.g. -plugin ...). */
  extraArgs: string[];
  /** Every chunk QEMU writes to its stderr (the plugin's lines). */
  onStderr?: (chunk: string) => void;
  /** Console lines of the remote. */
  console?: (line: string) => void;
  /** Before boot: register drivers. */
  beforeBoot?: (host: LinuxHost) => void;
}

/** A booted remote in QEMU and its simulated Linux host. */
export interface BenchSession {
  host: LinuxHost;
  rproc: Rproc;
  qemu: QemuInstance;
  console: string[];
  /** How many kicks (doorbells) the host has sent the remote so far. */
  kicks(): number;
  /** Shut down, quit QEMU, remove its /dev/shm file and sockets. Idempotent. */
  close(): Promise<void>;
}

class BenchQemuOps implements RprocOps {
  readonly dmaPool = { da: PSRAM_BASE + QEMU_FIRMWARE_RESERVED, len: PSRAM_SIZE - QEMU_FIRMWARE_RESERVED };
  readonly doorbell = new SocketDoorbell(true);
  kicks = 0;
  constructor(readonly qemu: QemuInstance, readonly memory: SharedMemory) {}
  loadSegment(): boolean {
    return true; // QEMU loaded the ELF itself (-kernel)
  }
  async start(): Promise<void> {
    if (this.qemu.exitStatus !== null) throw new Error(`qemu exited (${JSON.stringify(this.qemu.exitStatus)}); stderr:\n${this.qemu.stderr}`);
    await this.qemu.cont();
  }
  async stop(): Promise<void> {
    if (this.qemu.exitStatus === null) await this.qemu.stop();
  }
  kick(notifyId: number): void {
    this.kicks++;
    this.doorbell.kick(notifyId);
  }
}

/** Launch QEMU paused with `extraArgs`, boot the firmware through the simulated remoteproc. */
export async function openBenchSession(options: BenchSessionOptions): Promise<BenchSession> {
  const consoleLines: string[] = [];
  let pending = '';
  const qemu = await launchQemu({
    elf: options.elf,
    extraArgs: options.extraArgs,
    onConsole: (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const clean = line.replace(/\r$/, '');
        consoleLines.push(clean);
        options.console?.(clean);
      }
    },
  });
  if (options.onStderr) qemu.child.stderr!.on('data', options.onStderr);
  let host: LinuxHost | null = null;
  let rproc: Rproc | null = null;
  let ops: BenchQemuOps | null = null;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      if (rproc !== null && qemu.exitStatus === null) await rproc.shutdown();
    } catch {
      /* QEMU is killed below anyway */
    } finally {
      ops?.doorbell.close();
      await qemu.quit(); // a normal exit (QMP quit) so the plugin's atexit runs; SIGKILL after 2 s
      await qemu.close();
    }
  };
  try {
    const memory = new SharedMemory(mapSharedFile(qemu.shmPath, PSRAM_SIZE), PSRAM_BASE);
    ops = new BenchQemuOps(qemu, memory);
    ops.doorbell.connect(await qemu.connectDoorbell());
    host = new LinuxHost({ txTimeoutMs: 15000 });
    options.beforeBoot?.(host);
    rproc = host.addRproc({ name: 'remoteproc0', ops, memory, dmaPool: ops.dmaPool });
    ops.doorbell.attach(rproc);
    await rproc.boot(new Uint8Array(readFileSync(options.elf)));
  } catch (error) {
    await close();
    throw error;
  }
  return { host, rproc, qemu, console: consoleLines, kicks: () => ops!.kicks, close };
}
