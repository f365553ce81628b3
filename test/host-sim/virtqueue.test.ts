import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCounters, RpmsgError } from '../../wire/errors.ts';
import { SharedMemory } from '../../wire/shared-memory.ts';
import { availUsedEventOffset, usedAvailEventOffset, vringLayout } from '../../wire/vring.ts';
import { Virtqueue } from '../../host-sim/index.ts';

const BASE = 0x1000_0000;

function ring(options: { num?: number; eventIdx?: boolean; callback?: (() => void) | null } = {}) {
  const memory = new SharedMemory(new ArrayBuffer(64 * 1024), BASE);
  const counters = new ErrorCounters();
  let notified = 0;
  const num = options.num ?? 8;
  const vq = new Virtqueue<number>({
    index: 0, name: 'test', num, align: 4096, memory, offset: 0, eventIdx: options.eventIdx ?? false,
    notify: () => { notified++; }, callback: options.callback === undefined ? () => {} : options.callback, counters,
  });
  const layout = vringLayout(num, 4096);
  const view = memory.view;
  const pushUsed = (id: number, len: number): void => {
    const idx = view.getUint16(layout.used + 2, true);
    view.setUint32(layout.used + 4 + 8 * (idx % num), id, true);
    view.setUint32(layout.used + 8 + 8 * (idx % num), len, true);
    view.setUint16(layout.used + 2, (idx + 1) & 0xffff, true);
  };
  return { vq, memory, view, layout, counters, pushUsed, notified: () => notified };
}

describe('split virtqueue, driver side', () => {
  it('a used id never given out is refused, counted, and breaks the ring', () => {
    const { vq, counters, pushUsed } = ring();
    vq.addInbuf(BASE + 0x8000, 512, 100);
    pushUsed(1, 10);
    expect(vq.getBuf()).toBeNull();
    expect(counters.count('used-id-not-a-head')).toBe(1);
    expect(vq.broken).toBe(true);
    expect(() => vq.addInbuf(BASE + 0x8200, 512, 101)).toThrow(RpmsgError);
  });

  it('returns buffers with the host token and the device length; the free list is LIFO as in Linux', () => {
    const { vq, pushUsed, view, layout } = ring();
    vq.addInbuf(BASE + 0x8000, 512, 100);
    vq.addInbuf(BASE + 0x8200, 512, 101);
    pushUsed(1, 7);
    expect(vq.getBuf()).toEqual({ token: 101, len: 7 });
    vq.addInbuf(BASE + 0x8400, 512, 102);
    expect(view.getUint16(layout.avail + 4 + 2 * 2, true)).toBe(1);
  });

  it('EVENT_IDX: kicks only when avail_event says so; publishes used_event', () => {
    const { vq, view, layout, pushUsed, notified } = ring({ eventIdx: true });
    vq.addOutbuf(BASE + 0x8000, 16, 1);
    expect(vq.kick()).toBe(true); // avail_event 0, 0 -> 1
    view.setUint16(layout.used + usedAvailEventOffset(8), 5, true);
    vq.addOutbuf(BASE + 0x8200, 16, 2);
    expect(vq.kick()).toBe(false); // device wants to hear at 6
    expect(notified()).toBe(1);
    pushUsed(0, 16);
    vq.getBuf();
    expect(view.getUint16(layout.avail + availUsedEventOffset(8), true)).toBe(1);
  });

  it('disable/enable callbacks toggle VRING_AVAIL_F_NO_INTERRUPT without EVENT_IDX', () => {
    const { vq, view, layout, pushUsed } = ring();
    vq.disableCb();
    expect(view.getUint16(layout.avail, true)).toBe(1);
    vq.addOutbuf(BASE + 0x8000, 16, 1);
    expect(vq.enableCb()).toBe(true);
    expect(view.getUint16(layout.avail, true)).toBe(0);
    pushUsed(0, 16);
    vq.disableCb();
    expect(vq.enableCb()).toBe(false); // something is already pending
  });

  it('a full ring refuses an outgoing buffer with ENOSPC after notifying, as Linux does', () => {
    const { vq, notified } = ring({ num: 2 });
    vq.addOutbuf(BASE + 0x8000, 16, 1);
    vq.addOutbuf(BASE + 0x8200, 16, 2);
    expect(() => vq.addOutbuf(BASE + 0x8400, 16, 3)).toThrow(/no free descriptor/);
    expect(notified()).toBe(1);
  });

  it('refuses a ring size that is not a power of two (ENOMEM), saying Linux 6.x accepts it and why we do not', () => {
    expect(() => ring({ num: 6 })).toThrow(/num 6 is not a power of two.*Linux 6\.x accepts it.*masking indexes with num - 1/);
    expect(() => ring({ num: 6 })).not.toThrow(/Bad virtqueue length/);
  });

  it('whatever the device writes in the used ring, getBuf only returns tokens it gave out or null, and throws nothing', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(20), fc.nat()), { maxLength: 30 }), fc.nat(0xffff), (entries, jump) => {
      const { vq, pushUsed, view, layout } = ring();
      const given = new Set<number>();
      for (let i = 0; i < 8; i++) { vq.addInbuf(BASE + 0x8000 + i * 512, 512, 1000 + i); given.add(1000 + i); }
      for (const [id, len] of entries) pushUsed(id, len);
      if (jump % 3 === 0) view.setUint16(layout.used + 2, jump, true);
      for (let i = 0; i < 40; i++) {
        const used = vq.getBuf();
        if (!used) break;
        expect(given.has(used.token)).toBe(true);
        given.delete(used.token);
      }
    }));
  });
});
