/**
 * Random hostile-host mutations against the real posix remote (sanitized build), seeded: the
 * cases of hostile-host.test.ts drawn at random with random values, interleaved with echo
 * checks. Each mutation must be refused once, under its reason, with no fault; every echo
 * check must come back intact. Used by hostile-host.test.ts (short) and bench/soak.ts (long).
 */
import { OPENAMP_DEMO_SERVICE, STATS_SERVICE } from '../../firmware/apps/openamp-demo/main.ts';
import { RPMSG_ADDR_ANY, RPMSG_NS_ADDR } from '../../wire/rpmsg.ts';
import { VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT } from '../../wire/vring.ts';
import { prng } from '../../bench/soak/cases.ts';
import { echoPayload, OPENAMP, type OpenAmpHostPeer, type PeerEndpoint } from './openamp-host-peer.ts';
import { FAULT_PATTERN, interopExecutable, startPair } from './posix-remote.ts';

/** What a run saw. */
export interface HostileHostResult {
  mutations: number;
  /** Refusals the remote counted (its stats service), in total and by reason, against what the mutations should cause. */
  refusals: number;
  byReason: Record<string, number>;
  expectedByReason: Record<string, number>;
  /** Echo checks, and messages of them lost or corrupted. */
  checks: number;
  lost: number;
  corrupted: number;
  /** Sanitizer reports or crash records seen. */
  faults: number;
  stillServes: boolean;
  ms: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One mutation: what it does and the reason the remote must count. */
type Mutation = (peer: OpenAmpHostPeer, demo: PeerEndpoint, random: () => number) => string;

const int = (random: () => number, low: number, high: number) => low + Math.floor(random() * (high - low + 1));

const MUTATIONS: Mutation[] = [
  (peer, _demo, random) => { peer.publish(1, int(random, OPENAMP.num, 0xffff)); peer.kick(); return 'descriptor-index-out-of-range'; },
  (peer, _demo, random) => { peer.sendDescriptor(OPENAMP.shmSize - int(random, 1, 511), 512, 0); return 'address-outside-region'; },
  (peer, _demo, random) => { peer.sendDescriptor(OPENAMP.shmSize + int(random, 0, 0x7fffffff), 512, 0); return 'address-outside-region'; },
  (peer, _demo, random) => { peer.sendDescriptor(OPENAMP.bufferPool + int(random, 0, 0x3f) * 512, int(random, OPENAMP.shmSize, 0xffffffff), 0); return 'address-outside-region'; },
  (peer, _demo, random) => { peer.sendDescriptor(2 ** 32 + int(random, 0, 0xffffff) * 512, 512, 0); return 'address-outside-region'; },
  (peer, _demo, random) => { peer.sendDescriptor(OPENAMP.txBuffers + int(random, 0, 255) * 512, 512, random() < 0.5 ? VRING_DESC_F_NEXT : VRING_DESC_F_INDIRECT); return 'descriptor-chain-refused'; },
  (peer, _demo, random) => { peer.sendDescriptor(OPENAMP.txBuffers + int(random, 0, 255) * 512, int(random, 1, 15), 0); return 'buffer-too-small'; },
  (peer, demo, random) => { peer.sendRaw(demo.address, demo.destination, echoPayload(7, 16), int(random, 497, 0xffff)); return 'header-length-above-buffer'; },
  (peer, _demo, random) => {
    const length = random() < 0.5 ? int(random, 1, 39) : int(random, 41, 200);
    const message = new Uint8Array(length);
    for (let i = 0; i < length; i++) message[i] = int(random, 0, 255);
    peer.sendRaw(0x401, RPMSG_NS_ADDR, message, length);
    return 'name-service-malformed';
  },
];

/** Run `mutations` random hostile mutations (seeded) with an echo check every `checkEvery`. */
export async function hostileHostRun(options: { seed: number; mutations: number; checkEvery?: number; executable?: string }): Promise<HostileHostResult> {
  const started = Date.now();
  const executable = options.executable ?? await interopExecutable(true);
  const random = prng(options.seed);
  const checkEvery = options.checkEvery ?? 50;
  const { remote, peer } = await startPair(executable);
  const result: HostileHostResult = { mutations: 0, refusals: 0, byReason: {}, expectedByReason: {}, checks: 0, lost: 0, corrupted: 0, faults: 0, stillServes: false, ms: 0 };
  try {
    const demo = peer.createEndpoint(OPENAMP_DEMO_SERVICE);
    const stats = peer.createEndpoint(STATS_SERVICE);
    await peer.connect(remote);
    peer.start();
    await peer.until(() => demo.destination !== RPMSG_ADDR_ANY && stats.destination !== RPMSG_ADDR_ANY, 'the remote\'s NS announcements', 20_000);
    const check = async (): Promise<boolean> => {
      result.checks++;
      const payload = echoPayload(result.checks, int(random, 0, 400));
      try {
        const reply = await peer.request(demo, payload, 10_000);
        if (Buffer.compare(Buffer.from(reply), Buffer.from(payload)) !== 0) result.corrupted++;
        return true;
      } catch {
        result.lost++;
        return false;
      }
    };
    for (let i = 0; i < options.mutations; i++) {
      // keep TX descriptors for the mutation (the remote returns them as it refuses)
      await peer.until(() => peer.freeTxBuffers() > 8, 'free TX descriptors', 10_000);
      const reason = MUTATIONS[Math.floor(random() * MUTATIONS.length)](peer, demo, random);
      result.expectedByReason[reason] = (result.expectedByReason[reason] ?? 0) + 1;
      result.mutations++;
      if ((i + 1) % checkEvery === 0) {
        await check();
        if (FAULT_PATTERN.test(remote.stderr) || remote.exitStatus !== null) break;
      }
    }
    await check();
    // the refusals, counted by the remote
    await peer.until(() => true, 'a last poll');
    const reply = await peer.request(stats, Uint8Array.of(0x3f), 10_000);
    result.byReason = JSON.parse(Buffer.from(reply).toString('latin1')).refused;
    result.refusals = Object.values(result.byReason).reduce((sum, n) => sum + n, 0);
    result.stillServes = await check() && remote.exitStatus === null;
  } finally {
    const text = remote.console + remote.stderr;
    result.faults = (text.match(new RegExp(FAULT_PATTERN.source, 'g')) ?? []).length;
    await remote.close();
    await pause(0);
  }
  result.ms = Date.now() - started;
  return result;
}
