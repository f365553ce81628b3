/** The verbs that boot a remote: run (stays up, control socket, bridge), demo (rpmsg-client-sample or a hello per channel), bench (round trips). */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RpmsgError } from '../wire/errors.ts';
import { RpmsgBridge, readBridgeConfig } from '../host-sim/bridge.ts';
import { listChannels, openChannel, tapMessages, waitForChannel } from '../host-sim/channels.ts';
import type { LogLine } from '../host-sim/log.ts';
import { isChannel } from '../host-sim/bridge.ts';
import { rpmsgClientSample, SAMPLE_CHANNEL } from '../host-sim/samples/rpmsg-client-sample.ts';
import { openSession, type Session, type SessionOptions, type TargetName } from '../host-sim/session.ts';
import { checkApp, defaultApp } from '../launch/firmware-image.ts';
import { runLinuxSession } from './linux-session.ts';
import { checkSessionFree, ControlServer, sessionsDir } from './control.ts';
import { describeBytes } from './data.ts';
import { output, untilStopped, type Output } from './output.ts';
export { output, type Output };
import { sessionHandler, sessionStats } from './service.ts';
import { prepareDebugRun } from './debug-run.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** "[    1.234567] source: text", as dmesg prints a kernel line. */
function kernelLine(line: LogLine, since: number): string {
  const seconds = (performance.now() - since) / 1000;
  return `[${seconds.toFixed(6).padStart(12)}] ${line.source}: ${line.text}`;
}

/** The targets the session verbs take. */
export const SESSION_TARGETS = ['in-process', 'posix', 'qemu', 'linux'] as const;
export type SessionTarget = (typeof SESSION_TARGETS)[number];

function sessionTarget(target: SessionTarget): TargetName {
  if (target === 'linux') {
    throw new RpmsgError('EINVAL', '--target linux works with run (then channels, send, listen through /dev/rpmsgN in the guest); for demo and bench use in-process, posix or qemu, or see npx vitest run test/linux and docs/LINUX.md');
  }
  return target;
}

/** The app: --app, else manifest.json's. */
export function chosenApp(app: string | undefined): string {
  return app ?? defaultApp();
}

export interface RunOptions {
  app?: string;
  target: SessionTarget;
  bridgeConfig?: string;
  sessionId?: string;
  json: boolean;
  /** Stop after this many ms (tests); default: until SIGINT/SIGTERM. */
  durationMs?: number;
  /** Boot the debug image with the XS debugger connected (cli/debug-run.ts, docs/DEBUGGING.md). */
  debug?: { socket?: string; port?: number; gdbPort?: number; xs?: boolean };
}

/** `run`: boot, stream console + kernel log + channel events, serve the control socket, stay up until Ctrl-C. */
export async function runSession(options: RunOptions): Promise<number> {
  const out = output(options.json);
  const app = chosenApp(options.app);
  const id = options.sessionId ?? `${app}-${process.pid}`;
  if (!/^[A-Za-z0-9._-]{1,40}$/.test(id)) throw new RpmsgError('EINVAL', `session id "${id}" must be 1..40 letters, digits, ".", "_" or "-"`);
  checkSessionFree(id);
  checkApp(app);
  if (options.target === 'linux') {
    if (options.bridgeConfig) throw new RpmsgError('EINVAL', '--bridge: the bridge is part of the host simulator; on the linux target programs in the guest use /dev/rpmsgN');
    return runLinuxSession({ app, id, out, durationMs: options.durationMs });
  }
  const target = sessionTarget(options.target);
  const started = performance.now();
  const bridgePath = options.bridgeConfig ?? (existsSync(join(root, 'firmware/apps', app, 'bridge.json')) ? join(root, 'firmware/apps', app, 'bridge.json') : undefined);
  const bridgeConfig = bridgePath ? readBridgeConfig(bridgePath) : null;
  out.line(`run: app "${app}" on ${target}${target === 'qemu' || target === 'posix' ? ' (building the firmware if it changed)' : ''}`);
  const debugging = options.debug ? await prepareDebugRun(target, app, options.debug, !options.json, (text) => out.line(text)) : null;
  const session = await openSession({
    ...debugging?.session,
    target,
    app,
    verboseBuild: !options.json,
    logSink: (line) => {
      out.line(kernelLine(line, started));
      out.record({ type: 'kernel', time: (performance.now() - started) / 1000, level: line.level, source: line.source, text: line.text });
    },
    console: (line) => {
      debugging?.console?.(line);
      out.line(`[remote] ${line}`);
      out.record({ type: 'console', line });
    },
    beforeBoot(host) {
      host.rpmsg.watch((event, device) => {
        if (!isChannel(device)) return;
        out.line(`${event === 'add' ? '+' : '-'} channel ${device.name} (remote address 0x${device.dst.toString(16)})`);
        out.record({ type: 'channel', event: event === 'add' ? 'added' : 'removed', name: device.name, remote: device.dst });
      });
    },
  });
  let bridge: RpmsgBridge | null = null;
  let control: ControlServer | null = null;
  let stopping: Promise<void> | null = null;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => { finish = r; });
  const stop = () => {
    stopping ??= (async () => {
      out.line('run: stopping (shutting the remote down, removing the control socket and the bridge)');
      try {
        await control?.close();
        bridge?.close();
        await session.close();
        await debugging?.close();
      } finally {
        out.record({ type: 'stopped' });
        out.line('run: stopped');
        finish();
      }
    })();
  };
  try {
    if (bridgeConfig) {
      bridge = new RpmsgBridge(session.host, { config: bridgeConfig, configPath: bridgePath, dir: join(sessionsDir(), `${id}.bridge`) });
      bridge.onEvent = (text) => {
        out.line(`bridge: ${text}`);
        out.record({ type: 'bridge', text });
      };
      for (const event of bridge.events) out.line(`bridge: ${event}`);
    }
    control = await ControlServer.start({ id, app, target, bridgeDir: bridge?.dir ?? null }, sessionHandler(session, bridge, stop));
  } catch (error) {
    bridge?.close();
    await session.close();
    throw error;
  }
  out.record({ type: 'session', id, app, target, socket: control.info.socket, bridge: bridge?.dir ?? null, allowed: bridge?.allowed ?? [] });
  out.line(`run: session ${id} is up (control socket ${control.info.socket}); Ctrl-C stops it`);
  const hint = (first: string) => {
    out.line(`     from another terminal: npx xs-rpmsg channels | npx xs-rpmsg send ${first} hello | npx xs-rpmsg listen ${first} | npx xs-rpmsg stats`);
    if (!bridge) out.line(`     no bridge: put {"allow": ["${first}"]} in firmware/apps/${app}/bridge.json (or --bridge FILE) to reach the channel from other programs`);
  };
  const present = listChannels(session.host)[0];
  if (present) hint(present.name);
  else {
    const unwatch = session.host.rpmsg.watch((event, device) => {
      if (event === 'add' && isChannel(device)) {
        unwatch();
        hint(device.name);
      }
    });
  }
  await untilStopped(stop, finished, options.durationMs);
  return 0;
}

/** Sorted figures of a sample of round-trip times (ms). */
export function figures(samples: number[]): { count: number; medianMs: number; p95Ms: number; minMs: number; maxMs: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { count: sorted.length, medianMs: at(0.5), p95Ms: at(0.95), minMs: sorted[0] ?? NaN, maxMs: sorted[sorted.length - 1] ?? NaN };
}

const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1));

export interface DemoOptions {
  app?: string;
  target: SessionTarget;
  count: number;
  verbose: boolean;
  quiet: boolean;
  json: boolean;
  posixAttach?: SessionOptions['posixAttach'];
}

/**
 * `demo`: boot the app; if it serves rpmsg-client-sample, run Linux's sample driver against it
 * (count messages), else send "hello" to each channel it announces. One summary line with the
 * elapsed time and round-trip figures; the sample's "incoming msg" lines folded unless verbose.
 */
export async function demo(options: DemoOptions): Promise<number> {
  const out = output(options.json);
  const app = chosenApp(options.app);
  const target = sessionTarget(options.target);
  const count = options.count;
  const started = performance.now();
  const print = (line: string) => {
    if (!options.quiet) out.line(line);
  };
  let folded = 0;
  const logLine = (line: LogLine) => {
    const m = /^incoming msg (\d+) /.exec(line.text);
    if (m && !options.verbose) {
      const n = Number(m[1]);
      if (n > 2 && n < count) {
        if (folded++ === 0) print(`[host] ${line.source}: incoming msg 3..${count - 1} folded (--verbose prints every line)`);
        return;
      }
    }
    print(`[host] ${line.source}: ${line.text}`);
  };
  let sample: ReturnType<typeof rpmsgClientSample> | null = null;
  const sent = new Map<number, number>();
  const roundTrips: number[] = [];
  const session = await openSession({
    target,
    app,
    verboseBuild: !options.quiet && !options.json,
    posixAttach: options.posixAttach,
    logSink: logLine,
    console: (line) => print(`[remote] ${line}`),
    beforeBoot(host) {
      sample = rpmsgClientSample(host.log, count);
      host.rpmsg.registerRpmsgDriver(sample.driver);
      // Round trips of the sample channel: each "hello world!" out, the echo back.
      tapMessages(host, (message) => {
        if (message.channel?.name !== SAMPLE_CHANNEL) return;
        if (message.direction === 'tx') sent.set(message.src, performance.now());
        else {
          const at = sent.get(message.dst);
          if (at !== undefined) roundTrips.push(performance.now() - at);
          sent.delete(message.dst);
        }
      });
    },
  });
  const booted = performance.now();
  let status = 0;
  let summary: Record<string, unknown>;
  try {
    const first = await Promise.race([
      waitForChannel(session.host, SAMPLE_CHANNEL, { timeoutMs: 60000 }).then(() => 'sample' as const),
      new Promise<'other'>((resolve) => {
        const check = () => (listChannels(session.host).length > 0 ? resolve('other') : setTimeout(check, 20));
        check();
      }),
    ]);
    // Other channels may come first; give the sample channel a moment before choosing.
    const serving = first === 'sample' || (await waitForChannel(session.host, SAMPLE_CHANNEL, { timeoutMs: 300 }).then(() => true, () => false));
    if (serving) {
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60000).unref());
      const outcome = await Promise.race([sample!.finished.then(() => 'done' as const), timeout]);
      if (outcome === 'timeout') out.line('demo: timed out after 60 s waiting for the remote');
      const f = figures(roundTrips);
      const done = performance.now();
      status = sample!.rxCount() === count ? 0 : 1;
      summary = { type: 'summary', app, target, channel: SAMPLE_CHANNEL, echoed: sample!.rxCount(), count, elapsedS: (done - started) / 1000, bootS: (booted - started) / 1000, exchangeS: (done - booted) / 1000, roundTrip: f };
      const line = `demo: ${sample!.rxCount()}/${count} echoed on ${SAMPLE_CHANNEL} by app "${app}" on ${target} in ${((done - started) / 1000).toFixed(1)} s (start ${((booted - started) / 1000).toFixed(1)} s); round trip median ${ms(f.medianMs)} ms, p95 ${ms(f.p95Ms)} ms over ${f.count}`;
      await traceOut(session, print);
      await session.close();
      out.line(line);
    } else {
      const replies: Record<string, unknown>[] = [];
      for (const device of listChannels(session.host)) {
        const endpoint = await openChannel(session.host, device.name);
        const t0 = performance.now();
        try {
          const reply = await endpoint.request('hello', { timeoutMs: 2000 });
          replies.push({ channel: device.name, reply: describeBytes(reply), roundTripMs: performance.now() - t0 });
        } catch (error) {
          replies.push({ channel: device.name, reply: null, note: (error as Error).message });
        } finally {
          endpoint.close();
        }
      }
      await traceOut(session, print);
      await session.close();
      const done = performance.now();
      for (const r of replies) print(`demo: "hello" to ${r.channel}: ${r.reply === null ? `no reply (${r.note})` : `reply ${r.reply} in ${ms(r.roundTripMs as number)} ms`}`);
      const answered = replies.filter((r) => r.reply !== null);
      summary = { type: 'summary', app, target, channels: replies, elapsedS: (done - started) / 1000, bootS: (booted - started) / 1000 };
      out.line(`demo: app "${app}" on ${target} announced ${replies.length} channel(s), ${answered.length} answered "hello", in ${((done - started) / 1000).toFixed(1)} s (start ${((booted - started) / 1000).toFixed(1)} s)${answered.length ? `; round trip ${answered.map((r) => `${ms(r.roundTripMs as number)} ms`).join(', ')}` : ''}`);
      status = replies.length > 0 ? 0 : 1;
    }
  } catch (error) {
    await session.close();
    throw error;
  }
  out.record(summary);
  out.line(`next: npx xs-rpmsg run --app ${app} --target ${target}   (stays up; then from another terminal: npx xs-rpmsg send ${SAMPLE_CHANNEL} hello)`);
  out.line('      npx xs-rpmsg new my-app                          (your own app, its manifest and a host-side test)');
  return status;
}

async function traceOut(session: Session, print: (line: string) => void): Promise<void> {
  const trace = session.rproc.traces?.length ? session.rproc.readTrace(0) : '';
  if (trace) print(`[host] remoteproc0 trace0:\n${trace.replace(/\n$/, '').replace(/^/gm, '  | ')}`);
}

export interface BenchOptions {
  app?: string;
  target: SessionTarget;
  channel: string;
  count: number;
  size: number;
  json: boolean;
}

/** `bench`: round trips of `size`-byte messages on an echoing channel; prints the figures. */
export async function bench(options: BenchOptions): Promise<number> {
  const out = output(options.json);
  const app = chosenApp(options.app);
  const target = sessionTarget(options.target);
  const session = await openSession({ target, app, verboseBuild: !options.json });
  try {
    const endpoint = await openChannel(session.host, options.channel);
    const payload = new Uint8Array(options.size).map((_, i) => 0x41 + (i % 26));
    const samples: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < options.count; i++) {
      const start = performance.now();
      const reply = await endpoint.request(payload, { timeoutMs: 5000 });
      samples.push(performance.now() - start);
      if (reply.length !== payload.length) throw new RpmsgError('EBADMSG', `the reply to message ${i} has ${reply.length} bytes, not ${payload.length}: ${options.channel} does not echo`);
    }
    const seconds = (performance.now() - t0) / 1000;
    endpoint.close();
    const f = figures(samples);
    const stats = sessionStats(session, null);
    out.record({ type: 'bench', app, target, channel: options.channel, size: options.size, count: options.count, seconds, messagesPerSecond: options.count / seconds, roundTrip: f, kicks: stats.host.kicks });
    out.line(`bench: ${options.count} round trips of ${options.size} bytes on ${options.channel} (app "${app}", ${target}): median ${ms(f.medianMs)} ms, p95 ${ms(f.p95Ms)} ms, min ${ms(f.minMs)} ms, max ${ms(f.maxMs)} ms; ${(options.count / seconds).toFixed(0)} round trips/s; ${stats.host.kicks} host doorbells`);
    out.line('       wall-clock figures (vary with the machine); exact guest instruction counts: npx tsx bench/echo-instructions.ts');
  } finally {
    await session.close();
  }
  return 0;
}
