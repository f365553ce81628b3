/** An rpmsg endpoint of the remote, in the ECMA-419 manner: one options object, callbacks, idempotent close. */
import { RpmsgError } from '../../../wire/errors.ts';
import { checkChannelName } from '../../../wire/name-service.ts';
import { RPMSG_ADDR_ANY, RPMSG_NS_ADDR, RPMSG_SEND_TIMEOUT_MS } from '../../../wire/rpmsg.ts';

/** What an endpoint needs from the rpmsg device it lives on. */
export interface EndpointHost {
  bind(endpoint: Endpoint): void;
  unbind(endpoint: Endpoint): void;
  transmit(src: number, dst: number, data: Uint8Array, length: number, wait: boolean): void;
  currentMessage(endpoint: Endpoint, target: Uint8Array | undefined): Uint8Array | number;
  /**
   * Optional: read() and sendTo() as the host's own functions, called with the endpoint as `this`
   * (the endpoint gets them as own properties): the app's `this.read(...)` and `this.sendTo(...)`
   * are then one JS call each, not two (message-path.ts; every check of the methods below is made there).
   */
  readonly endpointRead?: (this: Endpoint, target?: Uint8Array) => Uint8Array | number;
  readonly endpointSendTo?: (this: Endpoint, destination: number, data: Uint8Array, length?: number) => void;
}

/** The error for a call on a closed endpoint (the methods below and the host's own read/sendTo). */
export function closedEndpoint(endpoint: Endpoint): RpmsgError {
  return new RpmsgError('EPIPE', `endpoint ${endpoint.describe()} is closed; create a new Endpoint`);
}

/** The options object of `new Endpoint(...)`. */
export interface EndpointOptions {
  /** Service name announced to the host (name service); omit for an unannounced endpoint. */
  name?: string;
  /** Local address; omit (or RPMSG_ADDR_ANY) to get one allocated from 1024 up. */
  address?: number;
  /** Remote address; omit to learn it from the first message the host sends. */
  destination?: number;
  /**
   * A message arrived: `count` bytes from `source`; call read() before returning. `offset`: where
   * its payload is in the shared window, for zero-copy (the `bytes` of enableZeroCopy's object,
   * docs/ZERO-COPY.md: read there during the callback, or hold it).
   */
  onReadable?: (this: Endpoint, count: number, source: number, offset: number) => void;
  /** A TX buffer is free again after a send failed with ENOMEM. */
  onWritable?: (this: Endpoint) => void;
  /** The host went away (reset, crash, removal): sends fail until it is back; the endpoint stays open and is announced again then. */
  onError?: (this: Endpoint, error: RpmsgError) => void;
  /** Milliseconds a blocking send waits for a TX buffer (default 15000, as Linux). */
  sendTimeout?: number;
}

/** A remote endpoint: receives through onReadable, sends with the send family. */
export class Endpoint {
  /**
   * The device, null once closed. First: XS looks properties up in creation order, and read()/send*() use it on every message.
   * @internal (read by the device's own read/sendTo, EndpointHost.endpointRead)
   */
  host: EndpointHost | null;
  /** Service name (may be empty). */
  readonly name: string;
  /** Local address, fixed once bound. */
  address: number;
  /** Remote address, RPMSG_ADDR_ANY until known. */
  destination: number;
  /** True when `destination` was learned from the host rather than given. */
  destinationLearned: boolean;
  /** Milliseconds a blocking send waits for a TX buffer. */
  readonly sendTimeout: number;
  onReadable: ((this: Endpoint, count: number, source: number, offset: number) => void) | undefined;
  onWritable: ((this: Endpoint) => void) | undefined;
  onError: ((this: Endpoint, error: RpmsgError) => void) | undefined;
  /** True after a send failed for want of a buffer, until onWritable is delivered. */
  wantsWritable = false;
  /** True once the current host was sent an NS create for this endpoint (so close() sends the destroy). */
  announced = false;

  /** Checks every option first (EINVAL with the reason): on failure nothing is bound and nothing announced. */
  constructor(host: EndpointHost, options: EndpointOptions) {
    const name = options.name ?? '';
    if (typeof name !== 'string') throw new RpmsgError('EINVAL', `endpoint name must be a string, not ${typeof name}`);
    try {
      checkChannelName(name);
    } catch (error) {
      // no regular expression here: one literal keeps XS's RegExp (about 22 KB of text) in every image
      const message = (error as Error).message;
      throw new RpmsgError('EINVAL', `cannot create the endpoint: ${message.slice(0, 8) === 'EINVAL: ' ? message.slice(8) : message}`);
    }
    const address = options.address ?? RPMSG_ADDR_ANY;
    if (address !== RPMSG_ADDR_ANY) {
      if (!Number.isInteger(address) || address < 0 || address > RPMSG_ADDR_ANY) {
        throw new RpmsgError('EINVAL', `endpoint address ${String(address)} is not an integer in 0..0xfffffffe; omit it to get a free one`);
      }
      if (address === RPMSG_NS_ADDR) {
        throw new RpmsgError('EBUSY', `endpoint address 53 (0x35) is the name service's (RPMSG_NS_ADDR); pick another or omit it`);
      }
    }
    const destination = options.destination ?? RPMSG_ADDR_ANY;
    if (!Number.isInteger(destination) || destination < 0 || destination > RPMSG_ADDR_ANY) {
      throw new RpmsgError('EINVAL', `endpoint destination ${String(destination)} is not an integer in 0..0xffffffff; omit it to learn it from the host's first message`);
    }
    const sendTimeout = options.sendTimeout ?? RPMSG_SEND_TIMEOUT_MS;
    if (typeof sendTimeout !== 'number' || !(sendTimeout >= 0)) {
      throw new RpmsgError('EINVAL', `sendTimeout ${String(sendTimeout)} is not a number of milliseconds >= 0`);
    }
    this.name = name;
    this.address = address;
    this.destination = destination;
    this.destinationLearned = options.destination === undefined;
    this.sendTimeout = sendTimeout;
    this.onReadable = options.onReadable;
    this.onWritable = options.onWritable;
    this.onError = options.onError;
    this.host = host;
    // The host's one-call read() and sendTo() (own properties, after the fields the message path reads).
    if (host.endpointRead !== undefined) this.read = host.endpointRead as Endpoint['read'];
    if (host.endpointSendTo !== undefined) this.sendTo = host.endpointSendTo;
    host.bind(this);
  }

  /** True until close(). */
  get open(): boolean {
    return this.host !== null;
  }

  /**
   * The message being delivered to onReadable: without an argument a view into the shared
   * buffer (valid only during the callback); with `target`, copies into it and returns the
   * byte count (allocation-free).
   */
  read(): Uint8Array;
  read(target: Uint8Array): number;
  read(target?: Uint8Array): Uint8Array | number {
    const host = this.host;
    if (host === null) throw this.closed();
    return host.currentMessage(this, target);
  }

  /** Send to the endpoint's destination, waiting up to sendTimeout for a TX buffer. */
  send(data: Uint8Array, length: number = data.length): void {
    const host = this.host;
    if (host === null) throw this.closed();
    host.transmit(this.address, this.destination, data, length, true);
  }

  /** Send to `destination`, waiting up to sendTimeout for a TX buffer. */
  sendTo(destination: number, data: Uint8Array, length: number = data.length): void {
    const host = this.host;
    if (host === null) throw this.closed();
    host.transmit(this.address, destination, data, length, true);
  }

  /** Send from `source` to `destination`, waiting up to sendTimeout for a TX buffer. */
  sendOffchannel(source: number, destination: number, data: Uint8Array, length: number = data.length): void {
    const host = this.host;
    if (host === null) throw this.closed();
    host.transmit(source, destination, data, length, true);
  }

  /** Send to the destination, or fail at once with ENOMEM when no TX buffer is free. */
  trySend(data: Uint8Array, length: number = data.length): void {
    const host = this.host;
    if (host === null) throw this.closed();
    host.transmit(this.address, this.destination, data, length, false);
  }

  /** Send to `destination`, or fail at once with ENOMEM. */
  trySendTo(destination: number, data: Uint8Array, length: number = data.length): void {
    const host = this.host;
    if (host === null) throw this.closed();
    host.transmit(this.address, destination, data, length, false);
  }

  /** Send from `source` to `destination`, or fail at once with ENOMEM. */
  trySendOffchannel(source: number, destination: number, data: Uint8Array, length: number = data.length): void {
    const host = this.host;
    if (host === null) throw this.closed();
    host.transmit(source, destination, data, length, false);
  }

  /** Withdraw the endpoint (NS destroy if it was announced); calling it again does nothing. Buffers it holds (zero-copy) are released. */
  close(): void {
    const host = this.host;
    if (host === null) return;
    this.host = null;
    host.unbind(this);
  }

  /** The error for a call on a closed endpoint (read and send check `host` themselves: one call fewer per message). */
  private closed(): RpmsgError {
    return closedEndpoint(this);
  }

  /** "name@address" for messages. */
  describe(): string {
    return `"${this.name}"@${this.address === RPMSG_ADDR_ANY ? 'ANY' : '0x' + this.address.toString(16)}`;
  }
}
