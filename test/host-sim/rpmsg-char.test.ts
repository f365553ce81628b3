import { describe, expect, it } from 'vitest';
import { RpmsgError } from '../../wire/errors.ts';
import { trySend, type RpmsgControlDevice, type RpmsgEndpointDevice } from '../../host-sim/index.ts';
import { bootScripted, text } from './scripted-remote.ts';

const ANY = 0xffffffff;
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  const run = typeof promise === 'function' ? Promise.resolve().then(promise) : promise;
  const error = await run.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(RpmsgError);
  expect((error as RpmsgError).code).toBe(code);
}

describe('rpmsg_char / rpmsg_ctrl', () => {
  it('/dev/rpmsg_ctrl0 creates /dev/rpmsg0: open binds an endpoint, write is one sendto, read one message', async () => {
    const { host, rproc, remote } = await bootScripted();
    const ctrl = host.rpmsgChar.node('rpmsg_ctrl0') as RpmsgControlDevice;
    expect(ctrl).toBeDefined();
    const dev = ctrl.createEndpoint({ name: 'bridge', src: ANY, dst: 0x400 });
    expect(dev.name).toBe('rpmsg0');
    dev.open();
    expect(dev.address).toBe(1024);
    expect(() => dev.open()).toThrow(/already open/);
    expect(await dev.write('to the remote')).toBe(13);
    const [message] = remote.receive();
    expect([message.src, message.dst, text(message.data)]).toEqual([1024, 0x400, 'to the remote']);
    await expectCode(dev.read({ nonBlocking: true }), 'EAGAIN');
    const pending = dev.read();
    remote.send(0x400, 1024, Uint8Array.from([1, 2, 3]));
    remote.send(0x400, 1024, Uint8Array.from([4, 5]));
    rproc.vqInterrupt(0);
    expect(Array.from(await pending)).toEqual([1, 2, 3]);
    expect(Array.from(await dev.read({ maxLength: 1 }))).toEqual([4]);
    dev.close();
    await expectCode(dev.read(), 'EPIPE');
    await expectCode(dev.write('x'), 'EPIPE');
  });

  it('a non-blocking write with no TX buffer free fails with EAGAIN (ENOMEM turned into EAGAIN)', async () => {
    const { host } = await bootScripted();
    const dev = (host.rpmsgChar.node('rpmsg_ctrl0') as RpmsgControlDevice).createEndpoint({ name: 'b', src: ANY, dst: 0x400 });
    dev.open();
    for (let i = 0; i < 256; i++) await dev.write('fill', { nonBlocking: true });
    await expectCode(dev.write('more', { nonBlocking: true }), 'EAGAIN');
  });

  it('a channel named rpmsg-raw gets /dev/rpmsgN on its own endpoint; it cannot be destroyed by ioctl; it goes with the channel', async () => {
    const { host, rproc, remote } = await bootScripted();
    remote.announce('rpmsg-raw', 0x401);
    rproc.vqInterrupt(0);
    const dev = host.rpmsgChar.node('rpmsg0') as RpmsgEndpointDevice;
    expect(dev.info).toEqual({ name: 'rpmsg-raw', src: 1024, dst: 0x401 });
    dev.open();
    expect(dev.address).toBe(1024);
    expect(() => dev.destroy()).toThrow(RpmsgError);
    const pending = dev.read();
    remote.announce('rpmsg-raw', 0x401, 1);
    rproc.vqInterrupt(0);
    await expectCode(pending, 'EPIPE');
    expect(host.rpmsgChar.node('rpmsg0')).toBeUndefined();
  });

  it('RPMSG_CREATE_DEV with a fixed src announces the channel to the remote; RELEASE_DEV announces its end', async () => {
    const { host, remote } = await bootScripted();
    const ctrl = host.rpmsgChar.node('rpmsg_ctrl0') as RpmsgControlDevice;
    const device = ctrl.createChannel({ name: 'rpmsg-raw', src: 0x500, dst: 0x400 });
    expect(device.deviceName).toBe('virtio0.rpmsg-raw.1280.1024');
    await flush();
    const [announcement] = remote.receive();
    expect(announcement.dst).toBe(53);
    expect(announcement.src).toBe(0x500);
    expect(text(announcement.data.subarray(0, 9))).toBe('rpmsg-raw');
    expect(new DataView(announcement.data.buffer).getUint32(32, true)).toBe(0x500);
    expect(new DataView(announcement.data.buffer).getUint32(36, true)).toBe(0);
    expect(() => ctrl.createChannel({ name: 'rpmsg-raw', src: 0x500, dst: 0x400 })).toThrow(/failed to create/);
    ctrl.releaseChannel({ name: 'rpmsg-raw', src: 0x500, dst: 0x400 });
    await flush();
    const [goodbye] = remote.receive();
    expect(new DataView(goodbye.data.buffer).getUint32(36, true)).toBe(1);
    expect(() => ctrl.releaseChannel({ name: 'rpmsg-raw', src: 0x500, dst: 0x400 })).toThrow(/no such channel/);
  });

  it('a crash removes every /dev/rpmsgN (readers get EPIPE) and the ctrl device comes back after recovery', async () => {
    const { host, rproc } = await bootScripted();
    const dev = (host.rpmsgChar.node('rpmsg_ctrl0') as RpmsgControlDevice).createEndpoint({ name: 'b', src: ANY, dst: 0x400 });
    dev.open();
    const pending = dev.read();
    await rproc.reportCrash();
    await expectCode(pending, 'EPIPE');
    expect(dev.present).toBe(false);
    expect([...host.rpmsgChar.controlDevices.keys()]).toEqual(['rpmsg_ctrl0']);
    expect(host.rpmsgChar.endpointDevices.size).toBe(0);
  });

  it('write on the channel API and on /dev share the same TX buffers', async () => {
    const { host, rproc, remote } = await bootScripted();
    remote.announce('rpmsg-raw', 0x401);
    rproc.vqInterrupt(0);
    const dev = host.rpmsgChar.node('rpmsg0') as RpmsgEndpointDevice;
    dev.open();
    await trySend(host.rpmsg.devices()[2].ept!, 'api');
    await dev.write('dev');
    expect(remote.receive().map((m) => text(m.data))).toEqual(['api', 'dev']);
  });

  it('write returns the bytes written (UTF-8 for text, byteLength for typed arrays) and refuses what is not bytes with EINVAL', async () => {
    const { host, rproc, remote } = await bootScripted();
    remote.announce('rpmsg-raw', 0x401);
    rproc.vqInterrupt(0);
    const dev = host.rpmsgChar.node('rpmsg0') as RpmsgEndpointDevice;
    dev.open();
    expect(await dev.write('é€')).toBe(5);
    expect(await dev.write(new Uint16Array([0x0201, 0x0403]))).toBe(4);
    await expect(dev.write(42 as never)).rejects.toThrow(/EINVAL: invalid payload 42/);
    expect(remote.receive().map((m) => [...m.data])).toEqual([[0xc3, 0xa9, 0xe2, 0x82, 0xac], [1, 2, 3, 4]]);
  });
});
