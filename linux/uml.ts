/**
 * Harness for the real Linux kernel as the rpmsg host: builds (or finds) the User-Mode Linux
 * kernel, starts a vhost-user remote on a fresh socket, boots UML against it with linux/init.sh
 * as PID 1, collects the kernel log, enforces a timeout, and always kills both processes and
 * removes the temporary folder (socket, uml_dir, TMPDIR).
 *
 * CLI: npx tsx linux/uml.ts [--steps online,sample,char] [--timeout ms] [--no-device]
 *                           [-- REMOTE_COMMAND ARGS...]   (the literal {socket} is replaced)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

/** VIRTIO_ID_RPMSG: the device type UML asks the vhost-user socket to be. */
export const VIRTIO_ID_RPMSG = 7;

/** Output of linux/build-kernel.sh. */
export interface KernelBuild {
  /** The cache folder holding everything below. */
  dir: string;
  /** The UML kernel executable. */
  linux: string;
  /** samples/rpmsg/rpmsg_client_sample.ko. */
  sampleModule: string;
  /** The static rpmsg_char exercise run inside the guest, built from this tree's linux/rpmsg-char-exercise.c. */
  exercise: string;
  /** linux/init.sh (PID 1 in the guest). */
  init: string;
}

function kernelBuildAt(dir: string): KernelBuild {
  return {
    dir,
    linux: join(dir, 'linux'),
    sampleModule: join(dir, 'rpmsg_client_sample.ko'),
    // The cache is shared by worktrees: build-kernel.sh keeps one binary per version of the source.
    exercise: join(dir, `rpmsg-char-exercise.${createHash('sha256').update(readFileSync(join(here, 'rpmsg-char-exercise.c'))).digest('hex').slice(0, 16)}`),
    init: join(here, 'init.sh'),
  };
}

/**
 * Runs linux/build-kernel.sh (instant when the cache matches) and returns its output.
 * Progress lines go to `progress` (default: stderr).
 */
export function buildKernel(progress: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<KernelBuild> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [join(here, 'build-kernel.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) progress(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (pending) progress(pending);
      const dir = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !dir || !existsSync(join(dir, '.complete'))) {
        reject(new Error(`EIO: linux/build-kernel.sh failed (exit ${code}); see its output above`));
        return;
      }
      resolvePromise(kernelBuildAt(dir));
    });
  });
}

/** How to start the remote: `args` may contain the literal "{socket}", replaced by the socket path. */
export interface RemoteCommand {
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** How long to wait for the remote to create its listening socket (ms, default 10000). */
  listenTimeoutMs?: number;
}

/** A remote started by startRemote(): stop() always kills it (group) and waits for it. */
export interface RunningRemote {
  socketPath: string;
  /** Everything it printed so far (stdout and stderr). */
  readonly log: string;
  /** Exit code once it exited by itself, else null. */
  readonly exitCode: number | null;
  /** SIGKILL its process group now (no cleanup on its side); stop() still waits for it. */
  kill(): void;
  stop(): Promise<void>;
}

/** Starts `remote` listening on `socketPath` and waits until the socket file exists. */
export async function startRemote(remote: RemoteCommand, socketPath: string): Promise<RunningRemote> {
  let log = '';
  let exitCode: number | null = null;
  let spawnError = false;
  const child = track(spawn(remote.command, remote.args.map((a) => a.replaceAll('{socket}', socketPath)), {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...remote.env },
  }));
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.on('close', (code) => (exitCode = code));
  child.on('error', (error) => {
    spawnError = true;
    log += `spawn failed: ${error.message}\n`;
  });
  const handle: RunningRemote = {
    socketPath,
    get log() {
      return log;
    },
    get exitCode() {
      return exitCode;
    },
    kill() {
      killGroup(child, 'SIGKILL');
    },
    async stop() {
      killGroup(child, 'SIGTERM');
      const gone = await Promise.race([exited(child).then(() => true), sleep(2000).then(() => false)]);
      if (!gone) {
        killGroup(child, 'SIGKILL');
        await exited(child);
      }
    },
  };
  const listenDeadline = Date.now() + (remote.listenTimeoutMs ?? 10_000);
  while (!existsSync(socketPath)) {
    if (child.exitCode !== null || child.signalCode !== null || spawnError) {
      await handle.stop();
      throw new Error(`ECHILD: the remote exited before listening on ${socketPath}:\n${log}`);
    }
    if (Date.now() > listenDeadline) {
      await handle.stop();
      throw new Error(`ETIMEDOUT: the remote did not listen on ${socketPath} within ${remote.listenTimeoutMs ?? 10_000} ms:\n${log}`);
    }
    await sleep(10);
  }
  return handle;
}

export interface BootOptions {
  kernel: KernelBuild;
  /** linux/init.sh steps, in order: online, sample, char, nsdestroy, list, rmmod, sleep. */
  steps?: string[];
  /** The vhost-user remote to start; omitted = boot with no device at all. */
  remote?: RemoteCommand;
  /** Boot with a virtio_uml device on this socket without starting a remote (one already listens, or nobody). */
  socketPath?: string;
  /** Extra init parameters (xsr_char, xsr_control, xsr_wait), passed on the kernel command line. */
  initParameters?: Record<string, string>;
  /** UML memory (mem=), default 128M. */
  memory?: string;
  /** Whole-boot limit in ms (default 60000): both processes are killed when it passes. */
  timeoutMs?: number;
  /** Called with every console/kernel line as it arrives. */
  onLine?: (line: string) => void;
  /** SIGKILL the UML process group (the host dies, no orderly removal) at the first line matching this. */
  killOn?: RegExp;
  /** SIGKILL the remote this boot started (the remote dies mid-session) at the first line matching this. */
  killRemoteOn?: RegExp;
  /** Called once UML runs, with its console input (what init's stdin reads), e.g. for linux/guest-agent.py. */
  onStart?: (console: NodeJS.WritableStream) => void;
}

export interface BootResult {
  /** Everything UML wrote (console, kernel log, init output), in arrival order. */
  log: string;
  /** The same, split into lines. */
  lines: string[];
  /** What the remote printed (stdout and stderr). */
  remoteLog: string;
  /** The UML kernel command line used. */
  commandLine: string[];
  /** UML's exit code (0 after the sysrq power-off), null when it was killed. */
  exitCode: number | null;
  /** The remote's exit code, or null when it was still running and had to be killed. */
  remoteExitCode: number | null;
  timedOut: boolean;
  /** The line that matched killOn, when UML was killed because of it. */
  killedAt: string | null;
  /** The line that matched killRemoteOn, when the remote was killed because of it. */
  remoteKilledAt: string | null;
  /** True when init printed its last line and the kernel said "reboot: Power down". */
  poweredOff: boolean;
  /** Host ms from starting UML until the kernel ran init. */
  bootToInitMs: number | null;
  /** Host ms from starting UML until it exited (or was killed). */
  totalMs: number;
  /** The temporary folder this boot used (socket, uml_dir, TMPDIR); removed before bootUml returns. */
  temporaryDir: string;
}

/** Kernel log lines that mean the kernel itself is not well (a clean boot has none). */
export const KERNEL_FAULT = /\bBUG\b|scheduling while atomic|sleeping function called from invalid context|WARNING:|Oops|Kernel panic|Call Trace|general protection|segfault|Modules linked in/;

/**
 * Every error and warning text of Linux 6.1's rpmsg stack, as printed (dev_err, dev_warn,
 * pr_err; the device prefix varies): drivers/rpmsg/virtio_rpmsg_bus.c, rpmsg_core.c,
 * rpmsg_ns.c, rpmsg_char.c, rpmsg_ctrl.c, samples/rpmsg/rpmsg_client_sample.c, and the
 * virtio ring's BAD_RING ("input:" / "output:" are virtio_rpmsg_bus's virtqueue names) and
 * feature refusal (drivers/virtio/virtio_ring.c, virtio.c). Any of them fails a test that does
 * not declare it (kernelProblems' `expected`).
 */
export const RPMSG_PROBLEMS: readonly RegExp[] = [
  // virtio_rpmsg_bus.c
  /idr_alloc failed: /,
  /failed to announce service /,
  /channel .* already exist/,
  /invalid addr \(src 0x/,
  /message is too big \(/,
  /timeout waiting for a tx buffer/,
  /virtqueue_add_outbuf failed: /,
  /inbound msg too big: \(/,
  /msg received with no recipient/,
  /failed to add a virtqueue buffer: /,
  /uhm, incoming signal, but no used buffer/,
  /can't remove rpmsg device: /,
  /failed to register virtio driver: /,
  // rpmsg_core.c
  /no create_channel ops found/,
  /no release_channel ops found/,
  /failed to create endpoint/,
  /rpmsg_dev_probe: failed: /,
  /failed to announce creation/,
  /device_set_override failed: /,
  /device_add failed: /,
  /failed to create rpmsg class/,
  /failed to register rpmsg bus: /,
  // rpmsg_ns.c
  /malformed ns msg \(/,
  /rpmsg_destroy_channel failed: /,
  /rpmsg_create_channel failed/,
  /failed to create the ns ept/,
  /Failed to register rpmsg driver/,
  // rpmsg_char.c
  /failed to open /,
  /failed to destroy endpoints: /,
  /failed to allocate char dev region/,
  /failed to register rpmsg raw driver/,
  // rpmsg_ctrl.c
  /failed to create .* channel/,
  /failed to release .* channel \(/,
  /failed to nuke endpoints: /,
  /failed to register rpmsg driver/,
  // rpmsg_client_sample.c
  /rpmsg_send failed: /,
  // virtio_ring.c BAD_RING (vq names of virtio_rpmsg_bus), virtio.c
  /\b(?:input|output):id \d+ (?:out of range|is not a head!)/,
  /virtio: device refuses features: /,
  /device must provide VIRTIO_F_(?:VERSION_1|ACCESS_PLATFORM)/,
];

/** Kernel log lines that mean something went wrong: a kernel fault or any rpmsg error line. */
export const KERNEL_PROBLEM = new RegExp([KERNEL_FAULT, ...RPMSG_PROBLEMS].map((pattern) => pattern.source).join('|'));

/**
 * The lines of `log` matching KERNEL_PROBLEM, except those matching one of `expected` (the
 * error lines a test provokes on purpose and checks for itself). A kernel fault is never
 * excused: `expected` only covers rpmsg lines.
 */
export function kernelProblems(log: string, expected: readonly RegExp[] = []): string[] {
  return log.split('\n').filter((line) =>
    KERNEL_PROBLEM.test(line) && (KERNEL_FAULT.test(line) || !expected.some((pattern) => pattern.test(line))));
}

/** Every UML and remote process group still running, and every boot's temporary folder not yet removed. */
const liveGroups = new Set<ChildProcess>();
const liveFolders = new Set<string>();

/** Kill what this process started and remove its folders (synchronous: also usable on 'exit'). */
function cleanUpEverything(): void {
  for (const child of liveGroups) killGroup(child, 'SIGKILL');
  for (const folder of liveFolders) rmSync(folder, { recursive: true, force: true });
}

process.once('exit', cleanUpEverything);
// A signal skips 'exit': clean up, then die of the same signal as Node would have.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    cleanUpEverything();
    process.kill(process.pid, signal);
  });
}

function track(child: ChildProcess): ChildProcess {
  liveGroups.add(child);
  child.once('close', () => liveGroups.delete(child));
  return child;
}

function killGroup(child: ChildProcess | null, signal: NodeJS.Signals): void {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the whole process group: UML forks helpers and guest processes
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => child.once('close', () => resolvePromise()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}

/** Boot UML once (see BootOptions); never leaves a process, socket or temp file behind. */
export async function bootUml(options: BootOptions): Promise<BootResult> {
  const temporary = mkdtempSync(join(tmpdir(), 'xsr-uml-'));
  liveFolders.add(temporary);
  const umlDir = join(temporary, 'uml');
  const umlTmp = join(temporary, 'tmp');
  mkdirSync(umlDir);
  mkdirSync(umlTmp);
  const socketPath = options.socketPath ?? (options.remote ? join(temporary, 'vhost-user.sock') : undefined);
  const timeoutMs = options.timeoutMs ?? 60_000;
  let remote: RunningRemote | null = null;
  let uml: ChildProcess | null = null;
  let log = '';
  let timedOut = false;
  let killedAt: string | null = null;
  let remoteKilledAt: string | null = null;
  let bootToInitMs: number | null = null;
  const deadline = Date.now() + timeoutMs;

  try {
    if (options.remote) remote = await startRemote(options.remote, socketPath!);

    const parameters: Record<string, string> = {
      xsr_dir: options.kernel.dir,
      xsr_exercise: options.kernel.exercise,
      xsr_steps: (options.steps ?? []).join(','),
      ...options.initParameters,
    };
    for (const [name, value] of Object.entries(parameters)) {
      if (/[\s"]/.test(value)) throw new Error(`EINVAL: init parameter ${name}="${value}" must not contain blanks or quotes`);
    }
    const commandLine = [
      `mem=${options.memory ?? '128M'}`,
      'root=/dev/root',
      'rootfstype=hostfs',
      'rootflags=/',
      'ro',
      `uml_dir=${umlDir}`,
      `init=${options.kernel.init}`,
      'con=null',
      'con0=fd:0,fd:1',
      'ssl=null',
      ...(socketPath ? [`virtio_uml.device=${socketPath}:${VIRTIO_ID_RPMSG}`] : []),
      ...Object.entries(parameters).map(([name, value]) => `${name}=${value}`),
    ];

    const umlStarted = Date.now();
    uml = track(spawn(options.kernel.linux, commandLine, {
      detached: true,
      cwd: temporary,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TMPDIR: umlTmp },
    }));
    let pending = '';
    const take = (chunk: Buffer) => {
      const text = chunk.toString().replaceAll('\r', ''); // the console is a tty: CRLF line ends
      log += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (bootToInitMs === null && / as init process/.test(line)) bootToInitMs = Date.now() - umlStarted;
        options.onLine?.(line);
        if (killedAt === null && options.killOn?.test(line)) {
          killedAt = line;
          killGroup(uml, 'SIGKILL');
        }
        if (remoteKilledAt === null && remote && options.killRemoteOn?.test(line)) {
          remoteKilledAt = line;
          remote.kill();
        }
      }
    };
    uml.stdout!.on('data', take);
    uml.stderr!.on('data', take);
    uml.stdin!.on('error', () => { /* UML exited */ });
    options.onStart?.(uml.stdin!);
    const umlExited = exited(uml);
    let timeoutHandle: NodeJS.Timeout | undefined;
    const timer = new Promise<'timeout'>((resolvePromise) => {
      timeoutHandle = setTimeout(() => resolvePromise('timeout'), Math.max(0, deadline - Date.now()));
    });
    const outcome = await Promise.race([umlExited.then(() => 'exited' as const), timer]);
    clearTimeout(timeoutHandle);
    const totalMs = Date.now() - umlStarted;
    if (outcome === 'timeout') timedOut = true;
    if (pending) options.onLine?.(pending);

    // UML first: a remote stopped under a live UML makes virtio_uml WARN (EOF on its call pipes) into this log.
    if (timedOut) {
      killGroup(uml, 'SIGKILL');
      await Promise.race([umlExited, sleep(2000)]);
    }
    const remoteExitCode = remote ? remote.exitCode : null; // non-null: the remote died during the boot
    if (remote) await remote.stop();
    const finalLog = log; // nothing arrives after this point
    return {
      log: finalLog,
      lines: finalLog.split('\n'),
      remoteLog: remote ? remote.log : '',
      commandLine,
      exitCode: timedOut ? null : uml.exitCode,
      remoteExitCode,
      timedOut,
      killedAt,
      remoteKilledAt,
      poweredOff: log.includes('xsr-init: done') && log.includes('reboot: Power down'),
      bootToInitMs,
      totalMs,
      temporaryDir: temporary,
    };
  } finally {
    killGroup(uml, 'SIGKILL');
    if (remote) await remote.stop();
    if (uml) await Promise.race([exited(uml), sleep(2000)]);
    rmSync(temporary, { recursive: true, force: true });
    liveFolders.delete(temporary);
  }
}

/** Lines printed by linux/init.sh and the exercise (what the guest's userspace saw). */
export function guestLines(result: BootResult): string[] {
  return result.lines.filter((line) => line.startsWith('xsr-init:') || line.startsWith('rpmsg-char:'));
}

/** The kernel's printk lines ("[    0.040000] ..."), timestamps kept. */
export function kernelLines(result: BootResult): string[] {
  return result.lines.filter((line) => /^\[\s*\d+\.\d+\]/.test(line));
}

/** Finds the kernel build in the cache without building (null when there is none). */
export function cachedKernel(): KernelBuild | null {
  const current = join(root, '.cache/uml/current');
  if (!existsSync(join(current, '.complete'))) return null;
  return kernelBuildAt(current);
}

async function main(argv: string[]): Promise<void> {
  let steps = ['online', 'list'];
  let timeoutMs = 60_000;
  let device = true;
  const split = argv.indexOf('--');
  const own = split < 0 ? argv : argv.slice(0, split);
  const remoteArgs = split < 0 ? [] : argv.slice(split + 1);
  for (let i = 0; i < own.length; i++) {
    if (own[i] === '--steps') steps = own[++i].split(',').filter(Boolean);
    else if (own[i] === '--timeout') timeoutMs = Number(own[++i]);
    else if (own[i] === '--no-device') device = false;
    else throw new Error(`EINVAL: unknown argument ${own[i]}`);
  }
  const kernel = await buildKernel();
  const result = await bootUml({
    kernel,
    steps,
    timeoutMs,
    remote: remoteArgs.length ? { command: remoteArgs[0], args: remoteArgs.slice(1) } : undefined,
    socketPath: device && !remoteArgs.length ? join(tmpdir(), 'xsr-uml-nobody-listens.sock') : undefined,
    onLine: (line) => process.stdout.write(`${line}\n`),
  });
  if (result.remoteLog) process.stdout.write(`--- remote ---\n${result.remoteLog}`);
  process.stdout.write(`--- boot to init ${result.bootToInitMs} ms, total ${result.totalMs} ms, exit ${result.exitCode}, ` +
    `${result.timedOut ? 'TIMED OUT' : result.poweredOff ? 'powered off' : 'did not power off'}, ` +
    `${kernelProblems(result.log).length} problem lines\n`);
  process.exitCode = result.poweredOff && kernelProblems(result.log).length === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}

