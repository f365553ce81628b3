// Issue 9 items 5 and 6, issue 15 item 5: the device side's memory ordering (barrier and cache
// hooks where OpenAMP fences and flushes), EVENT_IDX fields, and kick suppression while draining.
import { describe, expect, it } from 'vitest';
import type { Rpmsg } from '../../firmware/runtime/runtime.ts';
import { CachedVringDevice, VringDevice, type MemoryOrdering } from '../../firmware/runtime/virtio/vring-device.ts';
import echoApp from '../../firmware/apps/echo/main.ts';
import { ErrorCounters } from '../../wire/errors.ts';
import { SharedMemory } from '../../wire/shared-memory.ts';
import { vringLayout } from '../../wire/vring.ts';
import { handHost, tick } from './hand-host.ts';

const BASE = 0x21000000;
const NUM = 8;
/** Byte offsets in a vring of NUM entries at offset 0, align 16 (virtio spec 2.7). */
const layout = vringLayout(NUM, 16);
const USED_IDX = layout.used + 2;
const USED_ELEM0 = layout.used + 4;
const AVAIL_EVENT = layout.used + 4 + 8 * NUM; // used->avail_event
const USED_EVENT = layout.avail + 4 + 2 * NUM; // avail->used_event

/** A ring whose ordering hooks log what happened, with a snapshot of the ring at each barrier. */
function recorded(eventIndex: boolean) {
  const memory = new SharedMemory(new ArrayBuffer(0x10000), BASE);
  const view = memory.view;
  const events: string[] = [];
  const ordering: MemoryOrdering = {
    barrier() {
      events.push(`barrier used.idx=${view.getUint16(USED_IDX, true)} elem0.len=${view.getUint32(USED_ELEM0 + 4, true)} flags=${view.getUint16(layout.used, true)}`);
    },
  };
  const ring = new VringDevice(memory, { num: NUM, notifyId: 1, desc: 0, avail: layout.avail, used: layout.used }, eventIndex, new ErrorCounters(), () => {}, ordering);
  const post = (head: number) => {
    view.setUint32(head * 16, BASE + 0x4000 + 512 * head, true);
    view.setUint32(head * 16 + 8, 512, true);
    const idx = view.getUint16(layout.avail + 2, true);
    view.setUint16(layout.avail + 4 + 2 * (idx % NUM), head, true);
    view.setUint16(layout.avail + 2, (idx + 1) & 0xffff, true);
  };
  events.length = 0;
  return { memory, view, ring, post, events };
}

describe('barriers where OpenAMP fences (item 6)', () => {
  it('used element, barrier, then used.idx; a barrier after reading avail.idx and before reading the driver\'s notification fields', () => {
    const { ring, post, events } = recorded(false);
    post(2);
    const head = ring.takeAvailable();
    expect(head).toBe(2);
    expect(events).toEqual(['barrier used.idx=0 elem0.len=0 flags=0']); // after avail.idx, before the entry
    events.length = 0;
    ring.pushUsed(head, 100);
    expect(events).toEqual(['barrier used.idx=0 elem0.len=100 flags=0']); // element written, index not yet
    events.length = 0;
    ring.shouldNotify();
    expect(events).toEqual(['barrier used.idx=1 elem0.len=100 flags=0']); // index out before flags/used_event are read
    expect(ring.takeAvailable()).toBe(-1);
  });

  it('enableKicks: the flag store, a barrier, then the re-check (the store-buffer race closed)', () => {
    const { ring, post, events, view } = recorded(false);
    ring.setKicksWanted(false);
    expect(view.getUint16(layout.used, true)).toBe(1); // VRING_USED_F_NO_NOTIFY
    events.length = 0;
    post(0); // the driver posts while it saw NO_NOTIFY: no kick
    ring.enableKicks();
    expect(events).toEqual(['barrier used.idx=0 elem0.len=0 flags=0']);
    expect(ring.pending()).toBe(1); // the caller's re-check finds it
  });

  it('a cached window (CachedVringDevice): avail.idx invalidated before it is read; at each fence the used ring is written back and the avail ring and descriptors dropped', () => {
    const memory = new SharedMemory(new ArrayBuffer(0x10000), BASE);
    const view = memory.view;
    const events: string[] = [];
    const ordering = {
      barrier: () => events.push(`fence used.idx=${view.getUint16(USED_IDX, true)}`),
      cacheClean: (offset: number, length: number) => events.push(`clean 0x${offset.toString(16)}+${length}`),
      cacheInvalidate: (offset: number, length: number) => events.push(`invalidate 0x${offset.toString(16)}+${length}`),
    };
    const ring = new CachedVringDevice(memory, { num: NUM, notifyId: 1, desc: 0, avail: layout.avail, used: layout.used }, false, new ErrorCounters(), () => {}, ordering);
    const usedBytes = `clean 0x${layout.used.toString(16)}+${AVAIL_EVENT - layout.used + 2}`;
    const availBytes = `invalidate 0x${layout.avail.toString(16)}+${USED_EVENT - layout.avail + 2}`;
    const descBytes = `invalidate 0x0+${16 * NUM}`;
    expect(events).toEqual([usedBytes]); // the constructor's used.idx and flags written out
    events.length = 0;
    view.setUint32(3 * 16, BASE + 0x4000, true);
    view.setUint32(3 * 16 + 8, 512, true);
    view.setUint16(layout.avail + 4, 3, true);
    view.setUint16(layout.avail + 2, 1, true);
    const head = ring.takeAvailable();
    expect(head).toBe(3);
    ring.pushUsed(head, 16);
    ring.shouldNotify();
    const fence = (idx: number) => [`fence used.idx=${idx}`, usedBytes, availBytes, descBytes];
    expect(events).toEqual([
      `invalidate 0x${(layout.avail + 2).toString(16)}+2`, // avail.idx, before it is read
      ...fence(0), // after avail.idx: the entry and descriptor 3 are read fresh
      ...fence(0), // the used element written back before used.idx is stored
      ...fence(1), // used.idx written back before avail.flags is read
    ]);
  });
});

describe('EVENT_IDX on the device side (item 5)', () => {
  it('writes used.avail_event = the next entry it will read while kicks are wanted, parks it num + 1 behind to suppress, and honours avail.used_event', () => {
    const { ring, post, view } = recorded(true);
    expect(view.getUint16(AVAIL_EVENT, true)).toBe(0); // kick me at the first post
    post(0);
    post(1);
    ring.setKicksWanted(false);
    expect(view.getUint16(AVAIL_EVENT, true)).toBe((0 - NUM - 1) & 0xffff);
    expect(ring.takeAvailable()).toBe(0);
    ring.pushUsed(0, 16);
    expect(ring.takeAvailable()).toBe(1);
    ring.pushUsed(1, 16);
    ring.enableKicks();
    expect(ring.pending()).toBe(0);
    expect(view.getUint16(AVAIL_EVENT, true)).toBe(2);
    expect(view.getUint16(layout.used, true)).toBe(0); // used.flags untouched by EVENT_IDX
    // The driver wants an interrupt only once used.idx passes 5 (vring_need_event).
    view.setUint16(USED_EVENT, 5, true);
    expect(ring.shouldNotify()).toBe(false); // used.idx 0 -> 2 does not cross 5
    for (let i = 2; i < 6; i++) {
      post(i);
      ring.pushUsed(ring.takeAvailable(), 16);
    }
    expect(ring.shouldNotify()).toBe(true); // 2 -> 6 crosses 5
  });
});

describe('vring 1 kicks suppressed while the remote drains it (issue 15 item 5)', () => {
  function drainingHost(features: number) {
    const during: { flags: number; availEvent: number }[] = [];
    let host: ReturnType<typeof handHost> | null = null;
    const app = (rpmsg: Rpmsg) => {
      rpmsg.createEndpoint({
        address: 0x500,
        onReadable() {
          during.push({ flags: host!.usedFlags(1), availEvent: host!.availEvent(1) });
        },
      });
    };
    host = handHost(app);
    host.boot({ features });
    return { host, during };
  }

  it('without EVENT_IDX: VRING_USED_F_NO_NOTIFY set once a second message waits, cleared after the pass; a lone message changes nothing', async () => {
    const { host, during } = drainingHost(1);
    await tick();
    for (let i = 0; i < 5; i++) host.send(0x401, 0x500, `m${i}`, i === 0);
    await tick();
    expect(during.map((d) => d.flags)).toEqual([0, 1, 1, 1, 1]);
    expect(host.usedFlags(1)).toBe(0);
    host.send(0x401, 0x500, 'alone');
    await tick();
    expect(during.map((d) => d.flags)).toEqual([0, 1, 1, 1, 1, 0]);
    expect(host.usedFlags(1)).toBe(0);
    host.stop();
  });

  it('with EVENT_IDX: avail_event parked during the pass, then the next entry', async () => {
    const { host, during } = drainingHost(1 | (1 << 29));
    await tick();
    for (let i = 0; i < 5; i++) host.send(0x401, 0x500, `m${i}`, i === 0);
    await tick();
    // Parked once the second message was taken (the next entry then was 2): num + 1 behind it.
    expect(during.map((d) => d.availEvent)).toEqual([0, ...Array(4).fill((2 - 256 - 1) & 0xffff)]);
    expect(host.availEvent(1)).toBe(5);
    host.send(0x401, 0x500, 'alone');
    await tick();
    expect(host.availEvent(1)).toBe(6); // re-armed after every pass with EVENT_IDX
    host.stop();
  });

  it('a message posted without a kick just as kicks go back on is still taken in the same pass (re-check after the barrier)', async () => {
    const got: string[] = [];
    let posted = false;
    let host: ReturnType<typeof handHost> | null = null;
    host = handHost(
      (rpmsg) => {
        echoApp(rpmsg);
        rpmsg.createEndpoint({ address: 0x500, onReadable() { got.push(new TextDecoder().decode(this.read())); } });
      },
      {
        platform(platform) {
          const barrier = platform.barrier;
          platform.barrier = function () {
            // The host's post lands exactly between the remote's flag store and its re-check.
            if (got.length === 2 && !posted && host!.usedFlags(1) === 0) {
              posted = true;
              host!.send(0x401, 0x500, 'late', false);
            }
            barrier.call(this);
          };
        },
        pollWhileRunning: 2 ** 30,
      },
    );
    host.boot();
    await tick();
    host.send(0x401, 0x500, 'first', false);
    host.send(0x401, 0x500, 'second'); // two at once: kicks are off while they are drained
    await tick();
    expect(got).toEqual(['first', 'second', 'late']);
    host.stop();
  });
});
