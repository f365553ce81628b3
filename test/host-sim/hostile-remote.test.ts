import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VIRTIO_RING_F_EVENT_IDX, usedAvailEventOffset } from '../../wire/vring.ts';
import { send, type RpmsgDevice } from '../../host-sim/index.ts';
import { BASE, MEMORY_SIZE, bootScripted, rpmsgTable } from './scripted-remote.ts';

describe('a hostile remote', () => {
  it('whatever it writes in vring 0 (used entries, headers, indexes), the host throws nothing, delivers at most 496 bytes per message from its own buffers, and counts refusals', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({
        id: fc.oneof(fc.nat(300), fc.nat()),
        len: fc.oneof(fc.nat(600), fc.nat()),
        headerLen: fc.nat(0xffff),
        dst: fc.constantFrom(53, 1024, 7),
      }), { minLength: 1, maxLength: 20 }),
      fc.option(fc.nat(0xffff)),
      async (entries, usedIdxOverride) => {
        const { host, rproc, remote } = await bootScripted({ table: rpmsgTable({ num: 16 }) });
        const delivered: number[] = [];
        host.rpmsg.registerRpmsgDriver({ name: 'sink', idTable: ['sink'], probe() {}, callback: (_d: RpmsgDevice, data: Uint8Array) => { delivered.push(data.length); } });
        remote.announce('sink', 0x400);
        rproc.vqInterrupt(0);
        for (const entry of entries) {
          const buffer = remote.takeAvail(0);
          if (buffer && buffer.addr >= BASE && buffer.addr - BASE + 16 <= MEMORY_SIZE) {
            const at = buffer.addr - BASE;
            remote.view.setUint32(at, 0x400, true);
            remote.view.setUint32(at + 4, entry.dst, true);
            remote.view.setUint16(at + 12, entry.headerLen, true);
          }
          remote.pushUsed(0, entry.id, entry.len);
        }
        if (usedIdxOverride !== null) remote.view.setUint16(remote.ring(0).used + 2, usedIdxOverride, true);
        for (let i = 0; i < 5; i++) rproc.vqInterrupt(i % 2 === 0 ? 0 : null);
        for (const length of delivered) expect(length).toBeLessThanOrEqual(496);
        expect(rproc.state).toBe('running');
      },
    ), { numRuns: 60 });
  });
});

describe('EVENT_IDX, when the firmware offers it', () => {
  it('is negotiated, and the host kicks vring 1 only when used.avail_event asks', async () => {
    const { host, rproc, remote } = await bootScripted({ table: rpmsgTable({ dfeatures: (1 | (1 << VIRTIO_RING_F_EVENT_IDX)) >>> 0 }) });
    expect(rproc.virtioDevices[0].hasFeature(VIRTIO_RING_F_EVENT_IDX)).toBe(true);
    let device: RpmsgDevice | null = null;
    host.rpmsg.registerRpmsgDriver({ name: 'd', idTable: ['d'], probe(d) { device = d; }, callback() {} });
    remote.announce('d', 0x400);
    rproc.vqInterrupt(0);
    const ept = device!.ept!;
    const kicksBefore = remote.kicks.filter((k) => k === 1).length;
    await send(ept, 'a'); // avail_event is 0: crossing 0 -> 1 kicks
    remote.view.setUint16(remote.ring(1).used + usedAvailEventOffset(256), 3, true);
    await send(ept, 'b'); // 1 -> 2: no
    await send(ept, 'c'); // 2 -> 3: no
    await send(ept, 'd'); // 3 -> 4: crosses 3, kicks
    expect(remote.kicks.filter((k) => k === 1).length - kicksBefore).toBe(2);
    // with EVENT_IDX the NO_INTERRUPT flag is not written; suppression is by used_event
    expect(remote.availFlags(1)).toBe(0);
  });
});

describe('a hostile remote on vring 1 (TX buffers coming back)', () => {
  it('a bad id when recycling breaks the ring: counted, try-sends then fail with ENOMEM, blocking sends time out', async () => {
    const { host, rproc, remote } = await bootScripted({ table: rpmsgTable({ num: 4 }), txTimeoutMs: 30 });
    let device: RpmsgDevice | null = null;
    host.rpmsg.registerRpmsgDriver({ name: 'd', idTable: ['d'], probe(d) { device = d; }, callback() {} });
    remote.announce('d', 0x400);
    rproc.vqInterrupt(0);
    const ept = device!.ept!;
    const { trySend } = await import('../../host-sim/index.ts');
    for (let i = 0; i < 4; i++) await trySend(ept, 'x');
    remote.receive(true);
    remote.pushUsed(1, 9, 16); // id out of range
    rproc.vqInterrupt(1);
    const error = await trySend(ept, 'y').then(() => null, (e: Error & { code?: string }) => e);
    expect(error?.code).toBe('ENOMEM');
    expect(rproc.counters.count('used-id-out-of-range')).toBe(1);
    const late = await send(ept, 'z').then(() => null, (e: Error & { code?: string }) => e);
    expect(late?.code).toBe('ERESTARTSYS');
  });
});

describe('several vdevs', () => {
  it('get virtio0 and virtio1, notifyids 0..3 in table order, their own buffer pools and rpmsg buses', async () => {
    const table = rpmsgTable({ num: 16 });
    table.entries.push({ ...(table.entries[0] as object), vrings: [{ da: 0xffffffff, align: 4096, num: 16, notifyid: 0xffffffff, pa: 0 }, { da: 0xffffffff, align: 4096, num: 16, notifyid: 0xffffffff, pa: 0 }] } as never);
    const { host, rproc } = await bootScripted({ table });
    expect(rproc.virtioDevices.map((v) => v.name)).toEqual(['virtio0', 'virtio1']);
    expect(rproc.vdevs.map((v) => v.vrings.map((r) => r.notifyid))).toEqual([[0, 1], [2, 3]]);
    expect(rproc.allocations().map((a) => a.name).filter((n) => n.includes('buffer')).sort()).toEqual(['vdev0buffer', 'vdev1buffer']);
    expect(host.rpmsgTransports(rproc)).toHaveLength(2);
    expect(host.rpmsg.devices().map((d) => d.deviceName)).toEqual([
      'virtio0.rpmsg_ctrl.0.0', 'virtio0.rpmsg_ns.53.53', 'virtio1.rpmsg_ctrl.0.0', 'virtio1.rpmsg_ns.53.53',
    ]);
  });
});

describe('a random hostile remote (seeded mutations interleaved with echo checks)', () => {
  it.each([15, 1515])('seed %i, 400 mutations: the host never throws, delivers at most 496 bytes, counts refusals, and serves again after a recovery whenever a ring was broken', async (seed) => {
    const { hostileRemoteRun } = await import('./hostile-mutations.ts');
    const result = await hostileRemoteRun({ seed, mutations: 400, checkEvery: 25 });
    expect(result.threw).toBe(0);
    expect(result.oversize).toBe(0);
    expect({ lost: result.lost, duplicated: result.duplicated, reordered: result.reordered, corrupted: result.corrupted }).toEqual({ lost: 0, duplicated: 0, reordered: 0, corrupted: 0 });
    expect(result.refusals).toBeGreaterThan(0);
    expect(result.stillServes).toBe(true);
  }, 60_000);
});
