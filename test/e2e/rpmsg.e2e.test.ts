// One end-to-end suite, run against every target: our host simulator (behaving as Linux) and the real remote runtime.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rpmsgClientSample } from '../../host-sim/samples/rpmsg-client-sample.ts';
import { createEndpoint, send, sendTo, trySend, trySendTo, type RpmsgDevice, type RpmsgDriver } from '../../host-sim/rpmsg/rpmsg-core.ts';
import type { Session } from '../../host-sim/session.ts';
import { RpmsgError } from '../../wire/errors.ts';
import { openTestSession, prepareTarget, TARGETS, text, until } from './harness.ts';
import { ZERO_COPY_DEFERRED_SERVICE, ZERO_COPY_SERVICE } from '../../firmware/apps/e2e/main.ts';

describe.each(TARGETS)('end to end on %s', (target) => {
  let session: Session | null = null;
  // Build the target's firmware once, before the timed tests (a cold XS engine build takes minutes on busy cores).
  beforeAll(() => prepareTarget(target, 'e2e'), 600_000);
  afterEach(async () => {
    await session?.close();
    session = null;
  });

  it('rpmsg-client-sample completes 100/100', async () => {
    let sample: ReturnType<typeof rpmsgClientSample> | null = null;
    ({ session } = await openTestSession(target, {
      beforeBoot(host) {
        sample = rpmsgClientSample(host.log);
        host.rpmsg.registerRpmsgDriver(sample.driver);
      },
    }));
    await sample!.finished;
    expect(sample!.summary()).toBe('rpmsg-client-sample: 100/100 echoed');
    expect(session.host.log.find('incoming msg 100 (src: 0x400)')).toHaveLength(1);
    expect(session.host.log.find('goodbye!')).toHaveLength(1);
  });

  it('serves several channels at once, each echoing on its own addresses', async () => {
    const received = new Map<string, string[]>();
    const driver: RpmsgDriver = {
      name: 'multi_echo',
      idTable: ['svc-a', 'svc-b', 'svc-c'],
      probe() {},
      callback(device, data) {
        received.get(device.name)!.push(text(data));
      },
    };
    let control;
    ({ session, control } = await openTestSession(target, { beforeBoot: (host) => host.rpmsg.registerRpmsgDriver(driver) }));
    for (const name of ['svc-a', 'svc-b', 'svc-c']) {
      received.set(name, []);
      expect(await control.command(`open ${name}`)).toMatch(new RegExp(`^ok open ${name} 0x4[0-9a-f]{2}$`));
    }
    const channels = () => session!.host.rpmsg.devices().filter((device) => device.name.startsWith('svc-'));
    await until(() => channels().filter((device) => device.ept).length === 3, 'three probed channels');
    const sends: Promise<void>[] = [];
    for (let round = 0; round < 20; round++) {
      for (const device of channels()) sends.push(send(device.ept!, `${device.name}#${round}`));
    }
    await Promise.all(sends);
    await until(() => [...received.values()].every((list) => list.length === 20), 'every echo');
    for (const [name, list] of received) expect(list).toEqual(Array.from({ length: 20 }, (_, round) => `${name}#${round}`));
    const addresses = new Set(channels().map((device) => device.dst));
    expect(addresses.size).toBe(3);
  });

  it('zero-copy: RX buffers held and TX buffers filled in place echo every size; buffers held across callbacks and TX buffers released unsent do not leak', async () => {
    const got = new Map<string, Uint8Array[]>([[ZERO_COPY_SERVICE, []], [ZERO_COPY_DEFERRED_SERVICE, []]]);
    const driver: RpmsgDriver = {
      name: 'zero_copy_echo',
      idTable: [ZERO_COPY_SERVICE, ZERO_COPY_DEFERRED_SERVICE],
      probe() {},
      callback(device, data) {
        got.get(device.name)!.push(data.slice());
      },
    };
    let control;
    ({ session, control } = await openTestSession(target, { beforeBoot: (host) => host.rpmsg.registerRpmsgDriver(driver) }));
    const channels = () => session!.host.rpmsg.devices().filter((device) => got.has(device.name) && device.ept);
    await until(() => channels().length === 2, 'the two zero-copy channels');
    const sizes = [1, 16, 64, 256, 496];
    // More messages than either ring has buffers: a held or unsent buffer that leaked would stall the echo.
    const COUNT = 300;
    const payload = (n: number) => Uint8Array.from({ length: sizes[n % sizes.length] }, (_, i) => (n * 31 + i) & 0xff);
    for (const device of channels()) {
      const sends: Promise<void>[] = [];
      for (let n = 0; n < COUNT; n++) sends.push(send(device.ept!, payload(n)));
      await Promise.all(sends);
    }
    await until(() => [...got.values()].every((list) => list.length === COUNT), `${COUNT} echoes on each channel`, 60_000);
    for (const [name, list] of got) {
      list.forEach((echo, n) => expect(Buffer.compare(Buffer.from(echo), Buffer.from(payload(n))), `${name} echo ${n}`).toBe(0));
    }
    expect(await control.command('stats')).toMatch(/ refused=0 appErrors=0/);
  }, 120_000);

  it('an NS destroy from the remote removes the channel and calls the driver\'s remove()', async () => {
    const removed: string[] = [];
    const driver: RpmsgDriver = { name: 'goner', idTable: ['svc-gone'], probe() {}, remove: (device) => removed.push(device.deviceName), callback() {} };
    let control;
    ({ session, control } = await openTestSession(target, { beforeBoot: (host) => host.rpmsg.registerRpmsgDriver(driver) }));
    const reply = await control.command('open svc-gone');
    const address = parseInt(reply.split(' ')[3], 16);
    await until(() => session!.host.rpmsg.devices().some((device) => device.name === 'svc-gone' && device.ept), 'the channel');
    expect(await control.command('close svc-gone')).toBe('ok close svc-gone');
    await until(() => removed.length === 1, 'remove()');
    expect(removed).toEqual([`virtio0.svc-gone.-1.${address}`]);
    expect(session.host.rpmsg.devices().some((device) => device.name === 'svc-gone')).toBe(false);
  });

  it('TX exhaustion: try* fails with ENOMEM, blocking sends resume when buffers return, nothing is lost', async () => {
    const echoes: number[] = [];
    let control;
    ({ session, control } = await openTestSession(target, { txTimeoutMs: 15000 }));
    await until(() => session!.host.rpmsg.devices().some((device) => device.name === 'rpmsg-client-sample'), 'the echo channel');
    // Our own endpoint on the echo channel's parent, so the echoes come back to us.
    const sink = session.host.rpmsg.devices().find((device) => device.name === 'rpmsg-client-sample')!;
    const ept = createEndpoint(sink, (_device, data) => echoes.push(new DataView(data.buffer, data.byteOffset).getUint32(0, true)));
    // Long enough for 257 trySends on a heavily loaded machine (2.5 s was once too short with seven builds running); the blocking sends below then wait it out.
    expect(await control.command('pause 5000')).toBe('ok pause 5000');
    // 256 TX buffers (the upper half of 512): the 257th try fails at once.
    const payload = (n: number) => { const bytes = new Uint8Array(8); new DataView(bytes.buffer).setUint32(0, n, true); return bytes; };
    let sent = 0;
    let refused: unknown = null;
    for (; sent < 400; sent++) {
      try {
        await trySendTo(ept, payload(sent), sink.dst);
      } catch (error) {
        refused = error;
        break;
      }
    }
    expect(refused).toBeInstanceOf(RpmsgError);
    expect((refused as RpmsgError).code).toBe('ENOMEM');
    expect(sent).toBe(256);
    // Blocking sends wait, then go through once the remote resumes and returns buffers.
    const blocked = [];
    for (let n = sent; n < sent + 50; n++) blocked.push(sendTo(ept, payload(n), sink.dst));
    await Promise.all(blocked);
    await until(() => echoes.length === 306, 'all 306 echoes', 30000);
    expect(echoes).toEqual(Array.from({ length: 306 }, (_, n) => n));
  });

  it('the remote sends a burst larger than the host\'s RX buffers; onWritable resumes it and every message arrives in order', async () => {
    const got: number[] = [];
    let control;
    ({ session, control } = await openTestSession(target));
    const device = await (async () => {
      await until(() => !!control.device(), 'control');
      return control.device();
    })();
    const ept = createEndpoint(device as RpmsgDevice, (_device, data) => got.push(new DataView(data.buffer, data.byteOffset).getUint32(0, true)));
    await sendTo(ept, 'burst 600 64', device.dst);
    await until(() => got.length >= 600, '600 burst messages', 30000);
    expect(got.slice(0, 600)).toEqual(Array.from({ length: 600 }, (_, n) => n));
  });

  it('payloads above 496 bytes fail with EMSGSIZE on both sides', async () => {
    let control;
    ({ session, control } = await openTestSession(target));
    await until(() => !!control.device(), 'control');
    await expect(trySend(control.device().ept!, new Uint8Array(497))).rejects.toThrow(/EMSGSIZE/);
    await expect(send(control.device().ept!, new Uint8Array(497))).rejects.toThrow(/EMSGSIZE/);
    expect(await control.command('burst 1 497')).toMatch(/^error EMSGSIZE: message of 497 bytes exceeds the rpmsg MTU of 496/);
    await expect(trySend(control.device().ept!, new Uint8Array(496))).resolves.toBeUndefined();
  });

  it('after a crash the channels are removed, the remote restarts and announces again', async () => {
    const removed: string[] = [];
    const probed: string[] = [];
    const driver: RpmsgDriver = { name: 'watch', idTable: ['rpmsg-client-sample'], probe: (device) => { probed.push(device.deviceName); }, remove: (device) => removed.push(device.deviceName), callback() {} };
    ({ session } = await openTestSession(target, { beforeBoot: (host) => host.rpmsg.registerRpmsgDriver(driver) }));
    await until(() => probed.length === 1, 'first probe');
    await session.rproc.reportCrash('test crash');
    await until(() => probed.length === 2, 'probe after recovery', 30000);
    expect(removed).toEqual([probed[0]]);
  });

  it('virtio_rpmsg_bus unbound and bound again (status 0 then 1 at once, as virtio_dev_remove writes), held 100 ms and 0 ms: every channel comes back and echoes', async () => {
    const probed: RpmsgDevice[] = [];
    const echoes: string[] = [];
    const driver: RpmsgDriver = { name: 'watch', idTable: ['rpmsg-client-sample'], probe: (device) => { probed.push(device); }, callback: (_device, data) => { echoes.push(text(data)); } };
    ({ session } = await openTestSession(target, { beforeBoot: (host) => host.rpmsg.registerRpmsgDriver(driver) }));
    await until(() => probed.length === 1, 'first probe');
    for (const hold of [100, 0]) {
      const before = probed.length;
      session.host.unbindVirtioRpmsg();
      if (hold > 0) await new Promise((resolve) => setTimeout(resolve, hold));
      session.host.bindVirtioRpmsg();
      await until(() => probed.length === before + 1, `the channel back after an unbind held ${hold} ms`, 10000);
      const device = probed[probed.length - 1];
      await until(() => device.ept !== null, 'its endpoint');
      await send(device.ept!, `after ${hold}`);
      await until(() => echoes.includes(`after ${hold}`), `the echo after the ${hold} ms unbind`, 10000);
    }
    expect(session.console.join('\n')).not.toMatch(/avail\.idx runs/);
  });

  it('a remote->host burst waiting for TX buffers when the host went away does not resume on the next host session', async () => {
    let burstMessages = 0;
    let control;
    ({ session, control } = await openTestSession(target));
    await until(() => !!control.device(), 'control');
    const sink = createEndpoint(control.device() as RpmsgDevice, () => { burstMessages++; });
    await sendTo(sink, 'burst 1000000 64', control.device().dst);
    await until(() => burstMessages > 1000, 'the burst under way', 20000);
    session.host.unbindVirtioRpmsg(); // the host goes away mid-burst
    await new Promise((resolve) => setTimeout(resolve, 100));
    session.host.bindVirtioRpmsg();
    const withConsole = (error: Error) => `${error.message}; remote console:\n${session!.console.join('\n')}`;
    const back = await until(() => !!control.device() && control.device().ept !== null, 'the control channel of the next session', 10000).then(() => 'ok', withConsole);
    expect(back).toBe('ok');
    const reply = await control.command('stats').catch(withConsole);
    expect(reply).toMatch(/^ok stats /);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const statistics = session.host.rpmsgTransports(session.rproc)[0].statistics;
    expect(statistics.rxNoRecipient).toBe(0); // nothing addressed to the old session's endpoint
    expect(statistics.rxMessages).toBeLessThan(10); // the announcements and the stats reply only
  });

  // In-process too: the firmware's context turns an uncaught exception into a crash, as XS does.
  it('a JS crash in the firmware is seen by the host as a crash: channels removed, firmware restarted, services announced again', async () => {
    const probed: string[] = [];
    const removed: string[] = [];
    const driver: RpmsgDriver = { name: 'watch', idTable: ['rpmsg-client-sample'], probe: (device) => { probed.push(device.deviceName); }, remove: (device) => removed.push(device.deviceName), callback() {} };
    let control;
    ({ session, control } = await openTestSession(target, { beforeBoot: (host) => host.rpmsg.registerRpmsgDriver(driver) }));
    await until(() => probed.length === 1, 'first probe');
    expect(await control.command('crash')).toBe('ok crash');
    await until(() => probed.length === 2, 'probe after the firmware restarted', 30000);
    expect(removed).toHaveLength(1);
    expect(session.console.join('\n')).toMatch(/crash requested by the test/);
    expect(await control.command('stats')).toMatch(/^ok stats received=\d+/);
  });
});

describe('the host refuses firmware Linux would refuse', () => {
  it('a vring with num 0 fails the rpmsg vdev with the reason (Linux >= 6.1 probes vdevs separately), and no channel appears', async () => {
    const { InProcessRemote } = await import('../../host-sim/transports/in-process.ts');
    const { LinuxHost } = await import('../../host-sim/host.ts');
    const { readManifest } = await import('../../host-sim/session.ts');
    const echo = (await import('../../firmware/apps/echo/main.ts')).default;
    const { findVdevEntry } = await import('../../resource-table/in-place.ts');
    const remote = new InProcessRemote({ manifest: readManifest(), app: echo });
    const table = (remote.firmware as { resourceTable: Uint8Array }).resourceTable;
    const vdev = findVdevEntry(new DataView(table.buffer, table.byteOffset), 0, table.length);
    new DataView(table.buffer, table.byteOffset).setUint32(vdev + 28 + 8, 0, true);
    const host = new LinuxHost();
    const rproc = host.addRproc({ ops: remote, memory: remote.memory, dmaPool: remote.dmaPool });
    remote.attach(rproc);
    await rproc.boot(remote.firmware);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(host.log.lines.some((line) => line.level === 'err' && /num/.test(line.text))).toBe(true);
    expect(host.rpmsg.devices().filter((device) => device.name === 'rpmsg-client-sample')).toEqual([]);
    await rproc.shutdown();
  });

  it.each([
    ['version 2', (table: Uint8Array) => { table[0] = 2; }, /EINVAL.*version 2|unsupported.*version|ver/i],
    ['an entry offset past the end of the table', (table: Uint8Array) => { new DataView(table.buffer).setUint32(16, 0x10000, true); }, /offset|truncated|incomplete/i],
    ['non-zero reserved words', (table: Uint8Array) => { table[8] = 1; }, /reserved/i],
  ])('a resource table with %s is rejected with the reason, and the remote is never started', async (_what, corrupt, reason) => {
    const { InProcessRemote } = await import('../../host-sim/transports/in-process.ts');
    const { LinuxHost } = await import('../../host-sim/host.ts');
    const { readManifest } = await import('../../host-sim/session.ts');
    const echo = (await import('../../firmware/apps/echo/main.ts')).default;
    const remote = new InProcessRemote({ manifest: readManifest(), app: echo });
    const table = (remote.firmware as { resourceTable: Uint8Array }).resourceTable;
    corrupt(table);
    const host = new LinuxHost();
    const rproc = host.addRproc({ ops: remote, memory: remote.memory, dmaPool: remote.dmaPool });
    remote.attach(rproc);
    await expect(rproc.boot(remote.firmware)).rejects.toThrow(reason);
    expect(remote.runtime).toBeNull();
  });
});
