/**
 * A host written by hand from the kernel's byte layouts (struct fw_rsc_vdev, vring_desc,
 * vring_avail, vring_used, rpmsg_hdr), for the remote runtime's tests: no host-sim. It does what
 * Linux's remoteproc + virtio_rpmsg_bus do at the byte level, and the odd things real hosts do
 * (reset while a send blocks, set rings up afresh, NEEDS_RESET, corrupt a ring).
 */
import { readFileSync } from 'node:fs';
import { startRuntime, type Rpmsg, type Runtime } from '../../firmware/runtime/runtime.ts';
import { createInProcessPlatform, InProcessDoorbells } from '../../firmware/platform/in-process/platform.ts';
import type { Platform } from '../../firmware/runtime/platform.ts';
import { placeInProcessImage } from '../../launch/in-process.ts';
import { findVdevEntry, readVdevStatus, writeVdevGfeatures, writeVdevStatus, writeVringDa, writeVringNotifyid } from '../../resource-table/in-place.ts';
import { vringLayout } from '../../wire/vring.ts';

export const BASE = 0x21000000;
const NUM = 256;
const manifest = JSON.parse(readFileSync(new URL('../../manifest.json', import.meta.url), 'utf8'));

/** Lets the event loop run the remote's passes (doorbells) for `ms`. */
export const tick = (ms = 5): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A message the remote put on vring 0. */
export interface Sent { src: number; dst: number; len: number; data: Uint8Array; usedLen: number }

export interface HandHostOptions {
  /** Called with the platform before the runtime starts (to wrap hooks). */
  platform?: (platform: Platform) => void;
  /** Console lines of the remote. */
  log?: string[];
  /** Runtime poll period once running (default 20 ms, as the runtime). */
  pollWhileRunning?: number;
}

/** Boot a remote running `app` in a 1 MiB window; the host side is driven through the returned object. */
export function handHost(app: (rpmsg: Rpmsg) => void, options: HandHostOptions = {}) {
  const memory = new ArrayBuffer(1 << 20);
  const bytes = new Uint8Array(memory);
  const view = new DataView(memory);
  const image = placeInProcessImage(manifest, bytes, BASE);
  const doorbells = new InProcessDoorbells();
  const kicks: number[] = [];
  /** Runs inside the host's doorbell handler (also when a blocked remote send delivers it). */
  let onKick: ((notifyId: number) => void) | null = null;
  doorbells.onHostNotify = (id) => {
    kicks.push(id);
    onKick?.(id);
  };
  const vdev = findVdevEntry(view, 0, image.resourceTable.length);
  const layout = vringLayout(NUM, 4096);
  const rx = image.end; // vring 0: host RX = remote TX
  const tx = rx + 3 * 4096; // vring 1: host TX = remote RX
  const buffers = tx + 3 * 4096; // 512 buffers of 512 bytes: 0..255 RX, 256..511 TX
  const logLines = options.log ?? [];
  const platform = createInProcessPlatform({ memory, memoryBase: BASE, resourceTableOffset: 0, doorbells, log: (line) => logLines.push(line) });
  options.platform?.(platform);
  const runtime: Runtime = startRuntime(platform, app, { pollWhileRunning: options.pollWhileRunning ?? 20 });
  /** Host-side state of this session's rings. */
  let rxSeen = 0; // used.idx of vring 0 the host has read up to
  let txPosted = 0; // avail.idx of vring 1

  const u16 = (at: number) => view.getUint16(at, true);
  const host = {
    view, bytes, rx, tx, buffers, layout, kicks, doorbells, vdev, runtime, platform, log: logLines,
    set onKick(handler: ((notifyId: number) => void) | null) {
      onKick = handler;
    },
    /** rp_find_vq + virtio_rpmsg_bus probe + DRIVER_OK: rings zeroed, `rxBuffers` RX buffers posted, status 1, 3, 7. */
    boot(boot: { features?: number; rxBuffers?: number; rxDa?: number } = {}) {
      bytes.fill(0, rx, buffers);
      rxSeen = 0;
      txPosted = 0;
      writeVringDa(view, vdev, 0, boot.rxDa ?? BASE + rx);
      writeVringDa(view, vdev, 1, BASE + tx);
      writeVringNotifyid(view, vdev, 0, 0);
      writeVringNotifyid(view, vdev, 1, 1);
      const count = boot.rxBuffers ?? NUM;
      for (let i = 0; i < count; i++) {
        view.setUint32(rx + 16 * i, BASE + buffers + 512 * i, true);
        view.setUint32(rx + 16 * i + 8, 512, true);
        view.setUint16(rx + 16 * i + 12, 2, true); // VRING_DESC_F_WRITE
        view.setUint16(rx + layout.avail + 4 + 2 * i, i, true);
      }
      view.setUint16(rx + layout.avail + 2, count, true);
      writeVdevStatus(view, vdev, 0);
      writeVdevStatus(view, vdev, 1);
      writeVdevStatus(view, vdev, 3);
      writeVdevGfeatures(view, vdev, boot.features ?? 1);
      writeVdevStatus(view, vdev, 7);
      doorbells.ringRemote();
    },
    status(value?: number): number {
      if (value !== undefined) writeVdevStatus(view, vdev, value);
      return readVdevStatus(view, vdev);
    },
    /** Post one host->remote message on vring 1 (descriptor = slot, buffer 256 + slot); ring unless `kick` is false. */
    send(src: number, dst: number, payload: Uint8Array | string, kick = true) {
      const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
      const slot = txPosted % NUM;
      const buffer = buffers + 512 * (NUM + slot);
      view.setUint32(buffer, src, true);
      view.setUint32(buffer + 4, dst, true);
      view.setUint32(buffer + 8, 0, true);
      view.setUint16(buffer + 12, data.length, true);
      view.setUint16(buffer + 14, 0, true);
      bytes.set(data, buffer + 16);
      view.setUint32(tx + 16 * slot, BASE + buffer, true);
      view.setUint32(tx + 16 * slot + 4, 0, true);
      view.setUint32(tx + 16 * slot + 8, 16 + data.length, true);
      view.setUint16(tx + 16 * slot + 12, 0, true);
      view.setUint16(tx + layout.avail + 4 + 2 * slot, slot, true);
      txPosted = (txPosted + 1) & 0xffff;
      view.setUint16(tx + layout.avail + 2, txPosted, true);
      if (kick) doorbells.ringRemote();
    },
    /** Messages the remote returned on vring 0 since the last call. */
    received(): Sent[] {
      const out: Sent[] = [];
      const usedIdx = u16(rx + layout.used + 2);
      while (rxSeen !== usedIdx) {
        const element = rx + layout.used + 4 + 8 * (rxSeen % NUM);
        const id = view.getUint32(element, true);
        const usedLen = view.getUint32(element + 4, true);
        const buffer = buffers + 512 * id;
        const len = u16(buffer + 12);
        out.push({ src: view.getUint32(buffer, true), dst: view.getUint32(buffer + 4, true), len, data: bytes.slice(buffer + 16, buffer + 16 + len), usedLen });
        rxSeen = (rxSeen + 1) & 0xffff;
      }
      return out;
    },
    /** used.idx of vring 0 / vring 1. */
    rxUsedIdx: () => u16(rx + layout.used + 2),
    txUsedIdx: () => u16(tx + layout.used + 2),
    /** used.flags and used.avail_event (EVENT_IDX) the remote wrote on vring `index`. */
    usedFlags: (index: 0 | 1) => u16((index === 0 ? rx : tx) + layout.used),
    availEvent: (index: 0 | 1) => u16((index === 0 ? rx : tx) + layout.used + 4 + 8 * NUM),
    availIdx: (index: 0 | 1) => u16((index === 0 ? rx : tx) + layout.avail + 2),
    /** Write avail.used_event of vring `index` (EVENT_IDX: the host wants an interrupt when used.idx passes it). */
    setUsedEvent: (index: 0 | 1, value: number) => view.setUint16((index === 0 ? rx : tx) + layout.avail + 4 + 2 * NUM, value, true),
    /** Repost RX buffers the remote used (vring 0), as rpmsg_recv_done does. */
    repostRx(count: number) {
      let idx = u16(rx + layout.avail + 2);
      const used = u16(rx + layout.used + 2);
      for (let i = 0; i < count; i++) {
        const element = rx + layout.used + 4 + 8 * ((used - count + i) & (NUM - 1));
        const id = view.getUint32(element, true);
        view.setUint16(rx + layout.avail + 4 + 2 * (idx % NUM), id, true);
        idx = (idx + 1) & 0xffff;
      }
      view.setUint16(rx + layout.avail + 2, idx, true);
    },
    stop() {
      runtime.stop();
      doorbells.close();
    },
  };
  return host;
}

export type HandHost = ReturnType<typeof handHost>;

/** NS announcements among `sent`: name, address, flags. */
export function announcements(sent: Sent[]): { name: string; addr: number; flags: number }[] {
  return sent.filter((message) => message.dst === 53).map((message) => {
    const view = new DataView(message.data.buffer, message.data.byteOffset);
    let name = '';
    for (let i = 0; i < 32 && message.data[i] !== 0; i++) name += String.fromCharCode(message.data[i]);
    return { name, addr: view.getUint32(32, true), flags: view.getUint32(36, true) };
  });
}
