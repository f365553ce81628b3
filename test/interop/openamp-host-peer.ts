/**
 * A TEST MODEL of an OpenAMP Linux-port host (the "master" of OpenAMP's legacy demo apps),
 * written from shared/design/WIRE.md "Reference peers", not from OpenAMP's code. It behaves
 * the way that host does on the wire, including the habits Linux does not have, so the posix
 * remote can be checked against them without an OpenAMP build:
 * - addresses are offsets into /dev/shm/openamp.shm (0x80000 bytes); vrings at 0x4000 and
 *   0x8000 (num 256, align 0x1000, notifyids 1/2); buffers 0x10000..0x4FFFF, RX the lower
 *   half, TX from 0x30000;
 * - handshake: gfeatures = dfeatures (set_features, at vdev creation, before the rings are
 *   zeroed), then status = 0x04 (DRIVER_OK alone, set_status); each write is followed by a
 *   notify with the vdev's notifyid (one kick byte on the socket: the id is not sent);
 * - reset: status = NEEDS_RESET (0x40), notify, then wait for the remote to write 0;
 * - desc.len and used.len are the whole 512-byte buffer; message lengths come from hdr.len;
 *   hdr.reserved carries the host's own bookkeeping (garbage to the remote);
 * - its endpoints take addresses from 0x400 with dst ANY and are announced by NS, with
 *   garbage after the name's NUL;
 * - VRING_AVAIL_F_NO_INTERRUPT on vring 1; a kick is one byte 0x01 that names no vring, so
 *   every kick from the remote makes it look at both vrings.
 * Raw accessors (view, vdev, writeStatus, kick, ...) let hostile tests break each rule.
 */
import type { Socket } from 'node:net';
import type { PosixRemote } from '../../launch/posix.ts';
import { mapSharedFile } from '../../host-sim/native/shm-map.ts';
import {
  findVdevEntry,
  readVdevDfeatures,
  readVdevStatus,
  readVringAlign,
  readVringDa,
  readVringNum,
  writeVdevGfeatures,
  writeVdevStatus,
} from '../../resource-table/in-place.ts';
import { VDEV_NOTIFYID } from '../../resource-table/layout.ts';
import { decodeNameServiceMessage, writeNameServiceMessage, RPMSG_NAME_SIZE, RPMSG_NS_CREATE, RPMSG_NS_DESTROY, RPMSG_NS_MSG_SIZE } from '../../wire/name-service.ts';
import {
  RPMSG_ADDR_ANY,
  RPMSG_BUF_SIZE,
  RPMSG_HDR_RESERVED,
  RPMSG_HDR_SIZE,
  RPMSG_MTU,
  RPMSG_NS_ADDR,
  RPMSG_RESERVED_ADDRESSES,
  readRpmsgHeader,
  writeRpmsgHeader,
} from '../../wire/rpmsg.ts';
import { SharedMemory } from '../../wire/shared-memory.ts';
import {
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_ADDR,
  VRING_DESC_F_WRITE,
  VRING_DESC_FLAGS,
  VRING_DESC_LEN,
  VRING_DESC_NEXT,
  VRING_DESC_SIZE,
  VRING_FLAGS,
  VRING_IDX,
  VRING_RING,
  VRING_USED_ELEM_SIZE,
  VRING_USED_F_NO_NOTIFY,
  vringLayout,
} from '../../wire/vring.ts';

/** OpenAMP's Linux-port defaults (WIRE.md "Reference peers"). */
export const OPENAMP = {
  shmSize: 0x80000,
  vrings: [0x4000, 0x8000],
  num: 256,
  align: 0x1000,
  notifyIds: [1, 2],
  bufferPool: 0x10000,
  bufferPoolSize: 0x40000,
  txBuffers: 0x30000,
  /** The one byte every kick carries. */
  kickByte: 0x01,
  /** Value OpenAMP's status write sets: DRIVER_OK alone. */
  driverOk: 0x04,
  /** VIRTIO_CONFIG_STATUS_NEEDS_RESET: what rproc_virtio_reset_device writes. */
  needsReset: 0x40,
} as const;

/** Garbage the model writes after a name's NUL and into hdr.reserved (OpenAMP's bookkeeping stands in). */
const RESERVED_GARBAGE = 0x8000_5a5a;

/** A host endpoint (struct rpmsg_endpoint of the model). */
export interface PeerEndpoint {
  name: string;
  address: number;
  /** RPMSG_ADDR_ANY until the remote's NS announcement (or first message) names it. */
  destination: number;
  onMessage: (data: Uint8Array, source: number) => void;
}

/** A message the remote sent, as the model received it. */
export interface ReceivedMessage {
  src: number;
  dst: number;
  data: Uint8Array;
}

/** OpenAMP-convention host over the posix remote's shared file and doorbell socket. */
export class OpenAmpHostPeer {
  readonly memory: SharedMemory;
  readonly view: DataView;
  /** Offset of the rpmsg vdev entry in the remote's table (at file offset 0). */
  readonly vdev: number;
  readonly layout = vringLayout(OPENAMP.num, OPENAMP.align);
  /** Services the remote announced: name -> address (destroyed ones removed). */
  readonly remoteServices = new Map<string, number>();
  /** Messages to addresses without an endpoint. */
  readonly unrouted: ReceivedMessage[] = [];
  /** Kicks received from the remote, and kicks sent. */
  kicksReceived = 0;
  kicksSent = 0;
  /** The notifyid of every notify the model made, in order (vdev's for set_features/set_status, a vring's for a kick); -1 for a raw kick(). */
  readonly notified: number[] = [];
  /**
   * used.len and hdr.len of every vring 0 element consumed. OpenAMP's remote writes used.len 512
   * (the whole buffer), ours 16 + len; OpenAMP's host takes the length from hdr.len either way.
   */
  readonly usedElements: { usedLength: number; messageLength: number }[] = [];
  /** Refusals of the remote's output, by reason (a conforming remote causes none). */
  readonly refusals: string[] = [];
  private readonly endpoints = new Map<number, PeerEndpoint>();
  private nextAddress = RPMSG_RESERVED_ADDRESSES;
  private socket: Socket | null = null;
  private started = false;
  /** Last used.idx of each vring the model consumed. */
  private lastUsed = [0, 0];
  /** Next avail.idx of each vring the model publishes. */
  private availIdx = [0, 0];
  /** TX buffers never given out yet (OpenAMP takes fresh ones before reusing). */
  private freshTx = 0;
  /** TX descriptor heads back from the remote, ready for reuse. */
  private freeTxHeads: number[] = [];
  private waiters = new Set<() => void>();

  private constructor(memory: ArrayBuffer) {
    this.memory = new SharedMemory(memory, 0);
    this.view = this.memory.view;
    this.vdev = findVdevEntry(this.view, 0, 0x1000);
    if (this.vdev < 0) throw new Error('ENODEV: no rpmsg vdev in the resource table at offset 0 of the shared file');
  }

  /** Map the remote's file (after it wrote its table); the doorbell is connected by connect(). */
  static map(remote: PosixRemote): OpenAmpHostPeer {
    return new OpenAmpHostPeer(mapSharedFile(remote.shmPath, OPENAMP.shmSize));
  }

  /** Connect to the remote's doorbell socket (its XS machine boots once connected). */
  async connect(remote: PosixRemote): Promise<void> {
    const socket = await remote.connectDoorbell();
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.kicksReceived += chunk.length;
      if (this.started) this.poll(); // the byte names no vring: look at both
    });
    socket.on('error', () => { /* close follows */ });
  }

  /** Close the doorbell (the remote sees EOF: peer gone). */
  disconnect(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  /** Offset of vring `index` (0 = host RX, 1 = host TX) in the file. */
  vring(index: number): { desc: number; avail: number; used: number } {
    const base = OPENAMP.vrings[index];
    return { desc: base, avail: base + this.layout.avail, used: base + this.layout.used };
  }

  /** The vdev status byte. */
  status(): number {
    return readVdevStatus(this.view, this.vdev);
  }

  /** Write the vdev status byte. */
  writeStatus(status: number): void {
    writeVdevStatus(this.view, this.vdev, status);
  }

  /** One kick: a single byte 0x01 on the socket (names no vring); `notifyid` is only recorded in `notified`. */
  kick(notifyid = -1): void {
    this.kicksSent++;
    this.notified.push(notifyid);
    this.socket?.write(Uint8Array.of(OPENAMP.kickByte));
  }

  /** The vdev's own notifyid in the remote's table (OpenAMP notifies it after set_features and set_status). */
  vdevNotifyId(): number {
    return this.view.getUint32(this.vdev + VDEV_NOTIFYID, true);
  }

  /** rproc_virtio_set_features: gfeatures, then notify with the vdev notifyid. */
  setFeatures(features: number): void {
    writeVdevGfeatures(this.view, this.vdev, features);
    this.kick(this.vdevNotifyId());
  }

  /** rproc_virtio_set_status: the status byte, then notify with the vdev notifyid. */
  setStatus(status: number): void {
    this.writeStatus(status);
    this.kick(this.vdevNotifyId());
  }

  /**
   * rproc_virtio_reset_device: status NEEDS_RESET (0x40) and a notify; then wait until the
   * remote has written 0 back. Returns the ms it took; ETIMEDOUT when the remote never does.
   */
  async reset(timeoutMs = 2000): Promise<number> {
    const started = Date.now();
    this.started = false;
    this.setStatus(OPENAMP.needsReset);
    for (;;) {
      const status = this.status();
      if (status === 0) return Date.now() - started;
      if (Date.now() - started > timeoutMs) {
        throw new Error(`ETIMEDOUT: the remote left the status at 0x${status.toString(16)} for ${timeoutMs} ms after NEEDS_RESET (0x40); an OpenAMP host waits for 0`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** Create a host endpoint (address from 0x400, dst ANY); announced by NS once started. */
  createEndpoint(name: string, onMessage: PeerEndpoint['onMessage'] = () => {}): PeerEndpoint {
    const endpoint: PeerEndpoint = { name, address: this.nextAddress++, destination: this.remoteServices.get(name) ?? RPMSG_ADDR_ANY, onMessage };
    this.endpoints.set(endpoint.address, endpoint);
    if (this.started) this.announce(endpoint, RPMSG_NS_CREATE);
    return endpoint;
  }

  /** rpmsg_destroy_ept: NS destroy, then forget the endpoint. */
  destroyEndpoint(endpoint: PeerEndpoint): void {
    this.announce(endpoint, RPMSG_NS_DESTROY);
    this.endpoints.delete(endpoint.address);
  }

  /**
   * rproc_virtio_create_vdev + rpmsg_init_vdev as a driver, OpenAMP style: gfeatures =
   * dfeatures and a notify (vdev notifyid); check the table's vrings are the fixed layout, zero
   * both rings, NO_INTERRUPT on vring 1, every RX buffer posted on vring 0 (desc.len 512);
   * status = 0x04 alone and a notify (vdev notifyid); then announce.
   */
  start(): void {
    this.setFeatures(readVdevDfeatures(this.view, this.vdev));
    for (const index of [0, 1]) {
      const da = readVringDa(this.view, this.vdev, index);
      const num = readVringNum(this.view, this.vdev, index);
      const align = readVringAlign(this.view, this.vdev, index);
      if (da !== OPENAMP.vrings[index] || num !== OPENAMP.num || align !== OPENAMP.align) {
        throw new Error(`EINVAL: vring ${index} is da 0x${da.toString(16)} num ${num} align ${align}; the OpenAMP layout needs 0x${OPENAMP.vrings[index].toString(16)}/256/0x1000`);
      }
      const ring = this.vring(index);
      this.memory.bytes.fill(0, ring.desc, ring.desc + this.layout.size);
      this.lastUsed[index] = 0;
      this.availIdx[index] = 0;
    }
    this.view.setUint16(this.vring(1).avail + VRING_FLAGS, VRING_AVAIL_F_NO_INTERRUPT, true);
    for (let head = 0; head < OPENAMP.num; head++) {
      this.setDescriptor(0, head, OPENAMP.bufferPool + head * RPMSG_BUF_SIZE, RPMSG_BUF_SIZE, VRING_DESC_F_WRITE);
      this.publish(0, head);
    }
    this.freshTx = 0;
    this.freeTxHeads = [];
    this.setStatus(OPENAMP.driverOk);
    this.started = true;
    for (const endpoint of this.endpoints.values()) this.announce(endpoint, RPMSG_NS_CREATE);
  }

  /** The OpenAMP handshake without touching the rings: set_features(dfeatures), set_status(0x04), each notified. */
  driverOk(): void {
    this.setFeatures(readVdevDfeatures(this.view, this.vdev));
    this.setStatus(OPENAMP.driverOk);
  }

  /** Write descriptor `head` of vring `index`. */
  setDescriptor(index: number, head: number, address: number, length: number, flags: number, next = 0): void {
    const descriptor = this.vring(index).desc + head * VRING_DESC_SIZE;
    this.view.setBigUint64(descriptor + VRING_DESC_ADDR, BigInt(address), true);
    this.view.setUint32(descriptor + VRING_DESC_LEN, length >>> 0, true);
    this.view.setUint16(descriptor + VRING_DESC_FLAGS, flags, true);
    this.view.setUint16(descriptor + VRING_DESC_NEXT, next, true);
  }

  /** Put `head` in the next avail slot of vring `index` and bump avail.idx. */
  publish(index: number, head: number): void {
    const ring = this.vring(index);
    const idx = this.availIdx[index];
    this.view.setUint16(ring.avail + VRING_RING + 2 * (idx % OPENAMP.num), head, true);
    this.availIdx[index] = (idx + 1) & 0xffff;
    this.view.setUint16(ring.avail + VRING_IDX, this.availIdx[index], true);
  }

  /** Kick unless the remote set VRING_USED_F_NO_NOTIFY on that vring (virtqueue_kick). */
  kickIfWanted(index: number): void {
    if ((this.view.getUint16(this.vring(index).used + VRING_FLAGS, true) & VRING_USED_F_NO_NOTIFY) === 0) this.kick(OPENAMP.notifyIds[index]);
  }

  /** rpmsg_send: header (garbage in reserved) + payload into a TX buffer, desc.len 512, kick. */
  send(from: PeerEndpoint, data: Uint8Array, destination = from.destination): void {
    if (data.length > RPMSG_MTU) throw new Error(`EMSGSIZE: ${data.length} bytes exceed the ${RPMSG_MTU}-byte payload of a 512-byte buffer`);
    if (destination === RPMSG_ADDR_ANY) throw new Error(`EINVAL: endpoint "${from.name}" has no destination yet (no NS from the remote)`);
    this.sendRaw(from.address, destination, data, data.length);
  }

  /** Send with any header length (hostile tests); returns the descriptor head used. */
  sendRaw(source: number, destination: number, data: Uint8Array, headerLength: number): number {
    const head = this.takeTxBuffer();
    const buffer = OPENAMP.txBuffers + head * RPMSG_BUF_SIZE;
    writeRpmsgHeader(this.view, buffer, source, destination, headerLength & 0xffff);
    this.view.setUint32(buffer + RPMSG_HDR_RESERVED, RESERVED_GARBAGE, true);
    this.memory.bytes.set(data.subarray(0, RPMSG_MTU), buffer + RPMSG_HDR_SIZE);
    this.setDescriptor(1, head, buffer, RPMSG_BUF_SIZE, 0);
    this.publish(1, head);
    this.kickIfWanted(1);
    return head;
  }

  /**
   * Hostile tests: take a TX descriptor, point it at (address, length, flags), publish and kick.
   * Returns the head (the remote gives it back on the used ring; the next send rewrites it).
   */
  sendDescriptor(address: number, length: number, flags: number): number {
    const head = this.takeTxBuffer();
    this.setDescriptor(1, head, address, length, flags);
    this.publish(1, head);
    this.kickIfWanted(1);
    return head;
  }

  /** TX descriptors free right now (fresh or returned by the remote). */
  freeTxBuffers(): number {
    this.reclaimTx();
    return this.freeTxHeads.length + (OPENAMP.num - this.freshTx);
  }

  /** A TX descriptor/buffer: returned ones first (from vring 1's used ring), then fresh ones. */
  private takeTxBuffer(): number {
    this.reclaimTx();
    const reused = this.freeTxHeads.shift();
    if (reused !== undefined) return reused;
    if (this.freshTx < OPENAMP.num) return this.freshTx++;
    throw new Error('ENOMEM: every TX buffer is with the remote; it has not returned any on vring 1');
  }

  private reclaimTx(): void {
    const used = this.vring(1).used;
    const idx = this.view.getUint16(used + VRING_IDX, true);
    while (this.lastUsed[1] !== idx) {
      const element = used + VRING_RING + (this.lastUsed[1] % OPENAMP.num) * VRING_USED_ELEM_SIZE;
      const head = this.view.getUint32(element, true);
      this.lastUsed[1] = (this.lastUsed[1] + 1) & 0xffff;
      if (head >= OPENAMP.num) { this.refusals.push(`vring 1 used id ${head} out of range`); continue; }
      this.freeTxHeads.push(head);
    }
  }

  /**
   * Look at both vrings (a kick names none): every used entry of vring 0 is one message,
   * its length from hdr.len (used.len is not trusted); each buffer goes back with desc.len 512.
   */
  poll(): void {
    this.reclaimTx();
    const ring = this.vring(0);
    let returned = 0;
    for (;;) {
      const idx = this.view.getUint16(ring.used + VRING_IDX, true);
      if (this.lastUsed[0] === idx) break;
      const element = ring.used + VRING_RING + (this.lastUsed[0] % OPENAMP.num) * VRING_USED_ELEM_SIZE;
      const head = this.view.getUint32(element, true);
      const usedLength = this.view.getUint32(element + 4, true);
      this.lastUsed[0] = (this.lastUsed[0] + 1) & 0xffff;
      if (head >= OPENAMP.num) { this.refusals.push(`vring 0 used id ${head} out of range`); continue; }
      const buffer = OPENAMP.bufferPool + head * RPMSG_BUF_SIZE;
      const header = readRpmsgHeader(this.view, buffer);
      this.usedElements.push({ usedLength, messageLength: header.len });
      if (header.len > RPMSG_MTU) this.refusals.push(`hdr.len ${header.len} above ${RPMSG_MTU}`);
      else this.deliver({ src: header.src, dst: header.dst, data: this.memory.bytes.slice(buffer + RPMSG_HDR_SIZE, buffer + RPMSG_HDR_SIZE + header.len) });
      // OpenAMP keeps its own bookkeeping in hdr.reserved of buffers it holds.
      this.view.setUint32(buffer + RPMSG_HDR_RESERVED, RESERVED_GARBAGE, true);
      this.setDescriptor(0, head, buffer, RPMSG_BUF_SIZE, VRING_DESC_F_WRITE);
      this.publish(0, head);
      returned++;
    }
    if (returned > 0) this.kickIfWanted(0);
    for (const wake of this.waiters) wake();
  }

  private deliver(message: ReceivedMessage): void {
    if (message.dst === RPMSG_NS_ADDR) {
      let announced;
      try {
        announced = decodeNameServiceMessage(message.data, 0, message.data.length);
      } catch (error) {
        this.refusals.push((error as Error).message);
        return;
      }
      const destroyed = (announced.flags & RPMSG_NS_DESTROY) !== 0;
      if (destroyed) this.remoteServices.delete(announced.name);
      else this.remoteServices.set(announced.name, announced.addr);
      for (const endpoint of this.endpoints.values()) {
        if (endpoint.name !== announced.name) continue;
        if (!destroyed && endpoint.destination === RPMSG_ADDR_ANY) endpoint.destination = announced.addr;
        if (destroyed && endpoint.destination === announced.addr) endpoint.destination = RPMSG_ADDR_ANY;
      }
      return;
    }
    const endpoint = this.endpoints.get(message.dst);
    if (endpoint === undefined) {
      this.unrouted.push(message);
      return;
    }
    if (endpoint.destination === RPMSG_ADDR_ANY) endpoint.destination = message.src;
    endpoint.onMessage(message.data, message.src);
  }

  /** NS from the host: 40 bytes from the endpoint's address to 53, garbage after the name's NUL. */
  private announce(endpoint: PeerEndpoint, flags: number): void {
    const message = new Uint8Array(RPMSG_NS_MSG_SIZE).fill(0xa5);
    writeNameServiceMessage(new DataView(message.buffer), 0, endpoint.name, endpoint.address, flags);
    message.fill(0xa5, endpoint.name.length + 1, RPMSG_NAME_SIZE);
    this.sendRaw(endpoint.address, RPMSG_NS_ADDR, message, message.length);
  }

  /** Wait until `condition` holds (checked after every poll and every 5 ms). */
  async until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const wake = () => { clearTimeout(timer); this.waiters.delete(wake); resolve(); };
        const timer = setTimeout(wake, Math.min(5, remaining));
        this.waiters.add(wake);
      });
      if (this.started) this.poll();
    }
  }

  /** Send and wait for the reply on the same endpoint. */
  async request(endpoint: PeerEndpoint, data: Uint8Array, timeoutMs = 5000): Promise<Uint8Array> {
    let reply: Uint8Array | null = null;
    const previous = endpoint.onMessage;
    endpoint.onMessage = (bytes) => { reply = bytes; };
    try {
      this.send(endpoint, data);
      await this.until(() => reply !== null, `a reply on "${endpoint.name}"`, timeoutMs);
    } finally {
      endpoint.onMessage = previous;
    }
    return reply!;
  }
}

/** The echo demo's payload: {u64 num; u64 size; data[size] = 0xA5} (x86_64 layout). */
export function echoPayload(num: number, size: number): Uint8Array {
  const payload = new Uint8Array(16 + size).fill(0xa5);
  const view = new DataView(payload.buffer);
  view.setBigUint64(0, BigInt(num), true);
  view.setBigUint64(8, BigInt(size), true);
  return payload;
}

/** The echo demo's shutdown message: first word 0xEF56A55A. */
export function shutdownPayload(): Uint8Array {
  const payload = new Uint8Array(16);
  new DataView(payload.buffer).setUint32(0, 0xef56a55a, true);
  return payload;
}
