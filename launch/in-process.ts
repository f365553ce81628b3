/**
 * Starting the in-process remote: its "firmware image" (the resource table and trace buffer
 * placed in the shared window) and the runtime booted over that window in this Node process.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInProcessPlatform, InProcessDoorbells } from '../firmware/platform/in-process/platform.ts';
import { startRuntime, type App, type Runtime, type RuntimeOptions } from '../firmware/runtime/runtime.ts';
import { encodeResourceTable } from '../resource-table/codec.ts';
import { resourceTableFromManifest } from '../resource-table/manifest.ts';
import type { TraceEntry } from '../resource-table/model.ts';

/** Where the in-process image put things, as offsets into the shared window. */
export interface InProcessImage {
  /** The encoded table as the firmware ships it (before the host touches it). */
  resourceTable: Uint8Array;
  /** Offset of the table in the window (the firmware's `.resource_table`). */
  resourceTableOffset: number;
  /** First offset the image does not use: the host allocates vrings and buffers from here. */
  end: number;
}

const align = (value: number, to: number) => Math.ceil(value / to) * to;

/**
 * Lay out the image the way the qemu linker script does in PSRAM: the table first, the trace
 * buffer after it, and the rest free for the host. Writes both into `window`.
 */
export function placeInProcessImage(manifest: unknown, window: Uint8Array, memoryBase: number, target = 'in-process'): InProcessImage {
  const generated = resourceTableFromManifest(manifest, target);
  const table = generated.table;
  let size = encodeResourceTable(table).length;
  let end = align(size, 16);
  if (generated.trace !== null) {
    const trace = table.entries[generated.trace.entryIndex] as TraceEntry;
    trace.da = memoryBase + end;
    window.fill(0, end, end + trace.len);
    end = align(end + trace.len, 16);
  }
  const bytes = encodeResourceTable(table);
  size = bytes.length;
  window.set(bytes, 0);
  return { resourceTable: bytes, resourceTableOffset: 0, end: align(end, 4096) };
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Load a firmware app's TypeScript (firmware/apps/NAME/main.ts) and the runtime options it asks for. */
export async function loadInProcessApp(name: string): Promise<{ app: App; runtimeOptions?: RuntimeOptions }> {
  const module = (await import(resolve(root, 'firmware/apps', name, 'main.ts'))) as { default: App; runtimeOptions?: RuntimeOptions };
  return { app: module.default, runtimeOptions: module.runtimeOptions };
}

/** What an in-process firmware runs: the app and the runtime tuning it asks for. */
export interface InProcessFirmwareOptions {
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

/** The in-process remote core: one ArrayBuffer as its shared window, the runtime started and stopped on it. */
export class InProcessFirmware {
  /** The shared window. */
  readonly buffer: ArrayBuffer;
  /** The remote's address of byte 0 of the window. */
  readonly memoryBase: number;
  /** Where the image put its table and where free memory starts. */
  readonly image: InProcessImage;
  /** The doorbells between this process's host and the remote. */
  readonly doorbells = new InProcessDoorbells();
  /** The running runtime, or null while stopped. */
  runtime: Runtime | null = null;
  private readonly options: InProcessFirmwareOptions;

  constructor(options: InProcessFirmwareOptions) {
    this.options = options;
    this.memoryBase = options.memoryBase ?? 0x21000000;
    this.buffer = new ArrayBuffer(options.memorySize ?? 1 << 20);
    this.image = placeInProcessImage(options.manifest, new Uint8Array(this.buffer), this.memoryBase);
  }

  /** Boot the runtime with the app (a fresh start after each stop). */
  start(): void {
    this.doorbells.reopen();
    const platform = createInProcessPlatform({
      memory: this.buffer,
      memoryBase: this.memoryBase,
      resourceTableOffset: this.image.resourceTableOffset,
      doorbells: this.doorbells,
      log: this.options.console,
    });
    this.runtime = startRuntime(platform, this.options.app, this.options.runtimeOptions);
  }

  /** Halt the runtime and close the doorbells. */
  stop(): void {
    this.runtime?.stop();
    this.runtime = null;
    this.doorbells.close();
  }
}

export type { App, Runtime, RuntimeOptions };
