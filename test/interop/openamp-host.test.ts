/**
 * The real posix remote (XS, app firmware/apps/openamp-demo) against a host that behaves as
 * OpenAMP's Linux-port host does (test/interop/openamp-host-peer.ts, from WIRE.md "Reference
 * peers"): DRIVER_OK alone, a notify with the vdev notifyid after set_features and set_status,
 * reset by NEEDS_RESET (0x40) then waiting for 0, 512-byte desc/used lengths, garbage in
 * hdr.reserved and after NS names, host NS announcements, NO_INTERRUPT on vring 1, kicks that
 * name no vring; the echo demo (sizes 1..480) and OpenAMP's sample ping (99 x "hello world!" +
 * "goodbye!", then it waits for the remote to withdraw its endpoint). Runs on the plain build
 * and on the -fsanitize=address,undefined one.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PosixRemote } from '../../launch/posix.ts';
import { OPENAMP_DEMO_SERVICE, STATS_SERVICE } from '../../firmware/apps/openamp-demo/main.ts';
import { ECHO_SERVICE } from '../../firmware/apps/echo/main.ts';
import { RPMSG_ADDR_ANY, RPMSG_HDR_SIZE } from '../../wire/rpmsg.ts';
import { VRING_FLAGS, VRING_USED_F_NO_NOTIFY } from '../../wire/vring.ts';
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

  it('attaches on status 0x04 alone (no ACK/DRIVER bits) with gfeatures = dfeatures, each write notified with the vdev notifyid, and announces its services', async () => {
    const { remote, peer, demo, sample } = await openampSession();
    expect(peer.status()).toBe(OPENAMP.driverOk);
    // rproc_virtio_set_features, then rproc_virtio_set_status: each notifies the vdev's notifyid (the socket carries one byte).
    expect(peer.notified.slice(0, 2)).toEqual([peer.vdevNotifyId(), peer.vdevNotifyId()]);
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
    // Our remote sets VRING_USED_F_NO_NOTIFY on vring 0 while it has TX buffers, as OpenAMP's remote does (a real
    // OpenAMP host read used.flags 0x0001 after every run); and it writes used.len = 16 + len where OpenAMP's remote
    // writes 512 (the real OpenAMP host took the length from hdr.len over 180,000 echoes).
    expect(peer.view.getUint16(peer.vring(0).used + VRING_FLAGS, true)).toBe(VRING_USED_F_NO_NOTIFY);
    expect(peer.usedElements.length).toBeGreaterThan(480);
    expect(peer.usedElements.filter((element) => element.usedLength !== RPMSG_HDR_SIZE + element.messageLength)).toEqual([]);
    assertHealthy(remote);
  }, 60_000);

  it('OpenAMP\'s rpmsg-sample-ping: 99 x "hello world!" + "goodbye!" on rpmsg-client-sample, each echoed; it destroys its endpoint and the remote withdraws its own (NS destroy), which the ping waits for', async () => {
    const { remote, peer, sample } = await openampSession();
    const sent: string[] = [];
    const echoed: string[] = [];
    for (let i = 1; i <= 100; i++) {
      const message = i < 100 ? 'hello world!' : 'goodbye!';
      sent.push(message);
      echoed.push(text(await peer.request(sample, new TextEncoder().encode(message))));
    }
    expect(echoed).toEqual(sent);
    peer.destroyEndpoint(sample); // the ping's rpmsg_destroy_ept, then: while (!ept_deleted) platform_poll()
    await peer.until(() => !peer.remoteServices.has(ECHO_SERVICE), 'the remote\'s NS destroy of rpmsg-client-sample');
    await remote.waitForConsole('echo: 100 messages echoed; withdrawing "rpmsg-client-sample" (NS destroy)');
    expect(peer.refusals).toEqual([]);
    expect(peer.unrouted).toEqual([]);
    assertHealthy(remote);
  }, 30_000);

  it('resets by NEEDS_RESET (0x40) as rproc_virtio_reset_device does: the remote writes 0 back, then serves the next start (announcements, echo)', async () => {
    const { remote, peer, demo, stats } = await openampSession();
    const first = echoPayload(1, 32);
    expect(Buffer.compare(Buffer.from(await peer.request(demo, first)), Buffer.from(first))).toBe(0);
    await peer.reset(); // ETIMEDOUT when the status byte never returns to 0
    expect(peer.status()).toBe(0);
    demo.destination = RPMSG_ADDR_ANY;
    stats.destination = RPMSG_ADDR_ANY;
    peer.start();
    await peer.until(() => demo.destination !== RPMSG_ADDR_ANY && stats.destination !== RPMSG_ADDR_ANY, 'the remote\'s NS announcements after the reset');
    const second = echoPayload(2, 64);
    expect(Buffer.compare(Buffer.from(await peer.request(demo, second)), Buffer.from(second))).toBe(0);
    expect((await remoteStats(peer, stats)).refused).toEqual({});
    expect(peer.refusals).toEqual([]);
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
