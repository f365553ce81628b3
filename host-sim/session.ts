/** One host plus one booted remote on a chosen target: what the CLI and the end-to-end suite start. */
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadInProcessScript } from '../launch/in-process.ts';
import { LinuxHost } from './host.ts';
import type { LogLine } from './log.ts';
import type { RecoveryLimit, Rproc } from './remoteproc/remoteproc-core.ts';
import type { SharedMemory } from '../wire/shared-memory.ts';
import type { ReservedMemory, RprocFirmware, RprocOps } from './remoteproc/ops.ts';
import { appManifestPath, checkApp, firmwareImage } from '../launch/firmware-image.ts';
import { InProcessRemote } from './transports/in-process.ts';
import { PosixRemote } from './transports/posix.ts';
import { QemuRemote } from './transports/qemu.ts';

/** Where a remote runs. */
export type TargetName = 'in-process' | 'qemu' | 'posix';

/** Options of openSession. */
export interface SessionOptions {
  target: TargetName;
  /** Firmware app folder name under firmware/apps/ (default: manifest.json's app). */
  app?: string;
  /** Blocking-send timeout on the host (default 15000, as Linux). */
  txTimeoutMs?: number;
  /** Crash-recovery limit and backoff (default: 5 crashes in 10 s, see RecoveryLimit); the soak's crash cycles lift it. */
  recoveryLimit?: Partial<RecoveryLimit>;
  /** Sees every host kernel log line. */
  logSink?: (line: LogLine) => void;
  /** Sees every console line of the remote. */
  console?: (line: string) => void;
  /** qemu: extra QEMU arguments and its stderr (the benchmark's instruction-counting plugin). */
  qemu?: { extraArgs?: string[]; onStderr?: (chunk: string) => void };
  /** posix: attach to a remote that is already running instead of launching one. */
  posixAttach?: { shmPath?: string; socketPath?: string };
  /** Print firmware build progress (native targets). */
  verboseBuild?: boolean;
  /** qemu, posix: boot this ELF / executable instead of building the app's (the benchmark's engine variants). */
  firmware?: string;
  /** Called before boot, e.g. to register drivers that must see the first announcements. */
  beforeBoot?: (host: LinuxHost) => void;
}

/** A running host + remote pair. */
export interface Session {
  readonly target: TargetName;
  /** The firmware app it runs. */
  readonly app: string;
  readonly host: LinuxHost;
  readonly rproc: Rproc;
  /** Console lines of the remote so far. */
  readonly console: string[];
  /** How many times the host has rung the remote's doorbell. */
  kicks(): number;
  /** Host reset: rproc_shutdown then rproc_boot of the same firmware (the remote starts afresh). */
  reboot(): Promise<void>;
  /**
   * Holds the host's doorbells until the returned function is called, which rings each held
   * notifyid once (several messages per doorbell, for the benchmark's batches).
   */
  holdKicks(): () => void;
  /** Shut the remote down and release everything (processes, files, sockets). Idempotent. */
  close(): Promise<void>;
  /** The in-process target's runtime (its statistics and refusal counters), else null. */
  remoteRuntime(): { statistics: object; errors: { counts: Record<string, number>; total(): number } } | null;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** manifest.json of the project. */
export function readManifest(): { app?: { name?: string } } & Record<string, unknown> {
  return JSON.parse(readFileSync(resolve(root, 'manifest.json'), 'utf8'));
}

/** Boot a remote on `options.target` against a fresh simulated Linux host. */
export async function openSession(options: SessionOptions): Promise<Session> {
  const appName = options.app ?? readManifest().app?.name ?? 'echo';
  checkApp(appName);
  // The app's own manifest (firmware/apps/<app>/manifest.json) when it has one.
  const manifest = JSON.parse(readFileSync(appManifestPath(appName), 'utf8')) as unknown;
  const host = new LinuxHost({ txTimeoutMs: options.txTimeoutMs, logSink: options.logSink });
  const consoleLines: string[] = [];
  const onConsole = (line: string) => {
    consoleLines.push(line);
    options.console?.(line);
  };
  options.beforeBoot?.(host);
  let runtime: () => ReturnType<Session['remoteRuntime']> = () => null;
  const remote = await launchRemote(options, appName, manifest, onConsole, (detail?: string | number | null) => {
    // The firmware ended on its own: a crash, as a watchdog or fault interrupt would report it.
    const reason = typeof detail === 'string' ? detail : `the firmware exited${typeof detail === 'number' ? ` (status ${detail})` : ''}`;
    void rproc.reportCrash(reason).catch(() => {});
  });
  // Count the host's doorbells (the benchmark uses it to know how many remote passes to expect).
  let kicks = 0;
  let held: Set<number> | null = null;
  const kick = remote.ops.kick.bind(remote.ops);
  remote.ops.kick = (notifyId: number) => {
    if (held) {
      held.add(notifyId);
      return;
    }
    kicks++;
    kick(notifyId);
  };
  const holdKicks = () => {
    const mine = (held ??= new Set());
    return () => {
      if (held !== mine) return;
      held = null;
      for (const notifyId of mine) remote.ops.kick(notifyId);
    };
  };
  const rproc = host.addRproc({ name: 'remoteproc0', ops: remote.ops, memory: remote.ops.memory, dmaPool: remote.ops.dmaPool, reservedMemory: remote.ops.reservedMemory, recoveryLimit: options.recoveryLimit });
  remote.ops.attach(rproc);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await rproc.shutdown();
    } finally {
      await remote.close();
    }
  };
  try {
    await rproc.boot(remote.firmware);
  } catch (error) {
    await close();
    throw error;
  }
  const inProcess = (remote as { inProcess?: InProcessRemote }).inProcess;
  if (inProcess) runtime = () => (inProcess.runtime as unknown as ReturnType<Session['remoteRuntime']>) ?? null;
  const reboot = async () => {
    if (closed) throw new Error('ENODEV: the session is closed');
    await rproc.shutdown();
    await rproc.boot(remote.firmware);
  };
  return { target: options.target, app: appName, host, rproc, console: consoleLines, kicks: () => kicks, holdKicks, reboot, close, remoteRuntime: () => runtime() };
}

/** What every target's transport provides to remoteproc. */
interface LaunchedRemote {
  ops: RprocOps & { memory: SharedMemory; dmaPool: { da: number; len: number }; reservedMemory?: ReservedMemory[]; attach(rproc: Rproc): void };
  firmware: RprocFirmware;
  close(): Promise<void>;
}

/** Start the remote of `target` (building its firmware first for native targets). */
async function launchRemote(options: SessionOptions, appName: string, manifest: unknown, onConsole: (line: string) => void, onFirmwareExit: (detail?: string | number | null) => void): Promise<LaunchedRemote> {
  const consoleText = lineSplitter(onConsole);
  const target = options.target;
  const verboseBuild = options.verboseBuild ?? false;
  if (target === 'posix' && options.posixAttach) {
    const remote = await PosixRemote.attach({ ...options.posixAttach, console: consoleText });
    return { ops: remote, firmware: remote.firmware, close: () => remote.close() };
  }
  switch (target) {
    case 'in-process': {
      const remote = new InProcessRemote({ manifest, script: await loadInProcessScript(appName), console: onConsole, onExit: (_status, reason) => setImmediate(onFirmwareExit, reason) });
      return { ops: remote, firmware: remote.firmware, close: async () => remote.stop(), inProcess: remote } as LaunchedRemote;
    }
    case 'qemu': {
      const elf = options.firmware ?? await firmwareImage('qemu-mps2', appName, verboseBuild);
      const remote = await QemuRemote.launch({ elf, console: consoleText, onFirmwareExit, ...options.qemu });
      return { ops: remote, firmware: remote.firmware, close: () => remote.close() };
    }
    case 'posix': {
      const executable = options.firmware ?? await firmwareImage('posix', appName, verboseBuild);
      const remote = await PosixRemote.launch({ executable, console: consoleText, onFirmwareExit });
      return { ops: remote, firmware: remote.firmware, close: () => remote.close() };
    }
    default:
      throw new Error(`EINVAL: unknown target "${target}"; use in-process, qemu or posix`);
  }
}

/** Turns console chunks into lines. */
function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) onLine(line.replace(/\r$/, ''));
  };
}
