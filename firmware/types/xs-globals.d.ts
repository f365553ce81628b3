/**
 * The globals firmware code has on XS, and only those (firmware/tsconfig.json: `lib` ES2022,
 * no Node, no DOM). The ECMAScript built-ins come from TypeScript's own lib; this file adds what
 * the C platform layer (firmware/platform/xs/xs_platform.c) defines on the global object.
 *
 * Absent on XS, and so absent here (a use is a type error): TextEncoder/TextDecoder (use
 * firmware/runtime/text.ts), Buffer, process, require, module, fetch, setImmediate,
 * queueMicrotask, structuredClone, performance, URL, atob/btoa, WebAssembly, node:* modules.
 */

/** A timer handle: a number on XS (the C timer table's id). */
type XsTimer = number;

/** Call `callback(...args)` once after `ms` milliseconds (timers run from the event loop). */
declare function setTimeout<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): XsTimer;
/** Call `callback(...args)` every `ms` milliseconds until clearInterval. */
declare function setInterval<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): XsTimer;
/** Cancel a setTimeout timer (an unknown or spent id does nothing). */
declare function clearTimeout(timer: XsTimer | undefined | null): void;
/** Cancel a setInterval timer (an unknown id does nothing). */
declare function clearInterval(timer: XsTimer | undefined | null): void;

/** Write one line to the console (UART0 on qemu, stdout on posix); the same as platform.log. */
declare function print(text: string): void;

/** XS's own trace: writes `text` to the console as is (no newline added). */
declare function trace(text: string): void;

/** XS's alias of globalThis. */
declare var global: typeof globalThis;

/**
 * The console: every method writes its first argument, converted to a string, as one line
 * (no formatting of further arguments, no %s: XS's console here is platform.log).
 */
declare const console: {
  log(text: unknown): void;
  info(text: unknown): void;
  warn(text: unknown): void;
  error(text: unknown): void;
  debug(text: unknown): void;
};

/**
 * The `platform` global the C layer defines before the bundle runs (its typed view for the
 * runtime is firmware/runtime/platform.ts). Apps should use the Rpmsg object they are given
 * rather than this.
 */
declare const platform: import('../runtime/platform.ts').Platform & {
  /** The board the firmware was built for (manifest.json "board", or "posix"). */
  readonly board: string;
  /** Bytes of XS slots and chunks in use and bytes taken from malloc; `collect` runs the GC first. */
  heap(collect?: boolean): { slots: number; chunks: number; allocated: number };
};
