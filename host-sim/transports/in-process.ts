/** The in-process transport: rproc_ops for a remote whose runtime runs in this Node process over one ArrayBuffer. */
import { InProcessFirmware, type InProcessFirmwareOptions, type Runtime } from '../../launch/in-process.ts';
import { SharedMemory } from '../../wire/shared-memory.ts';
import type { RprocFirmware, RprocOps } from '../remoteproc/ops.ts';
import type { Rproc } from '../remoteproc/remoteproc-core.ts';

/** Options of an in-process remote (the firmware's, see launch/in-process.ts). */
export type InProcessRemoteOptions = InProcessFirmwareOptions;

/**
 * A remote processor in this process: its "image" is the resource table and trace buffer at
 * the start of the window; start() boots the runtime with the app, stop() halts it.
 */
export class InProcessRemote implements RprocOps {
  /** The host's view of the shared window. */
  readonly memory: SharedMemory;
  /** What rproc.boot() takes. */
  readonly firmware: RprocFirmware;
  /** Where the host may allocate vrings and buffers (after the image). */
  readonly dmaPool: { da: number; len: number };
  private readonly core: InProcessFirmware;

  constructor(options: InProcessRemoteOptions) {
    this.core = new InProcessFirmware(options);
    const image = this.core.image;
    this.memory = new SharedMemory(this.core.buffer, this.core.memoryBase);
    this.firmware = { resourceTable: image.resourceTable, offset: image.resourceTableOffset };
    this.dmaPool = { da: this.core.memoryBase + image.end, len: this.memory.size - image.end };
  }

  /** The doorbells between the host and the remote. */
  get doorbells(): InProcessFirmware['doorbells'] {
    return this.core.doorbells;
  }

  /** The running runtime, or null while stopped. */
  get runtime(): Runtime | null {
    return this.core.runtime;
  }

  /** Route the remote's doorbell to `rproc` (call once after host.addRproc). */
  attach(rproc: Rproc): void {
    this.core.doorbells.onHostNotify = (notifyId) => {
      rproc.vqInterrupt(notifyId);
    };
  }

  start(): void {
    this.core.start();
  }

  stop(): void {
    this.core.stop();
  }

  kick(): void {
    this.core.doorbells.ringRemote();
  }
}
