// host-sim against Linux 6.x: driver binding (rpmsg_core.c, drivers/base/dd.c), announcements,
// carveouts (remoteproc_core.c rproc_check_carveout_da), start order (rproc_start).
import { describe, expect, it } from 'vitest';
import { RpmsgError } from '../../wire/errors.ts';
import { decodeResourceTable, encodeResourceTable, FW_RSC_ADDR_ANY, type ResourceTable } from '../../resource-table/index.ts';
import { LinuxHost, trySend, type RpmsgDevice, type RpmsgDriver, type VirtprocInfo } from '../../host-sim/index.ts';
import type { RpmsgControlDevice } from '../../host-sim/rpmsg/rpmsg-char.ts';
import { BASE, bootScripted, rpmsgTable, ScriptedRemote } from './scripted-remote.ts';

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('driver binding as in Linux', () => {
  it('rpmsg_ns and rpmsg_ctrl have no id table: a remote announcing "rpmsg_ctrl" or "rpmsg_ns" gets a channel with no driver, and no second control device', async () => {
    const { host, rproc, remote } = await bootScripted();
    remote.announce('rpmsg_ctrl', 0x400);
    remote.announce('rpmsg_ns', 0x401);
    rproc.vqInterrupt(0);
    const announced = host.rpmsg.devices().filter((device) => device.src === 1024 || device.dst === 0x400 || device.dst === 0x401);
    expect(announced.map((device) => device.deviceName)).toEqual(['virtio0.rpmsg_ctrl.-1.1024', 'virtio0.rpmsg_ns.-1.1025']);
    for (const device of announced) {
      expect(device.driver).toBeNull();
      expect(device.ept).toBeNull();
    }
    expect([...host.rpmsgChar.controlDevices.keys()]).toEqual(['rpmsg_ctrl0']);
    // the real ones (driver_override) are still bound
    expect(host.rpmsg.byName('virtio0.rpmsg_ns.53.53')!.driver!.name).toBe('rpmsg_ns');
    expect(host.rpmsg.byName('virtio0.rpmsg_ctrl.0.0')!.driver!.name).toBe('rpmsg_ctrl');
  });

  it('after a failed probe the next matching driver is tried (the driver core ignores probe errors), with Linux\'s warning', async () => {
    const { host, rproc, remote } = await bootScripted();
    const calls: string[] = [];
    const failing: RpmsgDriver = { name: 'first', idTable: ['demo'], probe() { calls.push('first'); throw new RpmsgError('ENODEV', 'not mine'); }, callback() {} };
    const asyncFailing: RpmsgDriver = { name: 'second', idTable: ['demo'], async probe() { calls.push('second'); throw new Error('later'); }, callback() {} };
    const working: RpmsgDriver = { name: 'third', idTable: ['demo'], probe() { calls.push('third'); }, callback() {} };
    host.rpmsg.registerRpmsgDriver(failing);
    host.rpmsg.registerRpmsgDriver(asyncFailing);
    host.rpmsg.registerRpmsgDriver(working);
    remote.announce('demo', 0x400);
    rproc.vqInterrupt(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(['first', 'second', 'third']);
    const device = host.rpmsg.devices().find((d) => d.name === 'demo')!;
    expect(device.driver).toBe(working);
    expect(device.ept).not.toBeNull();
    expect(host.log.find('probe with driver first failed with error -19')).toHaveLength(1);
    expect(host.log.find('probe with driver second failed with error -22')).toHaveLength(1);
    // the failed drivers' endpoints were destroyed: only the working one's is bound
    const transport = host.rpmsgTransports(rproc)[0] as VirtprocInfo;
    expect([...transport.endpoints.keys()].filter((addr) => addr >= 1024)).toEqual([device.ept!.addr]);
  });

  it('a probe whose creation announcement cannot be sent fails: remove() is called, the endpoint destroyed, the next driver tried', async () => {
    const { host, rproc, remote } = await bootScripted({ txTimeoutMs: 50 });
    const transport = host.rpmsgTransports(rproc)[0] as VirtprocInfo;
    // Every TX buffer in flight and never returned: the announcement waits, then ERESTARTSYS.
    const ctrl = host.rpmsgChar.node('rpmsg_ctrl0') as RpmsgControlDevice;
    const filler = host.rpmsg.byName('virtio0.rpmsg_ctrl.0.0')!;
    const raw = transport.createEndpoint(filler, () => {}, 0x600);
    for (let i = 0; i < 256; i++) await transport.sendOffchannelRaw(raw.addr, 0x400, new Uint8Array(1), false);
    const removed: RpmsgDevice[] = [];
    const probed: string[] = [];
    const driver: RpmsgDriver = { name: 'announcer', idTable: ['announced'], probe() { probed.push('announcer'); }, remove(device) { removed.push(device); }, callback() {} };
    const fallback: RpmsgDriver = { name: 'fallback', idTable: ['announced'], probe() { probed.push('fallback'); }, callback() {} };
    host.rpmsg.registerRpmsgDriver(driver);
    host.rpmsg.registerRpmsgDriver(fallback);
    const device = ctrl.createChannel({ name: 'announced', src: 0x500, dst: 0x400 });
    expect(device.driver).toBe(driver);
    await until(() => removed.length === 1);
    expect(removed).toEqual([device]);
    expect(host.log.find('probe with driver announcer failed with error -512')).toHaveLength(1);
    // the next driver got the channel; its announcement fails too (still no buffer), without remove() of the first again
    await until(() => probed.length === 2 && device.driver === null);
    expect(probed).toEqual(['announcer', 'fallback']);
    expect(host.log.find('failed to announce creation')).toHaveLength(2);
    expect(host.log.find('probe with driver fallback failed with error -512')).toHaveLength(1);
    expect(removed).toEqual([device]);
    expect(device.ept).toBeNull();
    expect(transport.endpoints.has(0x500)).toBe(false);
    // once the remote returns buffers, a new channel's announcement goes out and its probe holds
    remote.receive();
    rproc.vqInterrupt(1);
    const second = ctrl.createChannel({ name: 'announced', src: 0x501, dst: 0x401 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(second.driver).toBe(driver);
    const [announcement] = remote.receive();
    expect(announcement.dst).toBe(53);
    expect(new TextDecoder().decode(announcement.data.subarray(0, 9))).toBe('announced');
    await trySend(second.ept!, 'hello');
  });
});

describe('virtio unbind and bind (sysfs) as in Linux', () => {
  it('unbind removes the rpmsg bus and leaves status ACKNOWLEDGE (virtio_dev_remove); bind probes it again (fresh rings, DRIVER_OK, kick)', async () => {
    const { host, rproc, remote } = await bootScripted();
    const device = rproc.virtioDevices[0];
    host.virtio.unbindDevice(device);
    expect(remote.status()).toBe(1);
    expect(host.rpmsg.devices()).toEqual([]);
    expect(host.rpmsgTransports(rproc)).toEqual([]);
    host.virtio.bindDevice(device);
    expect(device.statusWrites.slice(-4)).toEqual([0, 1, 3, 7]);
    expect(host.rpmsg.devices().map((d) => d.deviceName)).toEqual(['virtio0.rpmsg_ctrl.0.0', 'virtio0.rpmsg_ns.53.53']);
    // fresh RX ring: every buffer posted again from index 0
    expect(remote.availIdx(0)).toBe(256);
    remote.lastAvail[0] = 0;
    remote.lastAvail[1] = 0;
    const driver: RpmsgDriver = { name: 'back', idTable: ['back'], probe() {}, callback() {} };
    host.rpmsg.registerRpmsgDriver(driver);
    remote.announce('back', 0x400);
    rproc.vqInterrupt(0);
    expect(host.rpmsg.devices().find((d) => d.name === 'back')!.driver).toBe(driver);
  });
});

describe('remoteproc as in Linux', () => {
  /** A table with a carveout "mybuf" (da given) before the rpmsg vdev. */
  function carveoutTable(da: number, len: number): ResourceTable {
    const table = rpmsgTable();
    table.entries.unshift({ kind: 'carveout', da, pa: 0, len, flags: 0, reserved: 0, name: 'mybuf' });
    return table;
  }

  async function bootWith(table: ResourceTable, reserved: { name: string; da: number; len: number }[]) {
    const remote = new ScriptedRemote(0);
    const host = new LinuxHost();
    const rproc = host.addRproc({ ops: remote.ops(), memory: remote.memory, reservedMemory: reserved });
    const bytes = encodeResourceTable(table);
    remote.tableSize = bytes.length;
    remote.memory.bytes.set(bytes, 0);
    const error = await rproc.boot({ resourceTable: bytes, offset: 0 }).then(() => null, (e: unknown) => e);
    return { host, rproc, remote, error, bytes };
  }

  it('a carveout with a fixed da anywhere inside the region the platform registered under its name is accepted; the table gets the region', async () => {
    const region = { name: 'mybuf', da: BASE + 0x40000, len: 0x10000 };
    const { rproc, remote, error, bytes } = await bootWith(carveoutTable(BASE + 0x41000, 0x2000), [region]);
    expect(error).toBeNull();
    expect(rproc.state).toBe('running');
    const loaded = decodeResourceTable(remote.memory.bytes.slice(0, bytes.length));
    const entry = loaded.table.entries[0] as { da: number; pa: number; len: number };
    expect([entry.da, entry.pa, entry.len]).toEqual([region.da, region.da, region.len]);
    expect(rproc.allocations().find((a) => a.name === 'mybuf')).toMatchObject({ da: region.da, len: region.len });
    await rproc.shutdown();
  });

  it.each([
    ['below the region', BASE + 0x3f000, 0x1000, /Registered carveout doesn't fit da request/],
    ['running past its end', BASE + 0x4f000, 0x2000, /Registered carveout doesn't fit len request/],
    ['longer than the region', FW_RSC_ADDR_ANY, 0x20000, /Registered carveout doesn't fit len request/],
  ])('a carveout %s of its registered region fails the boot with EINVAL and Linux\'s words', async (_what, da, len, words) => {
    const { rproc, error } = await bootWith(carveoutTable(da, len), [{ name: 'mybuf', da: BASE + 0x40000, len: 0x10000 }]);
    expect(error).toBeInstanceOf(RpmsgError);
    expect((error as RpmsgError).code).toBe('EINVAL');
    expect((error as Error).message).toMatch(words);
    expect(rproc.state).toBe('offline');
  });

  it('carveouts are allocated in table order; an ANY carveout listed before a fixed one keeps clear of it', async () => {
    const table = rpmsgTable();
    const lowest = BASE + 0x1000; // the first free page after the table
    table.entries.unshift(
      { kind: 'carveout', da: FW_RSC_ADDR_ANY, pa: 0, len: 0x1000, flags: 0, reserved: 0, name: 'anywhere' },
      { kind: 'carveout', da: lowest, pa: 0, len: 0x1000, flags: 0, reserved: 0, name: 'fixed' },
    );
    const { rproc, error } = await bootWith(table, []);
    expect(error).toBeNull();
    const names = rproc.allocations().map((a) => [a.name, a.da - BASE]);
    expect(names).toContainEqual(['fixed', 0x1000]);
    expect(names).toContainEqual(['anywhere', 0x2000]);
    await rproc.shutdown();
  });

  it('the rproc is marked running (and "is now up" logged) only after its vdevs are registered and probed', async () => {
    const states: string[] = [];
    const remote = new ScriptedRemote(0);
    const host = new LinuxHost();
    const rproc = host.addRproc({ ops: remote.ops(), memory: remote.memory });
    // rpmsg_ctrl's probe runs inside virtio_rpmsg_bus's probe, inside vdev registration
    host.rpmsg.registerRpmsgDriver({ name: 'rpmsg_ctrl_watch', idTable: [], probe() {} });
    const original = host.log.write.bind(host.log);
    host.log.write = (level, source, text) => {
      if (text === 'rpmsg host is online') states.push(rproc.state);
      original(level, source, text);
    };
    const bytes = encodeResourceTable(rpmsgTable());
    remote.tableSize = bytes.length;
    remote.memory.bytes.set(bytes, 0);
    await rproc.boot({ resourceTable: bytes, offset: 0 });
    expect(states).toEqual(['offline']);
    const texts = host.log.lines.map((line) => line.text);
    expect(texts.indexOf('rpmsg host is online')).toBeLessThan(texts.indexOf('remote processor remoteproc0 is now up'));
    expect(rproc.state).toBe('running');
  });
});
