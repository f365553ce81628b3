// The remote's device side of a vring treats every index, address and length as hostile.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCounters, RpmsgError } from '../../wire/errors.ts';
import { SharedMemory } from '../../wire/shared-memory.ts';
import { vringLayout, VRING_AVAIL_F_NO_INTERRUPT } from '../../wire/vring.ts';
import { VringDevice } from '../../firmware/runtime/virtio/vring-device.ts';

const BASE = 0x21000000;
const NUM = 8;

/** A 64 KiB window with one vring at offset 0 and buffers from 0x4000. */
function setup() {
  const buffer = new ArrayBuffer(0x10000);
  const memory = new SharedMemory(buffer, BASE);
  const layout = vringLayout(NUM, 16);
  const counters = new ErrorCounters();
  const ring = new VringDevice(memory, { num: NUM, notifyId: 1, desc: 0, avail: layout.avail, used: layout.used }, false, counters);
  const view = memory.view;
  /** Driver side, by hand: descriptor i -> address, length; post head. */
  const post = (head: number, address: number, length: number) => {
    view.setUint32(head * 16, address, true);
    view.setUint32(head * 16 + 4, 0, true);
    view.setUint32(head * 16 + 8, length, true);
    view.setUint16(head * 16 + 12, 2, true);
    const idx = view.getUint16(layout.avail + 2, true);
    view.setUint16(layout.avail + 4 + 2 * (idx % NUM), head, true);
    view.setUint16(layout.avail + 2, (idx + 1) & 0xffff, true);
  };
  return { memory, view, layout, counters, ring, post };
}

describe('VringDevice', () => {
  it('takes a posted buffer, translating its address into a local offset', () => {
    const { ring, post } = setup();
    post(3, BASE + 0x4000, 512);
    expect(ring.takeAvailable()).toBe(3);
    expect(ring.bufferOffset).toBe(0x4000);
    expect(ring.bufferLength).toBe(512);
    expect(ring.takeAvailable()).toBe(-1);
  });

  it('refuses a descriptor index out of range, counted', () => {
    const { ring, post, counters } = setup();
    post(NUM + 5, BASE + 0x4000, 512);
    expect(() => ring.takeAvailable()).toThrow(/EIO: vring 1: avail ring names descriptor 13, but the ring has only 8/);
    expect(counters.count('descriptor-index-out-of-range')).toBe(1);
  });

  it('refuses a buffer address outside the shared region, counted', () => {
    const { ring, post, counters } = setup();
    post(0, BASE + 0xff00, 512); // runs 0x100 bytes past the end
    expect(() => ring.takeAvailable()).toThrow(/EFAULT: .*outside the shared region/);
    post(1, 0x1000, 16); // below the base
    ring.discard();
    expect(() => ring.takeAvailable()).toThrow(/EFAULT/);
    expect(counters.count('address-outside-region')).toBe(2);
  });

  it('refuses an avail index that runs more than num ahead', () => {
    const { ring, view, layout } = setup();
    view.setUint16(layout.avail + 2, NUM + 1, true);
    expect(() => ring.pending()).toThrow(/EIO: .*corrupted the ring/);
  });

  it('discard() returns a malformed buffer with length 0 so the driver does not lose it', () => {
    const { ring, post, view, layout } = setup();
    post(0, 0x10, 512);
    expect(() => ring.takeAvailable()).toThrow(RpmsgError);
    ring.discard();
    expect(view.getUint16(layout.used + 2, true)).toBe(1);
    expect(view.getUint32(layout.used + 4, true)).toBe(0);
    expect(view.getUint32(layout.used + 8, true)).toBe(0);
  });

  it('publishes used entries and honours VRING_AVAIL_F_NO_INTERRUPT', () => {
    const { ring, post, view, layout } = setup();
    post(2, BASE + 0x4000, 512);
    ring.takeAvailable();
    ring.pushUsed(2, 28);
    expect(view.getUint32(layout.used + 4, true)).toBe(2);
    expect(view.getUint32(layout.used + 8, true)).toBe(28);
    expect(view.getUint16(layout.used + 2, true)).toBe(1);
    expect(ring.shouldNotify()).toBe(true);
    view.setUint16(layout.avail, VRING_AVAIL_F_NO_INTERRUPT, true);
    post(4, BASE + 0x4200, 512);
    ring.takeAvailable();
    ring.pushUsed(4, 16);
    expect(ring.shouldNotify()).toBe(false);
  });

  it('never throws anything but RpmsgError and never reports a buffer outside memory, whatever the ring holds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 512, maxLength: 512 }), (garbage) => {
        const { ring, memory } = setup();
        memory.bytes.set(garbage, 0);
        for (let step = 0; step < 2 * NUM; step++) {
          try {
            const head = ring.takeAvailable();
            if (head < 0) break;
            expect(head).toBeLessThan(NUM);
            expect(memory.contains(ring.bufferOffset, ring.bufferLength)).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(RpmsgError);
            try {
              ring.discard();
            } catch (inner) {
              expect(inner).toBeInstanceOf(RpmsgError);
              break;
            }
          }
        }
      }),
    );
  });
});

describe('vring placement', () => {
  it('refuses rings that are not 16/2/4-byte aligned (desc/avail/used), counted, before any access', () => {
    const memory = new SharedMemory(new ArrayBuffer(0x10000), BASE);
    const counters = new ErrorCounters();
    const layout = vringLayout(NUM, 16);
    expect(() => new VringDevice(memory, { num: NUM, notifyId: 1, desc: 8, avail: 8 + layout.avail, used: 8 + layout.used }, false, counters))
      .toThrow(/EINVAL: vring 1: desc\/avail\/used at offsets 0x8\/.* are not 16\/2\/4-byte aligned/);
    expect(() => new VringDevice(memory, { num: NUM, notifyId: 1, desc: 0, avail: layout.avail + 1, used: layout.used }, false, counters)).toThrow(/EINVAL/);
    expect(() => new VringDevice(memory, { num: NUM, notifyId: 1, desc: 0, avail: layout.avail, used: layout.used + 2 }, false, counters)).toThrow(/EINVAL/);
    expect(counters.count('vring-misaligned')).toBe(3);
  });
});
