/**
 * The soak cases, shared by the short versions in the test suite (test/e2e/soak.test.ts) and
 * the long run (bench/soak.ts): a seeded two-way flood with per-stream sequence numbers and
 * checksums, crash-and-recover and host-reset cycles, and leak accounting (descriptors,
 * processes, /dev/shm files, sockets, XS heap). Every case ends by checking the peer still serves.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { LinuxHost } from '../../host-sim/host.ts';
import { createEndpoint, destroyEndpoint, send, trySend, type RpmsgDevice, type RpmsgDriver, type RpmsgEndpoint } from '../../host-sim/rpmsg/rpmsg-core.ts';
import { openSession, type Session, type TargetName } from '../../host-sim/session.ts';
import { RpmsgError } from '../../wire/errors.ts';
import { RPMSG_MTU } from '../../wire/rpmsg.ts';

export const ECHO_SERVICE = 'rpmsg-client-sample';
export const CONTROL_SERVICE = 'xs-rpmsg-test-control';

/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over bytes. */
export function fnv1a(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193) >>> 0;
  return hash;
}

/** What one direction of one stream saw. */
export interface StreamCounts {
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
}

const emptyCounts = (): StreamCounts => ({ sent: 0, received: 0, lost: 0, duplicated: 0, reordered: 0, corrupted: 0 });

export function addCounts(into: StreamCounts, from: StreamCounts): StreamCounts {
  for (const key of Object.keys(into) as (keyof StreamCounts)[]) into[key] += from[key];
  return into;
}

/** Tracks one stream's arrivals: each sequence number once, in order, intact. */
class StreamCheck {
  readonly counts = emptyCounts();
  private readonly seen = new Set<number>();
  private highest = -1;

  arrive(seq: number, intact: boolean): void {
    this.counts.received++;
    if (!intact) {
      this.counts.corrupted++;
      return;
    }
    if (this.seen.has(seq)) {
      this.counts.duplicated++;
      return;
    }
    this.seen.add(seq);
    if (seq < this.highest) this.counts.reordered++;
    else this.highest = seq;
  }

  get unique(): number {
    return this.seen.size;
  }

  finish(sent: number): StreamCounts {
    this.counts.sent = sent;
    this.counts.lost = sent - this.seen.size;
    return this.counts;
  }
}

/** Host-driver side of the test app: the echo and control channels, whatever their current incarnation. */
export interface Peers {
  echo(): RpmsgDevice | null;
  control(): RpmsgDevice | null;
  /** How many times each channel was probed (a recovery re-probes them). */
  probes: { echo: number; control: number };
  /** Send a control command and await its reply line. */
  command(line: string, timeoutMs?: number): Promise<string>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function until(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await pause(2);
  }
}

/** Register drivers for the echo and control channels on `host` (before boot). */
export function registerPeers(host: LinuxHost): Peers {
  let echo: RpmsgDevice | null = null;
  let control: RpmsgDevice | null = null;
  const replies: string[] = [];
  const probes = { echo: 0, control: 0 };
  const echoDriver: RpmsgDriver = {
    name: 'soak_echo', idTable: [ECHO_SERVICE],
    probe(device) { echo = device; probes.echo++; },
    remove(device) { if (echo === device) echo = null; },
    // The channel's own endpoint is unused by the flood (each stream has its own).
    callback() {},
  };
  const controlDriver: RpmsgDriver = {
    name: 'soak_control', idTable: [CONTROL_SERVICE],
    probe(device) { control = device; probes.control++; },
    remove(device) { if (control === device) control = null; },
    callback(_device, data) { replies.push(Buffer.from(data).toString('latin1')); },
  };
  host.rpmsg.registerRpmsgDriver(echoDriver);
  host.rpmsg.registerRpmsgDriver(controlDriver);
  return {
    echo: () => (echo?.ept ? echo : null),
    control: () => (control?.ept ? control : null),
    probes,
    async command(line, timeoutMs = 20_000) {
      await until(() => control?.ept != null, 'the control channel', timeoutMs);
      const before = replies.length;
      await send(control!.ept!, line);
      await until(() => replies.length > before, `a reply to "${line}"`, timeoutMs);
      return replies[before];
    },
  };
}

/** Open a session of the e2e app on `target` with the soak drivers bound. */
export async function openSoakSession(target: TargetName, options: { txTimeoutMs?: number } = {}): Promise<{ session: Session; peers: Peers }> {
  let peers: Peers | null = null;
  // The crash cycles crash the firmware on purpose, many times a minute: no recovery limit here.
  const session = await openSession({ target, app: 'e2e', txTimeoutMs: options.txTimeoutMs, recoveryLimit: { maxCrashes: Number.POSITIVE_INFINITY }, beforeBoot(host) { peers = registerPeers(host); } });
  await until(() => peers!.echo() !== null && peers!.control() !== null, 'the echo and control channels');
  return { session, peers: peers! };
}

/** Options of a flood. */
export interface FloodOptions {
  seed: number;
  /** Messages host -> remote (echoed back: checked on return), spread over `streams` endpoints. */
  messages: number;
  /** Messages remote -> host at the same time (the app's trySend + onWritable burst). */
  remoteMessages: number;
  /** Host endpoints, one stream each. Default 4. */
  streams?: number;
  /** 'blocking': send(); 'try': trySend() and retry after ENOMEM; 'mixed': per message at random. */
  mode?: 'blocking' | 'try' | 'mixed';
  /** Un-awaited host sends in flight per stream (pipelining). Default 64. */
  window?: number;
  /** Give up waiting when nothing arrives for this long. Default 20 s. */
  stallMs?: number;
}

/** What a flood saw. */
export interface FloodResult {
  echo: StreamCounts;
  remote: StreamCounts;
  /** Host sends that failed with something other than ENOMEM in try mode. */
  sendErrors: string[];
  ms: number;
  /** The peer answered a ping and a stats command afterwards. */
  stillServes: boolean;
}

/** Echo payload: u32 seq, u8 stream, random bytes, u32 FNV-1a of everything before it. */
function echoPayload(random: () => number, stream: number, seq: number): Uint8Array {
  const length = 12 + Math.floor(random() * (RPMSG_MTU - 12 + 1));
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, seq, true);
  bytes[4] = stream;
  for (let i = 5; i < length - 4; i++) bytes[i] = Math.floor(random() * 256);
  view.setUint32(length - 4, fnv1a(bytes, 0, length - 4), true);
  return bytes;
}

function echoIntact(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 4, true) === fnv1a(bytes, 0, bytes.length - 4);
}

/** The seeded two-way flood: host echoes on `streams` endpoints while the remote bursts to the host. */
export async function flood(peers: Peers, options: FloodOptions): Promise<FloodResult> {
  const started = Date.now();
  const random = prng(options.seed);
  const streams = options.streams ?? 4;
  const window = options.window ?? 64;
  const mode = options.mode ?? 'blocking';
  const stallMs = options.stallMs ?? 20_000;
  const device = peers.echo();
  const controlDevice = peers.control();
  if (!device || !controlDevice) throw new Error('ENODEV: the echo or control channel is not bound');
  const checks = Array.from({ length: streams }, () => new StreamCheck());
  const endpoints: RpmsgEndpoint[] = checks.map((check, stream) => createEndpoint(device, (_d, data) => {
    check.arrive(new DataView(data.buffer, data.byteOffset).getUint32(0, true), echoIntact(data) && data[4] === stream);
  }));
  // remote -> host: the burst comes to an endpoint of ours on the control channel
  const burst = new StreamCheck();
  const burstSize = 64;
  const sink = createEndpoint(controlDevice, (_d, data) => {
    const seq = new DataView(data.buffer, data.byteOffset).getUint32(0, true);
    let intact = data.length === burstSize;
    for (let i = 4; i < data.length && intact; i++) if (data[i] !== (seq & 0xff)) intact = false;
    burst.arrive(seq, intact);
  });
  const sendErrors: string[] = [];
  const sent = new Array<number>(streams).fill(0);
  let progress = Date.now();
  let lastTotal = 0;
  const total = () => checks.reduce((sum, check) => sum + check.counts.received, 0) + burst.counts.received;
  const stalled = () => {
    const now = total();
    if (now !== lastTotal) { lastTotal = now; progress = Date.now(); }
    return Date.now() - progress > stallMs;
  };
  try {
    if (options.remoteMessages > 0) {
      // from our sink endpoint, so the burst comes back to it
      await send(sink, `burst ${options.remoteMessages} ${burstSize}`);
    }
    let next = 0;
    while (next < options.messages && !stalled()) {
      const stream = Math.floor(random() * streams);
      if (sent[stream] - checks[stream].unique >= window) {
        await pause(0);
        continue;
      }
      const seq = sent[stream];
      const payload = echoPayload(random, stream, seq);
      const blocking = mode === 'blocking' || (mode === 'mixed' && random() < 0.5);
      if (blocking) {
        sent[stream]++;
        next++;
        send(endpoints[stream], payload, ).catch((error: Error) => { sendErrors.push(error.message); });
      } else {
        try {
          await trySend(endpoints[stream], payload);
          sent[stream]++;
          next++;
        } catch (error) {
          if (!(error instanceof RpmsgError && error.code === 'ENOMEM')) { sendErrors.push((error as Error).message); sent[stream]++; next++; }
          else await pause(0);
        }
      }
      if (next % 64 === 0) await pause(0);
    }
    const done = () => checks.every((check, stream) => check.unique >= sent[stream]) && burst.unique >= options.remoteMessages;
    while (!done() && !stalled()) await pause(5);
  } finally {
    for (const endpoint of endpoints) destroyEndpoint(endpoint);
    destroyEndpoint(sink);
  }
  const echo = emptyCounts();
  checks.forEach((check, stream) => addCounts(echo, check.finish(sent[stream])));
  const remote = burst.finish(options.remoteMessages);
  const stillServes = await serves(peers);
  return { echo, remote, sendErrors, ms: Date.now() - started, stillServes };
}

/** One echo round trip and one stats reply. */
export async function serves(peers: Peers, timeoutMs = 10_000): Promise<boolean> {
  try {
    const device = peers.echo();
    if (!device) return false;
    let got: Uint8Array | null = null;
    const endpoint = createEndpoint(device, (_d, data) => { got = data; });
    try {
      await send(endpoint, 'ping');
      await until(() => got !== null, 'the ping echo', timeoutMs);
    } finally {
      destroyEndpoint(endpoint);
    }
    return Buffer.from(got!).toString('latin1') === 'ping' && /^ok stats /.test(await peers.command('stats', timeoutMs));
  } catch {
    return false;
  }
}

/** `count` sequential echo round trips of 16 bytes: milliseconds each (a figure for reports, never asserted). */
export async function pingTimes(peers: Peers, count: number): Promise<number[]> {
  const device = peers.echo();
  if (!device) throw new Error('ENODEV: the echo channel is not bound');
  let got = 0;
  const endpoint = createEndpoint(device, () => { got++; });
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const before = got;
      const start = process.hrtime.bigint();
      await send(endpoint, new Uint8Array(16).fill(i & 0xff));
      await until(() => got > before, 'a ping echo', 20_000);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  } finally {
    destroyEndpoint(endpoint);
  }
  return times;
}

/** The XS heap in use (slots + chunks, after a collection), from the app's stats; null in-process. */
export async function remoteHeap(peers: Peers): Promise<number | null> {
  const match = /heap=(\d+)/.exec(await peers.command('stats'));
  return match ? Number(match[1]) : null;
}

/** Options of the crash and reset cycles. */
export interface CycleOptions {
  cycles: number;
  seed: number;
  /** Echo messages after each cycle (checked like a flood). Default 200. */
  messagesPerCycle?: number;
}

/** What the cycles saw. */
export interface CycleResult {
  cycles: number;
  /** Cycles after which the channels came back and the flood was clean. */
  recovered: number;
  counts: StreamCounts;
  remote: StreamCounts;
  /** Remote processes (qemu or posix) seen after each cycle: always 1 if none leak. */
  maxProcesses: number;
  failures: string[];
  ms: number;
}

/**
 * Crash and recover: the firmware throws (native targets; in-process: rproc_report_crash),
 * the host removes the channels and restarts it; then a short flood must be clean.
 */
export async function crashCycles(session: Session, peers: Peers, options: CycleOptions): Promise<CycleResult> {
  return cycles(session, peers, options, async () => {
    const before = peers.probes.echo;
    if (session.target === 'in-process') await session.rproc.reportCrash('soak crash');
    else expect(await peers.command('crash'), 'ok crash');
    await until(() => peers.probes.echo > before && peers.echo() !== null && peers.control() !== null, 'the channels after the crash', 60_000);
  });
}

/** Host reset: rproc_shutdown then rproc_boot; the channels must come back and serve. */
export async function resetCycles(session: Session, peers: Peers, options: CycleOptions): Promise<CycleResult> {
  return cycles(session, peers, options, async () => {
    const before = peers.probes.echo;
    await session.reboot();
    await until(() => peers.probes.echo > before && peers.echo() !== null && peers.control() !== null, 'the channels after the reset', 60_000);
  });
}

/**
 * virtio unbind + bind of the rpmsg bus (the remote keeps running): the host resets the device,
 * holds status 0 for `holdMs` (longer than the remote's 20 ms status poll, else it cannot see
 * the reset), then probes again; the remote must start afresh and announce again.
 * After virtio_dev_remove the status is ACKNOWLEDGE (1), not 0: the runtime takes any status
 * without DRIVER_OK as a reset (issue 9), so the channels come back.
 */
export async function rebindCycles(session: Session, peers: Peers, options: CycleOptions & { holdMs?: number; waitMs?: number }): Promise<CycleResult> {
  return cycles(session, peers, options, async () => {
    const before = peers.probes.echo;
    const device = session.rproc.virtioDevices[0];
    if (!device) throw new Error('ENODEV: no virtio device to unbind');
    session.rproc.withMemory(() => session.host.virtio.unbindDevice(device));
    await pause(options.holdMs ?? 150);
    session.rproc.withMemory(() => session.host.virtio.bindDevice(device));
    await until(() => peers.probes.echo > before && peers.echo() !== null && peers.control() !== null, 'the channels after the rebind', options.waitMs ?? 60_000);
  });
}

function expect(actual: string, wanted: string): void {
  if (actual !== wanted) throw new Error(`expected "${wanted}", got "${actual}"`);
}

async function cycles(session: Session, peers: Peers, options: CycleOptions, fault: () => Promise<void>): Promise<CycleResult> {
  const started = Date.now();
  const result: CycleResult = { cycles: options.cycles, recovered: 0, counts: emptyCounts(), remote: emptyCounts(), maxProcesses: 0, failures: [], ms: 0 };
  for (let cycle = 0; cycle < options.cycles; cycle++) {
    try {
      await fault();
      const run = await flood(peers, { seed: options.seed + cycle, messages: options.messagesPerCycle ?? 200, remoteMessages: 50, streams: 2, mode: 'mixed', stallMs: 10_000 });
      addCounts(result.counts, run.echo);
      addCounts(result.remote, run.remote);
      const processes = remoteProcesses().length;
      result.maxProcesses = Math.max(result.maxProcesses, processes);
      const clean = run.stillServes && run.sendErrors.length === 0 && [run.echo, run.remote].every((c) => c.lost + c.duplicated + c.reordered + c.corrupted === 0);
      if (clean && (session.target === 'in-process' || processes === 1)) result.recovered++;
      else result.failures.push(`cycle ${cycle}: ${JSON.stringify({ echo: run.echo, remote: run.remote, errors: run.sendErrors.slice(0, 3), processes, serves: run.stillServes })}`);
    } catch (error) {
      result.failures.push(`cycle ${cycle}: ${(error as Error).message}`);
      break;
    }
  }
  result.ms = Date.now() - started;
  return result;
}

/** What this process holds that a session could leak. */
export interface Resources {
  fds: number;
  processes: number;
  shmFiles: string[];
  sockets: string[];
}

/** Child processes of this process that are remotes (qemu-system-arm, the posix firmware). */
export function remoteProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid || fields[0] === 'Z') continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (/qemu-system-arm|xs-rpmsg|firmware/.test(command)) pids.push(Number(entry));
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

/** File descriptors, remote processes, /dev/shm files and sockets of this process (by its pid-tagged names). */
export function resources(): Resources {
  const tag = `-${process.pid}-`;
  let fds = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      readlinkSync(`/proc/self/fd/${fd}`);
      fds++;
    } catch { /* the directory's own descriptor */ }
  }
  return {
    fds,
    processes: remoteProcesses().length,
    shmFiles: readdirSync('/dev/shm').filter((name) => name.includes(tag)),
    sockets: readdirSync(tmpdir()).filter((name) => name.includes(tag)),
  };
}

/** What `after` holds beyond `before` (descriptors: more than `slack`, for Node's own lazy ones). */
export function leaks(before: Resources, after: Resources, slack = 2): string[] {
  const found: string[] = [];
  if (after.fds > before.fds + slack) found.push(`${after.fds - before.fds} file descriptors`);
  if (after.processes > before.processes) found.push(`${after.processes - before.processes} remote processes`);
  const shm = after.shmFiles.filter((name) => !before.shmFiles.includes(name));
  if (shm.length) found.push(`/dev/shm files ${shm.join(', ')}`);
  const sockets = after.sockets.filter((name) => !before.sockets.includes(name));
  if (sockets.length) found.push(`sockets ${sockets.join(', ')}`);
  return found;
}
