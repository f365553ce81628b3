// The short soak (seconds, fixed seeds) on every target: the long one is `npx tsx bench/soak.ts`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '../../host-sim/session.ts';
import {
  crashCycles, flood, leaks, openSoakSession, rebindCycles, remoteHeap, resetCycles, resources, type Peers, type Resources, type StreamCounts,
} from '../../bench/soak/cases.ts';
import { prepareTarget, TARGETS } from './harness.ts';

const clean = (counts: StreamCounts) => ({ lost: counts.lost, duplicated: counts.duplicated, reordered: counts.reordered, corrupted: counts.corrupted });
const none = { lost: 0, duplicated: 0, reordered: 0, corrupted: 0 };

describe.each(TARGETS)('soak (short) on %s', (target) => {
  let session: Session;
  let peers: Peers;
  let before: Resources;

  beforeAll(async () => {
    await prepareTarget(target, 'e2e');
    before = resources();
    ({ session, peers } = await openSoakSession(target));
  }, 600_000);

  afterAll(async () => {
    await session?.close();
    // nothing left behind: descriptors, remote processes, /dev/shm files, sockets
    expect(leaks(before, resources())).toEqual([]);
  });

  it.each([
    ['blocking', 1501],
    ['try', 1502],
    ['mixed', 1503],
  ] as const)('a seeded two-way flood (%s host sends, pipelined on 4 endpoints, remote bursting at once): nothing lost, duplicated, reordered or corrupted', async (mode, seed) => {
    const result = await flood(peers, { seed, messages: 1500, remoteMessages: 1500, mode, window: 300 });
    expect(result.sendErrors).toEqual([]);
    expect(result.echo.sent).toBe(1500);
    expect(clean(result.echo)).toEqual(none);
    expect(result.remote.sent).toBe(1500);
    expect(clean(result.remote)).toEqual(none);
    expect(result.stillServes).toBe(true);
  }, 120_000);

  it('crash-and-recover cycles: channels come back, a flood after each is clean, no remote process leaks', async () => {
    const result = await crashCycles(session, peers, { cycles: 2, seed: 1510, messagesPerCycle: 200 });
    expect(result.failures).toEqual([]);
    expect(result.recovered).toBe(2);
    expect(clean(result.counts)).toEqual(none);
    if (target !== 'in-process') expect(result.maxProcesses).toBe(1);
  }, 180_000);

  it('host reset cycles (shutdown, boot): channels come back, a flood after each is clean, the XS heap does not grow', async () => {
    const heapBefore = await remoteHeap(peers);
    const result = await resetCycles(session, peers, { cycles: 2, seed: 1520, messagesPerCycle: 200 });
    expect(result.failures).toEqual([]);
    expect(result.recovered).toBe(2);
    expect(clean(result.counts)).toEqual(none);
    const heapAfter = await remoteHeap(peers);
    // Every target reports a heap now (in-process: the firmware context's buffer budget). A fresh
    // boot: the heap is what a booted app holds, within a few kilobytes.
    expect(heapBefore).not.toBeNull();
    expect(heapAfter).not.toBeNull();
    expect(Math.abs(heapAfter! - heapBefore!)).toBeLessThan(16 * 1024);
  }, 180_000);

  // Linux's virtio_dev_remove leaves the status at ACKNOWLEDGE (1): the remote takes any status
  // without DRIVER_OK as a host reset (issue 9), so the channels come back after an unbind/bind.
  it('virtio unbind/bind of the rpmsg bus while the remote runs: the channels come back and a flood is clean', async () => {
    let result;
    try {
      result = await rebindCycles(session, peers, { cycles: 1, seed: 1530, messagesPerCycle: 200, waitMs: 3000 });
    } finally {
      await session.reboot(); // leave a serving remote for whatever runs next
    }
    expect(result.failures).toEqual([]);
    expect(result.recovered).toBe(1);
  }, 30_000);
});
