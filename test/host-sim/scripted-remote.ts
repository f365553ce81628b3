/**
 * A scripted remote for host tests: raw bytes in a SharedMemory, written by hand from the
 * virtio ring and rpmsg layouts (not the firmware runtime), so tests can play a well-behaved
 * or a hostile device.
 */
import { SharedMemory } from '../../wire/shared-memory.ts';
import { VRING_DESC_ADDR, VRING_DESC_LEN, VRING_DESC_SIZE, VRING_IDX, VRING_RING, vringLayout } from '../../wire/vring.ts';
import { findVdevEntry, readVdevStatus, readVringDa, readVringNum, readVringAlign, readVringNotifyid, FW_RSC_ADDR_ANY } from '../../resource-table/index.ts';
import { encodeResourceTable, type ResourceTable } from '../../resource-table/index.ts';
import { LinuxHost, type Rproc, type RprocOps } from '../../host-sim/index.ts';
import type { RecoveryLimit } from '../../host-sim/remoteproc/remoteproc-core.ts';

export const BASE = 0x21000000;
export const MEMORY_SIZE = 0x100000;

/** A one-vdev rpmsg table (num entries per vring, dfeatures as given, optional trace at traceDa). */
export function rpmsgTable(options: { num?: number; dfeatures?: number; trace?: { da: number; len: number } } = {}): ResourceTable {
  const vring = { da: FW_RSC_ADDR_ANY, align: 4096, num: options.num ?? 256, notifyid: FW_RSC_ADDR_ANY, pa: 0 };
  return {
    ver: 1,
    reserved: [0, 0],
    entries: [
      ...(options.trace ? [{ kind: 'trace' as const, da: options.trace.da, len: options.trace.len, reserved: 0, name: 'trace' }] : []),
      { kind: 'vdev', id: 7, notifyid: 0, dfeatures: options.dfeatures ?? 1, gfeatures: 0, status: 0, reserved: [0, 0], vrings: [vring, { ...vring }], config: new Uint8Array(0) },
    ],
  };
}

/** One message as the remote sees it on vring 1. */
export interface SeenMessage {
  head: number;
  src: number;
  dst: number;
  len: number;
  data: Uint8Array;
  descLen: number;
}

/** The device side, by hand. */
export class ScriptedRemote {
  readonly memory: SharedMemory;
  readonly kicks: number[] = [];
  readonly lastAvail = [0, 0];
  started = 0;
  stopped = 0;
  tableSize = 0;

  constructor(readonly tableOffset = 0) {
    this.memory = new SharedMemory(new ArrayBuffer(MEMORY_SIZE), BASE);
  }

  /** rproc ops that record what the host does. */
  ops(): RprocOps {
    return {
      start: () => { this.started++; this.lastAvail[0] = 0; this.lastAvail[1] = 0; },
      stop: () => { this.stopped++; },
      kick: (notifyid) => { this.kicks.push(notifyid); },
    };
  }

  get view(): DataView {
    return this.memory.view;
  }

  vdev(): number {
    return findVdevEntry(this.view, this.tableOffset, this.tableSize);
  }

  status(): number {
    return readVdevStatus(this.view, this.vdev());
  }

  /** Local offsets of vring i's parts, from the da the host wrote. */
  ring(i: number): { desc: number; avail: number; used: number; num: number; notifyid: number } {
    const vdev = this.vdev();
    const num = readVringNum(this.view, vdev, i);
    const start = readVringDa(this.view, vdev, i) - BASE;
    const layout = vringLayout(num, readVringAlign(this.view, vdev, i));
    return { desc: start + layout.desc, avail: start + layout.avail, used: start + layout.used, num, notifyid: readVringNotifyid(this.view, vdev, i) };
  }

  availIdx(i: number): number {
    return this.view.getUint16(this.ring(i).avail + VRING_IDX, true);
  }

  availFlags(i: number): number {
    return this.view.getUint16(this.ring(i).avail, true);
  }

  usedIdx(i: number): number {
    return this.view.getUint16(this.ring(i).used + VRING_IDX, true);
  }

  /** Next avail entry of vring i: its head and the descriptor's addr/len (as written by the host). */
  takeAvail(i: number): { head: number; addr: number; len: number } | null {
    const r = this.ring(i);
    if (this.lastAvail[i] === this.availIdx(i)) return null;
    const head = this.view.getUint16(r.avail + VRING_RING + 2 * (this.lastAvail[i] % r.num), true);
    this.lastAvail[i] = (this.lastAvail[i] + 1) & 0xffff;
    const d = r.desc + head * VRING_DESC_SIZE;
    return { head, addr: this.view.getUint32(d + VRING_DESC_ADDR, true), len: this.view.getUint32(d + VRING_DESC_LEN, true) };
  }

  /** Put {id, len} on vring i's used ring and bump used.idx. */
  pushUsed(i: number, id: number, len: number): void {
    const r = this.ring(i);
    const idx = this.usedIdx(i);
    const element = r.used + VRING_RING + 8 * (idx % r.num);
    this.view.setUint32(element, id, true);
    this.view.setUint32(element + 4, len, true);
    this.view.setUint16(r.used + VRING_IDX, (idx + 1) & 0xffff, true);
  }

  /** Write a message into the next RX buffer of vring 0; usedLen/headerLen override the honest values. */
  send(src: number, dst: number, payload: Uint8Array, options: { usedLen?: number; headerLen?: number } = {}): number {
    const buffer = this.takeAvail(0);
    if (!buffer) throw new Error('the host posted no RX buffer');
    const at = buffer.addr - BASE;
    this.view.setUint32(at, src, true);
    this.view.setUint32(at + 4, dst, true);
    this.view.setUint32(at + 8, 0, true);
    this.view.setUint16(at + 12, options.headerLen ?? payload.length, true);
    this.view.setUint16(at + 14, 0, true);
    this.memory.bytes.set(payload, at + 16);
    this.pushUsed(0, buffer.head, options.usedLen ?? 16 + payload.length);
    return buffer.head;
  }

  /** A name-service announcement (struct rpmsg_ns_msg) from `addr`. */
  announce(name: string, addr: number, flags = 0, length = 40): void {
    const message = new Uint8Array(40);
    for (let i = 0; i < name.length; i++) message[i] = name.charCodeAt(i);
    new DataView(message.buffer).setUint32(32, addr, true);
    new DataView(message.buffer).setUint32(36, flags, true);
    this.send(addr, 53, message.subarray(0, length));
  }

  /** Take every message the host queued on vring 1; return them to the used ring unless keep. */
  receive(keep = false): SeenMessage[] {
    const seen: SeenMessage[] = [];
    for (let buffer = this.takeAvail(1); buffer; buffer = this.takeAvail(1)) {
      const at = buffer.addr - BASE;
      const len = this.view.getUint16(at + 12, true);
      seen.push({
        head: buffer.head,
        src: this.view.getUint32(at, true),
        dst: this.view.getUint32(at + 4, true),
        len,
        data: this.memory.bytes.slice(at + 16, at + 16 + len),
        descLen: buffer.len,
      });
      if (!keep) this.pushUsed(1, buffer.head, buffer.len);
    }
    return seen;
  }
}

/** A host with one rproc over a scripted remote whose table sits at offset 0 of the memory. */
export async function bootScripted(options: { table?: ResourceTable; txTimeoutMs?: number; boot?: boolean; recoveryLimit?: Partial<RecoveryLimit> } = {}): Promise<{ host: LinuxHost; rproc: Rproc; remote: ScriptedRemote }> {
  const remote = new ScriptedRemote(0);
  const host = new LinuxHost({ txTimeoutMs: options.txTimeoutMs ?? 15000 });
  const rproc = host.addRproc({ ops: remote.ops(), memory: remote.memory, recoveryLimit: options.recoveryLimit });
  const table = encodeResourceTable(options.table ?? rpmsgTable());
  remote.tableSize = table.length;
  remote.memory.bytes.set(table, 0);
  if (options.boot !== false) await rproc.boot({ resourceTable: table, offset: 0 });
  return { host, rproc, remote };
}

/** Latin-1 text of bytes. */
export function text(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}
