/** The rpmsg transport over virtio (drivers/rpmsg/virtio_rpmsg_bus.c): buffers, vrings, endpoints, channels. */
import { RpmsgError, type ErrorCounters } from '../../wire/errors.ts';
import type { SharedMemory } from '../../wire/shared-memory.ts';
import {
  RPMSG_ADDR_ANY, RPMSG_BUF_SIZE, RPMSG_HDR_SIZE, RPMSG_MTU, RPMSG_NS_ADDR, RPMSG_RESERVED_ADDRESSES, RPMSG_SEND_TIMEOUT_MS, VIRTIO_ID_RPMSG,
  VIRTIO_RPMSG_F_NS, rpmsgHeaderDst, rpmsgHeaderLen, rpmsgHeaderSrc, writeRpmsgHeader,
} from '../../wire/rpmsg.ts';
import { RPMSG_NS_CREATE, RPMSG_NS_DESTROY, encodeNameServiceMessage } from '../../wire/name-service.ts';
import { VIRTIO_RING_F_EVENT_IDX } from '../../wire/vring.ts';
import type { HostLog } from '../log.ts';
import type { VirtioDevice, VirtioDriver } from '../virtio/virtio.ts';
import type { Virtqueue } from '../virtio/virtqueue.ts';
import { RpmsgDevice, RpmsgEndpoint, checkAddress, payloadBytes, type RpmsgBus, type RpmsgChannelInfo, type RpmsgRxCallback, type RpmsgTransport } from './rpmsg-core.ts';

/** MAX_RPMSG_NUM_BUFS: at most 512 buffers, half for each direction. */
export const MAX_RPMSG_NUM_BUFS = 512;
/** Linux waits this long for a TX buffer before ERESTARTSYS. */
export const DEFAULT_TX_TIMEOUT_MS = RPMSG_SEND_TIMEOUT_MS;

/** Counts a test or a user can read (refusals are in the rproc's ErrorCounters). */
export interface VirtioRpmsgStatistics {
  rxMessages: number;
  /** Delivered to nobody: "msg received with no recipient". */
  rxNoRecipient: number;
  /** Refused for bad lengths; those buffers are lost, as in Linux. */
  rxDropped: number;
  txMessages: number;
  /** Senders that had to wait for a TX buffer. */
  txWaits: number;
  /** Waits that ended in ERESTARTSYS. */
  txTimeouts: number;
  /** Doorbells rung for vring 0 (rx) and vring 1 (tx). */
  rxKicks: number;
  txKicks: number;
}

/** One message as a tap sees it: 'rx' from the remote, 'tx' to it. */
export interface RpmsgTapMessage {
  direction: 'rx' | 'tx';
  src: number;
  dst: number;
  data: Uint8Array;
}

/** A blocking sender waiting for a TX buffer: its message is written by the queue, in arrival order. */
interface PendingSend {
  src: number;
  dst: number;
  data: Uint8Array;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** struct virtproc_info: one rpmsg bus instance on one virtio device. */
export class VirtprocInfo implements RpmsgTransport {
  readonly statistics: VirtioRpmsgStatistics = { rxMessages: 0, rxNoRecipient: 0, rxDropped: 0, txMessages: 0, txWaits: 0, txTimeouts: 0, rxKicks: 0, txKicks: 0 };
  /** Local endpoints by address (the idr). */
  readonly endpoints = new Map<number, RpmsgEndpoint>();
  /** Observers of every message delivered ('rx', before the endpoint's callback) or queued ('tx'); a throwing tap is ignored. */
  readonly taps = new Set<(message: RpmsgTapMessage) => void>();
  readonly parentName: string;
  rvq!: Virtqueue<number>;
  svq!: Virtqueue<number>;
  numBufs = 0;
  /** Device address and local offset of the buffer block (rx lower half, tx upper half). */
  buffers = { da: 0, offset: 0 };
  private lastSbuf = 0;
  private sleepers = 0;
  /** Blocking senders waiting for a TX buffer, oldest first (first come, first served). */
  private readonly txQueue: PendingSend[] = [];
  private removed = false;
  private inReceive = false;
  private receiveAgain = false;
  private readonly memory: SharedMemory;
  private readonly counters: ErrorCounters;

  constructor(
    readonly vdev: VirtioDevice,
    private readonly bus: RpmsgBus,
    private readonly log: HostLog,
    private readonly txTimeoutMs: number,
    /** Register the rpmsg_ctrl device too, as a kernel with CONFIG_RPMSG_CTRL does. */
    private readonly withCtrl = true,
  ) {
    this.parentName = vdev.name;
    this.memory = vdev.config.sharedMemory();
    this.counters = vdev.config.errorCounters();
  }

  private get source(): string {
    return `virtio_rpmsg_bus ${this.vdev.name}`;
  }

  /** rpmsg_probe: vrings, buffers, RX buffers posted, TX-complete interrupts off, NS device, DRIVER_OK, kick. */
  probe(): void {
    const vdev = this.vdev;
    [this.rvq, this.svq] = vdev.config.findVqs(
      [{ name: 'input', callback: () => this.recvDone() }, { name: 'output', callback: () => this.xmitDone() }],
      vdev.hasFeature(VIRTIO_RING_F_EVENT_IDX),
    );
    if (this.rvq.num !== this.svq.num) this.log.write('warn', this.source, `asymmetric vrings: rx ${this.rvq.num}, tx ${this.svq.num}`);
    this.numBufs = this.rvq.num < MAX_RPMSG_NUM_BUFS / 2 ? this.rvq.num * 2 : MAX_RPMSG_NUM_BUFS;
    try {
      this.buffers = vdev.config.allocBuffers(this.numBufs * RPMSG_BUF_SIZE);
      for (let i = 0; i < this.numBufs / 2; i++) this.rvq.addInbuf(this.bufferAddress(i), RPMSG_BUF_SIZE, i);
    } catch (error) {
      vdev.config.freeBuffers();
      vdev.config.delVqs();
      throw error;
    }
    this.svq.disableCb();
    vdev.priv = this;
    if (this.withCtrl) {
      // CONFIG_RPMSG_CTRL: the /dev/rpmsg_ctrlN device, no endpoint of its own.
      const ctrl = new RpmsgDevice(this, 'rpmsg_ctrl', 0, 0, false);
      ctrl.driverOverride = 'rpmsg_ctrl';
      this.bus.registerDevice(ctrl);
    }
    if (vdev.hasFeature(VIRTIO_RPMSG_F_NS)) {
      const ns = new RpmsgDevice(this, 'rpmsg_ns', RPMSG_NS_ADDR, RPMSG_NS_ADDR, false);
      ns.driverOverride = 'rpmsg_ns';
      this.bus.registerDevice(ns);
    }
    const notify = this.rvq.kickPrepare();
    vdev.ready();
    if (notify) this.notifyRx();
    this.log.write('info', this.source, 'rpmsg host is online');
  }

  /** rpmsg_remove: reset, remove every channel, free endpoints, vrings and buffers; waiting senders fail. */
  remove(): void {
    this.vdev.reset();
    this.removed = true;
    for (const device of this.bus.childrenOf(this.parentName)) this.bus.unregisterDevice(device);
    for (const endpoint of this.endpoints.values()) endpoint.live = false;
    this.endpoints.clear();
    for (const pending of this.txQueue.splice(0)) {
      clearTimeout(pending.timer);
      this.downrefSleepers();
      pending.reject(new RpmsgError('ENODEV', `${this.parentName} went away while waiting for a TX buffer`));
    }
    this.vdev.config.delVqs();
    this.vdev.config.freeBuffers();
  }

  private bufferAddress(index: number): number {
    return this.buffers.da + index * RPMSG_BUF_SIZE;
  }

  private bufferOffset(index: number): number {
    return this.buffers.offset + index * RPMSG_BUF_SIZE;
  }

  private notifyRx(): void {
    this.statistics.rxKicks++;
    this.rvq.notify();
  }

  // ---- endpoints and channels

  /** __rpmsg_create_ept: ANY takes the lowest free address from 1024; a fixed address must be free. */
  createEndpoint(device: RpmsgDevice | null, callback: RpmsgRxCallback, addr: number): RpmsgEndpoint {
    if (this.removed) throw new RpmsgError('ENODEV', `${this.parentName} is gone; the remote was stopped or crashed`);
    let address: number;
    if (addr === RPMSG_ADDR_ANY) {
      address = RPMSG_RESERVED_ADDRESSES;
      while (this.endpoints.has(address)) address++;
    } else {
      if (!Number.isInteger(addr) || addr < 0 || addr > 0x7fffffff) throw new RpmsgError('EINVAL', `endpoint address ${addr} is outside 0..0x7fffffff`);
      if (this.endpoints.has(addr)) throw new RpmsgError('ENOSPC', `endpoint address 0x${addr.toString(16)} is already bound; use RPMSG_ADDR_ANY or another address`);
      address = addr;
    }
    const endpoint = new RpmsgEndpoint(this, device, address, callback);
    this.endpoints.set(address, endpoint);
    return endpoint;
  }

  /** __rpmsg_destroy_ept. */
  destroyEndpoint(endpoint: RpmsgEndpoint): void {
    if (this.endpoints.get(endpoint.addr) === endpoint) this.endpoints.delete(endpoint.addr);
    endpoint.live = false;
    endpoint.callback = null;
  }

  /** virtio_rpmsg_announce_create/destroy: only for channels with a predefined src, when NS was negotiated. */
  announce(device: RpmsgDevice, destroy: boolean): Promise<void> {
    if (!device.announce || !this.vdev.hasFeature(VIRTIO_RPMSG_F_NS) || !device.ept || this.removed) return Promise.resolve();
    const message = encodeNameServiceMessage({ name: device.name, addr: destroy ? device.src : device.ept.addr, flags: destroy ? RPMSG_NS_DESTROY : RPMSG_NS_CREATE });
    return this.sendOffchannelRaw(device.ept.addr, RPMSG_NS_ADDR, message, true).catch((error: Error) => {
      const errno = error instanceof RpmsgError ? error.errno : 22;
      this.log.write('err', `rpmsg ${device.deviceName}`, `failed to announce service -${errno}: ${error.message}`);
      throw error;
    });
  }

  /** rpmsg_create_channel: refuse duplicates ("already exist"), else register and probe. */
  createChannel(info: RpmsgChannelInfo): RpmsgDevice | null {
    if (this.removed) return null;
    if (this.bus.findDevice(this.parentName, info)) {
      this.log.write('err', this.source, `channel ${info.name}:${(info.src >>> 0).toString(16)}:${(info.dst >>> 0).toString(16)} already exist`);
      this.counters.record('ns-duplicate-channel', new RpmsgError('EEXIST', `channel ${info.name} at 0x${(info.dst >>> 0).toString(16)} already exists`));
      return null;
    }
    const device = new RpmsgDevice(this, info.name, info.src, info.dst, info.src !== RPMSG_ADDR_ANY);
    this.bus.registerDevice(device);
    return device;
  }

  /** rpmsg_release_channel: false (EINVAL in Linux) when no channel matches. */
  releaseChannel(info: RpmsgChannelInfo): boolean {
    const device = this.bus.findDevice(this.parentName, info);
    if (!device) return false;
    this.bus.unregisterDevice(device);
    return true;
  }

  // ---- transmit

  /** get_a_tx_buf: the next never-used TX buffer, else one the remote returned on vring 1. */
  private getTxBuf(): number | null {
    if (this.lastSbuf < this.numBufs / 2) return this.numBufs / 2 + this.lastSbuf++;
    const used = this.vdev.config.access(() => this.svq.getBuf());
    return used ? used.token : null;
  }

  /** rpmsg_upref_sleepers: the first waiter turns TX-complete interrupts on. */
  private uprefSleepers(): void {
    if (++this.sleepers === 1) this.vdev.config.access(() => this.svq.enableCb());
  }

  /** rpmsg_downref_sleepers: the last waiter turns them off again. */
  private downrefSleepers(): void {
    if (--this.sleepers === 0 && !this.removed) this.vdev.config.access(() => this.svq.disableCb());
  }

  /** Senders waiting for a TX buffer right now. */
  get pendingSends(): number {
    return this.txQueue.length;
  }

  /** Write one message into TX buffer `buffer`, queue it on vring 1 and kick unless suppressed. */
  private transmit(buffer: number, src: number, dst: number, data: Uint8Array): void {
    this.vdev.config.access(() => {
      const offset = this.bufferOffset(buffer);
      writeRpmsgHeader(this.memory.view, offset, src, dst, data.length);
      this.memory.bytes.set(data, offset + RPMSG_HDR_SIZE);
      this.svq.addOutbuf(this.bufferAddress(buffer), RPMSG_HDR_SIZE + data.length, buffer);
      this.statistics.txMessages++;
      this.tap({ direction: 'tx', src, dst, data });
      if (this.svq.kickPrepare()) {
        this.statistics.txKicks++;
        this.svq.notify();
      }
    });
  }

  /**
   * Give returned TX buffers to waiting senders, oldest first; each message is written here,
   * before its promise settles, so no later sender can slip in between.
   */
  private serveWaiting(): void {
    while (this.txQueue.length > 0 && !this.removed) {
      const token = this.getTxBuf();
      if (token === null) break;
      const pending = this.txQueue.shift()!;
      clearTimeout(pending.timer);
      this.downrefSleepers();
      try {
        this.transmit(token, pending.src, pending.dst, pending.data);
      } catch (error) {
        pending.reject(error as Error);
        continue;
      }
      pending.resolve();
    }
  }

  /** rpmsg_xmit_done: TX buffers came back; wake senders waiting for one. */
  private xmitDone(): void {
    this.serveWaiting();
  }

  /**
   * rpmsg_send_offchannel_raw. Senders are served first come, first served: while older senders
   * wait for a buffer a new one queues behind them (a try send fails with ENOMEM), so messages
   * leave in the order the sends were called, per endpoint and overall. Linux wakes every
   * sleeper and lets them race; one thread's sends stay in order there because each blocks.
   */
  sendOffchannelRaw(src: number, dst: number, data: Uint8Array, wait: boolean): Promise<void> {
    try {
      checkAddress(src, 'src');
      checkAddress(dst, 'dst');
      data = payloadBytes(data);
    } catch (error) {
      return Promise.reject(error);
    }
    if (data.length > RPMSG_MTU) return Promise.reject(new RpmsgError('EMSGSIZE', `message is too big (${data.length}); the most one rpmsg buffer holds is ${RPMSG_MTU} bytes`));
    if (this.removed) return Promise.reject(new RpmsgError('ENODEV', `${this.parentName} is gone; the remote was stopped or crashed`));
    if (this.txQueue.length > 0) this.serveWaiting();
    if (this.txQueue.length === 0) {
      const token = this.getTxBuf();
      if (token !== null) {
        try {
          this.transmit(token, src, dst, data);
        } catch (error) {
          return Promise.reject(error);
        }
        return Promise.resolve();
      }
    }
    if (!wait) {
      const why = this.txQueue.length > 0
        ? `${this.txQueue.length} blocking sender(s) are waiting for TX buffers ahead of this one`
        : 'the remote has not returned any';
      return Promise.reject(new RpmsgError('ENOMEM', `no free TX buffer: ${why}; retry later or use a blocking send`));
    }
    this.statistics.txWaits++;
    this.uprefSleepers();
    return new Promise<void>((resolve, reject) => {
      // The bytes are copied now, as a blocked Linux sender's buffer stays untouched until sent.
      const pending: PendingSend = {
        src, dst, data: data.slice(), resolve, reject,
        timer: setTimeout(() => {
          const at = this.txQueue.indexOf(pending);
          if (at < 0) return;
          this.txQueue.splice(at, 1);
          this.downrefSleepers();
          this.statistics.txTimeouts++;
          this.log.write('err', this.source, 'timeout waiting for a tx buffer');
          reject(new RpmsgError('ERESTARTSYS', `no TX buffer came back within ${this.txTimeoutMs} ms: the remote is not consuming vring 1 (or never notifies)`));
        }, this.txTimeoutMs),
      };
      this.txQueue.push(pending);
    });
  }

  private tap(message: RpmsgTapMessage): void {
    for (const tap of this.taps) {
      try {
        tap(message);
      } catch { /* an observer's failure is not the bus's */ }
    }
  }

  // ---- receive

  /** rpmsg_recv_single: false stops the batch (the buffer is not re-posted, as in Linux). */
  private recvSingle(token: number, len: number): boolean {
    const offset = this.bufferOffset(token);
    const msgLen = rpmsgHeaderLen(this.memory.view, offset);
    if (len > RPMSG_BUF_SIZE || (len >= RPMSG_HDR_SIZE && msgLen > len - RPMSG_HDR_SIZE)) {
      this.statistics.rxDropped++;
      this.log.write('warn', this.source, `inbound msg too big: (${len}, ${msgLen})`);
      this.counters.record('rx-length-invalid', new RpmsgError('EINVAL', `inbound message with used.len ${len} and hdr.len ${msgLen} does not fit a ${RPMSG_BUF_SIZE}-byte buffer; the remote wrote bad lengths`));
      return false;
    }
    if (len < RPMSG_HDR_SIZE && msgLen > RPMSG_MTU) {
      // Linux's unsigned len - 16 wraps and lets this through, then reads past the buffer; we refuse.
      this.statistics.rxDropped++;
      this.log.write('warn', this.source, `inbound msg too big: (${len}, ${msgLen})`);
      this.counters.record('rx-length-wraparound', new RpmsgError('EINVAL', `inbound message with used.len ${len} (< 16) and hdr.len ${msgLen} would make Linux read past the buffer; refused`));
      return false;
    }
    const src = rpmsgHeaderSrc(this.memory.view, offset);
    const dst = rpmsgHeaderDst(this.memory.view, offset);
    const endpoint = this.endpoints.get(dst);
    if (this.taps.size > 0) this.tap({ direction: 'rx', src, dst, data: this.memory.bytes.slice(offset + RPMSG_HDR_SIZE, offset + RPMSG_HDR_SIZE + msgLen) });
    if (endpoint && endpoint.callback) {
      const data = this.memory.bytes.slice(offset + RPMSG_HDR_SIZE, offset + RPMSG_HDR_SIZE + msgLen);
      this.statistics.rxMessages++;
      try {
        endpoint.callback(endpoint.device as RpmsgDevice, data, src);
      } catch (error) {
        this.log.write('err', this.source, `endpoint 0x${dst.toString(16)} callback threw: ${(error as Error).message}`);
      }
    } else {
      this.statistics.rxNoRecipient++;
      this.log.write('warn', this.source, 'msg received with no recipient');
    }
    if (this.removed) return false;
    try {
      this.rvq.addInbuf(this.bufferAddress(token), RPMSG_BUF_SIZE, token);
    } catch (error) {
      this.log.write('err', this.source, `failed to add a virtqueue buffer: ${(error as Error).message}`);
      return false;
    }
    return true;
  }

  /** rpmsg_recv_done: drain vring 0's used ring, re-post each buffer, kick if any came back. */
  private recvDone(): void {
    if (this.inReceive) {
      // A callback made the remote answer at once: finish this batch first, as Linux serializes.
      this.receiveAgain = true;
      return;
    }
    this.inReceive = true;
    try {
      do {
        this.receiveAgain = false;
        let used = this.rvq.getBuf();
        if (!used) {
          if (!this.rvq.broken && !this.receiveAgain) this.log.write('err', this.source, 'uhm, incoming signal, but no used buffer ?');
          continue;
        }
        let received = 0;
        while (used) {
          if (!this.recvSingle(used.token, used.len)) break;
          received++;
          used = this.removed ? null : this.rvq.getBuf();
        }
        if (received > 0 && !this.removed && this.rvq.kickPrepare()) this.notifyRx();
      } while (this.receiveAgain && !this.removed);
    } finally {
      this.inReceive = false;
    }
  }
}

/** The virtio driver half: binds VirtprocInfo to rpmsg virtio devices (id 7, feature NS). */
export function virtioRpmsgDriver(bus: RpmsgBus, log: HostLog, options: { txTimeoutMs?: number; rpmsgCtrl?: boolean } = {}): VirtioDriver {
  return {
    name: 'virtio_rpmsg_bus',
    deviceId: VIRTIO_ID_RPMSG,
    featureTable: [VIRTIO_RPMSG_F_NS],
    probe(vdev: VirtioDevice): void {
      new VirtprocInfo(vdev, bus, log, options.txTimeoutMs ?? DEFAULT_TX_TIMEOUT_MS, options.rpmsgCtrl ?? true).probe();
    },
    remove(vdev: VirtioDevice): void {
      (vdev.priv as VirtprocInfo | null)?.remove();
      vdev.priv = null;
    },
  };
}
