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
  /**
   * Announce a channel to the remote's name service (when the channel has a fixed src and NS is
   * negotiated). Rejects when the announcement could not be sent (a failed create fails the probe).
   */
  announce(device: RpmsgDevice, destroy: boolean): Promise<void>;
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

  /** register_rpmsg_driver: binds every matching unbound channel (a failed probe leaves that channel unbound). */
  registerRpmsgDriver(driver: RpmsgDriver): void {
    for (const name of driver.idTable) {
      if (name.length === 0 || name.length > RPMSG_NAME_SIZE) {
        throw new RpmsgError('EINVAL', `driver ${driver.name}: id "${name}" must be 1..${RPMSG_NAME_SIZE} bytes`);
      }
    }
    if (this.drivers.includes(driver)) throw new RpmsgError('EBUSY', `driver ${driver.name} is already registered`);
    this.drivers.push(driver);
    for (const device of [...this.channels]) if (device.driver === null && this.matches(device, driver)) this.bind(device, driver, () => {});
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
    this.attach(device, 0);
    this.tell('add', device);
  }

  /**
   * device_attach: try the matching drivers in registration order, from index `from`, until one
   * binds; after a failed probe the driver core tries the next one (drivers/base/dd.c).
   */
  private attach(device: RpmsgDevice, from: number): void {
    for (let i = from; i < this.drivers.length; i++) {
      if (device.driver !== null || !this.channels.includes(device)) return;
      const driver = this.drivers[i];
      if (!this.matches(device, driver)) continue;
      const outcome = this.bind(device, driver, () => {
        const at = this.drivers.indexOf(driver);
        this.attach(device, at < 0 ? i : at + 1);
      });
      if (outcome !== 'failed') return;
    }
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

  /**
   * rpmsg_dev_probe: endpoint at the channel's src for the driver's callback, probe(), then the
   * announcement; a failed announcement fails the probe (remove() is called, the endpoint
   * destroyed), as in mainline. 'failed' when that is known at once; a probe or announcement
   * still in flight calls `failedLater` if it fails.
   */
  private bind(device: RpmsgDevice, driver: RpmsgDriver, failedLater: () => void): 'bound' | 'failed' | 'pending' {
    const source = `${driver.name} ${device.deviceName}`;
    device.driver = driver;
    let ept: RpmsgEndpoint | null = null;
    const probeFailed = (error: unknown): void => {
      const code = error instanceof RpmsgError ? error.errno : 22;
      this.log.write('warn', `rpmsg ${device.deviceName}`, `probe with driver ${driver.name} failed with error -${code}`);
    };
    if (driver.callback) {
      try {
        ept = device.transport.createEndpoint(device, driver.callback, device.src);
      } catch (error) {
        this.log.write('err', source, `failed to create endpoint: ${(error as Error).message}`);
        device.driver = null;
        probeFailed(error);
        return 'failed';
      }
      device.ept = ept;
      device.src = ept.addr;
    }
    const undo = (): void => {
      if (ept) device.transport.destroyEndpoint(ept);
      if (device.driver === driver) {
        device.ept = null;
        device.driver = null;
      }
    };
    const fail = (error: unknown): void => {
      this.log.write('err', source, `rpmsg_dev_probe: failed: ${error instanceof Error ? error.message : String(error)}`);
      undo();
      probeFailed(error);
    };
    const announceFailed = (error: unknown): void => {
      if (device.driver !== driver) return;
      this.log.write('err', source, 'failed to announce creation');
      try {
        driver.remove?.(device);
      } catch (removeError) {
        this.log.write('err', source, `remove threw: ${(removeError as Error).message}`);
      }
      undo();
      probeFailed(error);
    };
    /** After a successful probe: the announcement, when the channel has one. */
    const announce = (): 'bound' | 'pending' => {
      if (!ept || device.driver !== driver) return 'bound';
      const sent = device.transport.announce(device, false);
      sent.then(() => {}, (error: unknown) => {
        if (device.driver !== driver) return;
        announceFailed(error);
        failedLater();
      });
      return 'pending';
    };
    let result: void | Promise<void>;
    try {
      result = driver.probe(device);
    } catch (error) {
      fail(error);
      return 'failed';
    }
    if (result instanceof Promise) {
      result.then(() => { announce(); }, (error: unknown) => {
        if (device.driver !== driver) return;
        fail(error);
        failedLater();
      });
      return 'pending';
    }
    return announce();
  }

  /** rpmsg_dev_remove: announce destruction, remove(), destroy the endpoint. */
  private unbind(device: RpmsgDevice): void {
    const driver = device.driver;
    if (!driver) return;
    if (device.ept) device.transport.announce(device, true).catch(() => { /* logged by the transport */ });
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

/** What the send functions accept: bytes (any typed array or DataView by its bytes, an ArrayBuffer) or text, sent as UTF-8. */
export type RpmsgPayload = Uint8Array | ArrayBufferView | ArrayBuffer | string;

/** Describe a value for an error message (what the caller passed, not what it became). */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (value === null || value === undefined || typeof value === 'boolean') return String(value);
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}

/**
 * An rpmsg address a send may use: an integer in 0..0xFFFFFFFE. RPMSG_ADDR_ANY (0xFFFFFFFF) and
 * anything else (negative, fractional, NaN, beyond 32 bits, a string, a bigint) is EINVAL,
 * never coerced: -1 would become ANY and "1024" or 1024.5 some other endpoint.
 */
export function checkAddress(value: unknown, what: string): number {
  if (value === RPMSG_ADDR_ANY) {
    throw new RpmsgError('EINVAL', `invalid ${what} address 0xffffffff: RPMSG_ADDR_ANY cannot be a sender or a receiver`);
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > RPMSG_ADDR_ANY - 1) {
    throw new RpmsgError('EINVAL', `invalid ${what} address ${describeValue(value)}: an rpmsg address is an integer in 0..0xfffffffe`);
  }
  return value;
}

/**
 * The bytes of a payload: a Uint8Array as is, any other ArrayBufferView (Uint16Array, DataView,
 * Buffer, ...) by its bytes (byteLength, not element count), an ArrayBuffer whole, a string as
 * UTF-8. Anything else is EINVAL.
 */
export function payloadBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)) return new Uint8Array(data);
  if (typeof data === 'string') return utf8.encode(data);
  throw new RpmsgError('EINVAL', `invalid payload ${describeValue(data)}: send bytes (a Uint8Array, any typed array or DataView, an ArrayBuffer) or a string (sent as UTF-8)`);
}

const utf8 = new TextEncoder();

function checkEndpoint(endpoint: unknown): RpmsgEndpoint {
  if (!(endpoint instanceof RpmsgEndpoint)) throw new RpmsgError('EINVAL', `invalid endpoint ${describeValue(endpoint)}: pass the RpmsgEndpoint from createEndpoint or a channel's ept`);
  return endpoint;
}

function liveEndpoint(value: RpmsgEndpoint): RpmsgEndpoint {
  const endpoint = checkEndpoint(value);
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

/**
 * The send functions. A resolved send means the message is in the ring (vring 1) and the remote
 * was kicked, not that the remote has read it or that any endpoint there took it.
 */

/** rpmsg_send: to the channel's dst, waiting up to the TX timeout for a buffer (then ERESTARTSYS). */
export async function send(endpoint: RpmsgEndpoint, data: RpmsgPayload): Promise<void> {
  return liveEndpoint(endpoint).transport.sendOffchannelRaw(endpoint.addr, channelDst(endpoint), payloadBytes(data), true);
}

/** rpmsg_sendto: to `dst`, waiting for a buffer. */
export async function sendTo(endpoint: RpmsgEndpoint, data: RpmsgPayload, dst: number): Promise<void> {
  return liveEndpoint(endpoint).transport.sendOffchannelRaw(endpoint.addr, checkAddress(dst, 'dst'), payloadBytes(data), true);
}

/** rpmsg_send_offchannel: from `src` to `dst`, waiting for a buffer. */
export async function sendOffchannel(endpoint: RpmsgEndpoint, src: number, dst: number, data: RpmsgPayload): Promise<void> {
  return liveEndpoint(endpoint).transport.sendOffchannelRaw(checkAddress(src, 'src'), checkAddress(dst, 'dst'), payloadBytes(data), true);
}

/** rpmsg_trysend: ENOMEM when no TX buffer is free. Resolves once queued. */
export async function trySend(endpoint: RpmsgEndpoint, data: RpmsgPayload): Promise<void> {
  return liveEndpoint(endpoint).transport.sendOffchannelRaw(endpoint.addr, channelDst(endpoint), payloadBytes(data), false);
}

/** rpmsg_trysendto. */
export async function trySendTo(endpoint: RpmsgEndpoint, data: RpmsgPayload, dst: number): Promise<void> {
  return liveEndpoint(endpoint).transport.sendOffchannelRaw(endpoint.addr, checkAddress(dst, 'dst'), payloadBytes(data), false);
}

/** rpmsg_trysend_offchannel. */
export async function trySendOffchannel(endpoint: RpmsgEndpoint, src: number, dst: number, data: RpmsgPayload): Promise<void> {
  return liveEndpoint(endpoint).transport.sendOffchannelRaw(checkAddress(src, 'src'), checkAddress(dst, 'dst'), payloadBytes(data), false);
}
