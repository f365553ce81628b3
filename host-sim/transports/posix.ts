/** The posix target: the remote as a native XS process over a /dev/shm file and a socket doorbell (OpenAMP's convention). */
import { rmSync } from 'node:fs';
import { connectUnixSocket } from '../../launch/launched-process.ts';
import { launchPosixRemote, POSIX_SHM_SIZE, type PosixRemote as PosixProcess } from '../../launch/posix.ts';
import { decodeResourceTable, resourceTableLayout } from '../../resource-table/codec.ts';
import { SharedMemory } from '../../wire/shared-memory.ts';
import { mapSharedFile } from '../native/shm-map.ts';
import type { ReservedMemory, RprocOps } from '../remoteproc/ops.ts';
import type { Rproc } from '../remoteproc/remoteproc-core.ts';
import { SocketDoorbell } from './doorbell-socket.ts';

/** OpenAMP's Linux-port layout (WIRE.md, "Reference peers"): addresses are file offsets. */
export const OPENAMP_LAYOUT = {
  /** The buffer pool: 0x10000..0x4FFFF, RX (remote -> host) the lower half. */
  bufferPool: { name: 'vdev0buffer', da: 0x10000, len: 0x40000 } satisfies ReservedMemory,
};

/** Shared files of launched remotes: removed even if Node exits without close(). */
const filesToRemoveAtExit = new Set<string>();
process.once('exit', () => {
  for (const path of filesToRemoveAtExit) rmSync(path, { force: true });
});

/** Options of a posix remote. */
export interface PosixRemoteOptions {
  executable: string;
  console?: (text: string) => void;
  /** Called when the process ends on its own (crash: status 70..79, see docs/PLATFORM.md). */
  onFirmwareExit?: (code: number | null) => void;
}

/**
 * rproc_ops for a native remote process: it writes its own resource table at offset 0 of
 * the file and serves the doorbell; start connects (launching a new process after a stop),
 * stop kills it, kick writes one byte. Bytes from the remote do not name a vring.
 */
export class PosixRemote implements RprocOps {
  memory!: SharedMemory;
  firmware!: { resourceTable: Uint8Array; offset: number };
  readonly dmaPool = { da: 0x4000, len: POSIX_SHM_SIZE - 0x4000 };
  readonly reservedMemory: ReservedMemory[] = [OPENAMP_LAYOUT.bufferPool];
  readonly doorbell = new SocketDoorbell(false);
  process: PosixProcess | null = null;
  private shm = '';
  private closed = false;
  /** Attached to a process that is not ours. */
  private attached = false;

  private constructor(private readonly options: PosixRemoteOptions) {}

  /** Launch the process and read the resource table it wrote into the file. */
  static async launch(options: PosixRemoteOptions): Promise<PosixRemote> {
    const remote = new PosixRemote(options);
    try {
      await remote.launchProcess();
      remote.memory = new SharedMemory(mapSharedFile(remote.process!.shmPath, POSIX_SHM_SIZE), 0);
      remote.readOwnTable();
    } catch (error) {
      await remote.close();
      throw error;
    }
    return remote;
  }

  /**
   * Attach to a remote that is already running (started by hand or by another tool) at the
   * OpenAMP defaults or the given paths. The process is not ours: stop() only drops the
   * doorbell, and a crash cannot be recovered by restarting it.
   */
  static async attach(options: { shmPath?: string; socketPath?: string; shmSize?: number; console?: (text: string) => void }): Promise<PosixRemote> {
    const remote = new PosixRemote({ executable: '', console: options.console });
    const shmPath = options.shmPath ?? '/dev/shm/openamp.shm';
    const socketPath = options.socketPath ?? '/tmp/openamp.event.0';
    const socket = await connectUnixSocket(socketPath).catch((error: Error) => {
      throw new Error(`ECONNREFUSED: no remote serves ${socketPath} (${error.message}); start one, e.g. build/posix/xs-rpmsg-posix`);
    });
    remote.attached = true;
    remote.doorbell.connect(socket);
    remote.memory = new SharedMemory(mapSharedFile(shmPath, options.shmSize ?? POSIX_SHM_SIZE), 0);
    remote.readOwnTable();
    return remote;
  }

  private readOwnTable(): void {
    const head = this.memory.bytes.slice(0, 0x1000);
    const size = resourceTableLayout(decodeResourceTable(head).table).size;
    this.firmware = { resourceTable: this.memory.bytes.slice(0, size), offset: 0 };
  }

  private async launchProcess(): Promise<void> {
    // The file outlives restarts of the process: close() removes it, not the process.
    const child = launchPosixRemote({ executable: this.options.executable, shm: this.shm || undefined, onConsole: this.options.console, deleteShm: false });
    this.process = child;
    if (!this.shm) {
      this.shm = child.shmPath;
      filesToRemoveAtExit.add(this.shm);
    }
    // The remote writes its table, then listens; connecting starts its XS machine.
    this.doorbell.connect(await child.connectDoorbell());
    void child.exited.then((status) => {
      if (this.process === child && !this.closed) this.options.onFirmwareExit?.(status.code);
    });
  }

  attach(rproc: Rproc): void {
    this.doorbell.attach(rproc);
  }

  async start(): Promise<void> {
    if (this.attached) return;
    if (this.process === null || this.process.exitStatus !== null) {
      // Restart: the new process rewrites its own (identical) table, keeping what the host set.
      const prepared = this.memory.bytes.slice(0, this.firmware.resourceTable.length);
      const previous = this.process;
      this.process = null;
      await previous?.close();
      await this.launchProcess();
      this.memory.bytes.set(prepared, 0);
    }
  }

  async stop(): Promise<void> {
    if (this.attached) return;
    const child = this.process;
    if (child === null) return;
    this.process = null;
    await child.close();
  }

  kick(notifyId: number): void {
    this.doorbell.kick(notifyId);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.doorbell.close();
    await this.process?.close();
    if (this.shm && !this.attached) {
      rmSync(this.shm, { force: true });
      filesToRemoveAtExit.delete(this.shm);
    }
  }
}
