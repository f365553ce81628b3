// A driver that runs avail.idx more than num ahead has broken the ring (Linux: BAD_RING): the device sets it aside.
import { describe, expect, it } from 'vitest';
import { ErrorCounters } from '../../wire/errors.ts';
import { SharedMemory } from '../../wire/shared-memory.ts';
import { vringLayout } from '../../wire/vring.ts';
import { VringDevice } from '../../firmware/runtime/virtio/vring-device.ts';

const NUM = 8;

describe('VringDevice with a corrupted avail.idx', () => {
  it('refuses once with EIO, counts it, then reports nothing pending and hands back no buffer the driver never posted', () => {
    const memory = new SharedMemory(new ArrayBuffer(0x4000), 0);
    const layout = vringLayout(NUM, 16);
    const counters = new ErrorCounters();
    const ring = new VringDevice(memory, { num: NUM, notifyId: 2, desc: 0, avail: layout.avail, used: layout.used }, false, counters);
    memory.view.setUint16(layout.avail + 2, NUM + 3, true); // 11 entries "posted" in a ring of 8
    expect(() => ring.takeAvailable()).toThrow(/^EIO: vring 2: avail.idx runs 11 entries ahead of the device, more than the ring's 8/);
    expect(ring.broken).toBe(true);
    ring.discard();
    expect(ring.takeAvailable()).toBe(-1);
    expect(ring.pending()).toBe(0);
    expect(memory.view.getUint16(layout.used + 2, true)).toBe(0); // used.idx untouched
    expect(counters.count('avail-index-corrupt')).toBe(1);
  });
});
