import { describe, expect, it } from 'vitest';
import { RpmsgError } from '../../wire/errors.ts';
import { VRING_AVAIL_F_NO_INTERRUPT, VRING_USED_F_NO_NOTIFY } from '../../wire/vring.ts';
import {
  createEndpoint, destroyEndpoint, rpmsgClientSample, send, sendOffchannel, sendTo, trySend, trySendOffchannel, trySendTo,
  type RpmsgDevice, type RpmsgDriver, type VirtprocInfo,
} from '../../host-sim/index.ts';
import { BASE, bootScripted, text } from './scripted-remote.ts';

const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

async function expectRejects(promise: Promise<unknown>, code: string): Promise<RpmsgError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(RpmsgError);
  expect((error as RpmsgError).code).toBe(code);
  return error as RpmsgError;
}

/** A driver that records what happens to its channels. */
function recordingDriver(name: string): RpmsgDriver & { probed: RpmsgDevice[]; removed: RpmsgDevice[]; received: { data: string; src: number }[] } {
  const driver = {
    name: `${name}-driver`,
    idTable: [name],
    probed: [] as RpmsgDevice[],
    removed: [] as RpmsgDevice[],
    received: [] as { data: string; src: number }[],
    probe(device: RpmsgDevice) { driver.probed.push(device); },
    remove(device: RpmsgDevice) { driver.removed.push(device); },
    callback(_device: RpmsgDevice, data: Uint8Array, src: number) { driver.received.push({ data: text(data), src }); },
  };
  return driver;
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('name service', () => {
  it('a create announcement makes a channel, probes the matching driver with an endpoint from 1024', async () => {
    const { host, rproc, remote } = await bootScripted();
    const driver = recordingDriver('demo');
    host.rpmsg.registerRpmsgDriver(driver);
    remote.announce('demo', 0x400);
    expect(rproc.vqInterrupt(0)).toBe(true);
    expect(driver.probed).toHaveLength(1);
    const device = driver.probed[0];
    expect(device.deviceName).toBe('virtio0.demo.-1.1024');
    expect(device.src).toBe(1024);
    expect(device.dst).toBe(0x400);
    expect(host.rpmsg.devices().map((d) => d.deviceName)).toEqual(['virtio0.rpmsg_ctrl.0.0', 'virtio0.rpmsg_ns.53.53', 'virtio0.demo.-1.1024']);
    expect(host.log.find('creating channel demo addr 0x400')).toHaveLength(1);
    // the buffer went back to the remote and the host kicked vring 0
    expect(remote.availIdx(0)).toBe(257);
    expect(remote.kicks).toEqual([0, 0]);
  });

  it('a driver registered after the announcement is probed then', async () => {
    const { host, rproc, remote } = await bootScripted();
    remote.announce('late', 0x401);
    rproc.vqInterrupt(0);
    const driver = recordingDriver('late');
    host.rpmsg.registerRpmsgDriver(driver);
    expect(driver.probed).toHaveLength(1);
    host.rpmsg.unregisterRpmsgDriver(driver);
    expect(driver.removed).toHaveLength(1);
  });

  it('a destroy announcement calls remove() and the channel disappears', async () => {
    const { host, rproc, remote } = await bootScripted();
    const driver = recordingDriver('demo');
    host.rpmsg.registerRpmsgDriver(driver);
    remote.announce('demo', 0x400);
    remote.announce('demo', 0x400, 1);
    rproc.vqInterrupt(0);
    expect(driver.removed).toHaveLength(1);
    expect(host.rpmsg.devices().map((d) => d.deviceName)).toEqual(['virtio0.rpmsg_ctrl.0.0', 'virtio0.rpmsg_ns.53.53']);
    remote.announce('demo', 0x400, 1);
    rproc.vqInterrupt(0);
    expect(host.log.find('rpmsg_destroy_channel failed: -22')).toHaveLength(1);
  });

  it('a duplicate create is reported as "already exist" and counted', async () => {
    const { host, rproc, remote } = await bootScripted();
    remote.announce('twice', 0x400);
    remote.announce('twice', 0x400);
    rproc.vqInterrupt(0);
    expect(host.log.find('channel twice:ffffffff:400 already exist')).toHaveLength(1);
    expect(rproc.counters.count('ns-duplicate-channel')).toBe(1);
    expect(host.rpmsg.devices()).toHaveLength(3);
  });

  it('a 39-byte announcement is refused and counted; its buffer is re-posted', async () => {
    const { host, rproc, remote } = await bootScripted();
    remote.announce('short', 0x400, 0, 39);
    rproc.vqInterrupt(0);
    expect(host.log.find('malformed ns msg (39)')).toHaveLength(1);
    expect(rproc.counters.count('ns-malformed')).toBe(1);
    expect(host.rpmsg.devices()).toHaveLength(2);
    expect(remote.availIdx(0)).toBe(257);
  });

  it('the name is cut at 31 bytes, as Linux forces name[31] = 0', async () => {
    const { host, rproc, remote } = await bootScripted();
    remote.announce('x'.repeat(32), 0x400);
    rproc.vqInterrupt(0);
    expect(host.rpmsg.devices()[2].name).toBe('x'.repeat(31));
  });
});

describe('receive path refuses bad lengths and ids, counted, reading nothing outside', () => {
  async function withChannel() {
    const setup = await bootScripted();
    const driver = recordingDriver('demo');
    setup.host.rpmsg.registerRpmsgDriver(driver);
    setup.remote.announce('demo', 0x400);
    setup.rproc.vqInterrupt(0);
    return { ...setup, driver };
  }

  it('delivers a well-formed message to the endpoint at dst with its src', async () => {
    const { rproc, remote, driver } = await withChannel();
    remote.send(0x400, 1024, bytes('ping'));
    rproc.vqInterrupt(0);
    expect(driver.received).toEqual([{ data: 'ping', src: 0x400 }]);
  });

  it('a message to an unbound address is dropped ("no recipient") and its buffer re-posted', async () => {
    const { host, rproc, remote } = await withChannel();
    const before = remote.availIdx(0);
    remote.send(0x400, 4242, bytes('lost'));
    rproc.vqInterrupt(0);
    expect(host.log.find('msg received with no recipient')).toHaveLength(1);
    expect(remote.availIdx(0)).toBe(before + 1);
  });

  it('used.len > 512 stops the batch: no delivery, buffer not re-posted, no kick, counted', async () => {
    const { rproc, remote, driver } = await withChannel();
    const before = remote.availIdx(0);
    const kicks = remote.kicks.length;
    remote.send(0x400, 1024, bytes('big'), { usedLen: 513 });
    remote.send(0x400, 1024, bytes('next'));
    rproc.vqInterrupt(0);
    expect(driver.received).toEqual([]);
    expect(rproc.counters.count('rx-length-invalid')).toBe(1);
    expect(remote.availIdx(0)).toBe(before);
    expect(remote.kicks.length).toBe(kicks);
    // the rest of the batch stays on the used ring until the next interrupt
    rproc.vqInterrupt(0);
    expect(driver.received).toEqual([{ data: 'next', src: 0x400 }]);
  });

  it('hdr.len > used.len - 16 is refused and counted', async () => {
    const { rproc, remote, driver } = await withChannel();
    remote.send(0x400, 1024, bytes('abcd'), { usedLen: 16 + 3 });
    rproc.vqInterrupt(0);
    expect(driver.received).toEqual([]);
    expect(rproc.counters.count('rx-length-invalid')).toBe(1);
  });

  it('used.len < 16 with hdr.len > 496 (Linux would read past the buffer) is refused and counted', async () => {
    const { rproc, remote, driver } = await withChannel();
    remote.send(0x400, 1024, bytes('x'), { usedLen: 4, headerLen: 60000 });
    rproc.vqInterrupt(0);
    expect(driver.received).toEqual([]);
    expect(rproc.counters.count('rx-length-wraparound')).toBe(1);
  });

  it('used.len < 16 with a small hdr.len is accepted, as Linux does', async () => {
    const { rproc, remote, driver } = await withChannel();
    remote.send(0x400, 1024, bytes('ok'), { usedLen: 4 });
    rproc.vqInterrupt(0);
    expect(driver.received).toEqual([{ data: 'ok', src: 0x400 }]);
  });

  it('a used id out of range breaks the ring (BAD_RING), counted; later input is ignored', async () => {
    const { rproc, remote, driver } = await withChannel();
    remote.pushUsed(0, 256, 20);
    rproc.vqInterrupt(0);
    expect(rproc.counters.count('used-id-out-of-range')).toBe(1);
    remote.send(0x400, 1024, bytes('after'));
    rproc.vqInterrupt(0);
    expect(driver.received).toEqual([]);
  });

  it('never trusts descriptor addresses read back: a rewritten desc.addr changes nothing', async () => {
    const { rproc, remote, driver } = await withChannel();
    const buffer = remote.takeAvail(0)!;
    const at = buffer.addr - BASE;
    remote.view.setUint32(at, 0x400, true);
    remote.view.setUint32(at + 4, 1024, true);
    remote.view.setUint16(at + 12, 2, true);
    remote.memory.bytes.set(bytes('hi'), at + 16);
    // the remote scribbles a hostile address into the descriptor, then returns it
    remote.view.setUint32(remote.ring(0).desc + buffer.head * 16, 0xdeadbeef, true);
    remote.pushUsed(0, buffer.head, 18);
    rproc.vqInterrupt(0);
    expect(driver.received).toEqual([{ data: 'hi', src: 0x400 }]);
    // and the host rewrites the descriptor with its own address when it re-posts
    expect(remote.view.getUint32(remote.ring(0).desc + buffer.head * 16, true)).not.toBe(0xdeadbeef);
  });

  it('an interrupt for an unknown notifyid is counted; null services every vring', async () => {
    const { rproc, remote, driver } = await withChannel();
    expect(rproc.vqInterrupt(7)).toBe(false);
    expect(rproc.counters.count('interrupt-unknown-notifyid')).toBe(1);
    remote.send(0x400, 1024, bytes('merged'));
    expect(rproc.vqInterrupt(null)).toBe(true);
    expect(driver.received).toEqual([{ data: 'merged', src: 0x400 }]);
  });
});

describe('send path', () => {
  async function withEndpoint(txTimeoutMs = 15000) {
    const setup = await bootScripted({ txTimeoutMs });
    const driver = recordingDriver('demo');
    setup.host.rpmsg.registerRpmsgDriver(driver);
    setup.remote.announce('demo', 0x400);
    setup.rproc.vqInterrupt(0);
    const device = driver.probed[0];
    return { ...setup, device, ept: device.ept!, transport: device.transport as VirtprocInfo };
  }

  it('send writes header + payload in a TX buffer, desc.len = 16 + len, kicks vring 1 (notifyid 1)', async () => {
    const { remote, ept } = await withEndpoint();
    await send(ept, 'hello world!');
    const [message] = remote.receive();
    expect(message).toMatchObject({ src: 1024, dst: 0x400, len: 12, descLen: 28 });
    expect(text(message.data)).toBe('hello world!');
    expect(remote.kicks.at(-1)).toBe(1);
  });

  it('TX buffers come from the upper half, in order', async () => {
    const { remote, ept, transport } = await withEndpoint();
    await send(ept, 'a');
    await send(ept, 'b');
    const addresses = [remote.takeAvail(1)!.addr, remote.takeAvail(1)!.addr];
    const upper = transport.buffers.da + 256 * 512;
    expect(addresses).toEqual([upper, upper + 512]);
  });

  it('sendTo and sendOffchannel set dst and src', async () => {
    const { remote, ept } = await withEndpoint();
    await sendTo(ept, 'x', 0x401);
    await sendOffchannel(ept, 77, 0x402, 'y');
    await trySendTo(ept, 'z', 0x403);
    await trySendOffchannel(ept, 78, 0x404, 'w');
    expect(remote.receive().map((m) => [m.src, m.dst])).toEqual([[1024, 0x401], [77, 0x402], [1024, 0x403], [78, 0x404]]);
  });

  it('EMSGSIZE above 496 bytes, 496 fits', async () => {
    const { ept } = await withEndpoint();
    await send(ept, new Uint8Array(496));
    await expectRejects(send(ept, new Uint8Array(497)), 'EMSGSIZE');
    await expectRejects(trySend(ept, new Uint8Array(497)), 'EMSGSIZE');
  });

  it('EINVAL when src or dst is RPMSG_ADDR_ANY', async () => {
    const { ept } = await withEndpoint();
    await expectRejects(sendTo(ept, 'x', 0xffffffff), 'EINVAL');
    await expectRejects(sendOffchannel(ept, 0xffffffff, 0x400, 'x'), 'EINVAL');
  });

  it('no kick when the remote set VRING_USED_F_NO_NOTIFY on vring 1', async () => {
    const { remote, ept } = await withEndpoint();
    remote.view.setUint16(remote.ring(1).used, VRING_USED_F_NO_NOTIFY, true);
    const kicks = remote.kicks.length;
    await send(ept, 'quiet');
    expect(remote.kicks.length).toBe(kicks);
    expect(remote.receive()).toHaveLength(1);
  });

  it('trySend fails with ENOMEM once all 256 TX buffers are out; a blocking send resumes when one comes back', async () => {
    const { rproc, remote, ept, transport } = await withEndpoint();
    for (let i = 0; i < 256; i++) await trySend(ept, `m${i}`);
    await expectRejects(trySend(ept, 'one too many'), 'ENOMEM');
    const held = remote.receive(true);
    expect(held).toHaveLength(256);
    let done = false;
    const pending = send(ept, 'waited').then(() => { done = true; });
    await flush();
    expect(done).toBe(false);
    // a waiting sender turns TX-complete interrupts on
    expect(remote.availFlags(1) & VRING_AVAIL_F_NO_INTERRUPT).toBe(0);
    remote.pushUsed(1, held[0].head, held[0].descLen);
    rproc.vqInterrupt(1);
    await pending;
    expect(done).toBe(true);
    expect(transport.statistics.txWaits).toBe(1);
    // ... and off again once nobody waits
    expect(remote.availFlags(1) & VRING_AVAIL_F_NO_INTERRUPT).toBe(1);
    expect(text(remote.receive()[0].data)).toBe('waited');
  });

  it('a blocking send gives up with ERESTARTSYS after the (shortened) timeout', async () => {
    const { ept, transport } = await withEndpoint(40);
    for (let i = 0; i < 256; i++) await trySend(ept, 'fill');
    const started = Date.now();
    await expectRejects(send(ept, 'late'), 'ERESTARTSYS');
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(transport.statistics.txTimeouts).toBe(1);
  });

  it('createEndpoint: ANY allocates from 1024 up, a taken address fails with ENOSPC; destroyed endpoints refuse sends (EPIPE)', async () => {
    const { device } = await withEndpoint();
    const a = createEndpoint(device, () => {});
    expect(a.addr).toBe(1025);
    const b = createEndpoint(device, () => {}, { src: 2000 });
    expect(b.addr).toBe(2000);
    expect(() => createEndpoint(device, () => {}, { src: 2000 })).toThrow(RpmsgError);
    expect(() => createEndpoint(device, () => {}, { src: 53 })).toThrow(/already bound/);
    destroyEndpoint(a);
    destroyEndpoint(a);
    expect(createEndpoint(device, () => {}).addr).toBe(1025);
    await expectRejects(send(a, 'x'), 'EPIPE');
  });
});

describe('crash recovery', () => {
  it('removes every channel, restarts the firmware, re-posts the vrings; the remote re-announces', async () => {
    const { host, rproc, remote } = await bootScripted();
    const driver = recordingDriver('demo');
    host.rpmsg.registerRpmsgDriver(driver);
    remote.announce('demo', 0x400);
    rproc.vqInterrupt(0);
    expect(driver.probed).toHaveLength(1);
    await rproc.reportCrash('watchdog');
    expect(driver.removed).toHaveLength(1);
    expect(remote.stopped).toBe(1);
    expect(remote.started).toBe(2);
    expect(rproc.state).toBe('running');
    expect(rproc.recoveries).toBe(1);
    // the new virtio device went through the whole handshake again, on zeroed rings
    expect(rproc.virtioDevices[0].name).toBe('virtio0');
    expect(rproc.virtioDevices[0].statusWrites).toEqual([0, 1, 3, 7]);
    expect(remote.status()).toBe(7);
    expect(remote.availIdx(0)).toBe(256);
    expect(remote.usedIdx(0)).toBe(0);
    expect(host.rpmsg.devices().map((d) => d.deviceName)).toEqual(['virtio0.rpmsg_ctrl.0.0', 'virtio0.rpmsg_ns.53.53']);
    remote.announce('demo', 0x400);
    rproc.vqInterrupt(0);
    expect(driver.probed).toHaveLength(2);
    expect(driver.probed[1].src).toBe(1024);
  });

  it('a sender waiting for a buffer when the remote crashes fails with ENODEV', async () => {
    const { host, rproc, remote } = await bootScripted();
    const driver = recordingDriver('demo');
    host.rpmsg.registerRpmsgDriver(driver);
    remote.announce('demo', 0x400);
    rproc.vqInterrupt(0);
    const ept = driver.probed[0].ept!;
    for (let i = 0; i < 256; i++) await trySend(ept, 'fill');
    const pending = send(ept, 'stuck');
    await flush();
    await rproc.reportCrash();
    await expectRejects(pending, 'ENODEV');
  });

  it('shutdown removes the vdev: status ends at ACKNOWLEDGE (virtio_dev_remove writes 0 then 1)', async () => {
    const { rproc, remote } = await bootScripted();
    const vdev = rproc.virtioDevices[0];
    await rproc.shutdown();
    expect(vdev.statusWrites).toEqual([0, 1, 3, 7, 0, 1]);
    expect(remote.status()).toBe(1);
    expect(rproc.state).toBe('offline');
  });
});

describe('rpmsg-client-sample', () => {
  it('sends "hello world!" on probe, echoes until 100 replies, then says goodbye', async () => {
    const { host, rproc, remote } = await bootScripted();
    const sample = rpmsgClientSample(host.log);
    host.rpmsg.registerRpmsgDriver(sample.driver);
    remote.announce('rpmsg-client-sample', 0x400);
    rproc.vqInterrupt(0);
    for (let round = 0; round < 200 && sample.rxCount() < 100; round++) {
      await flush();
      for (const message of remote.receive()) remote.send(0x400, message.src, message.data);
      rproc.vqInterrupt(null);
    }
    await sample.finished;
    expect(sample.summary()).toBe('rpmsg-client-sample: 100/100 echoed');
    expect(host.log.find('incoming msg 1 (src: 0x400)')).toHaveLength(1);
    expect(host.log.find('incoming msg 100 (src: 0x400)')).toHaveLength(1);
    expect(host.log.find('goodbye!')).toHaveLength(1);
    // src is the host's endpoint (1024 = 0x400), dst the remote's announced address (0x400 too)
    expect(host.log.find('new channel: 0x400 -> 0x400!')).toHaveLength(1);
    expect(host.log.lines.find((line) => line.text.startsWith('incoming msg 1 '))?.source).toBe('rpmsg_client_sample virtio0.rpmsg-client-sample.-1.1024');
    await flush();
    expect(remote.receive()).toHaveLength(0);
  });
});
