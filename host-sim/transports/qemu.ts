/** The qemu target: the real firmware ELF on an emulated Cortex-M (mps2-an385), driven through QMP. */
import { readFileSync } from 'node:fs';
import { launchQemu, PSRAM_BASE, PSRAM_SIZE, type QemuInstance } from '../../launch/qemu.ts';
import { SharedMemory } from '../../wire/shared-memory.ts';
import { mapSharedFile } from '../native/shm-map.ts';
import type { RprocOps } from '../remoteproc/ops.ts';
import type { Rproc } from '../remoteproc/remoteproc-core.ts';
import { SocketDoorbell } from './doorbell-socket.ts';

/** The firmware's part of PSRAM (table, trace, crash record); the host allocates above it (docs/PLATFORM.md). */
export const QEMU_FIRMWARE_RESERVED = 0x4000;

/** Options of a qemu remote. */
export interface QemuRemoteOptions {
  elf: string;
  /** -icount shift (deterministic instruction-count time). */
  icount?: number;
  /** UART0 text as it arrives. */
  console?: (text: string) => void;
  /** Called when the firmware ends on its own (crash, JS abort): status 70..79, see docs/PLATFORM.md. */
  onFirmwareExit?: (code: number | null) => void;
  /** Appended to QEMU's arguments (e.g. the benchmark's -plugin). */
  extraArgs?: string[];
  /** QEMU's own stderr, as it arrives (e.g. a plugin's output). */
  onStderr?: (chunk: string) => void;
}

/**
 * rproc_ops for QEMU: start = QMP cont (relaunching QEMU if the firmware had exited), stop =
 * QMP stop + system_reset (QEMU reloads the ELF, then remoteproc copies its table again),
 * kick = one byte (the notifyid) on UART1.
 */
export class QemuRemote implements RprocOps {
  memory!: SharedMemory;
  firmware!: Uint8Array;
  readonly dmaPool = { da: PSRAM_BASE + QEMU_FIRMWARE_RESERVED, len: PSRAM_SIZE - QEMU_FIRMWARE_RESERVED };
  readonly doorbell = new SocketDoorbell(true);
  qemu: QemuInstance | null = null;
  private shmPath = '';
  private closed = false;

  private constructor(private readonly options: QemuRemoteOptions) {}

  /** Launch QEMU paused with the ELF and map its PSRAM. */
  static async launch(options: QemuRemoteOptions): Promise<QemuRemote> {
    const remote = new QemuRemote(options);
    remote.firmware = new Uint8Array(readFileSync(options.elf));
    await remote.launchQemu();
    remote.memory = new SharedMemory(mapSharedFile(remote.shmPath, PSRAM_SIZE), PSRAM_BASE);
    return remote;
  }

  private async launchQemu(): Promise<void> {
    const qemu = await launchQemu({
      elf: this.options.elf,
      shmPath: this.shmPath || undefined,
      icount: this.options.icount,
      onConsole: this.options.console,
      extraArgs: this.options.extraArgs,
    });
    if (this.options.onStderr) qemu.child.stderr!.on('data', this.options.onStderr);
    this.qemu = qemu;
    this.shmPath = qemu.shmPath;
    this.doorbell.connect(await qemu.connectDoorbell());
    void qemu.exited.then((status) => {
      if (this.qemu === qemu && !this.closed) this.options.onFirmwareExit?.(status.code);
    });
  }

  attach(rproc: Rproc): void {
    this.doorbell.attach(rproc);
  }

  /** Segments outside PSRAM (flash, RAM) are QEMU's to load: it did so from the same ELF. */
  loadSegment(): boolean {
    return true;
  }

  async start(): Promise<void> {
    if (this.qemu === null || this.qemu.exitStatus !== null) {
      // The firmware ended (crash): boot a fresh QEMU on the same PSRAM file. Its loader
      // rewrites the ELF's PSRAM segments, so keep what remoteproc prepared there.
      const prepared = this.memory.bytes.slice(0, QEMU_FIRMWARE_RESERVED);
      const previous = this.qemu;
      this.qemu = null;
      await previous?.closeKeepingFile();
      await this.launchQemu();
      this.memory.bytes.set(prepared, 0);
    }
    await this.qemu!.cont();
  }

  async stop(): Promise<void> {
    const qemu = this.qemu;
    if (qemu === null || qemu.exitStatus !== null) return;
    await qemu.stop();
    const resets = qemu.qmp!.events.length;
    await qemu.systemReset();
    const deadline = Date.now() + 5000;
    while (!qemu.qmp!.events.slice(resets).some((event) => event.event === 'RESET') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  kick(notifyId: number): void {
    this.doorbell.kick(notifyId);
  }

  /** Quit QEMU (QMP quit, so plugins' exit handlers run; SIGKILL after 2 s) and remove its files. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.doorbell.close();
    if (this.qemu !== null && this.qemu.exitStatus === null) await this.qemu.quit();
    await this.qemu?.close();
  }
}
