/**
 * Guest instructions per echoed message on the remote (Cortex-M3 firmware in QEMU), counted
 * exactly with our TCG plugin (bench/insn-plugin.c). See docs/BENCHMARKS.md.
 *
 *   npx tsx bench/echo-instructions.ts [--count N] [--sizes 1,16,64,256,496] [--batches 8,64] [--json] [--no-zero-copy]
 *     [--profile FILE] [--boot-profile FILE]
 *     [--engine patched|stock] [--patches 0100-x.patch,...] [--hot-files on|off|xsRun.c,xsType.c]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createEndpoint, send, type RpmsgDevice, type RpmsgDriver } from '../host-sim/rpmsg/rpmsg-core.ts';
import { firmwareImage } from '../launch/firmware-image.ts';
import { openSession } from '../host-sim/session.ts';
import { formatSizeReport, sizeReportOf, type SizeReport } from '../tools/size-report.ts';
import { bundleFirmware } from '../tools/bundle-firmware.ts';
import { buildFirmware } from '../tools/build-firmware.ts';
import { createHash } from 'node:crypto';
import { hotFilesOf, selectedPatches, type EngineOptions } from '../tools/xs-engine-patches.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PLUGIN_SOURCE = join(root, 'bench/insn-plugin.c');
const PLUGIN = join(root, 'build/bench/xsbench-plugin.so');
const ECHO_SERVICE = 'rpmsg-client-sample';
/** The bench app's zero-copy echo (firmware/apps/echo/zero-copy-echo.ts zeroCopyEchoApp: the payload read where it is). */
const ZERO_COPY_SERVICE = 'rpmsg-zero-copy-echo';
/** The same with the RX buffer held and released (zeroCopyHeldEchoApp). */
const ZERO_COPY_HELD_SERVICE = 'rpmsg-zero-copy-held-echo';
const CONTROL_SERVICE = 'xs-bench-control';

/** Builds the TCG plugin with plain gcc into build/bench/ (skipped when up to date); returns its path. */
export function buildPlugin(): string {
  if (existsSync(PLUGIN) && statSync(PLUGIN).mtimeMs >= statSync(PLUGIN_SOURCE).mtimeMs) return PLUGIN;
  mkdirSync(dirname(PLUGIN), { recursive: true });
  execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-shared', '-fPIC', '-o', PLUGIN, PLUGIN_SOURCE], { stdio: ['ignore', 'inherit', 'inherit'] });
  return PLUGIN;
}

/** A symbol of the ELF: address (Thumb bit clear) and size. */
export interface ElfSymbol { address: number; size: number }

/** Function symbols of the ELF with their sizes (arm-none-eabi-nm -S). */
export function elfSymbols(elf: string): Map<string, ElfSymbol> {
  const out = execFileSync('arm-none-eabi-nm', ['-S', elf], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const symbols = new Map<string, ElfSymbol>();
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) [tTwW] (\S+)$/.exec(line);
    if (m) symbols.set(m[3], { address: parseInt(m[1], 16) & ~1, size: parseInt(m[2], 16) });
  }
  return symbols;
}

/** Address of the instruction after the only `bl <callee>` in `caller` (the return address of that call). */
export function returnAddressOfCall(elf: string, caller: string, callee: string): number {
  const out = execFileSync('arm-none-eabi-objdump', ['-d', '--no-show-raw-insn', `--disassemble=${caller}`, elf], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const lines = out.split('\n').filter((line) => /^\s+[0-9a-f]+:\t/.test(line));
  const calls = lines.map((line, i) => ({ line, i })).filter(({ line }) => new RegExp(`\\sbl\\s+[0-9a-f]+ <${callee}>`).test(line));
  if (calls.length !== 1) throw new Error(`expected one call of ${callee} in ${caller}, found ${calls.length}; update bench/echo-instructions.ts`);
  const next = lines[calls[0].i + 1];
  return parseInt(/^\s+([0-9a-f]+):/.exec(next)![1], 16);
}

/** What the plugin watches, from the ELF's symbols: the pass is one call of deliver_notify (the event loop's onNotify dispatch). */
export function pluginArguments(elf: string): { args: string[]; excluded: string[] } {
  const symbols = elfSymbols(elf);
  const need = (name: string): ElfSymbol => {
    const symbol = symbols.get(name);
    if (!symbol) throw new Error(`${elf} has no symbol ${name}; the firmware layout changed: update bench/echo-instructions.ts`);
    return symbol;
  };
  const hex = (n: number) => `0x${n.toString(16)}`;
  const args = [
    `begin=${hex(need('deliver_notify').address)}`,
    `end=${hex(returnAddressOfCall(elf, 'xs_platform_main', 'deliver_notify'))}`,
    `notify=${hex(need('xs_board_notify').address)}`,
    `slot=${hex(need('fxNewSlot').address)}`,
    `chunk=${hex(need('fxNewChunk').address)}`,
    `chunk=${hex(need('fxNewGrowableChunk').address)}`,
    `gc=${hex(need('fxCollect').address)}`,
  ];
  // Interrupt handlers run whenever the host or the 1 kHz SysTick says so: never counted.
  const excluded = [...symbols.keys()].filter((name) => name.endsWith('_Handler') && name !== 'Reset_Handler').sort();
  for (const name of excluded) {
    const symbol = symbols.get(name)!;
    args.push(`exclude=${hex(symbol.address)}-${hex(symbol.address + Math.max(symbol.size, 2))}`);
  }
  // The console's wait for room in UART0's TX buffer lasts as long as the host takes to drain QEMU's stdio.
  const txWait = symbols.get('uart0_wait_while_tx_full');
  if (txWait) {
    excluded.push('uart0_wait_while_tx_full');
    args.push(`exclude=${hex(txWait.address)}-${hex(txWait.address + Math.max(txWait.size, 2))}`);
  }
  // Boot count (reset to the first doorbell ring): the idle wait lasts as long as the host takes.
  const wait = need('xs_board_wait');
  args.push(`bootexclude=${hex(wait.address)}-${hex(wait.address + Math.max(wait.size, 2))}`);
  return { args, excluded };
}

/** One line of the plugin: a runtime service pass. */
export interface Pass {
  instructions: number; notifies: number; slots: number; chunks: number; collections: number; excluded: number;
  /** Since QEMU started, everywhere: instructions, XS slot and chunk allocations, collections. */
  all: number; allSlots: number; allChunks: number; allCollections: number;
}

/** Several messages per doorbell: `messages` echoes of 16 B, the host rings once per batch. */
export interface BatchResult {
  messages: number;
  batches: number;
  /** Instructions of all passes of all batches. */
  instructions: number;
  /** Instructions per message (a batch's passes / its messages), mean over the batches. */
  perMessage: number;
  /** (a batch's instructions - one single 16 B echo) / (messages - 1): what each further message costs. */
  marginal: number;
  /** Passes per batch (min..max) and their instruction range. */
  passesPerBatch: { min: number; max: number };
  batchInstructions: { min: number; max: number };
  collections: number;
}

/** Figures for one message size. */
export interface SizeResult {
  size: number;
  echoes: number;
  /** Instructions of both passes of every echo (the figure). */
  instructions: number;
  perEcho: number;
  /** Sum, min and max of the passes that received the message and sent the echo. */
  messagePasses: { sum: number; min: number; max: number };
  /**
   * Sum, min and max of the passes for the host's vring 0 kick after it re-posted the echo's
   * buffer, and how many echoes had one (none while the remote sets VRING_USED_F_NO_NOTIFY).
   */
  refillPasses: { sum: number; min: number; max: number; count: number };
  /** Mean instructions of the echoes in whose two passes no garbage collection ran. */
  perEchoWithoutCollection: number;
  /** XS allocations (slot and chunk allocator calls) per pass of each kind, mean. */
  allocationsPerPass: { message: { slots: number; chunks: number }; refill: { slots: number; chunks: number } };
  /** XS allocations and collections in the counted passes. */
  slots: number;
  chunks: number;
  collections: number;
  /** Every guest instruction during the phase (idle loop, SysTick, the C loop): varies run to run. */
  allInstructions: number;
  wallMs: number;
}

/**
 * XS heap figures from the bench app's control channel (bytes): in use, the peak in use, taken
 * from malloc; the malloc and C-stack high-water marks of the board (-1: not known).
 */
export interface Heap { slots: number; chunks: number; allocated: number; peak: number; mallocPeak: number; stackPeak: number; stackSize: number }

/** Result of measureEchoes. */
export interface EchoResult {
  sizes: SizeResult[];
  /** The same echoes through the zero-copy API (the payload in place, getTxBuffer, copyWithin, sendToNoCopy); [] when not measured. */
  zeroCopy: SizeResult[];
  /** The zero-copy echo that also holds and releases its RX buffer; [] when not measured. */
  zeroCopyHeld: SizeResult[];
  batches: BatchResult[];
  /** Which engine: the patches applied and whether the hot files were -O2. */
  engine: { patches: string[]; hotFiles: boolean; hotFileList: string[] };
  elf: string;
  firmwareSize: { text: number; data: number; bss: number };
  excludedHandlers: string[];
  heapLines: string[];
  /** Guest instructions from reset to the first doorbell ring (the first name-service announcement), interrupt handlers and the idle wait left out. */
  bootInstructions: number | null;
  /** text by origin (linker map), data, bss. */
  sizeReport: SizeReport;
  /** The console's "xs: footprint" lines and the figures at the end of the run. */
  footprintLines: string[];
  /** Bytes of text in the trace buffer (strnlen, as Linux reads it) once the channels were up, and at the end; null: no trace buffer. */
  traceAtBoot?: number | null;
  traceUsed?: number | null;
  /** After a collection, before and after all measured echoes: what the echoes retained. */
  heapBefore: Heap;
  heapAfter: Heap;
  /** Bytes allocated per echo, from the heap in use across 10 echoes without a collection (null if one ran). */
  allocatedPerEcho: { size: number; slots: number; chunks: number }[] | null;
  /** The same for the zero-copy echoes. */
  allocatedPerZeroCopyEcho: { size: number; slots: number; chunks: number }[] | null;
  allocatedPerZeroCopyHeldEcho: { size: number; slots: number; chunks: number }[] | null;
  warmup: number;
}

/** Options of measureEchoes. */
export interface EchoOptions {
  /** Echoes per size (default 1000). */
  count?: number;
  /** Payload sizes (default 1, 16, 64, 256, 496). */
  sizes?: number[];
  /** Messages per doorbell (16 B each; default 8 and 64; [] for none). */
  batches?: number[];
  /** Batches of each size (default: enough for about `count` messages, at least 4). */
  batchCount?: number;
  /** The XS engine to build the bench firmware with (default: every patch, hot files -O2). */
  engine?: EngineOptions;
  /** Unmeasured echoes of each size first (default 8). */
  warmup?: number;
  /** Write a flat profile of the passes (instructions by function) to this file. */
  profile?: string;
  /** Write a flat profile of the boot (reset to the first announcement, instructions by function) to this file. */
  bootProfile?: string;
  /** Also measure the zero-copy echo at every size (default true). */
  zeroCopy?: boolean;
  /** Skip the allocation measurement (faster, for tests). */
  skipAllocation?: boolean;
  /** Progress lines. */
  progress?: (line: string) => void;
}

/** Wakes `until` when something it may wait for happened (a plugin line, a reply). */
let wake: (() => void) | null = null;
const poke = () => wake?.();

/** Resolves when `condition()` holds (rechecked at every poke and every 50 ms); rejects after `ms`. */
async function until(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 50);
      wake = () => { clearTimeout(timer); resolve(); };
    });
    wake = null;
  }
}

/** firmware text/data/bss (arm-none-eabi-size). */
export function firmwareSize(elf: string): { text: number; data: number; bss: number } {
  const out = execFileSync('arm-none-eabi-size', [elf], { encoding: 'utf8' }).trim().split('\n')[1].trim().split(/\s+/);
  return { text: Number(out[0]), data: Number(out[1]), bss: Number(out[2]) };
}

const stats = (list: number[]) => ({ sum: list.reduce((a, b) => a + b, 0), min: list.length === 0 ? 0 : Math.min(...list), max: list.length === 0 ? 0 : Math.max(...list) });

/**
 * Boots the bench firmware in QEMU with the plugin and echoes `count` messages of each size as
 * strict round trips: the next message is sent only once the echo arrived and the remote has
 * finished both passes it makes per echo (the one for the message, the one for the host's
 * vring 0 kick after it re-posted the buffer). Every echo then costs the same two passes in
 * the same order on every run, garbage collections included.
 */
export async function measureEchoes(options: EchoOptions = {}): Promise<EchoResult> {
  const count = options.count ?? 1000;
  const sizes = options.sizes ?? [1, 16, 64, 256, 496];
  const batchSizes = options.batches ?? [8, 64];
  const warmup = options.warmup ?? 8;
  const progress = options.progress ?? (() => {});
  const plugin = buildPlugin();
  // without the zero-copy echo, the image is the echo app + the control endpoint (firmware/apps/bench-echo): the echo app's footprint
  const app = (options.zeroCopy ?? true) ? 'bench' : 'bench-echo';
  progress(`building the bench firmware (firmware/apps/${app}) ...`);
  const elf = await benchImage(options.engine, app);
  const { args, excluded } = pluginArguments(elf);
  const engine = engineDescription(options.engine);

  const passes: Pass[] = [];
  let bootInstructions: number | null = null;
  let stderrPending = '';
  const onStderr = (chunk: string) => {
    stderrPending += chunk;
    const lines = stderrPending.split('\n');
    stderrPending = lines.pop()!;
    for (const line of lines) {
      const boot = /^xsbench boot (\d+) (\d+)$/.exec(line);
      if (boot) bootInstructions = Number(boot[1]);
      const m = /^xsbench pass (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$/.exec(line);
      if (!m) continue;
      const n = m.slice(1).map(Number);
      passes.push({ instructions: n[0], notifies: n[1], slots: n[2], chunks: n[3], collections: n[4], excluded: n[5], all: n[6], allSlots: n[7], allChunks: n[8], allCollections: n[9] });
    }
    poke();
  };

  let echoDevice: RpmsgDevice | null = null;
  let zeroCopyDevice: RpmsgDevice | null = null;
  let zeroCopyHeldDevice: RpmsgDevice | null = null;
  let controlDevice: RpmsgDevice | null = null;
  const zeroCopy = options.zeroCopy ?? true;
  const replies: Uint8Array[] = [];
  const driver = (name: string, id: string, probe: (device: RpmsgDevice) => void): RpmsgDriver => ({ name, idTable: [id], probe, callback: () => {} });
  progress('booting QEMU with the instruction-counting plugin ...');
  const session = await openSession({
    target: 'qemu',
    app: 'bench',
    firmware: elf,
    qemu: { extraArgs: ['-plugin', [plugin, ...args, ...(options.profile ? [`profile=${options.profile}.raw`] : []), ...(options.bootProfile ? [`bootprofile=${options.bootProfile}.raw`] : [])].join(',')], onStderr },
    beforeBoot(host) {
      host.rpmsg.registerRpmsgDriver(driver('xs_bench_echo', ECHO_SERVICE, (d) => { echoDevice = d; }));
      host.rpmsg.registerRpmsgDriver(driver('xs_bench_zero_copy', ZERO_COPY_SERVICE, (d) => { zeroCopyDevice = d; }));
      host.rpmsg.registerRpmsgDriver(driver('xs_bench_zero_copy_held', ZERO_COPY_HELD_SERVICE, (d) => { zeroCopyHeldDevice = d; }));
      host.rpmsg.registerRpmsgDriver(driver('xs_bench_control', CONTROL_SERVICE, (d) => { controlDevice = d; }));
    },
  });
  try {
    await until(() => echoDevice?.ept != null && controlDevice?.ept != null && (!zeroCopy || (zeroCopyDevice?.ept != null && zeroCopyHeldDevice?.ept != null)), 'the echo, zero-copy echoes and control channels');
    const traceLength = () => (session.rproc.traces.length ? session.rproc.readTrace(0).length : null);
    const traceAtBoot = traceLength();
    // Our own endpoints on both channels, so replies come back to this callback.
    const onReply = (_device: RpmsgDevice, data: Uint8Array) => { replies.push(data.slice()); poke(); };
    const echoEndpoint = createEndpoint(echoDevice!, onReply);
    const controlEndpoint = createEndpoint(controlDevice!, onReply);
    const zeroCopyEndpoint = zeroCopy ? createEndpoint(zeroCopyDevice!, onReply) : null;
    const zeroCopyHeldEndpoint = zeroCopy ? createEndpoint(zeroCopyHeldDevice!, onReply) : null;

    /**
     * One strict round trip; returns [message pass, refill pass]. The refill pass is null when the
     * host did not kick vring 0 after re-posting the buffer (the remote set VRING_USED_F_NO_NOTIFY):
     * the host kicks synchronously when it takes the reply, so its kick count tells how many passes come.
     */
    const roundTrip = async (endpoint: typeof echoEndpoint, payload: Uint8Array): Promise<[Pass, Pass | null]> => {
      await until(() => passes.length > 0, 'the first pass');
      const firstPass = passes.length;
      const repliesBefore = replies.length;
      const kicksBefore = session.kicks();
      await send(endpoint, payload);
      const expectedPasses = () => session.kicks() - kicksBefore;
      await until(() => replies.length > repliesBefore && passes.length >= firstPass + expectedPasses(), 'the reply and the end of the passes the host kicked');
      const mine = passes.slice(firstPass);
      const kicks = expectedPasses();
      if (kicks < 1 || kicks > 2 || mine.length !== kicks || mine[0].notifies !== 1 || (kicks === 2 && mine[1].notifies !== 0)) {
        throw new Error(`expected one pass for the message (and one for the host's vring 0 kick, if it kicked: ${kicks} kicks), got ${JSON.stringify(mine)}`);
      }
      return [mine[0], kicks === 2 ? mine[1] : null];
    };
    const heap = async (collect: boolean): Promise<Heap> => {
      await roundTrip(controlEndpoint, Uint8Array.of(collect ? 1 : 0));
      const reply = replies[replies.length - 1];
      const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
      const figure = (offset: number) => (reply.byteLength >= offset + 4 ? view.getInt32(offset, true) : -1);
      return { slots: view.getUint32(0, true), chunks: view.getUint32(4, true), allocated: view.getUint32(8, true), peak: figure(12), mallocPeak: figure(16), stackPeak: figure(20), stackSize: figure(24) };
    };
    const payloadOf = (size: number, i: number) => Uint8Array.from({ length: size }, (_, j) => (i * 7 + j) & 0xff);
    const echo = async (payload: Uint8Array, endpoint = echoEndpoint): Promise<[Pass, Pass | null]> => {
      const result = await roundTrip(endpoint, payload);
      const reply = replies[replies.length - 1];
      if (reply.length !== payload.length || reply.some((byte, i) => byte !== payload[i])) throw new Error('the echo differs from the message sent');
      return result;
    };

    for (const size of sizes) for (let i = 0; i < warmup; i++) await echo(payloadOf(size, i));
    if (zeroCopyEndpoint) for (const size of sizes) for (let i = 0; i < warmup; i++) await echo(payloadOf(size, i), zeroCopyEndpoint);
    if (zeroCopyHeldEndpoint) for (const size of sizes) for (let i = 0; i < warmup; i++) await echo(payloadOf(size, i), zeroCopyHeldEndpoint);
    const heapBefore = await heap(true);
    const measureSizes = async (endpoint: typeof echoEndpoint, what: string): Promise<SizeResult[]> => {
    const results: SizeResult[] = [];
    for (const size of sizes) {
      progress(`${count} ${what}echoes of ${size} bytes ...`);
      const started = performance.now();
      const last = passes[passes.length - 1];
      const message: Pass[] = [];
      const refill: Pass[] = [];
      const pairs: [Pass, Pass | null][] = [];
      for (let i = 0; i < count; i++) {
        const [m, r] = await echo(payloadOf(size, i), endpoint);
        message.push(m);
        if (r !== null) refill.push(r);
        pairs.push([m, r]);
      }
      const wallMs = performance.now() - started;
      const both = [...message, ...refill];
      const sum = (key: keyof Pass) => both.reduce((total, pass) => total + pass[key], 0);
      const instructions = sum('instructions');
      const quiet = pairs.filter(([m, r]) => m.collections === 0 && (r === null || r.collections === 0));
      const quietSum = quiet.reduce((total, [m, r]) => total + m.instructions + (r === null ? 0 : r.instructions), 0);
      results.push({
        size,
        echoes: count,
        instructions,
        perEcho: instructions / count,
        perEchoWithoutCollection: quietSum / quiet.length,
        messagePasses: stats(message.map((pass) => pass.instructions)),
        refillPasses: { ...stats(refill.map((pass) => pass.instructions)), count: refill.length },
        allocationsPerPass: {
          message: { slots: message.reduce((t, p) => t + p.slots, 0) / count, chunks: message.reduce((t, p) => t + p.chunks, 0) / count },
          refill: { slots: refill.reduce((t, p) => t + p.slots, 0) / count, chunks: refill.reduce((t, p) => t + p.chunks, 0) / count },
        },
        slots: sum('slots'),
        chunks: sum('chunks'),
        collections: sum('collections'),
        allInstructions: passes[passes.length - 1].all - last.all,
        wallMs,
      });
    }
    return results;
    };
    const results = await measureSizes(echoEndpoint, '');
    const zeroCopyResults = zeroCopyEndpoint ? await measureSizes(zeroCopyEndpoint, 'zero-copy ') : [];
    const zeroCopyHeldResults = zeroCopyHeldEndpoint ? await measureSizes(zeroCopyHeldEndpoint, 'zero-copy held ') : [];
    // Several messages per doorbell: the host queues `n` messages with its doorbell held, then rings once.
    const batches: BatchResult[] = [];
    const single = results.find((r) => r.size === 16)?.perEchoWithoutCollection ?? null;
    for (const n of batchSizes) {
      const rounds = options.batchCount ?? Math.max(4, Math.round(count / n));
      progress(`${rounds} batches of ${n} messages of 16 bytes ...`);
      const doBatch = async (round: number): Promise<Pass[]> => {
        await until(() => passes.length > 0, 'the first pass');
        const firstPass = passes.length;
        const repliesBefore = replies.length;
        const kicksBefore = session.kicks();
        const payloads = Array.from({ length: n }, (_, i) => payloadOf(16, round * n + i));
        const release = session.holdKicks();
        try {
          for (const payload of payloads) await send(echoEndpoint, payload);
        } finally {
          release();
        }
        const expectedPasses = () => session.kicks() - kicksBefore;
        await until(() => replies.length >= repliesBefore + n && passes.length >= firstPass + expectedPasses(), `the ${n} echoes of a batch and the end of its passes`);
        const mine = passes.slice(firstPass);
        if (mine.length !== expectedPasses()) throw new Error(`expected ${expectedPasses()} passes for a batch of ${n}, got ${mine.length}`);
        replies.slice(repliesBefore).forEach((reply, i) => {
          if (reply.length !== 16 || reply.some((byte, j) => byte !== payloads[i][j])) throw new Error(`echo ${i} of a batch of ${n} differs from the message sent`);
        });
        return mine;
      };
      await doBatch(0); // warm-up
      const totals: number[] = [];
      const passCounts: number[] = [];
      let collections = 0;
      for (let round = 1; round <= rounds; round++) {
        const mine = await doBatch(round);
        totals.push(mine.reduce((t, p) => t + p.instructions, 0));
        passCounts.push(mine.length);
        collections += mine.reduce((t, p) => t + p.collections, 0);
      }
      const instructions = totals.reduce((a, b) => a + b, 0);
      const perBatch = instructions / rounds;
      batches.push({
        messages: n,
        batches: rounds,
        instructions,
        perMessage: perBatch / n,
        marginal: single === null ? NaN : (perBatch - single) / (n - 1),
        passesPerBatch: { min: Math.min(...passCounts), max: Math.max(...passCounts) },
        batchInstructions: { min: Math.min(...totals), max: Math.max(...totals) },
        collections,
      });
    }
    const heapAfter = await heap(true);

    /** Heap in use without collecting: the growth across K echoes, minus what one control round trip adds. */
    const allocationOf = async (endpoint: typeof echoEndpoint): Promise<EchoResult['allocatedPerEcho']> => {
      const K = 10;
      await heap(true);
      const collectionsBefore = passes[passes.length - 1].allCollections;
      const b = await heap(false);
      const c = await heap(false);
      const control = { slots: c.slots - b.slots, chunks: c.chunks - b.chunks };
      const perSize: { size: number; slots: number; chunks: number }[] = [];
      let previous = c;
      for (const size of sizes) {
        for (let i = 0; i < K; i++) await echo(payloadOf(size, i), endpoint);
        const now = await heap(false);
        perSize.push({ size, slots: (now.slots - previous.slots - control.slots) / K, chunks: (now.chunks - previous.chunks - control.chunks) / K });
        previous = now;
      }
      return passes[passes.length - 1].allCollections === collectionsBefore ? perSize : null;
    };
    const allocatedPerEcho = options.skipAllocation ? null : await allocationOf(echoEndpoint);
    const allocatedPerZeroCopyEcho = options.skipAllocation || !zeroCopyEndpoint ? null : await allocationOf(zeroCopyEndpoint);
    const allocatedPerZeroCopyHeldEcho = options.skipAllocation || !zeroCopyHeldEndpoint ? null : await allocationOf(zeroCopyHeldEndpoint);
    return {
      sizes: results,
      zeroCopy: zeroCopyResults,
      zeroCopyHeld: zeroCopyHeldResults,
      batches,
      engine,
      elf,
      firmwareSize: firmwareSize(elf),
      excludedHandlers: excluded,
      heapLines: session.console.filter((line) => line.startsWith('xs: heap')),
      bootInstructions,
      sizeReport: sizeReportOf(elf, elf.replace(/firmware\.elf$/, 'firmware.map'), firmwareSize(elf)),
      footprintLines: session.console.filter((line) => line.startsWith('xs: footprint')),
      traceAtBoot,
      traceUsed: traceLength(),
      heapBefore,
      heapAfter,
      allocatedPerEcho,
      allocatedPerZeroCopyEcho,
      allocatedPerZeroCopyHeldEcho,
      warmup,
    };
  } finally {
    await session.close();
    if (options.profile) writeProfile(elf, `${options.profile}.raw`, options.profile);
    if (options.bootProfile) writeProfile(elf, `${options.bootProfile}.raw`, options.bootProfile, 'the boot (reset to the first name-service announcement; interrupt handlers and the idle wait left out)');
  }
}

/** Turns the plugin's per-address counts into instructions per function, largest first. */
/** The ELF's function symbols as a lookup: the name of the function an address lies in, '?' outside any. */
export function functionLookup(elf: string): (address: number) => string {
  const symbols = [...elfSymbols(elf)].map(([name, s]) => ({ name, ...s })).sort((a, b) => a.address - b.address);
  return (address: number): string => {
    let lo = 0, hi = symbols.length - 1, found = '?';
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (symbols[mid].address <= address) { found = address < symbols[mid].address + symbols[mid].size ? symbols[mid].name : '?'; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  };
}

export function writeProfile(elf: string, raw: string, out: string, what = 'the counted passes (all passes of the run, warm-up and control included)'): void {
  const functionOf = functionLookup(elf);
  const byFunction = new Map<string, number>();
  const allocators: string[] = [];
  let total = 0;
  for (const line of readFileSync(raw, 'utf8').split('\n')) {
    if (!line) continue;
    const parts = line.split(' ');
    if (parts[0] === 'caller') {
      const address = parseInt(parts[2], 16);
      allocators.push(`${parts[3].padStart(12)}  ${parts[1].padEnd(5)} called at 0x${address.toString(16)} in ${functionOf(address)}`);
      continue;
    }
    const count = Number(parts[1]);
    total += count;
    const name = functionOf(parseInt(parts[0], 16));
    byFunction.set(name, (byFunction.get(name) ?? 0) + count);
  }
  const rows = [...byFunction].sort((a, b) => b[1] - a[1]);
  writeFileSync(out, [
    `# instructions inside ${what}, by function`,
    ...rows.map(([name, count]) => `${count.toString().padStart(12)} ${((100 * count) / total).toFixed(2).padStart(6)}%  ${name}`),
    '',
    '# XS allocator calls inside the passes, by call site',
    ...allocators.sort((a, b) => Number(b.trim().split(' ')[0]) - Number(a.trim().split(' ')[0])),
    '',
  ].join('\n'));
  if (!process.env.XSBENCH_KEEP_RAW) unlinkSync(raw);
}

/** The engine an EngineOptions names (patch list, hot files). */
export function engineDescription(engine: EngineOptions = {}): { patches: string[]; hotFiles: boolean; hotFileList: string[] } {
  const hotFileList = hotFilesOf(engine);
  return { patches: selectedPatches(engine), hotFiles: hotFileList.length > 0, hotFileList };
}

/**
 * The bench firmware (firmware/apps/bench) for qemu-mps2 with the given engine; the default
 * engine builds into build/qemu-mps2-bench as the other tools do, the others into a folder per variant.
 */
export async function benchImage(engine?: EngineOptions, app: 'bench' | 'bench-echo' = 'bench'): Promise<string> {
  if (engine === undefined) return firmwareImage('qemu-mps2', app);
  const variant = createHash('sha256').update(JSON.stringify(engineDescription(engine))).digest('hex').slice(0, 8);
  const out = join(root, 'build', `qemu-mps2-${app}-${variant}`);
  const js = join(out, 'firmware.js');
  await bundleFirmware(js, app);
  return (await buildFirmware({ target: 'qemu-mps2', js, out, verbose: false, engine })).output;
}

const group = (n: number) => Math.round(n).toLocaleString('en-US');

/** The table and notes printed by the command. */
export function report(result: EchoResult): string {
  const lines: string[] = [];
  const widths = [18, 11, 13, 13, 22, 16, 7];
  const pad = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  lines.push('Guest instructions per echoed message on the remote (Cortex-M3, mps2-an385 in QEMU; exact TCG plugin count)');
  lines.push('');
  lines.push(pad(['payload x echoes', 'instr/echo', 'without GC', 'total instr', 'message pass', 'refill pass', 'wall s']));
  for (const s of result.sizes) {
    const range = s.refillPasses.min === s.refillPasses.max ? group(s.refillPasses.min) : `${group(s.refillPasses.min)}..${group(s.refillPasses.max)}`;
    const refill = s.refillPasses.count === 0 ? 'none' : s.refillPasses.count === s.echoes ? range : `${s.refillPasses.count}x ${range}`;
    lines.push(pad([`${s.size} B x ${s.echoes}`, s.perEcho.toFixed(1), s.perEchoWithoutCollection.toFixed(1), group(s.instructions), `${group(s.messagePasses.min)}..${group(s.messagePasses.max)}`, refill, (s.wallMs / 1000).toFixed(2)]));
  }
  if (result.sizes.length >= 2) {
    const [a, b] = [result.sizes[0], result.sizes[result.sizes.length - 1]];
    const perByte = (x: number, y: number) => ((y - x) / (b.size - a.size)).toFixed(2);
    lines.push(pad([`per byte ${a.size}->${b.size}`, perByte(a.perEcho, b.perEcho), perByte(a.perEchoWithoutCollection, b.perEchoWithoutCollection), '', '', '', '']));
  }
  const zeroCopyTable = (rows: SizeResult[], title: string) => {
    lines.push('');
    lines.push(pad([title, 'instr/echo', 'without GC', 'vs copying', 'message pass', 'refill pass', 'wall s']));
    for (const s of rows) {
      const copying = result.sizes.find((c) => c.size === s.size);
      const delta = copying === undefined ? '' : `${s.perEcho - copying.perEcho >= 0 ? '+' : ''}${group(s.perEcho - copying.perEcho)}`;
      const refill = s.refillPasses.count === 0 ? 'none' : `${s.refillPasses.count}x ${group(s.refillPasses.min)}..${group(s.refillPasses.max)}`;
      lines.push(pad([`${s.size} B x ${s.echoes}`, s.perEcho.toFixed(1), s.perEchoWithoutCollection.toFixed(1), delta, `${group(s.messagePasses.min)}..${group(s.messagePasses.max)}`, refill, (s.wallMs / 1000).toFixed(2)]));
    }
  };
  if (result.zeroCopy.length > 0) {
    zeroCopyTable(result.zeroCopy, 'zero-copy echo');
    lines.push('zero-copy: onReadable(count, source, offset) reads the payload where it is, obtains a TX buffer (getTxBuffer),');
    lines.push('copies window to window (copyWithin on the window\'s one view) and sends it (sendToNoCopy): no JS buffer, no view made.');
  }
  if (result.zeroCopyHeld.length > 0) {
    zeroCopyTable(result.zeroCopyHeld, 'zero-copy, held');
    lines.push('zero-copy, held: the same with the RX buffer held (hold) and released (release) in the callback.');
  }
  if (result.batches.length > 0) {
    lines.push('');
    lines.push(pad(['16 B, per doorbell', 'instr/msg', 'marginal', 'total instr', 'one batch', 'passes/batch', '']));
    for (const b of result.batches) {
      const passes = b.passesPerBatch.min === b.passesPerBatch.max ? String(b.passesPerBatch.min) : `${b.passesPerBatch.min}..${b.passesPerBatch.max}`;
      lines.push(pad([`${b.messages} msgs x ${b.batches}`, b.perMessage.toFixed(1), b.marginal.toFixed(1), group(b.instructions), `${group(b.batchInstructions.min)}..${group(b.batchInstructions.max)}`, passes, '']));
    }
    lines.push('instr/msg: a batch\'s passes / its messages. marginal: (a batch - one single 16 B echo without GC) / (messages - 1).');
    lines.push('');
  }
  lines.push(`engine: XS 13.3.0, patches ${result.engine.patches.length ? result.engine.patches.join(', ') : 'none (stock)'}; -Os, hot files ${result.engine.hotFiles ? `-O2 (${result.engine.hotFileList.join(', ')})` : '-Os'} (tools/xs-engine-patches.ts)`);
  lines.push('instr/echo: total / echoes (collections amortized). without GC: mean of the echoes in which no');
  lines.push('garbage collection ran. message pass, refill pass: min..max of one pass (refill "none": the host');
  lines.push('never kicked vring 0 after re-posting, the remote had set VRING_USED_F_NO_NOTIFY; "Nx": N echoes had one).');
  lines.push('');
  lines.push('Counted, per echo: the onNotify dispatches the echo causes, each from the entry of the event loop\'s');
  lines.push('deliver_notify() to its return (XS call, Runtime.service: status, both vrings, the app\'s onReadable');
  lines.push('with read() and sendTo(), the doorbell write, garbage collections that fall inside): the pass for');
  lines.push('the message, and the pass for the host\'s vring 0 kick after it re-posted the echo\'s buffer, if it kicked.');
  const handlers = result.excludedHandlers.filter((name) => name.endsWith('_Handler'));
  const waits = result.excludedHandlers.filter((name) => !name.endsWith('_Handler'));
  lines.push(`Not counted: interrupt handlers (${handlers.join(', ')})${waits.length ? `, the console's wait for UART room (${waits.join(', ')})` : ''}, the idle wait and the C loop`);
  lines.push(`between passes, ${result.warmup} warm-up echoes per size. Strict round trips and no poll timer (bench app):`);
  lines.push('the same passes in the same order on every run, so the counts are identical from run to run.');
  lines.push('');
  for (const s of result.sizes) {
    const a = s.allocationsPerPass;
    lines.push(`${s.size} B: XS allocator calls per echo: ${(s.slots / s.echoes).toFixed(2)} slots, ${(s.chunks / s.echoes).toFixed(2)} chunks ` +
      `(message pass ${a.message.slots.toFixed(2)} + ${a.message.chunks.toFixed(2)}, refill pass ${a.refill.slots.toFixed(2)} + ${a.refill.chunks.toFixed(2)}), ` +
      `${s.collections} collections; all guest instructions during the phase (idle, SysTick; varies): ${group(s.allInstructions)}`);
  }
  if (result.allocatedPerEcho) {
    for (const a of result.allocatedPerEcho) {
      lines.push(`${a.size} B: XS heap allocated per echo (in use across 10 echoes, no collection): ${a.slots.toFixed(1)} bytes of slots + ${a.chunks.toFixed(1)} bytes of chunks`);
    }
  }
  if (result.allocatedPerZeroCopyEcho) {
    for (const a of result.allocatedPerZeroCopyEcho) {
      lines.push(`${a.size} B zero-copy: XS heap allocated per echo: ${a.slots.toFixed(1)} bytes of slots + ${a.chunks.toFixed(1)} bytes of chunks`);
    }
  }
  for (const s of result.zeroCopy) {
    lines.push(`${s.size} B zero-copy: XS allocator calls per echo: ${(s.slots / s.echoes).toFixed(2)} slots, ${(s.chunks / s.echoes).toFixed(2)} chunks, ${s.collections} collections`);
  }
  if (result.allocatedPerZeroCopyHeldEcho) {
    for (const a of result.allocatedPerZeroCopyHeldEcho) {
      lines.push(`${a.size} B zero-copy held: XS heap allocated per echo: ${a.slots.toFixed(1)} bytes of slots + ${a.chunks.toFixed(1)} bytes of chunks`);
    }
  }
  for (const s of result.zeroCopyHeld) {
    lines.push(`${s.size} B zero-copy held: XS allocator calls per echo: ${(s.slots / s.echoes).toFixed(2)} slots, ${(s.chunks / s.echoes).toFixed(2)} chunks, ${s.collections} collections`);
  }
  const { heapBefore: before, heapAfter: after } = result;
  const inUse = (h: Heap) => h.slots + h.chunks;
  const echoes = result.sizes.reduce((n, s) => n + s.echoes, 0);
  const growth = inUse(after) - inUse(before);
  lines.push(`XS heap in use after a collection, before / after the ${echoes} echoes: ${group(inUse(before))} / ${group(inUse(after))} bytes ` +
    `(${growth === 0 ? 'nothing retained' : `${growth > 0 ? '+' : ''}${growth} bytes`}); taken from malloc ${group(before.allocated)} / ${group(after.allocated)}`);
  for (const line of result.heapLines) lines.push(`boot console: ${line}`);
  for (const line of result.footprintLines) lines.push(`boot console: ${line}`);
  const size = result.firmwareSize;
  lines.push(`firmware ${result.elf.replace(`${root}/`, '')}: text ${group(size.text)}, data ${group(size.data)}, bss ${group(size.bss)} bytes`);
  lines.push('');
  lines.push(footprintTable(result));
  return lines.join('\n');
}

/** The footprint of the image: one row per figure (docs/BENCHMARKS.md "Footprint"). */
export function footprint(result: EchoResult): Record<string, number | null> {
  const r = result.sizeReport;
  const end = result.heapAfter;
  const known = (n: number) => (n >= 0 ? n : null);
  const afterBoot = /xs: footprint after boot: xs heap (\d+) in use/.exec(result.footprintLines.join('\n'));
  return {
    text: r.text,
    'text.engine': r.textParts.engine,
    'text.builtins': r.textParts.builtins,
    'text.parser': r.textParts.parser,
    'text.bytecode': r.textParts.bytecode,
    'text.preload': r.textParts.preload,
    'text.platform': r.textParts.platform,
    'text.libc': r.textParts.libc,
    'text.other': r.textParts.other,
    data: r.data,
    bss: r.bss,
    'xsHeap.afterBoot': afterBoot ? Number(afterBoot[1]) : null,
    'xsHeap.afterRun': end.slots + end.chunks,
    'xsHeap.peak': known(end.peak),
    'xsHeap.taken': end.allocated,
    'malloc.highWater': known(end.mallocPeak),
    'cStack.highWater': known(end.stackPeak),
    'cStack.reserved': known(end.stackSize),
    // every writable section counts: on a real part (STM32MP15, i.MX8M) the resource table, its trace buffer and the
    // crash record are in the image's own RAM; qemu-mps2 only happens to place them in PSRAM (docs/MEMORY.md)
    'ram.dataBss': r.ram.own + r.ram.sharedWindow,
    'ram.resourceTable': r.ram.sharedWindow,
    'ram.total': known(end.mallocPeak) !== null && known(end.stackPeak) !== null ? r.ram.own + r.ram.sharedWindow + end.mallocPeak + end.stackSize : null,
    'trace.atBoot': result.traceAtBoot ?? null,
    'trace.used': result.traceUsed ?? null,
    'boot.instructions': result.bootInstructions,
    'echo16.instructions': (result.sizes.find((s) => s.size === 16) ?? result.sizes[0])?.perEcho ?? null,
  };
}

function footprintTable(result: EchoResult): string {
  const rows = Object.entries(footprint(result));
  const lines = ['Footprint of the bench image (bytes; boot = guest instructions from reset to the first name-service announcement):'];
  for (const [name, value] of rows) lines.push(`  ${name.padEnd(20)} ${value === null ? 'n/a' : group(value).padStart(12)}`);
  lines.push('ram.total = every writable section (ram.dataBss: data + bss, of which ram.resourceTable is the resource table, its trace buffer and');
  lines.push('the crash record, in PSRAM on qemu-mps2 but in the image\'s RAM on a real part) + malloc high-water + the reserved C stack;');
  lines.push('xsHeap.peak and the high-water marks at the end of the run; trace.used: bytes of text in the trace buffer at the end (strnlen).');
  lines.push(formatSizeReport(result.sizeReport));
  return lines.join('\n');
}

function parseArguments(argv: string[]): EchoOptions & { json: boolean } {
  const options: EchoOptions & { json: boolean } = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--count') options.count = Number(argv[++i]);
    else if (arg === '--sizes') options.sizes = argv[++i].split(',').map(Number);
    else if (arg === '--warmup') options.warmup = Number(argv[++i]);
    else if (arg === '--json') options.json = true;
    else if (arg === '--profile') options.profile = resolve(argv[++i]);
    else if (arg === '--boot-profile') options.bootProfile = resolve(argv[++i]);
    else if (arg === '--no-zero-copy') options.zeroCopy = false;
    else if (arg === '--batches') options.batches = argv[++i].split(',').filter(Boolean).map(Number);
    else if (arg === '--engine') {
      const value = argv[++i];
      if (value !== 'stock' && value !== 'patched') throw new Error('--engine is stock or patched');
      options.engine = { ...options.engine, patches: value === 'patched' };
    } else if (arg === '--patches') options.engine = { ...options.engine, patches: argv[++i].split(',').filter(Boolean) };
    else if (arg === '--hot-files') {
      const value = argv[++i];
      options.engine = { ...options.engine, hotFiles: value === 'on' ? true : value === 'off' ? false : value.split(',').filter(Boolean) };
    }
    else throw new Error(`unknown argument ${arg}; use --count N, --sizes 1,16,496, --batches 8,64, --warmup N, --json, --profile FILE, --boot-profile FILE, --no-zero-copy, --engine stock|patched, --patches A,B, --hot-files on|off|xsRun.c,...`);
  }
  return options;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const options = parseArguments(process.argv.slice(2));
  measureEchoes({ ...options, progress: (line) => process.stderr.write(`${line}\n`) }).then(
    (result) => {
      console.log(options.json ? JSON.stringify({ ...result, footprint: footprint(result) }, null, 2) : report(result));
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.stack : error);
      process.exitCode = 1;
    },
  );
}
