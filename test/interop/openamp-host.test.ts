/**
 * The real posix remote (XS, app firmware/apps/openamp-demo) against a host that behaves as
 * OpenAMP's Linux-port host does (test/interop/openamp-host-peer.ts, from WIRE.md "Reference
 * peers"): DRIVER_OK alone, 512-byte desc/used lengths, garbage in hdr.reserved and after NS
 * names, host NS announcements, NO_INTERRUPT on vring 1, kicks that name no vring; the echo
 * demo (sizes 1..480) and the client sample (100 x "hello world!"). Runs on the plain build
 * and on the -fsanitize=address,undefined one.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PosixRemote } from '../../launch/posix.ts';
import { OPENAMP_DEMO_SERVICE, STATS_SERVICE } from '../../firmware/apps/openamp-demo/main.ts';
import { ECHO_SERVICE } from '../../firmware/apps/echo/main.ts';
import { RPMSG_ADDR_ANY } from '../../wire/rpmsg.ts';
import { echoPayload, OPENAMP, shutdownPayload, type OpenAmpHostPeer, type PeerEndpoint } from './openamp-host-peer.ts';
import { assertHealthy, interopExecutable, startPair, stopRemotes } from './posix-remote.ts';

const executables = { plain: '', sanitized: '' };
let executable = '';

beforeAll(async () => {
  executables.plain = await interopExecutable(false);
  executables.sanitized = await interopExecutable(true);
}, 900_000);

afterEach(async () => {
  await stopRemotes();
});

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

/** Remote and OpenAMP-style host up: both endpoints created before start, as the demo apps do. */
async function openampSession(): Promise<{ remote: PosixRemote; peer: OpenAmpHostPeer; demo: PeerEndpoint; sample: PeerEndpoint; stats: PeerEndpoint }> {
  const { remote, peer } = await startPair(executable);
  const demo = peer.createEndpoint(OPENAMP_DEMO_SERVICE);
  const sample = peer.createEndpoint(ECHO_SERVICE);
  const stats = peer.createEndpoint(STATS_SERVICE);
  await peer.connect(remote);
  peer.start(); // straight after connecting: the remote's XS machine may not be running yet
  await peer.until(() => demo.destination !== RPMSG_ADDR_ANY && sample.destination !== RPMSG_ADDR_ANY && stats.destination !== RPMSG_ADDR_ANY, 'the remote\'s NS announcements');
  return { remote, peer, demo, sample, stats };
}

async function remoteStats(peer: OpenAmpHostPeer, stats: PeerEndpoint): Promise<{ received: number; sent: number; unrouted: number; echoed: number; refused: Record<string, number> }> {
  return JSON.parse(text(await peer.request(stats, Uint8Array.of(0x3f))));
}

describe.each(['plain', 'sanitized'] as const)('posix remote (%s build) with an OpenAMP-convention host', (build) => {
  beforeEach(() => {
    executable = executables[build];
  });

  it('attaches on status 0x04 alone (no ACK/DRIVER bits, no kick) with gfeatures = dfeatures, and announces its services', async () => {
    const { remote, peer, demo, sample } = await openampSession();
    expect(peer.status()).toBe(OPENAMP.driverOk);
    await remote.waitForConsole(/host ready \(features 0x1, vrings 256\/256\)/);
    expect(peer.remoteServices.get(ECHO_SERVICE)).toBe(sample.destination);
    expect(peer.remoteServices.get(OPENAMP_DEMO_SERVICE)).toBe(demo.destination);
    expect(demo.destination).toBeGreaterThanOrEqual(0x400);
    expect(peer.refusals).toEqual([]);
    assertHealthy(remote);
  });

  it('accepts the host\'s NS announcement at 0x400 with garbage after the name\'s NUL', async () => {
    const { remote, demo } = await openampSession();
    expect(demo.address).toBe(0x400);
    await remote.waitForConsole(`openamp-demo: host announced "${OPENAMP_DEMO_SERVICE}" at 0x400`);
    assertHealthy(remote);
  });

  it('echo demo: payloads of 1..480 bytes (u64 num, u64 size, 0xA5...) come back unchanged; one remote kick per reply (NO_INTERRUPT on vring 1 honoured)', async () => {
    const { remote, peer, demo, stats } = await openampSession();
    for (let size = 1; size <= 480; size++) {
      const payload = echoPayload(size, size);
      const reply = await peer.request(demo, payload);
      expect(reply.length, `size ${size}`).toBe(payload.length);
      expect(Buffer.compare(Buffer.from(reply), Buffer.from(payload)), `size ${size}`).toBe(0);
    }
    peer.send(demo, shutdownPayload());
    await remote.waitForConsole('openamp-demo: shutdown message from 0x400 after 480 echoes');
    peer.destroyEndpoint(demo);
    await remote.waitForConsole(`openamp-demo: host withdrew "${OPENAMP_DEMO_SERVICE}" at 0x400`);
    const counters = await remoteStats(peer, stats);
    expect(counters.echoed).toBe(480);
    // The remote consumed ~485 messages on vring 1 without interrupting for them: at most one kick
    // per message it sent (counters.sent, plus the stats reply itself, counted before it was sent).
    expect(peer.kicksReceived).toBeLessThanOrEqual(counters.sent + 1);
    expect(counters.refused).toEqual({}); // nothing of the OpenAMP conventions was refused
    expect(counters.unrouted).toBe(0);
    expect(peer.refusals).toEqual([]);
    expect(peer.unrouted).toEqual([]);
    assertHealthy(remote);
  }, 60_000);

  it('client sample: 100 x "hello world!" on rpmsg-client-sample, each echoed', async () => {
    const { remote, peer, sample } = await openampSession();
    let echoed = 0;
    for (let i = 0; i < 100; i++) {
      const reply = await peer.request(sample, new TextEncoder().encode('hello world!'));
      if (text(reply) === 'hello world!') echoed++;
    }
    expect(echoed).toBe(100);
    assertHealthy(remote);
  }, 30_000);

  it('streams 200 echo messages without waiting (TX buffers recycled from vring 1, RX buffers re-posted with desc.len 512)', async () => {
    const { remote, peer, demo } = await openampSession();
    const replies: Uint8Array[] = [];
    demo.onMessage = (data) => replies.push(data);
    for (let i = 0; i < 200; i++) {
      peer.send(demo, echoPayload(i, 100));
      if (i % 50 === 49) await peer.until(() => replies.length === i + 1, `${i + 1} replies`);
    }
    await peer.until(() => replies.length === 200, '200 replies');
    replies.forEach((reply, i) => expect(new DataView(reply.buffer, reply.byteOffset).getBigUint64(0, true)).toBe(BigInt(i)));
    assertHealthy(remote);
  }, 30_000);

  it('the remote ends cleanly (status 0, peer-gone message) when the OpenAMP host closes the socket', async () => {
    const { remote, peer, sample } = await openampSession();
    await peer.request(sample, new TextEncoder().encode('hello world!'));
    peer.disconnect();
    const status = await remote.exited;
    expect(status).toEqual({ code: 0, signal: null });
    expect(remote.console).toContain('posix: the host closed the doorbell socket (EOF): peer gone, exiting');
  });
});
