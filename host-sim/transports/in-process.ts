/** The in-process transport: the remote runtime runs in this Node process over one ArrayBuffer. */
import { createInProcessPlatform, InProcessDoorbells } from '../../firmware/platform/in-process/platform.ts';
import { placeInProcessImage } from '../../firmware/platform/in-process/image.ts';
import { startRuntime, type App, type Runtime, type RuntimeOptions } from '../../firmware/runtime/runtime.ts';
import { SharedMemory } from '../../wire/shared-memory.ts';
import type { RprocFirmware, RprocOps } from '../remoteproc/ops.ts';
import type { Rproc } from '../remoteproc/remoteproc-core.ts';

/** Options of an in-process remote. */
export interface InProcessRemoteOptions {
  /** manifest.json contents (its resource table is generated for target "in-process"). */
  manifest: unknown;
  /** The firmware app. */
  app: App;
  /** Runtime tuning the app asks for (its `runtimeOptions` export). */
  runtimeOptions?: RuntimeOptions;
  /** Size of the shared window. Default 1 MiB. */
  memorySize?: number;
  /** The remote's address of byte 0 of the window. Default 0x21000000 (mps2 PSRAM). */
  memoryBase?: number;
  /** Console lines of the remote. */
  console?: (line: string) => void;
}

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
  readonly doorbells = new InProcessDoorbells();
  /** The running runtime, or null while stopped. */
  runtime: Runtime | null = null;
  private readonly buffer: ArrayBuffer;
  private readonly options: InProcessRemoteOptions;

  constructor(options: InProcessRemoteOptions) {
    this.options = options;
    const base = options.memoryBase ?? 0x21000000;
    this.buffer = new ArrayBuffer(options.memorySize ?? 1 << 20);
    this.memory = new SharedMemory(this.buffer, base);
    const image = placeInProcessImage(options.manifest, this.memory.bytes, base);
    this.firmware = { resourceTable: image.resourceTable, offset: image.resourceTableOffset };
    this.dmaPool = { da: base + image.end, len: this.memory.size - image.end };
  }

  /** Route the remote's doorbell to `rproc` (call once after host.addRproc). */
  attach(rproc: Rproc): void {
    this.doorbells.onHostNotify = (notifyId) => {
      rproc.vqInterrupt(notifyId);
    };
  }

  start(): void {
    this.doorbells.reopen();
    const offset = (this.firmware as { offset: number }).offset;
    const platform = createInProcessPlatform({
      memory: this.buffer,
      memoryBase: this.memory.base,
      resourceTableOffset: offset,
      doorbells: this.doorbells,
      log: this.options.console,
    });
    this.runtime = startRuntime(platform, this.options.app, this.options.runtimeOptions);
  }

  stop(): void {
    this.runtime?.stop();
    this.runtime = null;
    this.doorbells.close();
  }

  kick(): void {
    this.doorbells.ringRemote();
  }
}
