/**
 * Starting the in-process remote: its "firmware image" (the resource table and trace buffer
 * placed in the shared window) and the runtime booted over that window in this Node process.
 */
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInProcessPlatform, InProcessDoorbells } from '../firmware/platform/in-process/platform.ts';
import { bundleFirmwareScript } from '../tools/bundle-firmware.ts';
import { FirmwareContext, MPS2_BUFFER_BUDGET, type FirmwareScript } from './firmware-context.ts';
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

/**
 * Bundle app `name` with the runtime (the XS bundle, entry firmware/platform/in-process/vm-entry.ts)
 * for the in-process target's XS-like context (launch/firmware-context.ts). Cached per app.
 */
export function loadInProcessScript(name: string): Promise<FirmwareScript> {
  let cached = scripts.get(name);
  if (cached === undefined) {
    const filename = `${name.endsWith('.ts') ? basename(dirname(name)) : name}.firmware.js`;
    cached = bundleFirmwareScript(name, 'firmware/platform/in-process/vm-entry.ts', filename).then(({ code, map }) => ({ code, map, filename }));
    cached.catch(() => scripts.delete(name));
    scripts.set(name, cached);
  }
  return cached;
}
const scripts = new Map<string, Promise<FirmwareScript>>();

/** The in-process heap budget: manifest platforms["in-process"].creation.static, else creation.static, else MPS2_BUFFER_BUDGET. */
export function inProcessHeapLimit(manifest: unknown): number {
  const object = (value: unknown) => (typeof value === 'object' && value !== null ? value as Record<string, unknown> : {});
  const m = object(manifest);
  const perTarget = object(object(object(m.platforms)['in-process']).creation).static;
  const base = object(m.creation).static;
  const value = perTarget ?? base;
  return typeof value === 'number' && value > 0 ? value : MPS2_BUFFER_BUDGET;
}

/** What an in-process firmware runs: the bundled app in an XS-like context, or an app function run directly in Node. */
export interface InProcessFirmwareOptions {
  /** manifest.json contents (its resource table is generated for target "in-process"). */
  manifest: unknown;
  /**
   * The bundled firmware (loadInProcessScript): runs in a context with XS's globals only, a heap
   * budget, device Date.now(); what the in-process session target uses.
   */
  script?: FirmwareScript;
  /** Or the firmware app as a function, run directly in this Node process (unit tests of the runtime). */
  app?: App;
  /** The firmware stopped on its own (crash, platform.exit): exit status and reason. */
  onExit?: (status: number, reason: string) => void;
  /** Buffer bytes the bundled firmware may hold; default inProcessHeapLimit(manifest). */
  heapLimit?: number;
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
  /** The context of the running bundled firmware (null for a direct app or while stopped). */
  context: FirmwareContext | null = null;
  private readonly options: InProcessFirmwareOptions;

  constructor(options: InProcessFirmwareOptions) {
    if ((options.script === undefined) === (options.app === undefined)) throw new Error('EINVAL: give an in-process firmware either script (bundled, XS-like context) or app (a function run in Node)');
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
    if (this.options.script === undefined) {
      this.runtime = startRuntime(platform, this.options.app!, this.options.runtimeOptions);
      return;
    }
    const context = new FirmwareContext({
      script: this.options.script,
      platform,
      heapLimit: this.options.heapLimit ?? inProcessHeapLimit(this.options.manifest),
      onExit: (status, reason) => {
        this.runtime = null;
        this.doorbells.close();
        this.options.onExit?.(status, reason);
      },
    });
    this.context = context;
    platform.now = () => context.now();
    context.run();
    this.runtime = context.exitStatus === null ? context.runtime : null;
  }

  /** Halt the runtime, clear the firmware's timers and close the doorbells. */
  stop(): void {
    if (this.context !== null) this.context.stop();
    else this.runtime?.stop();
    this.context = null;
    this.runtime = null;
    this.doorbells.close();
  }
}

export type { App, Runtime, RuntimeOptions, FirmwareScript };
