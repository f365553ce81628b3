/**
 * The user interface (drivers/rpmsg/rpmsg_char.c, rpmsg_ctrl.c): /dev/rpmsg_ctrlN makes
 * /dev/rpmsgN endpoint devices; one message per read, write = one sendto; EPIPE once the
 * endpoint is gone. Channels named "rpmsg-raw" get an endpoint device automatically.
 * File operations are methods here; what blocks in Linux returns a Promise.
 */
import { RpmsgError } from '../../wire/errors.ts';
import { RPMSG_NAME_SIZE } from '../../wire/name-service.ts';
import type { HostLog } from '../log.ts';
import {
  createEndpoint, destroyEndpoint, payloadBytes, sendTo, trySendTo, type RpmsgBus, type RpmsgPayload, type RpmsgChannelInfo, type RpmsgDevice,
  type RpmsgDriver, type RpmsgEndpoint,
} from './rpmsg-core.ts';
import type { VirtprocInfo } from './virtio-rpmsg-bus.ts';

/** The lowest free number (an ida). */
class NumberAllocator {
  private readonly used = new Set<number>();
  take(): number {
    let n = 0;
    while (this.used.has(n)) n++;
    this.used.add(n);
    return n;
  }
  release(n: number): void {
    this.used.delete(n);
  }
}

/** Options of read() and write(): nonBlocking = O_NONBLOCK. */
export interface FileOptions {
  nonBlocking?: boolean;
}

/** /dev/rpmsgN (struct rpmsg_eptdev). */
export class RpmsgEndpointDevice {
  /** "rpmsgN". */
  readonly name: string;
  private ept: RpmsgEndpoint | null = null;
  private readonly queue: Uint8Array[] = [];
  private readonly readers: (() => void)[] = [];
  /** False once the device node is gone (channel removed, or RPMSG_DESTROY_EPT_IOCTL). */
  present = true;

  constructor(
    private readonly owner: RpmsgChar,
    /** The channel the endpoint is created on (the ctrl device, or the rpmsg-raw channel). */
    readonly device: RpmsgDevice,
    /** name/src/dst as given to RPMSG_CREATE_EPT_IOCTL (or the channel's). */
    readonly info: RpmsgChannelInfo,
    /** Set for rpmsg-raw channels: the channel's own endpoint is reused and never destroyed here. */
    private readonly defaultEndpoint: RpmsgEndpoint | null,
    readonly number: number,
  ) {
    this.name = `rpmsg${number}`;
  }

  /** The endpoint's local address while open. */
  get address(): number | null {
    return this.ept?.addr ?? null;
  }

  /** rpmsg_eptdev_open: EBUSY if already open; the endpoint is created now (from 1024 for ANY). */
  open(): void {
    if (!this.present) throw new RpmsgError('ENODEV', `/dev/${this.name} no longer exists`);
    if (this.ept) throw new RpmsgError('EBUSY', `/dev/${this.name} is already open`);
    if (this.defaultEndpoint) {
      this.ept = this.defaultEndpoint;
      return;
    }
    try {
      this.ept = createEndpoint(this.device, (_device, data) => this.deliver(data), { src: this.info.src });
    } catch (error) {
      throw new RpmsgError('EINVAL', `failed to open ${this.info.name}: ${(error as Error).message}`);
    }
  }

  /** rpmsg_eptdev_release: destroy the endpoint (unless it is the channel's), drop queued messages. */
  close(): void {
    if (this.ept && !this.defaultEndpoint) destroyEndpoint(this.ept);
    this.ept = null;
    this.queue.length = 0;
    this.wakeReaders();
  }

  /** rpmsg_ept_cb: queue one message. */
  deliver(data: Uint8Array): void {
    this.queue.push(data);
    this.wakeReaders();
  }

  private wakeReaders(): void {
    for (const wake of this.readers.splice(0)) wake();
  }

  /** Messages waiting to be read. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * rpmsg_eptdev_read_iter: one message per call, cut to `maxLength`; EAGAIN when nonBlocking
   * and nothing is queued; EPIPE when the endpoint is gone (also while waiting).
   */
  async read(options: FileOptions & { maxLength?: number } = {}): Promise<Uint8Array> {
    if (!this.ept) throw new RpmsgError('EPIPE', `/dev/${this.name}: the endpoint is gone (closed, destroyed or its channel removed)`);
    while (this.queue.length === 0) {
      if (options.nonBlocking) throw new RpmsgError('EAGAIN', `/dev/${this.name}: no message waiting`);
      await new Promise<void>((resolve) => this.readers.push(resolve));
      if (!this.ept) throw new RpmsgError('EPIPE', `/dev/${this.name}: the endpoint went away while waiting`);
    }
    const message = this.queue.shift()!;
    return options.maxLength !== undefined && options.maxLength < message.length ? message.slice(0, options.maxLength) : message;
  }

  /** rpmsg_eptdev_write_iter: one sendto to info.dst; nonBlocking uses trysendto and turns ENOMEM into EAGAIN. */
  async write(data: RpmsgPayload, options: FileOptions = {}): Promise<number> {
    const ept = this.ept;
    if (!ept) throw new RpmsgError('EPIPE', `/dev/${this.name}: the endpoint is gone (closed, destroyed or its channel removed)`);
    const bytes = payloadBytes(data);
    const length = bytes.length;
    data = bytes;
    if (options.nonBlocking) {
      try {
        await trySendTo(ept, data, this.info.dst);
      } catch (error) {
        if (error instanceof RpmsgError && error.code === 'ENOMEM') throw new RpmsgError('EAGAIN', `/dev/${this.name}: no TX buffer free; retry`);
        throw error;
      }
    } else {
      await sendTo(ept, data, this.info.dst);
    }
    return length;
  }

  /** RPMSG_DESTROY_EPT_IOCTL: remove this device node (not allowed for an rpmsg-raw channel's). */
  destroy(): void {
    if (this.defaultEndpoint) throw new RpmsgError('EINVAL', `/dev/${this.name} belongs to channel ${this.info.name}; it goes away with the channel`);
    this.owner.removeEndpointDevice(this);
  }

  /** rpmsg_chrdev_eptdev_destroy. */
  vanish(): void {
    if (this.ept && !this.defaultEndpoint) destroyEndpoint(this.ept);
    this.ept = null;
    this.present = false;
    this.wakeReaders();
  }
}

/** /dev/rpmsg_ctrlN (struct rpmsg_ctrldev). */
export class RpmsgControlDevice {
  readonly name: string;

  constructor(
    private readonly owner: RpmsgChar,
    /** The "rpmsg_ctrl" channel it sits on. */
    readonly device: RpmsgDevice,
    readonly number: number,
  ) {
    this.name = `rpmsg_ctrl${number}`;
  }

  private channelInfo(info: RpmsgChannelInfo): RpmsgChannelInfo {
    return { name: info.name.slice(0, RPMSG_NAME_SIZE - 1), src: info.src >>> 0, dst: info.dst >>> 0 };
  }

  /** RPMSG_CREATE_EPT_IOCTL: a new /dev/rpmsgN whose endpoint is made on open(). */
  createEndpoint(info: RpmsgChannelInfo): RpmsgEndpointDevice {
    return this.owner.addEndpointDevice(this.device, this.channelInfo(info), null, this);
  }

  /** RPMSG_CREATE_DEV_IOCTL: create a channel (announced to the remote when src is fixed); ENXIO if it exists. */
  createChannel(info: RpmsgChannelInfo): RpmsgDevice {
    const device = (this.device.transport as VirtprocInfo).createChannel(this.channelInfo(info));
    if (!device) throw new RpmsgError('ENXIO', `failed to create ${info.name} channel`);
    return device;
  }

  /** RPMSG_RELEASE_DEV_IOCTL: remove a channel; EINVAL if none matches. */
  releaseChannel(info: RpmsgChannelInfo): void {
    if (!(this.device.transport as VirtprocInfo).releaseChannel(this.channelInfo(info))) {
      throw new RpmsgError('EINVAL', `failed to release ${info.name} channel: no such channel`);
    }
  }
}

/** The rpmsg_char and rpmsg_ctrl drivers and the device nodes they made. */
export class RpmsgChar {
  private readonly endpointNumbers = new NumberAllocator();
  private readonly controlNumbers = new NumberAllocator();
  /** Live endpoint devices, by name ("rpmsg0"). */
  readonly endpointDevices = new Map<string, RpmsgEndpointDevice>();
  /** Live control devices, by name ("rpmsg_ctrl0"). */
  readonly controlDevices = new Map<string, RpmsgControlDevice>();
  private readonly children = new Map<RpmsgDevice | RpmsgControlDevice, RpmsgEndpointDevice[]>();

  constructor(private readonly log: HostLog) {}

  /** The /dev node called `name`, if it exists. */
  node(name: string): RpmsgEndpointDevice | RpmsgControlDevice | undefined {
    return this.endpointDevices.get(name) ?? this.controlDevices.get(name);
  }

  /** @internal */
  addEndpointDevice(device: RpmsgDevice, info: RpmsgChannelInfo, defaultEndpoint: RpmsgEndpoint | null, parent: RpmsgDevice | RpmsgControlDevice): RpmsgEndpointDevice {
    const eptdev = new RpmsgEndpointDevice(this, device, info, defaultEndpoint, this.endpointNumbers.take());
    this.endpointDevices.set(eptdev.name, eptdev);
    const list = this.children.get(parent) ?? [];
    list.push(eptdev);
    this.children.set(parent, list);
    return eptdev;
  }

  /** @internal */
  removeEndpointDevice(eptdev: RpmsgEndpointDevice): void {
    if (!eptdev.present) return;
    eptdev.vanish();
    this.endpointDevices.delete(eptdev.name);
    this.endpointNumbers.release(eptdev.number);
    for (const list of this.children.values()) {
      const at = list.indexOf(eptdev);
      if (at >= 0) list.splice(at, 1);
    }
  }

  private removeChildren(parent: RpmsgDevice | RpmsgControlDevice): void {
    for (const eptdev of [...(this.children.get(parent) ?? [])]) this.removeEndpointDevice(eptdev);
    this.children.delete(parent);
  }

  /** The "rpmsg_chrdev" driver: channels named "rpmsg-raw" get /dev/rpmsgN on their own endpoint. */
  chrdevDriver(): RpmsgDriver {
    return {
      name: 'rpmsg_chrdev',
      idTable: ['rpmsg-raw'],
      callback: (device, data) => {
        (device.priv as RpmsgEndpointDevice | null)?.deliver(data);
      },
      probe: (device) => {
        device.priv = this.addEndpointDevice(device, { name: device.name, src: device.src, dst: device.dst }, device.ept, device);
      },
      remove: (device) => {
        this.removeChildren(device);
        device.priv = null;
      },
    };
  }

  /** The "rpmsg_ctrl" driver: binds the ctrl device of each rpmsg bus as /dev/rpmsg_ctrlN. */
  ctrlDriver(): RpmsgDriver {
    return {
      name: 'rpmsg_ctrl',
      // No id table, as in Linux: only the ctrl device (driver_override "rpmsg_ctrl") binds, never an announced channel.
      idTable: [],
      probe: (device) => {
        const ctrl = new RpmsgControlDevice(this, device, this.controlNumbers.take());
        this.controlDevices.set(ctrl.name, ctrl);
        device.priv = ctrl;
      },
      remove: (device) => {
        const ctrl = device.priv as RpmsgControlDevice | null;
        if (!ctrl) return;
        this.removeChildren(ctrl);
        this.controlDevices.delete(ctrl.name);
        this.controlNumbers.release(ctrl.number);
        device.priv = null;
        this.log.write('info', `rpmsg_ctrl ${device.deviceName}`, `removed /dev/${ctrl.name}`);
      },
    };
  }

  /** Register both drivers on `bus` (what loading rpmsg_char and rpmsg_ctrl does). */
  register(bus: RpmsgBus): void {
    bus.registerRpmsgDriver(this.ctrlDriver());
    bus.registerRpmsgDriver(this.chrdevDriver());
  }
}
