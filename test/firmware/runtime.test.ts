// The remote runtime against a host written by hand from the kernel's byte layouts (no host-sim).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startRuntime, type Rpmsg } from '../../firmware/runtime/runtime.ts';
import { createInProcessPlatform, InProcessDoorbells } from '../../firmware/platform/in-process/platform.ts';
import { placeInProcessImage } from '../../launch/in-process.ts';
import echoApp from '../../firmware/apps/echo/main.ts';
import { findVdevEntry, writeVdevStatus, writeVdevGfeatures, writeVringDa, writeVringNotifyid } from '../../resource-table/in-place.ts';
import { vringLayout } from '../../wire/vring.ts';

const BASE = 0x21000000;
const manifest = JSON.parse(readFileSync(new URL('../../manifest.json', import.meta.url), 'utf8'));
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** A host that does by hand what Linux's remoteproc + virtio_rpmsg_bus do, byte by byte. */
function handHost(app: (rpmsg: Rpmsg) => void = echoApp) {
  const memory = new ArrayBuffer(1 << 20);
  const bytes = new Uint8Array(memory);
  const view = new DataView(memory);
  const image = placeInProcessImage(manifest, bytes, BASE);
  const doorbells = new InProcessDoorbells();
  const kicks: number[] = [];
  doorbells.onHostNotify = (id) => kicks.push(id);
  const vdev = findVdevEntry(view, 0, image.resourceTable.length);
  const layout = vringLayout(256, 4096);
  const rx = image.end; // vring 0 (host RX)
  const tx = rx + 3 * 4096; // vring 1 (host TX)
  const buffers = tx + 3 * 4096; // 512 buffers of 512 bytes
  const platform = createInProcessPlatform({ memory, memoryBase: BASE, resourceTableOffset: 0, doorbells });
  const runtime = startRuntime(platform, app);
  const boot = () => {
    writeVringDa(view, vdev, 0, BASE + rx);
    writeVringDa(view, vdev, 1, BASE + tx);
    writeVringNotifyid(view, vdev, 0, 0);
    writeVringNotifyid(view, vdev, 1, 1);
    // 256 RX buffers on vring 0, device-writable (VRING_DESC_F_WRITE = 2)
    for (let i = 0; i < 256; i++) {
      view.setUint32(rx + 16 * i, BASE + buffers + 512 * i, true);
      view.setUint32(rx + 16 * i + 8, 512, true);
      view.setUint16(rx + 16 * i + 12, 2, true);
      view.setUint16(rx + layout.avail + 4 + 2 * i, i, true);
    }
    view.setUint16(rx + layout.avail + 2, 256, true);
    writeVdevStatus(view, vdev, 1);
    writeVdevStatus(view, vdev, 3);
    writeVdevGfeatures(view, vdev, 1);
    writeVdevStatus(view, vdev, 7);
    doorbells.ringRemote();
  };
  return { view, bytes, rx, tx, buffers, layout, kicks, boot, runtime, doorbells, vdev };
}

describe('remote runtime against a hand-written host', () => {
  it('announces rpmsg-client-sample (NS create to 53, 40 bytes) once DRIVER_OK is set, not before', async () => {
    const host = handHost();
    await tick();
    expect(host.view.getUint16(host.rx + host.layout.used + 2, true)).toBe(0);
    host.boot();
    await tick();
    const { view, rx, layout, buffers, bytes } = host;
    expect(view.getUint16(rx + layout.used + 2, true)).toBe(1); // used.idx
    expect(view.getUint32(rx + layout.used + 4, true)).toBe(0); // used.ring[0].id = descriptor 0
    expect(view.getUint32(rx + layout.used + 8, true)).toBe(56); // 16 + 40
    const message = bytes.slice(buffers, buffers + 56);
    expect([...message.slice(0, 16)]).toEqual([0x00, 0x04, 0, 0, 0x35, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0]);
    expect(new TextDecoder().decode(message.slice(16, 16 + 19))).toBe('rpmsg-client-sample');
    expect([...message.slice(16 + 32)]).toEqual([0x00, 0x04, 0, 0, 0, 0, 0, 0]);
    expect(host.kicks).toEqual([0]); // notifyid of vring 0
    host.runtime.stop();
  });

  it('echoes a host message back to its src, and returns the TX buffer on vring 1', async () => {
    const host = handHost();
    host.boot();
    await tick();
    const { view, bytes, tx, layout, buffers, rx } = host;
    // Host TX buffer 256 (upper half): hdr {src 0x401, dst 0x400, len 12} + "hello world!"
    const buffer = buffers + 256 * 512;
    view.setUint32(buffer, 0x401, true);
    view.setUint32(buffer + 4, 0x400, true);
    view.setUint16(buffer + 12, 12, true);
    bytes.set(new TextEncoder().encode('hello world!'), buffer + 16);
    view.setUint32(tx, BASE + buffer, true);
    view.setUint32(tx + 8, 28, true);
    view.setUint16(tx + layout.avail + 4, 0, true);
    view.setUint16(tx + layout.avail + 2, 1, true);
    host.doorbells.ringRemote();
    await tick();
    expect(view.getUint16(tx + layout.used + 2, true)).toBe(1); // consumed
    expect(view.getUint16(rx + layout.used + 2, true)).toBe(2); // NS + echo
    const echo = buffers + 512; // second RX buffer
    expect(view.getUint32(echo, true)).toBe(0x400);
    expect(view.getUint32(echo + 4, true)).toBe(0x401);
    expect(view.getUint16(echo + 12, true)).toBe(12);
    expect(new TextDecoder().decode(bytes.slice(echo + 16, echo + 28))).toBe('hello world!');
    expect(host.kicks).toContain(1); // vring 1 returned: the host may have a sender waiting
    host.runtime.stop();
  });

  it('drops a message whose header length exceeds the buffer, counted, and returns the buffer', async () => {
    const host = handHost();
    host.boot();
    await tick();
    const { view, tx, layout, buffers } = host;
    const buffer = buffers + 256 * 512;
    view.setUint32(buffer, 0x401, true);
    view.setUint32(buffer + 4, 0x400, true);
    view.setUint16(buffer + 12, 200, true); // claims 200 bytes in a 28-byte buffer
    view.setUint32(tx, BASE + buffer, true);
    view.setUint32(tx + 8, 28, true);
    view.setUint16(tx + layout.avail + 2, 1, true);
    host.doorbells.ringRemote();
    await tick();
    expect(host.runtime.errors.count('header-length-above-buffer')).toBe(1);
    expect(view.getUint16(tx + layout.used + 2, true)).toBe(1);
    expect(host.runtime.statistics.sent).toBe(1); // only the NS announcement
    host.runtime.stop();
  });

  it('treats status 0 as a host reset: onError (EPIPE) on open endpoints, announced again at the next DRIVER_OK', async () => {
    const errors: string[] = [];
    const host = handHost((rpmsg) => {
      echoApp(rpmsg);
      rpmsg.createEndpoint({ onError: (error) => errors.push(error.code) });
    });
    host.boot();
    await tick();
    writeVdevStatus(host.view, host.vdev, 0);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(host.runtime.hostReady).toBe(false);
    expect(errors).toEqual(['EPIPE']);
    host.view.setUint16(host.rx + host.layout.used + 2, 0, true); // the host re-initialises its rings
    host.view.setUint16(host.rx + host.layout.avail + 2, 0, true);
    host.boot();
    await tick();
    expect(host.runtime.hostReady).toBe(true);
    expect(host.view.getUint16(host.rx + host.layout.used + 2, true)).toBe(1);
    host.runtime.stop();
  });
});
