/**
 * A hostile host against the real posix remote (built with -fsanitize=address,undefined):
 * a malformed shared file, broken descriptors and rings, lying header lengths, a short NS
 * message, the socket closed mid-run. The remote must never fault: it refuses each input
 * with an errno-named console line, counts it, and keeps serving (or, for a table broken
 * before it boots and for a vanished peer, exits with a clear message).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PosixRemote } from '../../launch/posix.ts';
import { OPENAMP_DEMO_SERVICE, STATS_SERVICE } from '../../firmware/apps/openamp-demo/main.ts';
import { RSC_TABLE_NUM, RSC_TABLE_VER, VRING_RSC_NUM, vdevVringOffset } from '../../resource-table/layout.ts';
import { writeVringDa } from '../../resource-table/in-place.ts';
import { RPMSG_ADDR_ANY, RPMSG_NS_ADDR } from '../../wire/rpmsg.ts';
import { VRING_DESC_F_NEXT, VRING_IDX } from '../../wire/vring.ts';
import { echoPayload, OPENAMP, type OpenAmpHostPeer, type PeerEndpoint } from './openamp-host-peer.ts';
import { assertHealthy, FAULT_PATTERN, interopExecutable, occurrences, startPair, stopRemotes } from './posix-remote.ts';

let executable = '';

beforeAll(async () => {
  executable = await interopExecutable(true);
}, 900_000);

afterEach(async () => {
  await stopRemotes();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A running OpenAMP-style session with the echo demo and the stats service bound. */
async function session(): Promise<{ remote: PosixRemote; peer: OpenAmpHostPeer; demo: PeerEndpoint; stats: PeerEndpoint }> {
  const { remote, peer } = await startPair(executable);
  const demo = peer.createEndpoint(OPENAMP_DEMO_SERVICE);
  const stats = peer.createEndpoint(STATS_SERVICE);
  await peer.connect(remote);
  peer.start();
  await peer.until(() => demo.destination !== RPMSG_ADDR_ANY && stats.destination !== RPMSG_ADDR_ANY, 'the remote\'s NS announcements', 20_000);
  return { remote, peer, demo, stats };
}

/** The remote's refusal counters, through its stats service. */
async function refused(peer: OpenAmpHostPeer, stats: PeerEndpoint): Promise<Record<string, number>> {
  const reply = await peer.request(stats, Uint8Array.of(0x3f));
  return JSON.parse(Buffer.from(reply).toString('latin1')).refused;
}

/** One echo round trip on the demo channel still works. */
async function expectEcho(peer: OpenAmpHostPeer, demo: PeerEndpoint, num: number): Promise<void> {
  const payload = echoPayload(num, 32);
  const reply = await peer.request(demo, payload);
  expect(Buffer.compare(Buffer.from(reply), Buffer.from(payload))).toBe(0);
}

/** The host resets the device (status 0, held past the remote's 20 ms poll), then starts again. */
async function resetAndRestart(remote: PosixRemote, peer: OpenAmpHostPeer, demo: PeerEndpoint, repair: () => void = () => {}): Promise<void> {
  peer.writeStatus(0);
  await pause(150);
  repair();
  demo.destination = RPMSG_ADDR_ANY;
  const readyBefore = occurrences(remote, 'xs-rpmsg: host ready');
  peer.start();
  await remote.waitForConsole(new RegExp(`(xs-rpmsg: host ready[^]*){${readyBefore + 1}}`));
  await peer.until(() => demo.destination !== RPMSG_ADDR_ANY, 'the remote\'s NS announcement after the reset');
}

describe('posix remote against a hostile host (sanitized build)', () => {
  it.each([
    ['version 2', (peer: OpenAmpHostPeer) => peer.view.setUint32(RSC_TABLE_VER, 2, true), 'EINVAL: own resource table at offset 0x0: version is 2, expected 1'],
    ['a huge entry count', (peer: OpenAmpHostPeer) => peer.view.setUint32(RSC_TABLE_NUM, 0x10000000, true), 'EINVAL: own resource table at offset 0x0: 268435456 entries do not fit in shared memory'],
  ])('a resource table with %s written before the remote boots: refused with EINVAL, exit status 1, no crash', async (_what, corrupt, message) => {
    const { remote, peer } = await startPair(executable);
    corrupt(peer);
    await peer.connect(remote);
    expect(await remote.exited).toEqual({ code: 1, signal: null });
    expect(remote.console).toContain(`xs-rpmsg: cannot start: ${message}; exiting`);
    expect(remote.console + remote.stderr).not.toMatch(FAULT_PATTERN);
  });

  it.each([
    ['vring 0 da outside the file', (peer: OpenAmpHostPeer) => writeVringDa(peer.view, peer.vdev, 0, OPENAMP.shmSize - 0x1000), 'EFAULT: vdev vring 0 (da) at 0x7f000 (+10246) lies outside the shared region 0x0..0x80000', 'address-outside-region'],
    ['vring 1 da near 4 GiB', (peer: OpenAmpHostPeer) => writeVringDa(peer.view, peer.vdev, 1, 0xfffff000), 'EFAULT: vdev vring 1 (da) at 0xfffff000 (+10246) lies outside the shared region', 'address-outside-region'],
    ['vring 1 num 255 (not a power of two)', (peer: OpenAmpHostPeer) => peer.view.setUint32(peer.vdev + vdevVringOffset(1) + VRING_RSC_NUM, 255, true), 'EINVAL: vdev vring 1: num 255 / align 4096 must be powers of two', 'vring-malformed'],
  ])('%s at DRIVER_OK: refused once with an errno message, counted, then served after a host reset with a good table', async (_what, corrupt, message, reason) => {
    const { remote, peer } = await startPair(executable);
    const demo = peer.createEndpoint(OPENAMP_DEMO_SERVICE);
    const stats = peer.createEndpoint(STATS_SERVICE);
    const good = peer.memory.bytes.slice(0, 0x400);
    await peer.connect(remote);
    corrupt(peer);
    peer.driverOk();
    await remote.waitForConsole(`xs-rpmsg: ${message}`);
    await pause(200); // the remote polls the status every 1 ms while waiting: the refusal must not repeat
    expect(occurrences(remote, message)).toBe(1);
    expect(remote.console).not.toContain('host ready');
    assertHealthy(remote);
    await resetAndRestart(remote, peer, demo, () => peer.memory.bytes.set(good, 0));
    await peer.until(() => stats.destination !== RPMSG_ADDR_ANY, 'the stats service');
    await expectEcho(peer, demo, 1);
    expect((await refused(peer, stats))[reason]).toBe(1);
    assertHealthy(remote);
  }, 30_000);

  it('an avail entry naming descriptor 300 of 256: EIO, counted, skipped; the ring keeps working', async () => {
    const { remote, peer, demo, stats } = await session();
    peer.publish(1, 300);
    peer.kick();
    await remote.waitForConsole('rpmsg: EIO: vring 2: avail ring names descriptor 300, but the ring has only 256');
    await expectEcho(peer, demo, 1);
    expect((await refused(peer, stats))['descriptor-index-out-of-range']).toBe(1);
    assertHealthy(remote);
  });

  it.each([
    ['past the end of the file', 0x7ff00, 512, 0, 'EFAULT: vring 2 descriptor 255 buffer at 0x7ff00 (+512) lies outside the shared region 0x0..0x80000', 'address-outside-region'],
    ['with a length reaching past the file', 0x10000, 0xffffffff, 0, 'EFAULT: vring 2 descriptor 255 buffer at 0x10000 (+4294967295) lies outside the shared region', 'address-outside-region'],
    ['above 4 GiB', 0x1_0000_0000, 512, 0, 'EFAULT: vring 2: descriptor 255 address 0x100000000 is above 4 GiB', 'address-outside-region'],
    ['chained (VRING_DESC_F_NEXT)', 0x4fe00, 512, VRING_DESC_F_NEXT, 'EINVAL: vring 2: descriptor 255 is chained or indirect (flags 0x1)', 'descriptor-chain-refused'],
    ['of 8 bytes (shorter than the rpmsg header)', 0x4fe00, 8, 0, 'EINVAL: host sent a 8-byte buffer, smaller than the 16-byte rpmsg header; dropped', 'buffer-too-small'],
  ])('a TX descriptor %s: refused, counted, returned on the used ring; echo continues', async (_what, address, length, flags, message, reason) => {
    const { remote, peer, demo, stats } = await session();
    peer.setDescriptor(1, 255, address, length, flags);
    peer.publish(1, 255);
    peer.kick();
    await remote.waitForConsole(`rpmsg: ${message}`);
    const used = peer.vring(1).used;
    await peer.until(() => {
      const idx = peer.view.getUint16(used + VRING_IDX, true);
      for (let i = 0; i < idx; i++) {
        const element = used + 4 + (i % OPENAMP.num) * 8;
        // Refused descriptors come back with used.len 0; a readable but useless one with its own length.
        if (peer.view.getUint32(element, true) === 255) return peer.view.getUint32(element + 4, true) === (reason === 'buffer-too-small' ? length : 0);
      }
      return false;
    }, 'descriptor 255 returned on the used ring');
    await expectEcho(peer, demo, 2);
    expect((await refused(peer, stats))[reason]).toBe(1);
    assertHealthy(remote);
  });

  it.each([497, 0xffff])('hdr.len %i in a 512-byte buffer: EINVAL, dropped, counted; echo continues', async (length) => {
    const { remote, peer, demo, stats } = await session();
    peer.sendRaw(demo.address, demo.destination, echoPayload(7, 16), length);
    await remote.waitForConsole(`rpmsg: EINVAL: host message claims ${length} payload bytes in a 512-byte buffer; dropped`);
    await expectEcho(peer, demo, 3);
    expect((await refused(peer, stats))['header-length-above-buffer']).toBe(1);
    assertHealthy(remote);
  });

  it('avail.idx 300 entries ahead on vring 1 (num 256): EIO once, the ring is set aside, and a host reset brings the service back', async () => {
    const { remote, peer, demo, stats } = await session();
    await expectEcho(peer, demo, 0); // the remote has taken everything posted so far
    const avail = peer.vring(1).avail;
    peer.view.setUint16(avail + VRING_IDX, (peer.view.getUint16(avail + VRING_IDX, true) + 300) & 0xffff, true);
    peer.kick();
    const message = 'EIO: vring 2: avail.idx runs 300 entries ahead of the device, more than the ring\'s 256';
    await remote.waitForConsole(message);
    peer.kick();
    await pause(100);
    expect(occurrences(remote, message)).toBe(1);
    assertHealthy(remote);
    await resetAndRestart(remote, peer, demo);
    await remote.waitForConsole('xs-rpmsg: host reset the device (status 0)');
    await expectEcho(peer, demo, 4);
    expect((await refused(peer, stats))['avail-index-corrupt']).toBe(1);
    assertHealthy(remote);
  });

  it('a 39-byte name-service message: EINVAL, counted as name-service-malformed; echo continues', async () => {
    const { remote, peer, demo, stats } = await session();
    const short = new Uint8Array(39);
    short.set(new TextEncoder().encode(OPENAMP_DEMO_SERVICE));
    peer.sendRaw(0x401, RPMSG_NS_ADDR, short, short.length);
    await remote.waitForConsole('rpmsg: EINVAL: name-service message is 39 bytes, struct rpmsg_ns_msg is 40');
    await expectEcho(peer, demo, 5);
    expect((await refused(peer, stats))['name-service-malformed']).toBe(1);
    assertHealthy(remote);
  });

  it('the socket closed mid-run with messages in flight: the remote exits 0 with the peer-gone message, no fault', async () => {
    const { remote, peer, demo } = await session();
    for (let i = 0; i < 100; i++) peer.send(demo, echoPayload(i, 400));
    peer.disconnect();
    expect(await remote.exited).toEqual({ code: 0, signal: null });
    expect(remote.console).toContain('posix: the host closed the doorbell socket (EOF): peer gone, exiting');
    expect(remote.console + remote.stderr).not.toMatch(FAULT_PATTERN);
  });
});

describe('posix remote against random hostile-host mutations (sanitized build, seeded)', () => {
  it('300 random mutations interleaved with echo checks: each refused once under its reason, no fault, every echo intact', async () => {
    const { hostileHostRun } = await import('./hostile-mutations.ts');
    const result = await hostileHostRun({ seed: 15, mutations: 300, checkEvery: 25, executable });
    expect(result.faults).toBe(0);
    expect(result.lost).toBe(0);
    expect(result.corrupted).toBe(0);
    expect(result.mutations).toBe(300);
    expect(result.byReason).toEqual(result.expectedByReason);
    expect(result.stillServes).toBe(true);
  }, 120_000);
});
