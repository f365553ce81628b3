/**
 * Smoke test of the real firmware bundle (runtime + echo app from manifest.json) on the XS
 * targets, driven by a host written by hand from the kernel layouts through the shared file
 * and the doorbell: the name-service announcement after DRIVER_OK, then one echo.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchQemu, PSRAM_BASE, type QemuInstance } from '../../launch/qemu.ts';
import { launchPosixRemote, type PosixRemote } from '../../launch/posix.ts';
import { buildFirmware } from '../../tools/build-firmware.ts';
import { findVdevEntry, readVringDa, writeVdevGfeatures, writeVdevStatus, writeVringDa, writeVringNotifyid } from '../../resource-table/in-place.ts';
import { vringLayout } from '../../wire/vring.ts';
import { DoorbellQueue, root } from './helpers.ts';

const TABLE_BYTES = 0x400;
const layout = vringLayout(256, 4096);
let cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of cleanup) await close();
  cleanup = [];
});

/** Positioned reads and writes of the shared file: coherent with QEMU's and the remote's mappings. */
class SharedFile {
  constructor(readonly path: string) {}
  read(offset: number, length: number): Buffer {
    const bytes = Buffer.alloc(length);
    const fd = openSync(this.path, 'r');
    try { readSync(fd, bytes, 0, length, offset); } finally { closeSync(fd); }
    return bytes;
  }
  write(offset: number, bytes: Uint8Array): void {
    const fd = openSync(this.path, 'r+');
    try { writeSync(fd, bytes, 0, bytes.length, offset); } finally { closeSync(fd); }
  }
  u16(offset: number): number { return this.read(offset, 2).readUInt16LE(0); }
  u32(offset: number): number { return this.read(offset, 4).readUInt32LE(0); }
  setU16(offset: number, value: number): void { const b = Buffer.alloc(2); b.writeUInt16LE(value); this.write(offset, b); }
  setU32(offset: number, value: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(value >>> 0); this.write(offset, b); }
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * What remoteproc + virtio_rpmsg_bus do, by hand: vring da/notifyid into the table (unless
 * fixed), 256 device-writable RX buffers on vring 0, status 1 -> 3 -> gfeatures -> 7, kick.
 * Returns helpers to send one message and read what the remote put on vring 0.
 */
function handHost(file: SharedFile, base: number, kick: () => void, fixed: { rx: number; tx: number } | null, buffers: number) {
  const table = new DataView(new Uint8Array(file.read(0, TABLE_BYTES)).buffer);
  const vdev = findVdevEntry(table, 0, TABLE_BYTES);
  const rx = fixed ? readVringDa(table, vdev, 0) - base : 0x10000;
  const tx = fixed ? readVringDa(table, vdev, 1) - base : 0x13000;
  if (!fixed) {
    writeVringDa(table, vdev, 0, base + rx);
    writeVringDa(table, vdev, 1, base + tx);
    writeVringNotifyid(table, vdev, 0, 0);
    writeVringNotifyid(table, vdev, 1, 1);
  }
  const descriptors = Buffer.alloc(256 * 16);
  const avail = Buffer.alloc(4 + 2 * 256);
  for (let i = 0; i < 256; i++) {
    descriptors.writeUInt32LE(base + buffers + 512 * i, 16 * i);
    descriptors.writeUInt32LE(512, 16 * i + 8);
    descriptors.writeUInt16LE(2, 16 * i + 12); // VRING_DESC_F_WRITE
    avail.writeUInt16LE(i, 4 + 2 * i);
  }
  avail.writeUInt16LE(256, 2);
  const boot = () => {
    file.write(rx, descriptors);
    file.write(rx + layout.avail, avail);
    for (const status of [1, 3]) writeVdevStatus(table, vdev, status);
    writeVdevGfeatures(table, vdev, 1);
    file.write(0, new Uint8Array(table.buffer));
    writeVdevStatus(table, vdev, 7);
    file.write(0, new Uint8Array(table.buffer));
    kick();
  };
  const send = (src: number, dst: number, text: string) => {
    const buffer = buffers + 256 * 512;
    const message = Buffer.alloc(16 + text.length);
    message.writeUInt32LE(src, 0);
    message.writeUInt32LE(dst, 4);
    message.writeUInt16LE(text.length, 12);
    message.write(text, 16, 'latin1');
    file.write(buffer, message);
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(base + buffer, 0);
    descriptor.writeUInt32LE(message.length, 8);
    file.write(tx, descriptor);
    file.setU16(tx + layout.avail + 4, 0);
    file.setU16(tx + layout.avail + 2, 1);
    kick();
  };
  const usedIdx = () => file.u16(rx + layout.used + 2);
  const received = (n: number) => {
    const id = file.u32(rx + layout.used + 4 + 8 * n);
    const length = file.u32(rx + layout.used + 8 + 8 * n);
    return file.read(buffers + 512 * id, length);
  };
  return { boot, send, usedIdx, received, txUsedIdx: () => file.u16(tx + layout.used + 2) };
}

function expectAnnouncement(message: Buffer): void {
  expect(message.length).toBe(56);
  expect(message.readUInt32LE(4)).toBe(53); // to the name service
  expect(message.readUInt16LE(12)).toBe(40);
  expect(message.subarray(16, 16 + 19).toString('latin1')).toBe('rpmsg-client-sample');
}

describe('the firmware bundle on XS, against a hand-written host', () => {
  const built: Record<string, string> = {};
  beforeAll(async () => {
    for (const target of ['qemu-mps2', 'posix'] as const) {
      built[target] = (await buildFirmware({ target, out: `${root}/build/test/${target}/runtime`, verbose: false })).output;
    }
  }, 600_000);

  it('qemu-mps2: announces rpmsg-client-sample after DRIVER_OK and echoes a message', async () => {
    const qemu: QemuInstance = await launchQemu({ elf: built['qemu-mps2'] });
    cleanup.push(() => qemu.close());
    const doorbell = new DoorbellQueue(await qemu.connectDoorbell());
    await qemu.cont();
    await qemu.waitForConsole('waiting for the host');
    const file = new SharedFile(qemu.shmPath);
    const host = handHost(file, PSRAM_BASE, () => doorbell.kick(), null, 0x20000);
    host.boot();
    expect(await doorbell.next()).toBe(0); // notifyid of vring 0
    await until(() => host.usedIdx() >= 1, 'the announcement');
    const announcement = host.received(0);
    expectAnnouncement(announcement);
    const remoteAddress = announcement.readUInt32LE(16 + 32);
    host.send(0x401, remoteAddress, 'hello world!');
    await until(() => host.usedIdx() >= 2 && host.txUsedIdx() >= 1, 'the echo');
    const echo = host.received(1);
    expect(echo.readUInt32LE(0)).toBe(remoteAddress);
    expect(echo.readUInt32LE(4)).toBe(0x401);
    expect(echo.subarray(16).toString('latin1')).toBe('hello world!');
  }, 60_000);

  it('posix: the same over OpenAMP\'s layout (fixed vrings in the file, addresses are offsets)', async () => {
    const remote: PosixRemote = launchPosixRemote({ executable: built.posix });
    cleanup.push(() => remote.close());
    await remote.waitForConsole('waiting for the host on');
    const doorbell = new DoorbellQueue(await remote.connectDoorbell());
    await remote.waitForConsole('waiting for the host (DRIVER_OK)');
    const file = new SharedFile(remote.shmPath);
    const host = handHost(file, 0, () => doorbell.kick(), { rx: 0x4000, tx: 0x8000 }, 0x10000);
    host.boot();
    await until(() => host.usedIdx() >= 1, 'the announcement');
    expectAnnouncement(host.received(0));
    const remoteAddress = host.received(0).readUInt32LE(16 + 32);
    host.send(0x401, remoteAddress, 'hello world!');
    await until(() => host.usedIdx() >= 2, 'the echo');
    expect(host.received(1).subarray(16).toString('latin1')).toBe('hello world!');
  }, 60_000);
});
