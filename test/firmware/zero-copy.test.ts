// Zero-copy on the remote (docs/ZERO-COPY.md): RX buffers held past onReadable and released, TX
// buffers obtained, filled in place and sent or given back unsent, each named by its payload's
// offset in the shared window; every misuse refused with an errno-named error and no descriptor
// lost, against a host written by hand.
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../firmware/runtime/rpmsg/endpoint.ts';
import type { Rpmsg } from '../../firmware/runtime/runtime.ts';
import { RpmsgError } from '../../wire/errors.ts';
import { enableZeroCopy, type RpmsgZeroCopy } from '../../firmware/runtime/rpmsg/zero-copy.ts';
import { handHost, tick, type HandHost } from './hand-host.ts';

const ADDRESS = 0x500;
const HOST = 0x401;
let current: HandHost | null = null;
/** The zero-copy functions of the remote booted last (boot). */
let zc: RpmsgZeroCopy;
afterEach(() => {
  current?.stop();
  current = null;
});

/** The error code `call` throws (fails if it does not throw an RpmsgError). */
function codeOf(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(RpmsgError);
    return (error as RpmsgError).code;
  }
  throw new Error('expected an RpmsgError');
}

/** Boot a remote with one endpoint at 0x500 whose onReadable is `onReadable`. */
async function boot(onReadable: (this: Endpoint, count: number, source: number, offset: number) => void = () => {}, enable = true) {
  let endpoint: Endpoint | null = null;
  let rpmsg: Rpmsg | null = null;
  const host = (current = handHost((r) => {
    rpmsg = r;
    zc = enable ? enableZeroCopy(r) : (null as unknown as RpmsgZeroCopy);
    endpoint = r.createEndpoint({ name: 'zc', address: ADDRESS, onReadable });
  }));
  host.boot();
  await tick();
  host.received();
  return { host, endpoint: endpoint! as Endpoint, rpmsg: rpmsg! as Rpmsg, device: host.runtime.device };
}

describe('zero-copy receive: hold and release', () => {
  it('without enableZeroCopy an Endpoint has no zero-copy methods (the firmware does not carry the code)', async () => {
    const { endpoint } = await boot(() => {}, false);
    for (const name of ['hold', 'release', 'getTxBuffer', 'sendNoCopy', 'sendToNoCopy', 'releaseTxBuffer']) {
      expect((endpoint as unknown as Record<string, unknown>)[name]).toBeUndefined();
    }
  });

  it('enableZeroCopy twice gives the same object; onReadable gets the payload offset whether or not zero-copy is enabled', async () => {
    const offsets: number[] = [];
    const { host, rpmsg } = await boot(function (_count, _source, offset) {
      offsets.push(offset);
    });
    expect(enableZeroCopy(rpmsg)).toBe(zc);
    host.send(HOST, ADDRESS, 'abc');
    await tick();
    expect(offsets).toEqual([host.buffers + 512 * 256 + 16]);
    expect(new TextDecoder().decode(zc.bytes.subarray(offsets[0], offsets[0] + 3))).toBe('abc');
  });

  it('a held RX buffer stays off the used ring until release(), then goes back with its length; hold() is the payload\'s offset in the window', async () => {
    const held: number[] = [];
    const counts: number[] = [];
    const { host, endpoint, device } = await boot(function (count) {
      held.push(zc.hold(this));
      counts.push(count);
    });
    const usedBefore = host.txUsedIdx();
    host.send(HOST, ADDRESS, 'first');
    host.send(HOST, ADDRESS, 'second');
    await tick();
    expect(host.txUsedIdx()).toBe(usedBefore);
    expect(held.map((offset, i) => new TextDecoder().decode(zc.bytes.subarray(offset, offset + counts[i])))).toEqual(['first', 'second']);
    expect(zc.bytes.buffer).toBe(host.bytes.buffer); // the window itself, not a copy
    expect(held).toEqual([host.buffers + 512 * 256 + 16, host.buffers + 512 * 257 + 16]); // the payloads of the host's buffers 0 and 1
    expect(device.heldBuffers()).toEqual({ receive: 2, transmit: 0, spare: 0 });
    const kicks = host.kicks.length;
    zc.release(endpoint, held[1]); // out of order is fine: virtio's used ring is not FIFO
    zc.release(endpoint, held[0]);
    expect(host.txUsedIdx()).toBe((usedBefore + 2) & 0xffff);
    const element = (i: number) => host.tx + host.layout.used + 4 + 8 * ((usedBefore + i) % 256);
    expect([host.view.getUint32(element(0), true), host.view.getUint32(element(0) + 4, true)]).toEqual([1, 16 + 6]);
    expect([host.view.getUint32(element(1), true), host.view.getUint32(element(1) + 4, true)]).toEqual([0, 16 + 5]);
    await tick();
    expect(host.kicks.length).toBeGreaterThan(kicks); // the host was told its buffers came back
    expect(device.heldBuffers().receive).toBe(0);
  });

  it('misuse: hold() outside onReadable EINVAL, twice for one message EALREADY, release() twice or of a foreign view EBADF', async () => {
    const codes: string[] = [];
    let offset = -1;
    const { host, endpoint } = await boot(function () {
      offset = zc.hold(this);
      codes.push(codeOf(() => zc.hold(this)));
    });
    expect(codeOf(() => zc.hold(endpoint))).toBe('EINVAL');
    host.send(HOST, ADDRESS, 'x');
    await tick();
    expect(codes).toEqual(['EALREADY']);
    expect(codeOf(() => zc.release(endpoint, offset + 1))).toBe('EBADF'); // not the offset hold() returned
    expect(codeOf(() => zc.release(endpoint, offset - 16))).toBe('EBADF'); // the buffer's header, not its payload
    expect(codeOf(() => zc.releaseTxBuffer(endpoint, offset))).toBe('EBADF'); // an RX buffer is not a TX buffer
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, offset, 1))).toBe('EBADF');
    zc.release(endpoint, offset);
    expect(codeOf(() => zc.release(endpoint, offset))).toBe('EBADF');
    expect(codeOf(() => zc.release(endpoint, 0))).toBe('EBADF');
  });

  it('close() releases what the endpoint holds; a host reset forgets held buffers (their release does nothing to the next session)', async () => {
    const held: number[] = [];
    const { host, endpoint, device, rpmsg } = await boot(function () {
      held.push(zc.hold(this));
    });
    const usedBefore = host.txUsedIdx();
    host.send(HOST, ADDRESS, 'a');
    await tick();
    endpoint.close();
    expect(host.txUsedIdx()).toBe((usedBefore + 1) & 0xffff);
    expect(device.heldBuffers().receive).toBe(0);

    const again = rpmsg.createEndpoint({ address: ADDRESS + 1, onReadable() { held.push(zc.hold(this)); } });
    host.send(HOST, ADDRESS + 1, 'b');
    await tick();
    host.status(0);
    await tick(60);
    host.boot();
    await tick();
    const usedAfterReset = host.txUsedIdx();
    zc.release(again, held[1]); // the old session's buffer: nothing written to the new rings
    expect(host.txUsedIdx()).toBe(usedAfterReset);
    expect(codeOf(() => zc.release(again, held[1]))).toBe('EBADF');
  });
});

describe('zero-copy send: TX buffers obtained, filled in place, sent or released', () => {
  it('getTxBuffer() is the payload area of a host buffer; sendToNoCopy sends it with the header written; a second send of it is EBADF', async () => {
    const { host, endpoint } = await boot();
    const buffer = zc.getTxBuffer(endpoint);
    expect(zc.txSize(endpoint, buffer)).toBe(496);
    expect((buffer - host.buffers - 16) % 512).toBe(0); // the payload of one of the host's RX buffers
    zc.bytes.set(new TextEncoder().encode('in place'), buffer);
    zc.sendToNoCopy(endpoint, HOST, buffer, 8);
    const sent = host.received();
    expect(sent.map((m) => [m.src, m.dst, m.len, new TextDecoder().decode(m.data), m.usedLen])).toEqual([[ADDRESS, HOST, 8, 'in place', 24]]);
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, buffer, 8))).toBe('EBADF');
    expect(host.runtime.statistics.sent).toBeGreaterThanOrEqual(1);
  });

  it('a length beyond the buffer is EMSGSIZE and the buffer stays obtained; no destination yet is EINVAL; a buffer not obtained is EBADF', async () => {
    const { host, endpoint } = await boot();
    const buffer = zc.getTxBuffer(endpoint);
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, buffer, 497))).toBe('EMSGSIZE');
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, buffer, -1))).toBe('EMSGSIZE');
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, buffer, 1.5))).toBe('EMSGSIZE');
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, buffer, NaN))).toBe('EMSGSIZE');
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, buffer, Infinity))).toBe('EMSGSIZE');
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, buffer, 2 ** 32 + 1))).toBe('EMSGSIZE');
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, buffer, '4' as unknown as number))).toBe('EMSGSIZE');
    expect(codeOf(() => zc.sendNoCopy(endpoint, buffer, 4))).toBe('EINVAL'); // destination not learned yet
    zc.sendToNoCopy(endpoint, HOST, buffer, 496);
    expect(host.received().map((m) => m.len)).toEqual([496]);
    expect(zc.txSize(endpoint, buffer)).toBe(-1); // sent: no longer obtained
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, buffer + 16, 4))).toBe('EBADF');
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, 0, 4))).toBe('EBADF');
  });

  it('a buffer released unsent is kept for the next send, not handed to the host; obtaining and releasing 1,000 times loses no descriptor', async () => {
    const { host, endpoint, device } = await boot();
    const usedBefore = host.rxUsedIdx();
    const first = zc.getTxBuffer(endpoint);
    zc.releaseTxBuffer(endpoint, first);
    expect(codeOf(() => zc.releaseTxBuffer(endpoint, first))).toBe('EBADF');
    expect(host.rxUsedIdx()).toBe(usedBefore); // nothing on the used ring: the host would read it as a message
    expect(device.heldBuffers()).toEqual({ receive: 0, transmit: 0, spare: 1 });
    for (let i = 0; i < 1000; i++) zc.releaseTxBuffer(endpoint, zc.getTxBuffer(endpoint));
    expect(device.heldBuffers()).toEqual({ receive: 0, transmit: 0, spare: 1 });
    const again = zc.getTxBuffer(endpoint);
    expect(again).toBe(first); // the kept buffer first
    zc.releaseTxBuffer(endpoint, again);
    endpoint.sendTo(HOST, new TextEncoder().encode('copied'));
    expect(host.received().map((m) => new TextDecoder().decode(m.data))).toEqual(['copied']);
    expect(device.heldBuffers().spare).toBe(0); // the copying send took the kept buffer
  });

  it('without TX buffers getTxBuffer(false) fails at once with ENOMEM; a host reset makes an obtained buffer EPIPE to send', async () => {
    const { host, endpoint } = await boot();
    const obtained: number[] = [];
    for (;;) {
      try {
        obtained.push(zc.getTxBuffer(endpoint, false));
      } catch (error) {
        expect((error as RpmsgError).code).toBe('ENOMEM');
        break;
      }
    }
    expect(obtained.length).toBe(255); // 256 host RX buffers, one used by the NS announcement
    for (const buffer of obtained.slice(1)) zc.releaseTxBuffer(endpoint, buffer);
    host.status(0);
    await tick(60);
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, obtained[0], 1))).toBe('EPIPE');
    expect(codeOf(() => zc.getTxBuffer(endpoint, false))).toBe('EPIPE');
    host.boot();
    await tick();
    const fresh = zc.getTxBuffer(endpoint, false);
    expect(fresh).toBe(obtained[0]); // the host posts the same buffers again: the same offset, now of this session
    zc.sendToNoCopy(endpoint, HOST, fresh, 1);
    expect(host.received().map((m) => [m.dst, m.len]).slice(-1)).toEqual([[HOST, 1]]); // after the name-service announcement
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, fresh, 1))).toBe('EBADF');
  });

  it('a buffer of an old session at the same offset as one held now: the one held now is found first, then the stale one is only forgotten', async () => {
    const { host, endpoint } = await boot();
    const old = zc.getTxBuffer(endpoint);
    host.status(0);
    await tick(60);
    host.boot();
    await tick();
    host.received();
    const now = zc.getTxBuffer(endpoint);
    expect(now).toBe(old);
    zc.releaseTxBuffer(endpoint, now); // this session's
    zc.releaseTxBuffer(endpoint, old); // the stale one: forgotten, nothing else happens
    expect(codeOf(() => zc.releaseTxBuffer(endpoint, old))).toBe('EBADF');
  });
});

describe('zero-copy: hostile host and misuse', () => {
  it('a view where an offset belongs (the old API shape) is EBADF with a sentence saying what to pass', async () => {
    const { endpoint } = await boot();
    let message = '';
    try {
      zc.sendToNoCopy(endpoint, HOST, new Uint8Array(4) as unknown as number, 1);
    } catch (error) {
      message = (error as Error).message;
      expect((error as RpmsgError).code).toBe('EBADF');
    }
    expect(message).toMatch(/takes the offset hold\(\) or getTxBuffer\(\) returned/);
    expect(codeOf(() => zc.release(endpoint, null as unknown as number))).toBe('EBADF');
    expect(codeOf(() => zc.releaseTxBuffer(endpoint, undefined as unknown as number))).toBe('EBADF');
  });

  it('something other than an open Endpoint as the first argument: EINVAL; a closed endpoint: EPIPE', async () => {
    const codes: string[] = [];
    const { host, endpoint, rpmsg } = await boot(function () {
      codes.push(codeOf(() => zc.hold(undefined as unknown as Endpoint)));
      codes.push(codeOf(() => zc.hold({} as unknown as Endpoint)));
      this.close();
      codes.push(codeOf(() => zc.hold(this))); // closed inside its own callback
    });
    expect(codeOf(() => zc.getTxBuffer(null as unknown as Endpoint))).toBe('EINVAL');
    expect(codeOf(() => zc.getTxBuffer({} as unknown as Endpoint))).toBe('EINVAL');
    expect(codeOf(() => zc.sendToNoCopy(42 as unknown as Endpoint, HOST, 0, 1))).toBe('EINVAL');
    expect(codeOf(() => zc.releaseTxBuffer(undefined as unknown as Endpoint, 0))).toBe('EINVAL');
    expect(codeOf(() => zc.sendNoCopy(undefined as unknown as Endpoint, 0, 1))).toBe('EINVAL');
    host.send(HOST, ADDRESS, 'x');
    await tick();
    expect(codes).toEqual(['EINVAL', 'EINVAL', 'EPIPE']);
    expect(host.runtime.device.heldBuffers()).toEqual({ receive: 0, transmit: 0, spare: 0 });
    expect(codeOf(() => zc.getTxBuffer(endpoint))).toBe('EPIPE');
    expect(codeOf(() => zc.release(endpoint, 0))).toBe('EPIPE');
    const other = rpmsg.createEndpoint({ address: ADDRESS + 3 });
    const tx = zc.getTxBuffer(other);
    other.close(); // gives its obtained buffer back (kept for the next send)
    expect(host.runtime.device.heldBuffers()).toEqual({ receive: 0, transmit: 0, spare: 1 });
    expect(codeOf(() => zc.sendToNoCopy(other, HOST, tx, 1))).toBe('EPIPE');
  });

  it('a buffer released in its callback and held again is kept; one held in an earlier callback is released during a later one', async () => {
    const held: number[] = [];
    const { host, device } = await boot(function () {
      const first = zc.hold(this);
      zc.release(this, first);
      expect(codeOf(() => zc.release(this, first))).toBe('EBADF'); // released already
      held.push(zc.hold(this)); // held again: kept past the callback
      if (held.length === 2) zc.release(this, held[0]); // the first message's buffer, during the second's callback
    });
    const used = host.txUsedIdx();
    host.send(HOST, ADDRESS, 'one');
    await tick();
    expect(device.heldBuffers().receive).toBe(1);
    expect(host.txUsedIdx()).toBe(used);
    host.send(HOST, ADDRESS, 'two');
    await tick();
    expect(device.heldBuffers().receive).toBe(1); // the second
    expect(host.txUsedIdx()).toBe((used + 1) & 0xffff);
  });

  it('another endpoint cannot release, send or give back a buffer it did not obtain; the owner still can', async () => {
    const held: number[] = [];
    const { host, endpoint, rpmsg, device } = await boot(function () {
      held.push(zc.hold(this));
    });
    const other = rpmsg.createEndpoint({ address: ADDRESS + 7 });
    host.send(HOST, ADDRESS, 'mine');
    await tick();
    const tx = zc.getTxBuffer(endpoint);
    expect(codeOf(() => zc.release(other, held[0]))).toBe('EBADF');
    expect(codeOf(() => zc.sendToNoCopy(other, HOST, tx, 1))).toBe('EBADF');
    expect(codeOf(() => zc.releaseTxBuffer(other, tx))).toBe('EBADF');
    expect(device.heldBuffers()).toEqual({ receive: 1, transmit: 1, spare: 0 });
    zc.release(endpoint, held[0]);
    zc.sendToNoCopy(endpoint, HOST, tx, 0);
    expect(host.received().map((m) => [m.src, m.len])).toEqual([[ADDRESS, 0]]);
    expect(device.heldBuffers()).toEqual({ receive: 0, transmit: 0, spare: 0 });
  });

  it('a malformed TX entry is refused and counted by the full code, and getTxBuffer takes the next good buffer', async () => {
    const { host, endpoint } = await boot();
    // Head 0 carried the name-service announcement; head 1 is next: make it chained.
    host.view.setUint16(host.rx + 16 * 1 + 12, 1, true); // VRING_DESC_F_NEXT
    const offset = zc.getTxBuffer(endpoint);
    expect(offset).toBe(host.buffers + 512 * 2 + 16);
    expect(host.runtime.errors.counts['descriptor-chain-refused']).toBe(1);
    zc.sendToNoCopy(endpoint, HOST, offset, 0);
    expect(host.received().map((m) => m.usedLen)).toEqual([0, 16]); // the refused one back empty, then ours
  });

  it('a TX buffer at an address that is not a multiple of 4: the header still lands at its start (the full code writes it)', async () => {
    const { host, endpoint } = await boot();
    // Head 0 carried the name-service announcement; head 1 is next: two bytes into its buffer, 510 long.
    const address = host.view.getUint32(host.rx + 16 * 1, true) + 2;
    host.view.setUint32(host.rx + 16 * 1, address, true);
    host.view.setUint32(host.rx + 16 * 1 + 8, 510, true);
    const offset = zc.getTxBuffer(endpoint);
    expect(offset).toBe(host.buffers + 512 * 1 + 2 + 16);
    expect(zc.txSize(endpoint, offset)).toBe(494);
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, offset, 495))).toBe('EMSGSIZE');
    zc.bytes.set(new TextEncoder().encode('odd'), offset);
    zc.sendToNoCopy(endpoint, HOST, offset, 3);
    expect(host.received().map((m) => m.usedLen)).toEqual([19]);
    // (the hand host reads messages at 512 * head: the header is read here where the descriptor points)
    const start = offset - 16;
    expect([host.view.getUint32(start, true), host.view.getUint32(start + 4, true), host.view.getUint32(start + 8, true), host.view.getUint16(start + 12, true), host.view.getUint16(start + 14, true)])
      .toEqual([ADDRESS, HOST, 0, 3, 0]);
    expect(new TextDecoder().decode(host.bytes.subarray(offset, offset + 3))).toBe('odd');
  });

  it('a TX buffer longer than 512 bytes has room for RPMSG_MTU (496) only; RPMSG_ADDR_ANY as the destination is EINVAL and the buffer stays obtained', async () => {
    const { host, endpoint } = await boot();
    host.view.setUint32(host.rx + 16 * 1 + 8, 1024, true); // head 1, next to be taken
    const offset = zc.getTxBuffer(endpoint);
    expect(offset).toBe(host.buffers + 512 * 1 + 16);
    // (each refusal first, while the buffer is the one obtained last: the one-pass send's checks)
    expect(codeOf(() => zc.sendToNoCopy(endpoint, HOST, offset, 497))).toBe('EMSGSIZE');
    expect(codeOf(() => zc.sendToNoCopy(endpoint, 0xffffffff, offset, 4))).toBe('EINVAL');
    expect(zc.txSize(endpoint, offset)).toBe(496);
    zc.sendToNoCopy(endpoint, HOST, offset, 496);
    expect(host.received().map((m) => [m.src, m.dst, m.len, m.usedLen])).toEqual([[ADDRESS, HOST, 496, 512]]);
  });

  it('two buffers obtained, sent in the other order; one obtained after a kept one was taken is sent in one pass again', async () => {
    const { host, endpoint, device } = await boot();
    const a = zc.getTxBuffer(endpoint);
    const b = zc.getTxBuffer(endpoint);
    expect(b).not.toBe(a);
    zc.sendToNoCopy(endpoint, HOST, a, 1);
    zc.sendToNoCopy(endpoint, HOST, b, 2);
    expect(host.received().map((m) => [m.len, m.usedLen])).toEqual([[1, 17], [2, 18]]);
    const kept = zc.getTxBuffer(endpoint);
    zc.releaseTxBuffer(endpoint, kept);
    expect(zc.getTxBuffer(endpoint)).toBe(kept); // the kept one first
    const next = zc.getTxBuffer(endpoint); // from the ring again
    expect(next).not.toBe(kept);
    zc.sendToNoCopy(endpoint, HOST, next, 3);
    zc.sendToNoCopy(endpoint, HOST, kept, 4);
    expect(host.received().map((m) => m.len)).toEqual([3, 4]);
    expect(device.heldBuffers()).toEqual({ receive: 0, transmit: 0, spare: 0 });
  });

  it('the host rewriting the descriptor of a TX buffer the remote keeps does not move where the remote writes', async () => {
    const { host, endpoint } = await boot();
    const offset = zc.getTxBuffer(endpoint);
    const head = (offset - 16 - host.buffers) / 512;
    zc.releaseTxBuffer(endpoint, offset);
    host.view.setUint32(host.rx + 16 * head, 0xfffffff0, true); // a hostile address, outside the window
    const before = host.bytes.slice(0, host.buffers);
    endpoint.sendTo(HOST, new TextEncoder().encode('kept')); // takes the kept buffer
    expect(zc.bytes.subarray(offset, offset + 4)).toEqual(new TextEncoder().encode('kept'));
    expect(host.bytes.slice(0, host.buffers).subarray(0, host.rx)).toEqual(before.subarray(0, host.rx)); // nothing written before the rings
  });
});
