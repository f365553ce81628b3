/**
 * Echo round trips per second between the host simulator (this Node process) and the posix
 * remote (the XS firmware as a native process over /dev/shm and a UNIX-socket doorbell), and
 * the CPU time each process spends per round trip, read from /proc/<pid>/stat (utime + stime).
 * Strict round trips: the next message leaves when the echo of the previous one arrived.
 *
 *   npx tsx bench/posix-roundtrips.ts [--seconds 3] [--size 16] [--engine stock|patched] [--json]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEndpoint, send, type RpmsgDevice } from '../host-sim/rpmsg/rpmsg-core.ts';
import { openSession } from '../host-sim/session.ts';
import { firmwareImage } from '../launch/firmware-image.ts';
import { launchPosixRemote } from '../launch/posix.ts';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { bundleFirmware } from '../tools/bundle-firmware.ts';
import { buildFirmware } from '../tools/build-firmware.ts';
import { selectedPatches, type EngineOptions } from '../tools/xs-engine-patches.ts';

export interface PosixRoundTrips {
  size: number;
  roundTrips: number;
  seconds: number;
  perSecond: number;
  /** CPU seconds per round trip (user + system), each process. */
  hostCpuPerRoundTrip: number;
  remoteCpuPerRoundTrip: number;
  /** CPU seconds during the measurement, and the share of the wall time. */
  hostCpu: number;
  remoteCpu: number;
  /** /proc's clock tick (s): the resolution of the CPU figures. */
  tick: number;
}

const CLOCK_TICK = (() => {
  try {
    return 1 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  } catch {
    return 0.01;
  }
})();

/** utime + stime of a process in seconds, from /proc/<pid>/stat (fields 14 and 15). */
export function processCpuSeconds(pid: number | 'self'): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK;
}

/** Boots the bench app on posix (no status poll: only doorbells wake the remote) and ping-pongs for `seconds`. */
/** The bench app for posix with the given engine (default: the image every tool uses). */
async function posixBenchImage(engine?: EngineOptions): Promise<string> {
  if (engine === undefined) return firmwareImage('posix', 'bench');
  const root = resolve(import.meta.dirname, '..');
  const variant = createHash('sha256').update(JSON.stringify(selectedPatches(engine))).digest('hex').slice(0, 8);
  const out = join(root, 'build', `posix-bench-${variant}`);
  const js = join(out, 'firmware.js');
  await bundleFirmware(js, 'bench');
  return (await buildFirmware({ target: 'posix', js, out, verbose: false, engine })).output;
}

export async function measurePosixRoundTrips(options: { seconds?: number; size?: number; warmup?: number; engine?: EngineOptions; progress?: (line: string) => void } = {}): Promise<PosixRoundTrips> {
  const seconds = options.seconds ?? 3;
  const size = options.size ?? 16;
  const warmup = options.warmup ?? 200;
  const progress = options.progress ?? (() => {});
  progress('building the bench firmware for posix ...');
  const executable = await posixBenchImage(options.engine);
  // Launched here (not by the session) to know its pid; the session attaches to it.
  const remote = launchPosixRemote({ executable });
  try {
    await remote.waitForConsole('waiting for the host');
    let device: RpmsgDevice | null = null;
    const session = await openSession({
      target: 'posix',
      posixAttach: { shmPath: remote.shmPath, socketPath: remote.socketPath },
      beforeBoot(host) {
        host.rpmsg.registerRpmsgDriver({ name: 'xs_bench_posix', idTable: ['rpmsg-client-sample'], probe: (d) => { device = d; }, callback: () => {} });
      },
    });
    try {
      const deadline = Date.now() + 30_000;
      while (device === null || (device as RpmsgDevice).ept == null) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the rpmsg-client-sample channel of the posix remote');
        await new Promise((r) => setTimeout(r, 5));
      }
      let arrived: ((data: Uint8Array) => void) | null = null;
      const endpoint = createEndpoint(device!, (_d, data) => arrived?.(data));
      const payload = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
      const roundTrip = async () => {
        const echo = new Promise<Uint8Array>((resolveEcho) => { arrived = resolveEcho; });
        await send(endpoint, payload);
        const data = await echo;
        if (data.length !== size) throw new Error(`echo of ${data.length} bytes, sent ${size}`);
      };
      for (let i = 0; i < warmup; i++) await roundTrip();
      const pid = remote.child.pid!;
      progress(`${seconds} s of ${size}-byte round trips (host pid ${process.pid}, remote pid ${pid}) ...`);
      const host0 = processCpuSeconds('self');
      const remote0 = processCpuSeconds(pid);
      const start = performance.now();
      let roundTrips = 0;
      while (performance.now() - start < seconds * 1000) {
        for (let i = 0; i < 100; i++) await roundTrip();
        roundTrips += 100;
      }
      const wall = (performance.now() - start) / 1000;
      const hostCpu = processCpuSeconds('self') - host0;
      const remoteCpu = processCpuSeconds(pid) - remote0;
      return {
        size,
        roundTrips,
        seconds: wall,
        perSecond: roundTrips / wall,
        hostCpuPerRoundTrip: hostCpu / roundTrips,
        remoteCpuPerRoundTrip: remoteCpu / roundTrips,
        hostCpu,
        remoteCpu,
        tick: CLOCK_TICK,
      };
    } finally {
      await session.close();
    }
  } finally {
    await remote.close();
  }
}

export function posixReport(r: PosixRoundTrips): string {
  const us = (s: number) => `${(s * 1e6).toFixed(1)} us`;
  return [
    `posix (host simulator <-> posix remote, ${r.size} B, strict round trips): ${Math.round(r.perSecond).toLocaleString('en-US')} round trips/s (${r.roundTrips.toLocaleString('en-US')} in ${r.seconds.toFixed(2)} s)`,
    `  CPU per round trip: host simulator ${us(r.hostCpuPerRoundTrip)} (${((100 * r.hostCpu) / r.seconds).toFixed(0)}% of a core), posix remote ${us(r.remoteCpuPerRoundTrip)} (${((100 * r.remoteCpu) / r.seconds).toFixed(0)}% of a core); /proc utime+stime, tick ${r.tick * 1000} ms`,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const argv = process.argv.slice(2);
  const value = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const engine = value('--engine');
  measurePosixRoundTrips({
    seconds: Number(value('--seconds') ?? 3), size: Number(value('--size') ?? 16),
    engine: engine === undefined ? undefined : { patches: engine !== 'stock' },
    progress: (l) => process.stderr.write(`${l}\n`),
  }).then(
    (r) => console.log(argv.includes('--json') ? JSON.stringify(r, null, 2) : posixReport(r)),
    (error: unknown) => { console.error(error instanceof Error ? error.stack : error); process.exitCode = 1; },
  );
}
