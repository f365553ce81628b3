/**
 * The remote's endpoints by address (the endpoint list of OpenAMP's rpmsg.c, the idr of
 * Linux's virtio_rpmsg_bus): binding, address allocation, who waits for a TX buffer, and
 * telling every endpoint that the host went away. Knows nothing of vrings.
 */
import { RpmsgError } from '../../../wire/errors.ts';
import { RPMSG_ADDR_ANY, RPMSG_RESERVED_ADDRESSES, RPMSG_SEND_TIMEOUT_MS } from '../../../wire/rpmsg.ts';
import type { AppCallbackSite } from '../app-errors.ts';
import type { Endpoint } from './endpoint.ts';

/** Where errors go that have no caller to throw to (the console); `site` when an app callback threw. */
export type ReportError = (error: unknown, site?: AppCallbackSite) => void;

/** The bound endpoints of one remote. */
export class EndpointTable {
  /** Endpoints by local address (looked up for every message). */
  readonly byAddress = new Map<number, Endpoint>();
  /** The same endpoints as a list, walked with an index (no iterator objects on the message path). */
  readonly list: Endpoint[] = [];
  /** How many endpoints wait for onWritable (so the message path skips the walk when none do). */
  waitingWriters = 0;
  private nextAddress = RPMSG_RESERVED_ADDRESSES;
  private readonly report: ReportError;

  constructor(report: ReportError) {
    this.report = report;
  }

  /** Bind `endpoint`: allocate its address (from 1024 up) or claim the one it asked for. */
  add(endpoint: Endpoint): void {
    if (endpoint.address === RPMSG_ADDR_ANY) {
      endpoint.address = this.allocateAddress();
    } else if (this.byAddress.has(endpoint.address)) {
      throw new RpmsgError('EBUSY', `address 0x${endpoint.address.toString(16)} is taken by endpoint ${this.byAddress.get(endpoint.address)!.describe()}; omit the address to get a free one`);
    }
    this.byAddress.set(endpoint.address, endpoint);
    this.list.push(endpoint);
  }

  /** Unbind `endpoint`; false if it was not bound here. */
  remove(endpoint: Endpoint): boolean {
    if (this.byAddress.get(endpoint.address) !== endpoint) return false;
    this.byAddress.delete(endpoint.address);
    this.list.splice(this.list.indexOf(endpoint), 1);
    if (endpoint.wantsWritable) {
      endpoint.wantsWritable = false;
      this.waitingWriters--;
    }
    return true;
  }

  /** A send from `address` failed for want of a TX buffer: its endpoint gets onWritable later. */
  markWaiting(address: number): void {
    const endpoint = this.byAddress.get(address);
    if (endpoint !== undefined && !endpoint.wantsWritable) {
      endpoint.wantsWritable = true;
      this.waitingWriters++;
    }
  }

  /** onWritable for the waiting endpoints, in binding order, as long as `buffersPosted()` says TX buffers wait. */
  deliverWritable(buffersPosted: () => number): void {
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      const endpoint = list[i];
      if (!endpoint.wantsWritable) continue;
      if (buffersPosted() === 0) return;
      endpoint.wantsWritable = false;
      this.waitingWriters--;
      if (endpoint.onWritable) {
        try {
          endpoint.onWritable.call(endpoint);
        } catch (error) {
          this.report(error, { callback: 'onWritable', endpoint });
        }
      }
    }
  }

  /**
   * The host went away: forget addresses learned from it, forget who waited for one of its TX
   * buffers (onWritable is not delivered for the next host: a send to the old session's address
   * must not resume there), then deliver EPIPE to each endpoint's onError.
   */
  hostGone(): void {
    const endpoints = [...this.list];
    for (const endpoint of endpoints) {
      if (endpoint.destinationLearned) endpoint.destination = RPMSG_ADDR_ANY;
      endpoint.wantsWritable = false;
      endpoint.announced = false;
    }
    this.waitingWriters = 0;
    for (const endpoint of endpoints) {
      if (endpoint.onError === undefined || this.byAddress.get(endpoint.address) !== endpoint) continue;
      try {
        endpoint.onError.call(endpoint, new RpmsgError('EPIPE', `the host reset the device or went away; ${endpoint.describe()} stays open and is announced again when the host is back`));
      } catch (error) {
        this.report(error, { callback: 'onError', endpoint });
      }
    }
  }

  /** How long a blocking send from `address` waits for a TX buffer. */
  sendTimeoutFor(address: number): number {
    const endpoint = this.byAddress.get(address);
    return endpoint === undefined ? RPMSG_SEND_TIMEOUT_MS : endpoint.sendTimeout;
  }

  private allocateAddress(): number {
    for (let tries = 0; tries < 0x10000; tries++) {
      const address = this.nextAddress;
      this.nextAddress = address >= 0x7fffffff ? RPMSG_RESERVED_ADDRESSES : address + 1;
      if (!this.byAddress.has(address)) return address;
    }
    throw new RpmsgError('ENOSPC', 'no free endpoint address; close endpoints you no longer use');
  }
}
