import { describe, expect, it, vi } from 'vitest';
import { RpmsgError } from '../../wire/errors.ts';
import { VRING_AVAIL_F_NO_INTERRUPT, VRING_IDX } from '../../wire/vring.ts';
import { encodeResourceTable, readVdevGfeatures } from '../../resource-table/index.ts';
import { LinuxHost, RprocVdev } from '../../host-sim/index.ts';
import { BASE, ScriptedRemote, bootScripted, rpmsgTable } from './scripted-remote.ts';

describe('boot: status handshake and feature negotiation as Linux does them', () => {
  it('writes 0 -> 1 -> 3 -> gfeatures -> 7 into the loaded table, never FEATURES_OK', async () => {
    const { rproc, remote } = await bootScripted();
    expect(rproc.virtioDevices[0].statusWrites).toEqual([0, 1, 3, 7]);
    expect(remote.status()).toBe(7);
    expect(readVdevGfeatures(remote.view, remote.vdev())).toBe(1);
    expect(rproc.state).toBe('running');
    expect(remote.started).toBe(1);
  });

  it('keeps only NS and the transport bits it knows (EVENT_IDX, INDIRECT_DESC) of what the firmware offers', async () => {
    const offered = (1 << 0) | (1 << 3) | (1 << 24) | (1 << 28) | (1 << 29) | (1 << 30);
    const { remote } = await bootScripted({ table: rpmsgTable({ dfeatures: offered >>> 0 }) });
    expect(readVdevGfeatures(remote.view, remote.vdev())).toBe(((1 << 0) | (1 << 28) | (1 << 29)) >>> 0);
  });

  it('does not negotiate NS when the firmware does not offer it (no name service device)', async () => {
    const { host, remote } = await bootScripted({ table: rpmsgTable({ dfeatures: 0 }) });
    expect(readVdevGfeatures(remote.view, remote.vdev())).toBe(0);
    expect(host.rpmsg.devices().map((d) => d.deviceName)).toEqual(['virtio0.rpmsg_ctrl.0.0']);
  });

  it('assigns notifyids from 0, writes vring da, posts every RX buffer before DRIVER_OK, then kicks vring 0 once', async () => {
    const seen: { status: number; rxPosted: number }[] = [];
    const original = RprocVdev.prototype.setStatus;
    let remoteRef: ScriptedRemote | null = null;
    const spy = vi.spyOn(RprocVdev.prototype, 'setStatus').mockImplementation(function (this: RprocVdev, status: number) {
      original.call(this, status);
      seen.push({ status, rxPosted: status === 7 && remoteRef ? remoteRef.availIdx(0) : -1 });
    });
    try {
      const remote = new ScriptedRemote(0);
      remoteRef = remote;
      const host = new LinuxHost();
      const rproc = host.addRproc({ ops: remote.ops(), memory: remote.memory });
      const table = encodeResourceTable(rpmsgTable());
      remote.tableSize = table.length;
      remote.memory.bytes.set(table, 0);
      await rproc.boot({ resourceTable: table, offset: 0 });
      expect(seen.find((s) => s.status === 7)?.rxPosted).toBe(256);
      expect(remote.ring(0).notifyid).toBe(0);
      expect(remote.ring(1).notifyid).toBe(1);
      expect(remote.kicks).toEqual([0]);
      // vring 1: TX-complete interrupts suppressed
      expect(remote.availFlags(1) & VRING_AVAIL_F_NO_INTERRUPT).toBe(1);
      expect(remote.availFlags(0)).toBe(0);
      expect(remote.availIdx(1)).toBe(0);
      // rings are page-aligned inside the shared memory and do not overlap the table
      expect(remote.ring(0).desc % 4096).toBe(0);
      expect(remote.ring(0).desc).toBeGreaterThanOrEqual(4096);
      expect(host.log.find('rpmsg host is online')).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('RX descriptors are device-writable, 512 bytes, in the lower half of the buffer block', async () => {
    const { remote } = await bootScripted();
    const first = remote.takeAvail(0)!;
    expect(first.len).toBe(512);
    const view = remote.view;
    const flags = view.getUint16(remote.ring(0).desc + first.head * 16 + 12, true);
    expect(flags).toBe(2);
    expect(first.addr).toBeGreaterThanOrEqual(BASE);
  });

  it('uses 2*num buffers when vrings are smaller than 256', async () => {
    const { rproc, remote } = await bootScripted({ table: rpmsgTable({ num: 16 }) });
    expect(remote.availIdx(0)).toBe(16);
    expect(rproc.allocations().find((entry) => entry.name === 'vdev0buffer')?.len).toBe(32 * 512);
  });
});

describe('resource tables Linux rejects', () => {
  const expectBootRefused = async (mutate: (bytes: Uint8Array) => void, fragment: string): Promise<void> => {
    const remote = new ScriptedRemote(0);
    const host = new LinuxHost();
    const rproc = host.addRproc({ ops: remote.ops(), memory: remote.memory });
    const table = encodeResourceTable(rpmsgTable());
    mutate(table);
    const error = await rproc.boot({ resourceTable: table, offset: 0 }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(RpmsgError);
    expect((error as RpmsgError).code).toBe('EINVAL');
    expect((error as Error).message).toContain(fragment);
    expect(rproc.state).toBe('offline');
    expect(remote.started).toBe(0);
    expect(rproc.counters.count('boot-failed')).toBe(1);
  };

  it('ver 2', () => expectBootRefused((t) => { t[0] = 2; }, 'ver is 2'));
  it('vdev with non-zero reserved bytes', () => expectBootRefused((t) => { t[20 + 26] = 1; }, 'reserved[]'));
  it('vring align 0 fails only the vdev (rproc-virtio probe, Linux >= 6.1): the remote boots without rpmsg', async () => {
    const table = rpmsgTable();
    (table.entries[0] as { vrings: { align: number }[] }).vrings[1].align = 0;
    const { host, rproc } = await bootScripted({ table });
    expect(rproc.state).toBe('running');
    expect(rproc.virtioDevices).toEqual([]);
    expect(rproc.counters.count('vdev-probe-failed')).toBe(1);
    expect(host.log.find('invalid qsz (256) or alignment (0)')).toHaveLength(1);
  });
  it('an offset past the end', () => expectBootRefused((t) => new DataView(t.buffer).setUint32(16, 1000, true), 'offset[0] = 1000'));

  it('a vring size that is not a power of two passes boot but fails the rpmsg probe (status FAILED): our refusal, which the message says Linux 6.x does not make', async () => {
    const { host, rproc, remote } = await bootScripted({ table: rpmsgTable({ num: 100 }) });
    expect(rproc.state).toBe('running');
    expect(remote.status() & 0x80).toBe(0x80);
    expect(host.log.find('num 100 is not a power of two')).toHaveLength(1);
    expect(host.log.find('Linux 6.x accepts it')).toHaveLength(1);
    expect(host.log.find('Bad virtqueue length')).toHaveLength(0);
  });

  it('a fixed vring da outside the shared memory fails the boot with ENOMEM', async () => {
    const table = rpmsgTable();
    (table.entries[0] as { vrings: { da: number }[] }).vrings[0].da = 0x10;
    const error = await bootScripted({ table }).then(() => null, (e: unknown) => e);
    expect((error as RpmsgError).code).toBe('ENOMEM');
  });
});

describe('fixed layouts', () => {
  it("honours fixed vring addresses (OpenAMP's 0x4000/0x8000 layout) and a reserved buffer region", async () => {
    const remote = new ScriptedRemote(0);
    const host = new LinuxHost();
    const rproc = host.addRproc({ ops: remote.ops(), memory: remote.memory, reservedMemory: [{ name: 'vdev0buffer', da: BASE + 0x10000, len: 0x40000 }] });
    const table = rpmsgTable();
    const vrings = (table.entries[0] as { vrings: { da: number }[] }).vrings;
    vrings[0].da = BASE + 0x4000;
    vrings[1].da = BASE + 0x8000;
    const bytes = encodeResourceTable(table);
    remote.tableSize = bytes.length;
    remote.memory.bytes.set(bytes, 0);
    await rproc.boot({ resourceTable: bytes, offset: 0 });
    expect(remote.ring(0).desc).toBe(0x4000);
    expect(remote.ring(1).desc).toBe(0x8000);
    expect(remote.takeAvail(0)!.addr).toBe(BASE + 0x10000);
    expect(remote.view.getUint16(remote.ring(0).avail + VRING_IDX, true)).toBe(256);
  });
});
