// The one-pass message path (firmware/runtime/rpmsg/message-path.ts) makes every check the full
// code makes: each malformed descriptor, header or index arriving while the fast path runs (after
// a good message in the same pass, or as the pass's first) is refused, counted, logged and its
// buffer returned exactly as the full code does. The full code is what runs on a cached window
// (a platform with cache hooks), so each case runs both ways and the outcomes must be identical.
import { afterEach, describe, expect, it } from 'vitest';
import echoApp from '../../firmware/apps/echo/main.ts';
import type { Rpmsg } from '../../firmware/runtime/runtime.ts';
import type { RpmsgError } from '../../wire/errors.ts';
import { VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT } from '../../wire/vring.ts';
import { BASE, handHost, tick, type HandHost } from './hand-host.ts';

const NUM = 256;
const ECHO = 0x400; // the echo app's endpoint: the first address allocated
const HOST = 0x401;
let current: HandHost | null = null;
afterEach(() => {
  current?.stop();
  current = null;
});

/** How a posted host message is spoiled: the descriptor (u32 fields at desc+0,4,8; flags u16 at desc+12), the buffer, the avail entry. */
type Spoil = (host: HandHost, at: { desc: number; buffer: number; slot: number }) => void;

interface Outcome {
  echoes: string[];
  counts: Record<string, number>;
  lines: string[];
  /** vring 1's used ring as the remote returned it: [id, len] per entry. */
  used: [number, number][];
  received: number;
  unrouted: number;
  appErrors: number;
  hostReady: boolean;
}

/**
 * Boot the echo app (plus `app`), then post `messages` in one doorbell: each a text, spoiled by
 * its function if any. `cached` runs the full code (CachedVringDevice, no fast path).
 */
async function run(messages: { text: string; dst?: number; spoil?: Spoil }[], options: { cached: boolean; app?: (rpmsg: Rpmsg) => void; spoilTransmit?: Spoil; features?: number }): Promise<Outcome> {
  const host = (current = handHost((rpmsg) => { echoApp(rpmsg); options.app?.(rpmsg); }, {
    platform: (platform) => {
      if (options.cached) Object.assign(platform, { cacheClean() {}, cacheInvalidate() {} });
    },
  }));
  host.boot({ features: options.features ?? 1 });
  await tick();
  host.received(); // the NS announcements
  const usedBefore = host.txUsedIdx();
  if (options.spoilTransmit) {
    // The remote's next TX buffer is the host's RX descriptor at avail slot used.idx of vring 0.
    const slot = host.rxUsedIdx() % NUM;
    const head = host.view.getUint16(host.rx + host.layout.avail + 4 + 2 * slot, true);
    options.spoilTransmit(host, { desc: host.rx + 16 * head, buffer: host.buffers + 512 * head, slot });
  }
  let posted = host.view.getUint16(host.tx + host.layout.avail + 2, true);
  for (const message of messages) {
    const slot = posted % NUM;
    host.send(HOST, message.dst ?? ECHO, message.text, false);
    message.spoil?.(host, { desc: host.tx + 16 * slot, buffer: host.buffers + 512 * (NUM + slot), slot });
    posted++;
  }
  host.doorbells.ringRemote();
  await tick(10);
  const used: [number, number][] = [];
  for (let i = usedBefore; i !== host.txUsedIdx(); i = (i + 1) & 0xffff) {
    const element = host.tx + host.layout.used + 4 + 8 * (i % NUM);
    used.push([host.view.getUint32(element, true), host.view.getUint32(element + 4, true)]);
  }
  const runtime = host.runtime;
  return {
    // A TX buffer refused and returned with used len 0 is no message (Linux drops it as too short).
    echoes: host.received().filter((sent) => sent.usedLen >= 16).map((sent) => new TextDecoder().decode(sent.data)),
    counts: { ...runtime.errors.counts },
    lines: host.log.filter((line) => line.startsWith('rpmsg:') || line.startsWith('xs-rpmsg: E')).map((line) => line.split('\n')[0]),
    used,
    received: runtime.statistics.received,
    unrouted: runtime.statistics.unrouted,
    appErrors: runtime.statistics.appErrors,
    hostReady: runtime.hostReady,
  };
}

/** Run both ways; the outcomes must be the same; returns the fast path's. */
async function bothWays(messages: Parameters<typeof run>[0], options: Omit<Parameters<typeof run>[1], 'cached'> = {}): Promise<Outcome> {
  const full = await run(messages, { ...options, cached: true });
  current?.stop();
  current = null;
  const fast = await run(messages, { ...options, cached: false });
  expect(fast).toEqual(full);
  return fast;
}

const setU32 = (offset: number, value: number) => (host: HandHost) => host.view.setUint32(offset, value, true);

describe.each([
  ['after a good message in the same pass', true],
  ['as the first message of the pass', false],
])('the one-pass message path refuses what the full code refuses (%s)', (_when, goodFirst) => {
  const around = (bad: { text: string; dst?: number; spoil?: Spoil }) => [...(goodFirst ? [{ text: 'one' }] : []), bad, { text: 'three' }];
  const good = goodFirst ? ['one', 'three'] : ['three'];

  it('a header len larger than the buffer: EINVAL header-length-above-buffer, dropped, the buffer returned', async () => {
    const out = await bothWays(around({ text: 'bad', spoil: (host, at) => host.view.setUint16(at.buffer + 12, 600, true) }));
    expect(out.echoes).toEqual(good);
    expect(out.counts).toEqual({ 'header-length-above-buffer': 1 });
    expect(out.lines).toEqual(['rpmsg: EINVAL: host message claims 600 payload bytes in a 19-byte buffer; dropped']);
    expect(out.used.length).toBe(good.length + 1);
  });

  it('a descriptor address outside the region: EFAULT address-outside-region, returned with length 0', async () => {
    const out = await bothWays(around({ text: 'bad', spoil: (host, at) => setU32(at.desc, BASE + (2 << 20))(host) }));
    expect(out.echoes).toEqual(good);
    expect(out.counts).toEqual({ 'address-outside-region': 1 });
    expect(out.lines[0]).toMatch(/^rpmsg: EFAULT: vring 1 descriptor \d+ buffer at 0x21200000 \(\+19\) lies outside the shared region/);
    expect(out.used.filter(([, len]) => len === 0)).toHaveLength(1);
  });

  it('a descriptor address above 4 GiB, or below the region: EFAULT address-outside-region', async () => {
    expect((await bothWays(around({ text: 'bad', spoil: (host, at) => setU32(at.desc + 4, 1)(host) }))).counts).toEqual({ 'address-outside-region': 1 });
    current?.stop();
    expect((await bothWays(around({ text: 'bad', spoil: (host, at) => setU32(at.desc, BASE - 16)(host) }))).counts).toEqual({ 'address-outside-region': 1 });
  });

  it('a length reaching past the region: EFAULT address-outside-region', async () => {
    const out = await bothWays(around({ text: 'bad', spoil: (host, at) => setU32(at.desc + 8, 0xffffffff)(host) }));
    expect(out.echoes).toEqual(good);
    expect(out.counts).toEqual({ 'address-outside-region': 1 });
  });

  it.each([
    ['chained (VRING_DESC_F_NEXT)', VRING_DESC_F_NEXT],
    ['indirect (VRING_DESC_F_INDIRECT)', VRING_DESC_F_INDIRECT],
  ])('a descriptor %s: EINVAL descriptor-chain-refused', async (_what, flags) => {
    const out = await bothWays(around({ text: 'bad', spoil: (host, at) => host.view.setUint16(at.desc + 12, flags, true) }));
    expect(out.echoes).toEqual(good);
    expect(out.counts).toEqual({ 'descriptor-chain-refused': 1 });
  });

  it('an avail entry naming descriptor 300 of 256: EIO descriptor-index-out-of-range, skipped', async () => {
    const out = await bothWays(around({ text: 'bad', spoil: (host, at) => host.view.setUint16(host.tx + host.layout.avail + 4 + 2 * at.slot, 300, true) }));
    expect(out.echoes).toEqual(good);
    expect(out.counts).toEqual({ 'descriptor-index-out-of-range': 1 });
    expect(out.used.length).toBe(good.length); // nothing to return for a descriptor that does not exist
  });

  it('a buffer shorter than the rpmsg header: EINVAL buffer-too-small', async () => {
    const out = await bothWays(around({ text: 'bad', spoil: (host, at) => setU32(at.desc + 8, 8)(host) }));
    expect(out.echoes).toEqual(good);
    expect(out.counts).toEqual({ 'buffer-too-small': 1 });
  });

  it('a buffer not 4-byte aligned: read through the DataView by the full code, echoed', async () => {
    const out = await bothWays(around({
      text: 'odd',
      spoil: (host, at) => {
        host.bytes.copyWithin(at.buffer + 2, at.buffer, at.buffer + 19);
        setU32(at.desc, BASE + at.buffer + 2)(host);
      },
    }));
    expect(out.echoes).toEqual(goodFirst ? ['one', 'odd', 'three'] : ['odd', 'three']);
    expect(out.counts).toEqual({});
  });

  it('a message to an address nobody listens at: ENXIO no-recipient, counted, logged', async () => {
    const out = await bothWays(around({ text: 'lost', dst: 0x777 }));
    expect(out.echoes).toEqual(good);
    expect(out.counts).toEqual({ 'no-recipient': 1 });
    expect(out.unrouted).toBe(1);
    expect(out.lines).toEqual(['rpmsg: ENXIO: msg received with no recipient: host sent 4 bytes from 0x401 to 0x777, where no endpoint listens; dropped']);
  });

  it('avail.idx jumping more than the ring size ahead: EIO avail-index-corrupt, the ring set aside', async () => {
    // The host writes the index while the pass runs (from inside the first message's callback), or before it.
    let corrupt: (() => void) | null = null;
    const app = (rpmsg: Rpmsg) => {
      rpmsg.createEndpoint({ address: 0x500, onReadable() { corrupt?.(); } });
    };
    const jump = (host: HandHost) => host.view.setUint16(host.tx + host.layout.avail + 2, (host.view.getUint16(host.tx + host.layout.avail + 2, true) + 300) & 0xffff, true);
    const messages = goodFirst
      ? [{ text: 'one' }, { text: 'trigger', dst: 0x500, spoil: (host: HandHost) => { corrupt = () => jump(host); } }]
      : [{ text: 'one', spoil: (host: HandHost) => jump(host) }];
    const out = await bothWays(messages, { app });
    expect(out.echoes).toEqual(goodFirst ? ['one'] : []);
    expect(out.counts).toEqual({ 'avail-index-corrupt': 1 });
    expect(out.lines.some((line) => line.includes('avail.idx runs'))).toBe(true);
    // Set aside: a later good message is not taken until the host resets the device.
    current!.send(HOST, ECHO, 'later');
    await tick();
    expect(current!.received()).toEqual([]);
  });

  it('an app exception in onReadable: counted in appErrors, that message lost, its buffer returned, the next delivered', async () => {
    const app = (rpmsg: Rpmsg) => {
      rpmsg.onError = () => {};
    };
    let thrown = 0;
    const throwing = (rpmsg: Rpmsg) => {
      app(rpmsg);
      rpmsg.createEndpoint({ address: 0x500, onReadable() { thrown++; throw new Error('app bug'); } });
    };
    const out = await bothWays(around({ text: 'boom', dst: 0x500 }), { app: throwing });
    expect(thrown).toBe(2);
    expect(out.echoes).toEqual(good);
    expect(out.appErrors).toBe(1);
    expect(out.used.length).toBe(good.length + 1);
    expect(out.lines[0]).toMatch(/^rpmsg: ECANCELED: app exception in onReadable of ""@0x500 at message \d+; the message is lost: Error: app bug/);
  });

  it('with EVENT_IDX negotiated: the same refusals', async () => {
    const out = await bothWays(around({ text: 'bad', spoil: (host, at) => host.view.setUint16(at.buffer + 12, 600, true) }), { features: 1 | (1 << 29) });
    expect(out.echoes).toEqual(good);
    expect(out.counts).toEqual({ 'header-length-above-buffer': 1 });
  });
});

describe('the one-pass send refuses what the full send refuses', () => {
  it.each([
    ['an address outside the region', (host: HandHost, at: { desc: number }) => setU32(at.desc, BASE + (4 << 20))(host), 'address-outside-region'],
    ['an address above 4 GiB', (host: HandHost, at: { desc: number }) => setU32(at.desc + 4, 1)(host), 'address-outside-region'],
    ['a chained descriptor', (host: HandHost, at: { desc: number }) => host.view.setUint16(at.desc + 12, VRING_DESC_F_NEXT | 2, true), 'descriptor-chain-refused'],
    ['a buffer too small for the message', (host: HandHost, at: { desc: number }) => setU32(at.desc + 8, 16)(host), 'transmit-buffer-too-small'],
  ])('a host RX (our TX) descriptor with %s: refused, counted, the next buffer used, the echo arrives', async (_what, spoil, reason) => {
    const out = await bothWays([{ text: 'hello' }], { spoilTransmit: spoil });
    expect(out.echoes).toEqual(['hello']);
    expect(out.counts).toEqual({ [reason]: 1 });
  });

  it('a TX avail entry naming descriptor 300 of 256: EIO, skipped, the echo goes out in the next buffer', async () => {
    const out = await bothWays([{ text: 'hello' }], { spoilTransmit: (host, at) => host.view.setUint16(host.rx + host.layout.avail + 4 + 2 * at.slot, 300, true) });
    expect(out.echoes).toEqual(['hello']);
    expect(out.counts).toEqual({ 'descriptor-index-out-of-range': 1 });
  });
});

/** A resizable ArrayBuffer (ES2024; the project's lib is older). */
const resizable = (length: number, maxByteLength: number) =>
  new (ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer & { resize(length: number): void })(length, { maxByteLength });

describe("the endpoint's one-call read and sendTo keep the methods' checks (message-path.ts endpointRead/endpointSendTo)", () => {
  /** Runs `step` in onReadable of an endpoint at 0x500 for each message, the outcomes (a word or an error code) collected; both ways. */
  async function outcomes(step: (endpoint: import('../../firmware/runtime/rpmsg/endpoint.ts').Endpoint, index: number, source: number) => string, count = 1): Promise<{ seen: string[]; out: Outcome }> {
    const collect = async (cached: boolean) => {
      const seen: string[] = [];
      let index = 0;
      const app = (rpmsg: Rpmsg) => {
        rpmsg.createEndpoint({
          address: 0x500,
          onReadable(_count, source) {
            try {
              seen.push(step(this, index++, source));
            } catch (error) {
              seen.push((error as { code?: string }).code ?? String(error));
            }
          },
        });
      };
      const out = await run(Array.from({ length: count }, (_, i) => ({ text: `m${i}`, dst: 0x500 })), { cached, app });
      current?.stop();
      current = null;
      return { seen, out };
    };
    const full = await collect(true);
    const fast = await collect(false);
    expect(fast).toEqual(full);
    return fast;
  }

  it('read into a short, a detached and a shrunk target: EMSGSIZE; into a big enough one: the bytes', async () => {
    const { seen } = await outcomes((endpoint, i) => {
      if (i === 0) return `${endpoint.read(new Uint8Array(1))}`;
      if (i === 1) {
        const target = new Uint8Array(16);
        structuredClone(target.buffer, { transfer: [target.buffer] }); // detached: length 0
        return `${endpoint.read(target)}`;
      }
      if (i === 2) {
        const buffer = resizable(16, 64);
        const target = new Uint8Array(buffer); // length-tracking
        buffer.resize(1);
        return `${endpoint.read(target)}`;
      }
      const target = new Uint8Array(2);
      return `${endpoint.read(target)}:${new TextDecoder().decode(target)}`;
    }, 4);
    expect(seen).toEqual(['EMSGSIZE', 'EMSGSIZE', 'EMSGSIZE', '2:m3']);
  });

  it('sendTo from detached, shrunk and short data: EINVAL; with the default length; to RPMSG_ADDR_ANY: EINVAL; send() too', async () => {
    const { seen, out } = await outcomes((endpoint, i, source) => {
      if (i === 0) {
        const data = new Uint8Array([0x41, 0x42]);
        structuredClone(data.buffer, { transfer: [data.buffer] });
        endpoint.sendTo(source, data, 2);
      } else if (i === 1) {
        const buffer = resizable(4, 8);
        const data = new Uint8Array(buffer);
        buffer.resize(1);
        endpoint.sendTo(source, data, 3);
      } else if (i === 2) endpoint.sendTo(source, new Uint8Array(2), 3);
      else if (i === 3) endpoint.sendTo(source, new TextEncoder().encode('dflt'));
      else if (i === 4) endpoint.sendTo(0xffffffff, new Uint8Array(1), 1);
      else if (i === 5) endpoint.sendTo(source, new TextEncoder().encode('zero'), 0);
      else endpoint.send(new TextEncoder().encode('sent'), 4);
      return 'ok';
    }, 7);
    expect(seen).toEqual(['EINVAL', 'EINVAL', 'EINVAL', 'ok', 'EINVAL', 'ok', 'ok']);
    expect(out.echoes).toEqual(['dflt', '', 'sent']);
  });

  it('read and sendTo on an endpoint closed in its callback: EPIPE; read outside the callback: EINVAL', async () => {
    let kept: import('../../firmware/runtime/rpmsg/endpoint.ts').Endpoint | null = null;
    const { seen } = await outcomes((endpoint, i, source) => {
      if (i === 0) {
        kept = endpoint;
        return 'kept';
      }
      let result = '';
      try {
        kept!.read(new Uint8Array(8)); // the endpoint kept from the first message, while its second is delivered
        result += 'read ';
      } catch (error) {
        result += `${(error as { code: string }).code} `;
      }
      endpoint.close();
      for (const call of [() => endpoint.read(new Uint8Array(8)), () => endpoint.sendTo(source, new Uint8Array(1), 1), () => endpoint.read()]) {
        try {
          call();
          result += 'ok ';
        } catch (error) {
          result += `${(error as { code: string }).code} `;
        }
      }
      return result.trim();
    }, 2);
    expect(seen).toEqual(['kept', 'read EPIPE EPIPE EPIPE']);
    // Outside any callback.
    const host = (current = handHost((rpmsg) => { kept = rpmsg.createEndpoint({ address: 0x600 }); }));
    host.boot({ features: 1 });
    await tick();
    expect(() => kept!.read(new Uint8Array(8))).toThrow(/EINVAL: read\(\) on ""@0x600 outside its onReadable callback/);
  });

  it('the full pass (pauseReceive(false) from a timer) services what the doorbell left while paused', async () => {
    const seen: string[] = [];
    let rpmsgOf: Rpmsg | null = null;
    const host = (current = handHost((rpmsg) => {
      rpmsgOf = rpmsg;
      rpmsg.createEndpoint({ address: 0x500, onReadable(count) { seen.push(`${count}`); } });
    }));
    host.boot({ features: 1 });
    await tick();
    rpmsgOf!.pauseReceive(true);
    host.send(HOST, 0x500, 'abc');
    await tick();
    expect(seen).toEqual([]);
    rpmsgOf!.pauseReceive(false);
    await tick();
    expect(seen).toEqual(['3']);
  });

  it('a host reset gives the rings their own fields back (data properties with the values reached)', async () => {
    const host = (current = handHost((rpmsg) => echoApp(rpmsg)));
    host.boot({ features: 1 });
    await tick();
    host.received();
    host.send(HOST, ECHO, 'hi');
    await tick();
    expect(host.received().map((m) => new TextDecoder().decode(m.data))).toEqual(['hi']);
    const device = (host.runtime as unknown as { device: { receiveRing: object | null } }).device;
    const ring = device.receiveRing!;
    expect(Object.getOwnPropertyDescriptor(ring, 'lastAvail')!.get).toBeTypeOf('function');
    const before = (ring as { lastAvail: number }).lastAvail;
    expect(before).toBeGreaterThan(0);
    host.status(0); // Linux's virtio_dev_remove
    host.doorbells.ringRemote();
    await tick();
    const descriptor = Object.getOwnPropertyDescriptor(ring, 'lastAvail')!;
    expect(descriptor.get).toBeUndefined();
    expect(descriptor.value).toBe(before);
  });
});

describe('used indexes published once per pass (message-path.ts finishPass)', () => {
  /** An endpoint whose onReadable sends `count` messages back with `send` (blocking sendTo, or trySend); records how each ended. */
  function replies(outcomes: string[], count: number, how: 'sendTo' | 'trySendTo' = 'sendTo') {
    return (rpmsg: Rpmsg) => {
      rpmsg.createEndpoint({
        address: 0x500,
        sendTimeout: 300,
        onReadable(_count, source) {
          for (let i = 0; i < count; i++) {
            try {
              this[how](source, new TextEncoder().encode(`r${i}`));
              outcomes.push('sent');
            } catch (error) {
              outcomes.push((error as RpmsgError).code);
            }
          }
        },
      });
    };
  }

  for (const cached of [false, true]) {
    it(`a send that must wait inside onReadable publishes what the pass sent first, and kicks (${cached ? 'full code' : 'fast path'})`, async () => {
      const outcomes: string[] = [];
      const seenAtKick: number[] = [];
      const host = (current = handHost(replies(outcomes, 2), { platform: (platform) => { if (cached) Object.assign(platform, { cacheClean() {}, cacheInvalidate() {} }); } }));
      host.boot({ rxBuffers: 1, features: 1 }); // one TX buffer: the first reply takes it, the second must wait for it
      await tick();
      host.onKick = (id) => {
        if (id !== 0) return;
        // Linux's rpmsg_recv_done: what used.idx says is there, then the buffer re-posted and a kick.
        seenAtKick.push(host.rxUsedIdx());
        host.repostRx(host.received().length);
        host.doorbells.ringRemote();
      };
      host.send(HOST, 0x500, 'x');
      await tick(20);
      expect(outcomes).toEqual(['sent', 'sent']);
      // The first kick came with the first reply's used entry already published.
      expect(seenAtKick[0]).toBe(1);
      expect(seenAtKick.length).toBeGreaterThanOrEqual(2);
      // The message's own buffer went back too.
      expect(host.txUsedIdx()).toBe(1);
    });
  }

  it('replies sent in onReadable and the message\'s buffer are published before the pass kicks, each index once', async () => {
    const outcomes: string[] = [];
    const host = (current = handHost(replies(outcomes, 3, 'trySendTo')));
    host.boot({ features: 1 });
    await tick();
    host.received();
    const usedWrites: number[] = [];
    host.onKick = (id) => {
      if (id === 0) usedWrites.push(host.rxUsedIdx(), host.txUsedIdx());
    };
    const rxBefore = host.rxUsedIdx();
    const kicksBefore = host.kicks.length;
    host.send(HOST, 0x500, 'x');
    await tick();
    expect(outcomes).toEqual(['sent', 'sent', 'sent']);
    // One kick of vring 0 for the three replies (the host wants every one: avail.flags 0), with all
    // three and vring 1's returned buffer visible when it comes.
    expect(host.kicks.slice(kicksBefore).filter((id) => id === 0)).toEqual([0]);
    expect(usedWrites).toEqual([rxBefore + 3, 1]);
    expect(host.received().map((m) => new TextDecoder().decode(m.data))).toEqual(['r0', 'r1', 'r2']);
  });
});
