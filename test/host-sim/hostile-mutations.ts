/**
 * A random hostile remote against the host simulator, seeded: it writes what it likes into
 * the shared memory (used entries, indexes, headers, NS messages, the host's own descriptors
 * and avail rings), rings any notifyid, interleaved with echo checks. The host must never
 * throw, never deliver more than 496 bytes, count its refusals, and serve again (after a crash
 * recovery when the remote broke a ring, as Linux needs one too). Used by hostile-remote.test.ts
 * (short) and bench/soak.ts (long).
 */
import { trySend, type RpmsgDevice, type RpmsgEndpoint } from '../../host-sim/index.ts';
import { prng } from '../../bench/soak/cases.ts';
import { BASE, MEMORY_SIZE, bootScripted, rpmsgTable, type ScriptedRemote } from './scripted-remote.ts';
import type { Rproc } from '../../host-sim/remoteproc/remoteproc-core.ts';

export interface HostileRemoteResult {
  mutations: number;
  /** vqInterrupt (or anything the host runs for the remote) threw. */
  threw: number;
  /** Refusals the host counted, in total and by reason. */
  refusals: number;
  byReason: Record<string, number>;
  /** Echo checks; of their messages after a recovery: lost, duplicated, reordered, corrupted (all must be 0). */
  checks: number;
  /** Checks that failed on a ring the remote had broken, before the recovery that fixed it. */
  brokenChecks: number;
  recoveries: number;
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  /** Deliveries longer than 496 bytes (must be 0). */
  oversize: number;
  stillServes: boolean;
  ms: number;
}

const NUM = 32;

export async function hostileRemoteRun(options: { seed: number; mutations: number; checkEvery?: number }): Promise<HostileRemoteResult> {
  const started = Date.now();
  const random = prng(options.seed);
  const int = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const checkEvery = options.checkEvery ?? 40;
  const { host, rproc, remote } = await bootScripted({ table: rpmsgTable({ num: NUM }), txTimeoutMs: 20, recoveryLimit: { maxCrashes: Number.POSITIVE_INFINITY, backoffMs: 0 } });
  const result: HostileRemoteResult = {
    mutations: 0, threw: 0, refusals: 0, byReason: {}, checks: 0, brokenChecks: 0, recoveries: 0,
    lost: 0, duplicated: 0, reordered: 0, corrupted: 0, oversize: 0, stillServes: false, ms: 0,
  };
  let sink: RpmsgDevice | null = null;
  const echoes: Uint8Array[] = [];
  host.rpmsg.registerRpmsgDriver({
    name: 'hostile_sink', idTable: ['sink'],
    probe(device) { sink = device; },
    remove(device) { if (sink === device) sink = null; },
    callback(_device, data) {
      if (data.length > 496) result.oversize++;
      echoes.push(data);
    },
  });
  const interrupt = (notifyid: number | null) => {
    try {
      rproc.vqInterrupt(notifyid);
    } catch {
      result.threw++;
    }
  };
  const announce = () => {
    try {
      remote.announce('sink', 0x400);
    } catch { /* no RX buffer: the ring is broken */ }
    interrupt(0);
  };
  announce();

  const mutations: (() => void)[] = [
    // used entries on vring 0 with any id/len over buffers with any header
    () => {
      for (let n = int(1, 4); n > 0; n--) {
        const buffer = remote.takeAvail(0);
        if (buffer && buffer.addr >= BASE && buffer.addr - BASE + 16 <= MEMORY_SIZE) {
          const at = buffer.addr - BASE;
          remote.view.setUint32(at, int(0, 0xffffffff), true);
          remote.view.setUint32(at + 4, [53, 0x400, 1024, 1025, int(0, 0xffffffff)][int(0, 4)], true);
          remote.view.setUint16(at + 12, random() < 0.5 ? int(0, 600) : int(0, 0xffff), true);
        }
        remote.pushUsed(0, random() < 0.7 ? (buffer?.head ?? 0) : int(0, 0xffff), random() < 0.5 ? int(0, 600) : int(0, 0xffffffff));
      }
      interrupt(0);
    },
    // an honest message to a random address, any length up to 496
    () => {
      try {
        const payload = new Uint8Array(int(0, 496)).map(() => int(0, 255));
        remote.send(int(0, 0xffffffff), [0x400, 1024, 1025, int(0, 0xffffffff)][int(0, 3)], payload);
      } catch { /* no RX buffer */ }
      interrupt(random() < 0.8 ? 0 : null);
    },
    // NS messages of any length, name and flags
    () => {
      const name = random() < 0.2 ? 'sink' : String.fromCharCode(...Array.from({ length: int(0, 40) }, () => int(1, 255)));
      try {
        remote.announce(name.slice(0, 32), int(0, 0xffffffff), random() < 0.5 ? int(0, 1) : int(0, 0xffffffff), random() < 0.8 ? 40 : int(0, 60));
      } catch { /* no RX buffer */ }
      interrupt(0);
    },
    // used.idx jumps on either vring
    () => {
      const ring = int(0, 1);
      remote.view.setUint16(remote.ring(ring).used + 2, int(0, 0xffff), true);
      interrupt(ring);
    },
    // TX buffers back with any id/len
    () => {
      for (let n = int(1, 4); n > 0; n--) remote.pushUsed(1, random() < 0.5 ? int(0, NUM - 1) : int(0, 0xffff), int(0, 0xffffffff));
      interrupt(1);
    },
    // scribble over the host's descriptors or avail ring (the host must not read them back)
    () => {
      const ring = remote.ring(int(0, 1));
      const start = random() < 0.5 ? ring.desc : ring.avail;
      const at = start + int(0, 16 * NUM - 1);
      for (let n = int(1, 16); n > 0 && at + n < MEMORY_SIZE; n--) remote.view.setUint8(at + n, int(0, 255));
      interrupt(int(0, 1));
    },
    // ring any notifyid, or none
    () => interrupt(random() < 0.3 ? null : int(0, 300)),
    // used flags / avail_event scribble (interrupt suppression lies)
    () => {
      const ring = remote.ring(int(0, 1));
      remote.view.setUint16(ring.used, int(0, 0xffff), true);
      interrupt(int(0, 1));
    },
  ];

  let checkSeq = 0;
  /** Three host sends; the remote echoes what reaches it; true if all three came back intact, in order, once. */
  const check = async (counting: boolean): Promise<boolean> => {
    result.checks++;
    const device = sink;
    const ept: RpmsgEndpoint | null = device ? (device as RpmsgDevice).ept : null;
    if (!ept) {
      if (counting) result.lost += 3;
      return false;
    }
    const payloads = [0, 1, 2].map(() => new TextEncoder().encode(`chk ${checkSeq++}`));
    echoes.length = 0;
    const sent = await Promise.all(payloads.map((payload) => trySend(ept, payload).then(() => true, () => false)));
    try {
      // at most a ring's worth: a scribbled avail.idx must not make the remote walk 65535 entries
      for (let n = 0; n < NUM; n++) {
        const buffer = remote.takeAvail(1);
        if (!buffer) break;
        const at = buffer.addr - BASE;
        if (at < 0 || at + 16 > MEMORY_SIZE) continue;
        const len = remote.view.getUint16(at + 12, true);
        const dst = remote.view.getUint32(at + 4, true);
        const src = remote.view.getUint32(at, true);
        const data = remote.memory.bytes.slice(at + 16, Math.min(MEMORY_SIZE, at + 16 + len));
        remote.pushUsed(1, buffer.head, buffer.len);
        if (dst === 0x400 && len <= 496) {
          try { remote.send(0x400, src, data); } catch { /* no RX buffer */ }
        }
      }
    } catch { /* the remote's own view of a scribbled ring */ }
    interrupt(0);
    const wanted = payloads.map((p) => Buffer.from(p).toString());
    const got = echoes.filter((e) => Buffer.from(e).toString().startsWith('chk ')).map((e) => Buffer.from(e).toString());
    const ok = sent.every(Boolean) && got.length === 3 && got.every((text, i) => text === wanted[i]);
    if (!ok && counting) {
      const unique = new Set(got);
      result.lost += wanted.filter((w) => !unique.has(w)).length;
      result.duplicated += got.length - unique.size;
      result.corrupted += got.filter((g) => !wanted.includes(g)).length;
      const order = got.filter((g) => wanted.includes(g)).map((g) => wanted.indexOf(g));
      for (let i = 1; i < order.length; i++) if (order[i] < order[i - 1]) result.reordered++;
    }
    return ok;
  };
  /** A check; if it fails (the remote broke something), recover as Linux would after a crash report, then it must pass. */
  const checkOrRecover = async (): Promise<boolean> => {
    if (await check(false)) return true;
    result.brokenChecks++;
    await recover(rproc, remote);
    result.recoveries++;
    announce();
    return check(true);
  };

  for (let i = 0; i < options.mutations; i++) {
    try {
      mutations[Math.floor(random() * mutations.length)]();
    } catch {
      // the scripted remote tripping over a ring it scribbled itself (host errors are caught in interrupt())
    }
    result.mutations++;
    if ((i + 1) % checkEvery === 0) await checkOrRecover();
  }
  result.stillServes = rproc.state === 'running' && await checkOrRecover();
  result.byReason = { ...rproc.counters.counts };
  result.refusals = rproc.counters.total();
  await rproc.shutdown();
  result.ms = Date.now() - started;
  return result;
}

async function recover(rproc: Rproc, remote: ScriptedRemote): Promise<void> {
  await rproc.reportCrash('the hostile remote broke a ring');
  void remote;
}
