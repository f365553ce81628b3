// Zero-copy on the remote (docs/ZERO-COPY.md): RX buffers held past onReadable and released, TX
// buffers obtained, filled in place and sent or given back unsent, each named by its payload's
// offset in the shared window; every misuse refused with an errno-named error and no descriptor
// lost, against a host written by hand.
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../firmware/runtime/rpmsg/endpoint.ts';
import type { Rpmsg } from '../../firmware/runtime/runtime.ts';
import { RpmsgError } from '../../wire/errors.ts';
import { enableZeroCopy, type ZeroCopyWindow } from '../../firmware/runtime/rpmsg/zero-copy.ts';
import { handHost, tick, type HandHost } from './hand-host.ts';

const ADDRESS = 0x500;
const HOST = 0x401;
let current: HandHost | null = null;
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
async function boot(onReadable: (this: Endpoint, count: number, source: number) => void = () => {}, enable = true) {
  let endpoint: Endpoint | null = null;
  let rpmsg: Rpmsg | null = null;
  let window: ZeroCopyWindow | null = null;
  const host = (current = handHost((r) => {
    rpmsg = r;
    if (enable) window = enableZeroCopy(r);
    endpoint = r.createEndpoint({ name: 'zc', address: ADDRESS, onReadable });
  }));
  host.boot();
  await tick();
  host.received();
  return { host, endpoint: endpoint! as Endpoint, rpmsg: rpmsg! as Rpmsg, device: host.runtime.device, window: window as ZeroCopyWindow | null };
}

describe('zero-copy receive: hold and release', () => {
  it('without enableZeroCopy every zero-copy call is EOPNOTSUPP (the firmware does not carry the code)', async () => {
    const codes: string[] = [];
    const { host, endpoint } = await boot(function () {
      codes.push(codeOf(() => this.hold()));
    }, false);
    host.send(HOST, ADDRESS, 'x');
    await tick();
    expect(codes).toEqual(['EOPNOTSUPP']);
    expect(codeOf(() => endpoint.getTxBuffer())).toBe('EOPNOTSUPP');
    expect(codeOf(() => endpoint.release(0))).toBe('EOPNOTSUPP');
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, 0, 1))).toBe('EOPNOTSUPP');
    expect(codeOf(() => endpoint.releaseTxBuffer(0))).toBe('EOPNOTSUPP');
  });

  it('a held RX buffer stays off the used ring until release(), then goes back with its length; hold() is the payload\'s offset in the window', async () => {
    const held: number[] = [];
    const counts: number[] = [];
    const { host, endpoint, device, window } = await boot(function (count) {
      held.push(this.hold());
      counts.push(count);
    });
    const usedBefore = host.txUsedIdx();
    host.send(HOST, ADDRESS, 'first');
    host.send(HOST, ADDRESS, 'second');
    await tick();
    expect(host.txUsedIdx()).toBe(usedBefore);
    expect(held.map((offset, i) => new TextDecoder().decode(window!.bytes.subarray(offset, offset + counts[i])))).toEqual(['first', 'second']);
    expect(window!.bytes.buffer).toBe(host.bytes.buffer); // the window itself, not a copy
    expect(held).toEqual([host.buffers + 512 * 256 + 16, host.buffers + 512 * 257 + 16]); // the payloads of the host's buffers 0 and 1
    expect(device.heldBuffers()).toEqual({ receive: 2, transmit: 0, spare: 0 });
    const kicks = host.kicks.length;
    endpoint.release(held[1]); // out of order is fine: virtio's used ring is not FIFO
    endpoint.release(held[0]);
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
      offset = this.hold();
      codes.push(codeOf(() => this.hold()));
    });
    expect(codeOf(() => endpoint.hold())).toBe('EINVAL');
    host.send(HOST, ADDRESS, 'x');
    await tick();
    expect(codes).toEqual(['EALREADY']);
    expect(codeOf(() => endpoint.release(offset + 1))).toBe('EBADF'); // not the offset hold() returned
    expect(codeOf(() => endpoint.release(offset - 16))).toBe('EBADF'); // the buffer's header, not its payload
    expect(codeOf(() => endpoint.releaseTxBuffer(offset))).toBe('EBADF'); // an RX buffer is not a TX buffer
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, offset, 1))).toBe('EBADF');
    endpoint.release(offset);
    expect(codeOf(() => endpoint.release(offset))).toBe('EBADF');
    expect(codeOf(() => endpoint.release(0))).toBe('EBADF');
  });

  it('close() releases what the endpoint holds; a host reset forgets held buffers (their release does nothing to the next session)', async () => {
    const held: number[] = [];
    const { host, endpoint, device, rpmsg } = await boot(function () {
      held.push(this.hold());
    });
    const usedBefore = host.txUsedIdx();
    host.send(HOST, ADDRESS, 'a');
    await tick();
    endpoint.close();
    expect(host.txUsedIdx()).toBe((usedBefore + 1) & 0xffff);
    expect(device.heldBuffers().receive).toBe(0);

    const again = rpmsg.createEndpoint({ address: ADDRESS + 1, onReadable() { held.push(this.hold()); } });
    host.send(HOST, ADDRESS + 1, 'b');
    await tick();
    host.status(0);
    await tick(60);
    host.boot();
    await tick();
    const usedAfterReset = host.txUsedIdx();
    again.release(held[1]); // the old session's buffer: nothing written to the new rings
    expect(host.txUsedIdx()).toBe(usedAfterReset);
    expect(codeOf(() => again.release(held[1]))).toBe('EBADF');
  });
});

describe('zero-copy send: TX buffers obtained, filled in place, sent or released', () => {
  it('getTxBuffer() is the payload area of a host buffer; sendToNoCopy sends it with the header written; a second send of it is EBADF', async () => {
    const { host, endpoint, window } = await boot();
    const buffer = endpoint.getTxBuffer();
    expect(window!.txSize(endpoint, buffer)).toBe(496);
    expect((buffer - host.buffers - 16) % 512).toBe(0); // the payload of one of the host's RX buffers
    window!.bytes.set(new TextEncoder().encode('in place'), buffer);
    endpoint.sendToNoCopy(HOST, buffer, 8);
    const sent = host.received();
    expect(sent.map((m) => [m.src, m.dst, m.len, new TextDecoder().decode(m.data), m.usedLen])).toEqual([[ADDRESS, HOST, 8, 'in place', 24]]);
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer, 8))).toBe('EBADF');
    expect(host.runtime.statistics.sent).toBeGreaterThanOrEqual(1);
  });

  it('a length beyond the buffer is EMSGSIZE and the buffer stays obtained; no destination yet is EINVAL; a buffer not obtained is EBADF', async () => {
    const { host, endpoint, window } = await boot();
    const buffer = endpoint.getTxBuffer();
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer, 497))).toBe('EMSGSIZE');
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer, -1))).toBe('EMSGSIZE');
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer, 1.5))).toBe('EMSGSIZE');
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer, NaN))).toBe('EMSGSIZE');
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer, Infinity))).toBe('EMSGSIZE');
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer, 2 ** 32 + 1))).toBe('EMSGSIZE');
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer, '4' as unknown as number))).toBe('EMSGSIZE');
    expect(codeOf(() => endpoint.sendNoCopy(buffer, 4))).toBe('EINVAL'); // destination not learned yet
    endpoint.sendToNoCopy(HOST, buffer, 496);
    expect(host.received().map((m) => m.len)).toEqual([496]);
    expect(window!.txSize(endpoint, buffer)).toBe(-1); // sent: no longer obtained
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer + 16, 4))).toBe('EBADF');
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, 0, 4))).toBe('EBADF');
  });

  it('a buffer released unsent is kept for the next send, not handed to the host; obtaining and releasing 1,000 times loses no descriptor', async () => {
    const { host, endpoint, device } = await boot();
    const usedBefore = host.rxUsedIdx();
    const first = endpoint.getTxBuffer();
    endpoint.releaseTxBuffer(first);
    expect(codeOf(() => endpoint.releaseTxBuffer(first))).toBe('EBADF');
    expect(host.rxUsedIdx()).toBe(usedBefore); // nothing on the used ring: the host would read it as a message
    expect(device.heldBuffers()).toEqual({ receive: 0, transmit: 0, spare: 1 });
    for (let i = 0; i < 1000; i++) endpoint.releaseTxBuffer(endpoint.getTxBuffer());
    expect(device.heldBuffers()).toEqual({ receive: 0, transmit: 0, spare: 1 });
    const again = endpoint.getTxBuffer();
    expect(again).toBe(first); // the kept buffer first
    endpoint.releaseTxBuffer(again);
    endpoint.sendTo(HOST, new TextEncoder().encode('copied'));
    expect(host.received().map((m) => new TextDecoder().decode(m.data))).toEqual(['copied']);
    expect(device.heldBuffers().spare).toBe(0); // the copying send took the kept buffer
  });

  it('without TX buffers getTxBuffer(false) fails at once with ENOMEM; a host reset makes an obtained buffer EPIPE to send', async () => {
    const { host, endpoint } = await boot();
    const obtained: number[] = [];
    for (;;) {
      try {
        obtained.push(endpoint.getTxBuffer(false));
      } catch (error) {
        expect((error as RpmsgError).code).toBe('ENOMEM');
        break;
      }
    }
    expect(obtained.length).toBe(255); // 256 host RX buffers, one used by the NS announcement
    for (const buffer of obtained.slice(1)) endpoint.releaseTxBuffer(buffer);
    host.status(0);
    await tick(60);
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, obtained[0], 1))).toBe('EPIPE');
    expect(codeOf(() => endpoint.getTxBuffer(false))).toBe('EPIPE');
    host.boot();
    await tick();
    const fresh = endpoint.getTxBuffer(false);
    expect(fresh).toBe(obtained[0]); // the host posts the same buffers again: the same offset, now of this session
    endpoint.sendToNoCopy(HOST, fresh, 1);
    expect(host.received().map((m) => [m.dst, m.len]).slice(-1)).toEqual([[HOST, 1]]); // after the name-service announcement
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, fresh, 1))).toBe('EBADF');
  });

  it('a buffer of an old session at the same offset as one held now: the one held now is found first, then the stale one is only forgotten', async () => {
    const { host, endpoint } = await boot();
    const old = endpoint.getTxBuffer();
    host.status(0);
    await tick(60);
    host.boot();
    await tick();
    host.received();
    const now = endpoint.getTxBuffer();
    expect(now).toBe(old);
    endpoint.releaseTxBuffer(now); // this session's
    endpoint.releaseTxBuffer(old); // the stale one: forgotten, nothing else happens
    expect(codeOf(() => endpoint.releaseTxBuffer(old))).toBe('EBADF');
  });
});

describe('zero-copy: hostile host and misuse', () => {
  it('a view where an offset belongs (the old API shape) is EBADF with a sentence saying what to pass', async () => {
    const { endpoint } = await boot();
    let message = '';
    try {
      endpoint.sendToNoCopy(HOST, new Uint8Array(4) as unknown as number, 1);
    } catch (error) {
      message = (error as Error).message;
      expect((error as RpmsgError).code).toBe('EBADF');
    }
    expect(message).toMatch(/takes the offset hold\(\) or getTxBuffer\(\) returned/);
    expect(codeOf(() => endpoint.release(null as unknown as number))).toBe('EBADF');
    expect(codeOf(() => endpoint.releaseTxBuffer(undefined as unknown as number))).toBe('EBADF');
  });

  it('another endpoint cannot release, send or give back a buffer it did not obtain; the owner still can', async () => {
    const held: number[] = [];
    const { host, endpoint, rpmsg, device } = await boot(function () {
      held.push(this.hold());
    });
    const other = rpmsg.createEndpoint({ address: ADDRESS + 7 });
    host.send(HOST, ADDRESS, 'mine');
    await tick();
    const tx = endpoint.getTxBuffer();
    expect(codeOf(() => other.release(held[0]))).toBe('EBADF');
    expect(codeOf(() => other.sendToNoCopy(HOST, tx, 1))).toBe('EBADF');
    expect(codeOf(() => other.releaseTxBuffer(tx))).toBe('EBADF');
    expect(device.heldBuffers()).toEqual({ receive: 1, transmit: 1, spare: 0 });
    endpoint.release(held[0]);
    endpoint.sendToNoCopy(HOST, tx, 0);
    expect(host.received().map((m) => [m.src, m.len])).toEqual([[ADDRESS, 0]]);
    expect(device.heldBuffers()).toEqual({ receive: 0, transmit: 0, spare: 0 });
  });

  it('a malformed TX entry is refused and counted by the full code, and getTxBuffer takes the next good buffer', async () => {
    const { host, endpoint } = await boot();
    // Head 0 carried the name-service announcement; head 1 is next: make it chained.
    host.view.setUint16(host.rx + 16 * 1 + 12, 1, true); // VRING_DESC_F_NEXT
    const offset = endpoint.getTxBuffer();
    expect(offset).toBe(host.buffers + 512 * 2 + 16);
    expect(host.runtime.errors.counts['descriptor-chain-refused']).toBe(1);
    endpoint.sendToNoCopy(HOST, offset, 0);
    expect(host.received().map((m) => m.usedLen)).toEqual([0, 16]); // the refused one back empty, then ours
  });

  it('the host rewriting the descriptor of a TX buffer the remote keeps does not move where the remote writes', async () => {
    const { host, endpoint, window } = await boot();
    const offset = endpoint.getTxBuffer();
    const head = (offset - 16 - host.buffers) / 512;
    endpoint.releaseTxBuffer(offset);
    host.view.setUint32(host.rx + 16 * head, 0xfffffff0, true); // a hostile address, outside the window
    const before = host.bytes.slice(0, host.buffers);
    endpoint.sendTo(HOST, new TextEncoder().encode('kept')); // takes the kept buffer
    expect(window!.bytes.subarray(offset, offset + 4)).toEqual(new TextEncoder().encode('kept'));
    expect(host.bytes.slice(0, host.buffers).subarray(0, host.rx)).toEqual(before.subarray(0, host.rx)); // nothing written before the rings
  });
});
