// Host sends under load and misuse: first come first served, addresses and payloads checked.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RpmsgError } from '../../wire/errors.ts';
import {
  createEndpoint, send, sendOffchannel, sendTo, trySend, trySendOffchannel, trySendTo,
  type RpmsgDevice, type RpmsgEndpoint, type RpmsgDriver, type VirtprocInfo,
} from '../../host-sim/index.ts';
import { bootScripted, type ScriptedRemote } from './scripted-remote.ts';

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A channel "demo" at remote address 0x400 with a bound driver; its endpoint, plus a second endpoint on it. */
async function twoEndpoints(txTimeoutMs = 15000) {
  const booted = await bootScripted({ txTimeoutMs });
  const driver: RpmsgDriver = { name: 'demo-driver', idTable: ['demo'], probe() {}, callback() {} };
  booted.host.rpmsg.registerRpmsgDriver(driver);
  booted.remote.announce('demo', 0x400);
  booted.rproc.vqInterrupt(0);
  const device = booted.host.rpmsg.devices().find((d) => d.name === 'demo')! as RpmsgDevice;
  const a = device.ept!;
  const b = createEndpoint(device, () => {});
  const transport = booted.host.rpmsgTransports(booted.rproc)[0] as VirtprocInfo;
  return { ...booted, device, a, b, transport };
}

const seq = (n: number): Uint8Array => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, n, true);
  return bytes;
};
const seqOf = (data: Uint8Array): number => new DataView(data.buffer, data.byteOffset).getUint32(0, true);

describe('host sends are served first come, first served', () => {
  it('a send made while older senders wait for a TX buffer goes after them, even when the remote returned buffers without an interrupt', async () => {
    const { remote, rproc, a } = await twoEndpoints();
    // 300 un-awaited sends: 256 take the free TX buffers, 44 wait.
    const sends = Array.from({ length: 300 }, (_, n) => send(a, seq(n)));
    // The remote consumes all 256 and returns them on vring 1's used ring, but has not rung yet.
    const first = remote.receive();
    expect(first.map((m) => seqOf(m.data))).toEqual(Array.from({ length: 256 }, (_, n) => n));
    // New sends (one per event, as JavaScript code makes them) arrive before the interrupt.
    for (let n = 300; n < 310; n++) sends.push(send(a, seq(n)));
    rproc.vqInterrupt(1);
    await Promise.all(sends);
    const rest = remote.receive();
    expect(rest.map((m) => seqOf(m.data))).toEqual(Array.from({ length: 54 }, (_, n) => 256 + n));
  });

  it('a try send behind waiting senders fails with ENOMEM and says why; it does not overtake them', async () => {
    const { remote, a } = await twoEndpoints();
    const sends = Array.from({ length: 258 }, (_, n) => send(a, seq(n)));
    remote.receive(); // buffers back in the used ring, no interrupt
    const error = await trySend(a, seq(999)).then(() => null, (e: unknown) => e);
    // The try send first serves the two waiters from the returned buffers, then takes one itself.
    expect(error).toBeNull();
    await Promise.all(sends);
    expect(remote.receive().map((m) => seqOf(m.data))).toEqual([256, 257, 999]);
    // Now with nothing returned: waiters stay, a try send gets ENOMEM naming them.
    const more = Array.from({ length: 256 }, (_, n) => send(a, seq(1000 + n)));
    const waiting = send(a, seq(2000));
    const refused = await trySend(a, seq(3000)).then(() => null, (e: unknown) => e);
    expect(refused).toBeInstanceOf(RpmsgError);
    expect((refused as RpmsgError).code).toBe('ENOMEM');
    expect((refused as Error).message).toMatch(/1 blocking sender\(s\) are waiting for TX buffers ahead of this one/);
    remote.receive();
    await Promise.all([...more]);
    void waiting;
  });

  it('property: any interleaving of blocking and try sends on two endpoints, remote consumption and interrupts delivers every accepted message once, in call order', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(
        fc.record({ op: fc.constant('send' as const), ept: fc.integer({ min: 0, max: 1 }), count: fc.integer({ min: 1, max: 300 }) }),
        fc.record({ op: fc.constant('try' as const), ept: fc.integer({ min: 0, max: 1 }), count: fc.integer({ min: 1, max: 40 }) }),
        fc.record({ op: fc.constant('consume' as const), count: fc.integer({ min: 0, max: 300 }) }),
        fc.record({ op: fc.constant('interrupt' as const) }),
        fc.record({ op: fc.constant('tick' as const) }),
      ), { minLength: 1, maxLength: 25 }),
      async (ops) => {
        const { remote, rproc, a, b, transport } = await twoEndpoints();
        const endpoints: RpmsgEndpoint[] = [a, b];
        let next = 0;
        const accepted: number[] = [];
        const received: number[] = [];
        const settled: Promise<void>[] = [];
        const consume = (limit: number) => {
          for (let i = 0; i < limit; i++) {
            const [message] = takeOne(remote);
            if (!message) break;
            received.push(seqOf(message));
          }
        };
        for (const op of ops) {
          if (op.op === 'send' || op.op === 'try') {
            for (let i = 0; i < op.count; i++) {
              const n = next++;
              const call = op.op === 'send' ? send(endpoints[op.ept], seq(n)) : trySend(endpoints[op.ept], seq(n));
              if (op.op === 'send') accepted.push(n);
              settled.push(call.then(() => { if (op.op === 'try') accepted.push(n); }, (error: RpmsgError) => {
                if (op.op !== 'try' || error.code !== 'ENOMEM') throw error;
              }));
            }
          } else if (op.op === 'consume') consume(op.count);
          else if (op.op === 'interrupt') rproc.vqInterrupt(1);
          else await flush();
        }
        // Drain: the remote consumes and rings until every sender is served.
        while (transport.pendingSends > 0 || remote.availIdx(1) !== remote.lastAvail[1]) {
          consume(1000);
          rproc.vqInterrupt(1);
        }
        await Promise.all(settled);
        consume(1000);
        accepted.sort((x, y) => x - y);
        expect(received).toEqual(accepted);
      },
    ), { numRuns: 60, seed: 15 });
  });
});

/** One message off vring 1, returned to the used ring at once. */
function takeOne(remote: ScriptedRemote): Uint8Array[] {
  const buffer = remote.takeAvail(1);
  if (!buffer) return [];
  const at = buffer.addr - remote.memory.base;
  const len = remote.view.getUint16(at + 12, true);
  const data = remote.memory.bytes.slice(at + 16, at + 16 + len);
  remote.pushUsed(1, buffer.head, buffer.len);
  return [data];
}

describe('host send functions check their arguments', () => {
  const badAddresses = fc.oneof(
    fc.constantFrom(-1, 0xffffffff, 2 ** 32, 2 ** 32 + 0x400, 1024.5, -0, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER),
    fc.double().filter((x) => !(Number.isInteger(x) && x >= 0 && x <= 0xfffffffe) || Object.is(x, -0)),
    fc.integer({ min: -(2 ** 40), max: -1 }),
    fc.integer({ min: 2 ** 32 - 1, max: 2 ** 40 }),
    fc.string(),
    fc.constantFrom(undefined, null, true, 1024n, {}, [1024], '1024'),
  );

  it('property: a dst or src that is not an integer in 0..0xFFFFFFFE is EINVAL naming the value, and nothing is queued', async () => {
    const { a, transport, remote } = await twoEndpoints();
    await fc.assert(fc.asyncProperty(badAddresses, fc.integer({ min: 0, max: 5 }), async (address, which) => {
      if (Object.is(address, -0)) return; // -0 is the integer 0 for Number.isInteger: allowed, sent as 0
      const before = transport.statistics.txMessages;
      const calls = [
        () => sendTo(a, 'x', address as number),
        () => trySendTo(a, 'x', address as number),
        () => sendOffchannel(a, address as number, 0x400, 'x'),
        () => trySendOffchannel(a, 0x401, address as number, 'x'),
        () => transport.sendOffchannelRaw(0x401, address as number, new Uint8Array(1), true),
        () => transport.sendOffchannelRaw(address as number, 0x400, new Uint8Array(1), false),
      ];
      const error = await calls[which]().then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(RpmsgError);
      expect((error as RpmsgError).code).toBe('EINVAL');
      const shown = address === 0xffffffff ? '0xffffffff' : typeof address === 'string' ? JSON.stringify(address) : null;
      if (shown) expect((error as Error).message).toContain(shown);
      else if (typeof address === 'number') expect((error as Error).message).toContain(String(address));
      expect(transport.statistics.txMessages).toBe(before);
      expect(remote.receive()).toEqual([]);
    }), { numRuns: 300, seed: 1503 });
  });

  it('property: every integer address in 0..0xFFFFFFFE is sent as is', async () => {
    const { a, remote } = await twoEndpoints();
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 0xfffffffe }), fc.integer({ min: 0, max: 0xfffffffe }), async (src, dst) => {
      await sendOffchannel(a, src, dst, 'x');
      const [message] = remote.receive();
      expect([message.src, message.dst]).toEqual([src, dst]);
    }), { numRuns: 200, seed: 1504 });
  });

  const views = fc.oneof(
    fc.uint8Array({ maxLength: 496 }),
    fc.uint8Array({ maxLength: 496 }).map((b) => new Uint16Array(b.buffer, 0, b.length >> 1)),
    fc.uint8Array({ maxLength: 496 }).map((b) => new Float32Array(b.buffer, 0, b.length >> 2)),
    fc.uint8Array({ maxLength: 496 }).map((b) => new BigInt64Array(b.buffer, 0, b.length >> 3)),
    fc.uint8Array({ minLength: 8, maxLength: 496 }).map((b) => new DataView(b.buffer, 3, b.length - 5)),
    fc.uint8Array({ maxLength: 496 }).map((b) => b.buffer),
    fc.uint8Array({ maxLength: 496 }).map((b) => Buffer.from(b)),
  );
  const bytesOf = (data: ArrayBufferView | ArrayBuffer): number[] =>
    [...(data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength))];

  it('property: any typed array, DataView or ArrayBuffer arrives as exactly its bytes (byteLength, not element count)', async () => {
    const { a, remote } = await twoEndpoints();
    await fc.assert(fc.asyncProperty(views, fc.boolean(), async (data, blocking) => {
      await (blocking ? send(a, data) : trySend(a, data));
      const [message] = remote.receive();
      expect([...message.data]).toEqual(bytesOf(data));
      expect(message.descLen).toBe(16 + bytesOf(data).length);
    }), { numRuns: 200, seed: 1505 });
  });

  it('a 600-byte Uint16Array is EMSGSIZE (it is 600 bytes, not 300 elements); 248 elements (496 bytes) pass', async () => {
    const { a, remote } = await twoEndpoints();
    await expect(send(a, new Uint16Array(300))).rejects.toThrow(/EMSGSIZE.*600/);
    await send(a, new Uint16Array(248).fill(0x0102));
    const [message] = remote.receive();
    expect(message.len).toBe(496);
    expect([...message.data.subarray(0, 2)]).toEqual([2, 1]);
  });

  it('property: strings are sent as UTF-8', async () => {
    const { a, remote } = await twoEndpoints();
    await fc.assert(fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 100 }), async (text) => {
      await send(a, text);
      const [message] = remote.receive();
      expect([...message.data]).toEqual([...Buffer.from(text, 'utf8')]);
      expect(message.len).toBe(Buffer.byteLength(text, 'utf8'));
    }), { numRuns: 200, seed: 1506 });
    await send(a, 'é€');
    expect([...remote.receive()[0].data]).toEqual([0xc3, 0xa9, 0xe2, 0x82, 0xac]);
  });

  it('property: anything that is not bytes or a string is EINVAL naming what it was; nothing is counted sent or queued', async () => {
    const { a, transport, remote } = await twoEndpoints();
    const notBytes = fc.oneof(
      fc.double(), fc.integer(), fc.boolean(), fc.constantFrom(null, undefined, 5, 1n, Symbol('s')),
      fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }), fc.object(), fc.constant(new Map()),
    );
    await fc.assert(fc.asyncProperty(notBytes, fc.integer({ min: 0, max: 3 }), async (data, which) => {
      const before = transport.statistics.txMessages;
      const calls = [
        () => send(a, data as never), () => trySend(a, data as never), () => sendTo(a, data as never, 0x400),
        () => transport.sendOffchannelRaw(0x401, 0x400, data as never, true),
      ];
      const error = await calls[which]().then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(RpmsgError);
      expect((error as RpmsgError).code).toBe('EINVAL');
      expect((error as Error).message).toMatch(/^EINVAL: invalid payload .*: send bytes/);
      expect(transport.statistics.txMessages).toBe(before);
      expect(remote.receive()).toEqual([]);
    }), { numRuns: 200, seed: 1507 });
    await expect(send(a, null as never)).rejects.toThrow('invalid payload null');
    await expect(send(a, 5 as never)).rejects.toThrow('invalid payload 5');
  });

  it('a send on something that is not an endpoint is EINVAL, not a TypeError', async () => {
    await expect(send(null as never, 'x')).rejects.toThrow(/EINVAL.*invalid endpoint null/);
    await expect(trySendTo({} as never, 'x', 0x400)).rejects.toThrow(/EINVAL.*invalid endpoint Object/);
  });
});
