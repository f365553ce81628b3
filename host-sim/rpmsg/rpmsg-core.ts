/**
 * The rpmsg bus and its API (drivers/rpmsg/rpmsg_core.c, include/linux/rpmsg.h), TypeScript-shaped:
 * what blocks in Linux returns a Promise here; failures throw RpmsgError with the errno name.
 */
import { RpmsgError } from '../../wire/errors.ts';
import { RPMSG_ADDR_ANY } from '../../wire/rpmsg.ts';
import { RPMSG_NAME_SIZE } from '../../wire/name-service.ts';
import type { HostLog } from '../log.ts';

/** Receive callback (rpmsg_rx_cb_t): payload (a copy) and the sender's address. */
export type RpmsgRxCallback = (device: RpmsgDevice, data: Uint8Array, src: number) => void;

/** struct rpmsg_channel_info. */
export interface RpmsgChannelInfo {
  name: string;
  src: number;
  dst: number;
}

/** struct rpmsg_driver: matched by id table names against channel names. */
export interface RpmsgDriver {
  /** Driver name, for logs ("rpmsg_client_sample"). */
  name: string;
  /** Channel names this driver serves (each up to 32 bytes). */
  idTable: string[];
  /** Called once the channel's endpoint exists; throw or reject to refuse the channel. */
  probe(device: RpmsgDevice): void | Promise<void>;
  /** Called when the channel goes away (NS destroy, remote crash, unregister). */
  remove?(device: RpmsgDevice): void;
  /** Receive callback of the endpoint created for the driver at probe; without one no endpoint is created. */
  callback?: RpmsgRxCallback;
}

/** What a transport (virtio_rpmsg_bus) does for endpoints and channels: struct rpmsg_device_ops + rpmsg_endpoint_ops. */
export interface RpmsgTransport {
  /** Bind an endpoint at `addr` (RPMSG_ADDR_ANY: allocate from 1024). */
  createEndpoint(device: RpmsgDevice | null, callback: RpmsgRxCallback, addr: number): RpmsgEndpoint;
  destroyEndpoint(endpoint: RpmsgEndpoint): void;
  /** rpmsg_send_offchannel_raw: wait = true blocks for a TX buffer (up to the timeout), false fails with ENOMEM. */
  sendOffchannelRaw(src: number, dst: number, data: Uint8Array, wait: boolean): Promise<void>;
  /** Announce a channel to the remote's name service (when the channel has a fixed src and NS is negotiated). */
  announce(device: RpmsgDevice, destroy: boolean): void;
  /** The name of the parent virtio device ("virtio0"). */
  readonly parentName: string;
}

/** An endpoint (struct rpmsg_endpoint): a local address bound to a callback. */
export class RpmsgEndpoint {
  /** False once destroyed: sends then fail with EPIPE and messages to its address are dropped. */
  live = true;

  constructor(
    readonly transport: RpmsgTransport,
    /** The channel it belongs to (null for endpoints created without one). */
    readonly device: RpmsgDevice | null,
    /** Its local address. */
    readonly addr: number,
    public callback: RpmsgRxCallback | null,
  ) {}
}

/** A channel (struct rpmsg_device), e.g. one created by a name-service announcement. */
export class RpmsgDevice {
  /** The driver bound to it. */
  driver: RpmsgDriver | null = null;
  /** The endpoint created for the driver at probe. */
  ept: RpmsgEndpoint | null = null;
  /** Driver data (dev_set_drvdata). */
  priv: unknown = null;
  /** "<parent>.<name>.<src>.<dst>" as rpmsg_register_device names it (%d: ANY prints as -1), fixed at registration. */
  readonly deviceName: string;
  /** Only this driver may bind (rpmsg_ns uses driver_override). */
  driverOverride: string | null = null;

  constructor(
    readonly transport: RpmsgTransport,
    /** Channel name (id.name). */
    readonly name: string,
    /** Local address: ANY until probe binds an endpoint. */
    public src: number,
    /** Remote address. */
    public dst: number,
    /** Announce creation/destruction to the remote (channels with a predefined src). */
    readonly announce: boolean,
  ) {
    this.deviceName = `${transport.parentName}.${name}.${src | 0}.${dst | 0}`;
  }
}

/** rpmsg_id_match: strncmp over RPMSG_NAME_SIZE. */
function idMatches(idName: string, channelName: string): boolean {
  return idName.slice(0, RPMSG_NAME_SIZE) === channelName.slice(0, RPMSG_NAME_SIZE);
}

/** The rpmsg bus: drivers, channels, matching, probe and remove (rpmsg_core.c). */
export class RpmsgBus {
  private readonly drivers: RpmsgDriver[] = [];
  private readonly channels: RpmsgDevice[] = [];
  private readonly watchers = new Set<(event: 'add' | 'remove', device: RpmsgDevice) => void>();

  constructor(private readonly log: HostLog) {}

  /** Be told after a channel is registered ('add', after its driver's probe) and after it is gone ('remove'). Returns the unwatch function. */
  watch(listener: (event: 'add' | 'remove', device: RpmsgDevice) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  private tell(event: 'add' | 'remove', device: RpmsgDevice): void {
    for (const listener of [...this.watchers]) {
      try {
        listener(event, device);
      } catch (error) {
        this.log.write('err', 'rpmsg_core', `a channel watcher threw: ${(error as Error).message}`);
      }
    }
  }

  /** Every registered channel, in registration order. */
  devices(): readonly RpmsgDevice[] {
    return this.channels;
  }

  /** Channels registered under the virtio device `parentName`. */
  childrenOf(parentName: string): RpmsgDevice[] {
    return this.channels.filter((device) => device.transport.parentName === parentName);
  }

  /** The channel whose deviceName is `deviceName`. */
  byName(deviceName: string): RpmsgDevice | undefined {
    return this.channels.find((device) => device.deviceName === deviceName);
  }

  /** register_rpmsg_driver: binds every matching unbound channel. */
  registerRpmsgDriver(driver: RpmsgDriver): void {
    for (const name of driver.idTable) {
      if (name.length === 0 || name.length > RPMSG_NAME_SIZE) {
        throw new RpmsgError('EINVAL', `driver ${driver.name}: id "${name}" must be 1..${RPMSG_NAME_SIZE} bytes`);
      }
    }
    if (this.drivers.includes(driver)) throw new RpmsgError('EBUSY', `driver ${driver.name} is already registered`);
    this.drivers.push(driver);
    for (const device of [...this.channels]) if (device.driver === null && this.matches(device, driver)) this.bind(device, driver);
  }

  /** unregister_rpmsg_driver: remove() for every bound channel. */
  unregisterRpmsgDriver(driver: RpmsgDriver): void {
    for (const device of [...this.channels]) if (device.driver === driver) this.unbind(device);
    const at = this.drivers.indexOf(driver);
    if (at >= 0) this.drivers.splice(at, 1);
  }

  /** rpmsg_find_device: a channel under `parentName` matching name exactly and src/dst unless ANY. */
  findDevice(parentName: string, info: RpmsgChannelInfo): RpmsgDevice | undefined {
    return this.channels.find((device) =>
      device.transport.parentName === parentName &&
      (info.src === RPMSG_ADDR_ANY || info.src === device.src) &&
      (info.dst === RPMSG_ADDR_ANY || info.dst === device.dst) &&
      idMatches(info.name, device.name));
  }

  /** rpmsg_register_device: add the channel and probe a matching driver. */
  registerDevice(device: RpmsgDevice): void {
    this.channels.push(device);
    const driver = this.drivers.find((candidate) => this.matches(device, candidate));
    if (driver) this.bind(device, driver);
    this.tell('add', device);
  }

  /** rpmsg_unregister_device / device_unregister: remove() if bound, then forget the channel. */
  unregisterDevice(device: RpmsgDevice): void {
    if (device.driver) this.unbind(device);
    const at = this.channels.indexOf(device);
    if (at >= 0) {
      this.channels.splice(at, 1);
      this.tell('remove', device);
    }
  }

  private matches(device: RpmsgDevice, driver: RpmsgDriver): boolean {
    if (device.driverOverride !== null) return device.driverOverride === driver.name;
    return driver.idTable.some((id) => idMatches(id, device.name));
  }

  /** rpmsg_dev_probe: endpoint at the channel's src for the driver's callback, probe(), then announce. */
  private bind(device: RpmsgDevice, driver: RpmsgDriver): void {
    const source = `${driver.name} ${device.deviceName}`;
    device.driver = driver;
    let ept: RpmsgEndpoint | null = null;
    if (driver.callback) {
      try {
        ept = device.transport.createEndpoint(device, driver.callback, device.src);
      } catch (error) {
        this.log.write('err', source, `failed to create endpoint: ${(error as Error).message}`);
        device.driver = null;
        return;
      }
      device.ept = ept;
      device.src = ept.addr;
    }
    const fail = (error: unknown): void => {
      this.log.write('err', source, `rpmsg_dev_probe: failed: ${error instanceof Error ? error.message : String(error)}`);
      if (ept) device.transport.destroyEndpoint(ept);
      if (device.driver === driver) {
        device.ept = null;
        device.driver = null;
      }
    };
    const announce = (): void => {
      if (ept && device.driver === driver) device.transport.announce(device, false);
    };
    let result: void | Promise<void>;
    try {
      result = driver.probe(device);
    } catch (error) {
      fail(error);
      return;
    }
    if (result instanceof Promise) result.then(announce, fail);
    else announce();
  }

  /** rpmsg_dev_remove: announce destruction, remove(), destroy the endpoint. */
  private unbind(device: RpmsgDevice): void {
    const driver = device.driver;
    if (!driver) return;
    if (device.ept) device.transport.announce(device, true);
    try {
      driver.remove?.(device);
    } catch (error) {
      this.log.write('err', `${driver.name} ${device.deviceName}`, `remove threw: ${(error as Error).message}`);
    }
    if (device.ept) device.transport.destroyEndpoint(device.ept);
    device.ept = null;
    device.driver = null;
  }
}

/** Bytes of a payload given as text (Latin-1) or bytes. */
export function payloadBytes(data: Uint8Array | string): Uint8Array {
  if (typeof data !== 'string') return data;
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
  return bytes;
}

function liveEndpoint(endpoint: RpmsgEndpoint): RpmsgEndpoint {
  if (!endpoint.live) throw new RpmsgError('EPIPE', `endpoint 0x${endpoint.addr.toString(16)} was destroyed (its channel is gone); create a new one`);
  return endpoint;
}

function channelDst(endpoint: RpmsgEndpoint): number {
  if (!endpoint.device) throw new RpmsgError('EINVAL', `endpoint 0x${endpoint.addr.toString(16)} has no channel, so no default destination; use sendTo`);
  return endpoint.device.dst;
}

/** rpmsg_create_ept: bind `callback` at info.src (RPMSG_ADDR_ANY allocates from 1024); ENOSPC if taken. */
export function createEndpoint(device: RpmsgDevice, callback: RpmsgRxCallback, info: Partial<RpmsgChannelInfo> = {}): RpmsgEndpoint {
  return device.transport.createEndpoint(device, callback, info.src ?? RPMSG_ADDR_ANY);
}

/** rpmsg_destroy_ept: unbind the address; later messages to it are dropped. Idempotent. */
export function destroyEndpoint(endpoint: RpmsgEndpoint): void {
  if (endpoint.live) endpoint.transport.destroyEndpoint(endpoint);
}

/** rpmsg_send: to the channel's dst, waiting up to the TX timeout for a buffer (then ERESTARTSYS). */
export async function send(endpoint: RpmsgEndpoint, data: Uint8Array | string): Promise<void> {
  return liveEndpoint(endpoint).transport.sendOffchannelRaw(endpoint.addr, channelDst(endpoint), payloadBytes(data), true);
}

/** rpmsg_sendto: to `dst`, waiting for a buffer. */
export async function sendTo(endpoint: RpmsgEndpoint, data: Uint8Array | string, dst: number): Promise<void> {
  return liveEndpoint(endpoint).transport.sendOffchannelRaw(endpoint.addr, dst, payloadBytes(data), true);
}

/** rpmsg_send_offchannel: from `src` to `dst`, waiting for a buffer. */
export async function sendOffchannel(endpoint: RpmsgEndpoint, src: number, dst: number, data: Uint8Array | string): Promise<void> {
  return liveEndpoint(endpoint).transport.sendOffchannelRaw(src, dst, payloadBytes(data), true);
}

/** rpmsg_trysend: ENOMEM when no TX buffer is free. Resolves once queued. */
export async function trySend(endpoint: RpmsgEndpoint, data: Uint8Array | string): Promise<void> {
  return liveEndpoint(endpoint).transport.sendOffchannelRaw(endpoint.addr, channelDst(endpoint), payloadBytes(data), false);
}

/** rpmsg_trysendto. */
export async function trySendTo(endpoint: RpmsgEndpoint, data: Uint8Array | string, dst: number): Promise<void> {
  return liveEndpoint(endpoint).transport.sendOffchannelRaw(endpoint.addr, dst, payloadBytes(data), false);
}

/** rpmsg_trysend_offchannel. */
export async function trySendOffchannel(endpoint: RpmsgEndpoint, src: number, dst: number, data: Uint8Array | string): Promise<void> {
  return liveEndpoint(endpoint).transport.sendOffchannelRaw(src, dst, payloadBytes(data), false);
}
