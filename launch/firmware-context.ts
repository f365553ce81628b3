/**
 * The in-process target's XS-like context: the bundled app and runtime (the same bundle as for
 * XS, entry firmware/platform/in-process/vm-entry.ts) run in a node:vm context whose global
 * object has what XS's has and nothing else, so a Node-only mistake fails in-process as on the
 * device (docs/XS-AND-NODE.md):
 *
 * - Globals: the ECMAScript built-ins of the context (its own Object, Array, Uint8Array...), and
 *   what firmware/platform/xs/xs_platform.c defines: platform, setTimeout/setInterval/
 *   clearTimeout/clearInterval (numbers as ids), print, console.{log,info,warn,error,debug}
 *   (one line each), trace, global. Removed: Intl, WebAssembly and V8's console. Never there:
 *   Buffer, process, require, module, TextEncoder/TextDecoder, setImmediate, queueMicrotask,
 *   performance, fetch, URL, structuredClone. (XS's Compartment, ModuleSource, TypedArray are
 *   not provided.)
 * - Date.now() is milliseconds since boot, and `new Date()` is 1970-01-01 plus the uptime, as
 *   on qemu (board.c's _gettimeofday). On posix, XS's Date is the host's wall clock.
 * - Memory: V8 cannot cap the heap of one context, so the budget is enforced on what a firmware's
 *   big allocations are: every ArrayBuffer and typed array constructed in the context is charged
 *   its bytes, credited back when collected (FinalizationRegistry); one that would pass the
 *   budget stops the firmware with "memory full", as XS does (exit status 71). Objects, arrays
 *   and strings are not charged. The budget: manifest creation.static (per target:
 *   platforms["in-process"].creation.static) when set, else 2.9 MB: what the mps2-an385 build
 *   holds in typed arrays before XS reports "memory full" (measured, docs/MEMORY.md).
 * - An exception escaping the script's top level or a timer, or platform.exit(), stops the
 *   firmware as on XS: "*** xs-rpmsg firmware crashed (exit status 75): unhandled exception: ..."
 *   on the console, every timer cleared, onExit(status) called.
 * - Stacks: V8 gives file:line:column of the bundle; platform.mapStack maps them through the
 *   bundle's source map to the TypeScript sources.
 *
 * Not a security boundary: the platform object and the shared ArrayBuffer come from Node's realm.
 */
import { SourceMap } from 'node:module';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import type { Platform } from '../firmware/runtime/platform.ts';
import type { Runtime } from '../firmware/runtime/runtime.ts';

const root = resolve(fileURLToPath(import.meta.url), '../..');

/** XS abort codes + XS_CRASH_EXIT_BASE (firmware/platform/xs/xs_board.h): the exit status of each crash. */
export const CRASH_STATUS = { memoryFull: 71, stackOverflow: 72, unhandledException: 75, unhandledRejection: 78 } as const;

/** Typed-array bytes the mps2-an385 build holds before "memory full" (default manifest; docs/MEMORY.md). */
export const MPS2_BUFFER_BUDGET = 2_900_000;

/** A bundled firmware script and its source map. */
export interface FirmwareScript {
  code: string;
  /** Source map (JSON text) of `code`. */
  map: string;
  /** The name stacks show for the bundle. */
  filename: string;
}

export interface FirmwareContextOptions {
  script: FirmwareScript;
  /** The platform the runtime gets (the in-process one); its log is the console. */
  platform: Platform;
  /** Bytes of ArrayBuffer/typed-array storage the firmware may hold. */
  heapLimit: number;
  /** The firmware stopped: exit status (0 clean) and the reason line. */
  onExit?: (status: number, reason: string) => void;
}

/** One boot of the bundled firmware in its own context. */
export class FirmwareContext {
  /** The runtime the bundle created (null until it did, or when it refused to start). */
  runtime: Runtime | null = null;
  /** Bytes of buffer storage charged now. */
  heapInUse = 0;
  /** Set once the firmware stopped (crash, exit, or stop()). */
  exitStatus: number | null = null;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private nextTimer = 1;
  private readonly bootTime = performance.now();
  private readonly sourceMap: SourceMap;
  private readonly options: FirmwareContextOptions;
  readonly context: vm.Context;

  constructor(options: FirmwareContextOptions) {
    this.options = options;
    this.sourceMap = new SourceMap(JSON.parse(options.script.map));
    this.context = vm.createContext({}, { name: 'xs-rpmsg firmware', codeGeneration: { strings: true, wasm: false } });
    this.installGlobals();
  }

  /** Milliseconds since this boot. */
  now(): number {
    return performance.now() - this.bootTime;
  }

  /** Run the bundle (boot). A top-level exception stops the firmware as on XS. */
  run(): void {
    const script = new vm.Script(this.options.script.code, { filename: this.options.script.filename });
    this.guard(() => script.runInContext(this.context));
  }

  /** Stop: every timer cleared, the runtime stopped; nothing of the firmware runs afterwards. */
  stop(status = 0, reason = 'stopped'): void {
    if (this.exitStatus !== null) return;
    this.exitStatus = status;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.runtime?.stop();
    this.options.platform.onNotify = null;
    if (reason !== 'stopped') this.options.onExit?.(status, reason);
  }

  /** How many timers are pending (for tests: none after stop()). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Map `file.js:line:column` positions of the bundle in a stack to TypeScript sources; frames outside the bundle (this launcher's) are dropped. */
  mapStack(stack: string): string {
    const name = this.options.script.filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const inBundle = stack.split('\n').filter((line) => line.includes(this.options.script.filename)).join('\n');
    return inBundle.replace(new RegExp(`${name}:(\\d+):(\\d+)`, 'g'), (whole, line: string, column: string) => {
      const entry = this.sourceMap.findEntry(Number(line) - 1, Number(column) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
      if (entry.originalSource === undefined || entry.originalLine === undefined) return whole;
      const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : resolve(entry.originalSource);
      return `${relative(root, source)}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
    });
  }

  /** Run firmware code from the event loop: an escaping exception is an XS abort. */
  private guard(body: () => void): void {
    if (this.exitStatus !== null) return;
    try {
      body();
    } catch (error) {
      if (this.exitStatus !== null) return; // memory full / exit unwinding
      const text = describe(error);
      this.crash(CRASH_STATUS.unhandledException, `unhandled exception: ${text}`, error);
    }
  }

  private crash(status: number, reason: string, error?: unknown): void {
    const stack = error instanceof Error && error.stack ? this.mapStack(error.stack.split('\n').slice(1).map((l) => l.trim()).join('\n')) : '';
    this.options.platform.log(`*** xs-rpmsg firmware crashed (exit status ${status}): ${reason}${stack ? `\n${stack}` : ''}`);
    this.stop(status, reason);
  }

  private installGlobals(): void {
    const context = this.context;
    const global = vm.runInContext('globalThis', context) as Record<string, unknown>;
    for (const name of ['Intl', 'WebAssembly', 'console']) delete global[name];
    const platform = this.options.platform as Platform & { started?: (runtime: Runtime) => void; mapStack?: (stack: string) => string; heap?: () => unknown };
    const log = (text: unknown) => platform.log(String(text));
    const contextTypeError = global.TypeError as ErrorConstructor;
    // Timers: ids are numbers, as on XS; every callback runs guarded (an exception is an abort).
    const addTimer = (repeat: boolean) => (callback: unknown, ms?: unknown, ...args: unknown[]): number => {
      if (typeof callback !== 'function') throw new contextTypeError(`${repeat ? 'setInterval' : 'setTimeout'}: callback is not a function`);
      if (this.exitStatus !== null) return 0;
      const id = this.nextTimer++;
      const delay = Math.max(0, Number(ms) || 0);
      const fire = () => {
        if (!repeat) this.timers.delete(id);
        this.guard(() => (callback as (...values: unknown[]) => void)(...args));
      };
      this.timers.set(id, repeat ? setInterval(fire, delay) : setTimeout(fire, delay));
      return id;
    };
    const clearTimer = (id: unknown) => {
      const timer = this.timers.get(Number(id));
      if (timer === undefined) return;
      clearTimeout(timer);
      this.timers.delete(Number(id));
    };
    const self = this;
    let traced = '';
    const defineAll: Record<string, unknown> = {
      setTimeout: addTimer(false),
      setInterval: addTimer(true),
      clearTimeout: clearTimer,
      clearInterval: clearTimer,
      print: log,
      trace: (text: unknown) => {
        // XS's trace writes its text as is (no newline added): lines are completed here.
        traced += String(text);
        const lines = traced.split('\n');
        traced = lines.pop()!;
        for (const line of lines) platform.log(line);
      },
      console: { log, info: log, warn: log, error: log, debug: log },
      global,
    };
    for (const [name, value] of Object.entries(defineAll)) Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
    // The platform as the bundle sees it: the in-process one, plus exit/started/mapStack/heap of this context.
    const original = { exit: platform.exit.bind(platform), onNotifyOwner: platform };
    platform.exit = (code: number) => {
      original.exit(code);
      self.stop(Number(code) | 0, `the firmware called platform.exit(${code})`);
      throw new StopFirmware();
    };
    platform.started = (runtime: Runtime) => { this.runtime = runtime; };
    platform.mapStack = (stack: string) => this.mapStack(stack);
    platform.heap = () => ({ slots: 0, chunks: this.heapInUse, allocated: this.heapInUse });
    // A doorbell is a call from the event loop into the firmware: guard it like a timer.
    let onNotify: (() => void) | null = null;
    Object.defineProperty(platform, 'onNotify', {
      configurable: true,
      get: () => (onNotify === null ? null : () => this.guard(onNotify!)),
      set: (value: (() => void) | null) => { onNotify = value; },
    });
    Object.defineProperty(global, 'platform', { value: platform, writable: false, configurable: false, enumerable: false });
    this.installDate(global);
    this.installBufferAccounting(global);
  }

  /** Date with the device's meaning: ms since boot (qemu's _gettimeofday). */
  private installDate(global: Record<string, unknown>): void {
    const install = vm.runInContext(`(function (now) {
      const RealDate = Date;
      function DeviceDate(...args) {
        if (!new.target) return new RealDate(now()).toString();
        return args.length === 0 ? Reflect.construct(RealDate, [now()], new.target) : Reflect.construct(RealDate, args, new.target);
      }
      DeviceDate.prototype = RealDate.prototype;
      Object.defineProperty(RealDate.prototype, 'constructor', { value: DeviceDate, writable: true, configurable: true });
      DeviceDate.now = function now_() { return Math.floor(now()); };
      DeviceDate.parse = RealDate.parse;
      DeviceDate.UTC = RealDate.UTC;
      Object.defineProperty(globalThis, 'Date', { value: DeviceDate, writable: true, configurable: true, enumerable: false });
    })`, this.context) as (now: () => number) => void;
    install(() => this.now());
    void global;
  }

  /** Charge ArrayBuffer and typed-array storage against heapLimit (see the file comment). */
  private installBufferAccounting(global: Record<string, unknown>): void {
    const registry = new FinalizationRegistry<number>((bytes) => { this.heapInUse -= bytes; });
    const charge = (bytes: number, holder: object) => {
      if (bytes <= 0) return;
      if (this.heapInUse + bytes > this.options.heapLimit) {
        this.crash(CRASH_STATUS.memoryFull, `memory full (${this.heapInUse + bytes} bytes of buffers asked for, limit ${this.options.heapLimit}: raise creation.static in manifest.json or allocate less)`);
        throw new StopFirmware();
      }
      this.heapInUse += bytes;
      registry.register(holder, bytes);
    };
    const views = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'];
    const isBuffer = (value: unknown) => value instanceof (global.ArrayBuffer as ArrayBufferConstructor) || value instanceof ArrayBuffer
      || (typeof SharedArrayBuffer !== 'undefined' && (value instanceof (global.SharedArrayBuffer as SharedArrayBufferConstructor) || value instanceof SharedArrayBuffer));
    for (const name of ['ArrayBuffer', 'SharedArrayBuffer', ...views]) {
      const constructor = global[name] as new (...args: unknown[]) => ArrayBufferLike | ArrayBufferView;
      const proxy = new Proxy(constructor, {
        construct(target, args, newTarget) {
          const made = Reflect.construct(target, args, newTarget) as ArrayBufferLike | ArrayBufferView;
          if (name.endsWith('Buffer')) charge((made as ArrayBufferLike).byteLength, made);
          else if (!isBuffer(args[0])) charge((made as ArrayBufferView).byteLength, made);
          return made;
        },
      });
      Object.defineProperty(global, name, { value: proxy, writable: true, configurable: true, enumerable: false });
    }
  }
}

/** Thrown through firmware frames after platform.exit() or "memory full": the firmware is gone. */
class StopFirmware extends Error {
  constructor() {
    super('the firmware stopped');
  }
}

function describe(error: unknown): string {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
    const e = error as Error;
    return `${e.name}: ${e.message}`;
  }
  return String(error);
}
