// Zero-copy on the remote (docs/ZERO-COPY.md): RX buffers held past onReadable and released, TX
// buffers obtained, filled in place and sent or given back unsent; every misuse refused with an
// errno-named error and no descriptor lost, against a host written by hand.
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../firmware/runtime/rpmsg/endpoint.ts';
import type { Rpmsg } from '../../firmware/runtime/runtime.ts';
import { RpmsgError } from '../../wire/errors.ts';
import { enableZeroCopy } from '../../firmware/runtime/rpmsg/zero-copy.ts';
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
  const host = (current = handHost((r) => {
    rpmsg = r;
    if (enable) enableZeroCopy(r);
    endpoint = r.createEndpoint({ name: 'zc', address: ADDRESS, onReadable });
  }));
  host.boot();
  await tick();
  host.received();
  return { host, endpoint: endpoint! as Endpoint, rpmsg: rpmsg! as Rpmsg, device: host.runtime.device };
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
    expect(codeOf(() => endpoint.release(new Uint8Array(1)))).toBe('EOPNOTSUPP');
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, new Uint8Array(1), 1))).toBe('EOPNOTSUPP');
    expect(codeOf(() => endpoint.releaseTxBuffer(new Uint8Array(1)))).toBe('EOPNOTSUPP');
  });

  it('a held RX buffer stays off the used ring until release(), then goes back with its length; the view is the payload in shared memory', async () => {
    const held: Uint8Array[] = [];
    const { host, endpoint, device } = await boot(function () {
      held.push(this.hold());
    });
    const usedBefore = host.txUsedIdx();
    host.send(HOST, ADDRESS, 'first');
    host.send(HOST, ADDRESS, 'second');
    await tick();
    expect(host.txUsedIdx()).toBe(usedBefore);
    expect(held.map((view) => new TextDecoder().decode(view))).toEqual(['first', 'second']);
    expect(held[0].buffer).toBe(host.bytes.buffer); // a view of the window, not a copy
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
    let view: Uint8Array | null = null;
    const { host, endpoint } = await boot(function () {
      view = this.hold();
      codes.push(codeOf(() => this.hold()));
    });
    expect(codeOf(() => endpoint.hold())).toBe('EINVAL');
    host.send(HOST, ADDRESS, 'x');
    await tick();
    expect(codes).toEqual(['EALREADY']);
    endpoint.release(view!);
    expect(codeOf(() => endpoint.release(view!))).toBe('EBADF');
    expect(codeOf(() => endpoint.release(new Uint8Array(4)))).toBe('EBADF');
    expect(codeOf(() => endpoint.release(host.bytes.subarray(0, 4)))).toBe('EBADF');
  });

  it('close() releases what the endpoint holds; a host reset forgets held buffers (their release does nothing to the next session)', async () => {
    const held: Uint8Array[] = [];
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
    const { host, endpoint } = await boot();
    const buffer = endpoint.getTxBuffer();
    expect(buffer.length).toBe(496);
    expect(buffer.buffer).toBe(host.bytes.buffer);
    buffer.set(new TextEncoder().encode('in place'));
    endpoint.sendToNoCopy(HOST, buffer, 8);
    const sent = host.received();
    expect(sent.map((m) => [m.src, m.dst, m.len, new TextDecoder().decode(m.data), m.usedLen])).toEqual([[ADDRESS, HOST, 8, 'in place', 24]]);
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer, 8))).toBe('EBADF');
    expect(host.runtime.statistics.sent).toBeGreaterThanOrEqual(1);
  });

  it('a length beyond the buffer is EMSGSIZE and the buffer stays obtained; no destination yet is EINVAL; a buffer not obtained is EBADF', async () => {
    const { host, endpoint } = await boot();
    const buffer = endpoint.getTxBuffer();
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer, 497))).toBe('EMSGSIZE');
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer, -1))).toBe('EMSGSIZE');
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, buffer, 1.5))).toBe('EMSGSIZE');
    expect(codeOf(() => endpoint.sendNoCopy(buffer, 4))).toBe('EINVAL'); // destination not learned yet
    endpoint.sendToNoCopy(HOST, buffer, 496);
    expect(host.received().map((m) => m.len)).toEqual([496]);
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, new Uint8Array(496), 4))).toBe('EBADF');
    expect(codeOf(() => endpoint.sendToNoCopy(HOST, host.bytes.subarray(0, 496), 4))).toBe('EBADF');
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
    expect(again.byteOffset).toBe(first.byteOffset); // the kept buffer first
    endpoint.releaseTxBuffer(again);
    endpoint.sendTo(HOST, new TextEncoder().encode('copied'));
    expect(host.received().map((m) => new TextDecoder().decode(m.data))).toEqual(['copied']);
    expect(device.heldBuffers().spare).toBe(0); // the copying send took the kept buffer
  });

  it('without TX buffers getTxBuffer(false) fails at once with ENOMEM; a host reset makes an obtained buffer EPIPE to send', async () => {
    const { host, endpoint } = await boot();
    const obtained: Uint8Array[] = [];
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
    expect(endpoint.getTxBuffer(false).length).toBe(496);
  });
});
