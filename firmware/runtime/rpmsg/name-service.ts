/**
 * The remote's name service (Linux's rpmsg_ns.c, OpenAMP's rpmsg_ns handling in rpmsg.c):
 * announcing and withdrawing named endpoints, and taking the announcements an OpenAMP host
 * makes. Sends through whatever transport it is given; knows nothing of vrings.
 */
import type { ErrorCounters, RpmsgError } from '../../../wire/errors.ts';
import {
  decodeNameServiceMessage,
  isNameServiceDestroy,
  writeNameServiceMessage,
  RPMSG_NS_CREATE,
  RPMSG_NS_MSG_SIZE,
} from '../../../wire/name-service.ts';
import { RPMSG_ADDR_ANY, RPMSG_NS_ADDR, RPMSG_RESERVED_ADDRESSES } from '../../../wire/rpmsg.ts';
import type { Endpoint } from './endpoint.ts';
import type { EndpointTable, ReportError } from './endpoint-table.ts';

/** A host name-service announcement, as delivered to onNameService. */
export type NameServiceListener = (name: string, address: number, destroyed: boolean) => void;

/** What the name service sends through (the rpmsg transport). */
export interface NameServiceTransmitter {
  /** True while the host has the device running. */
  readonly attached: boolean;
  /** Send one message, blocking for a TX buffer. */
  transmit(source: number, destination: number, data: Uint8Array, length: number, wait: boolean): void;
}

/** Announces the named endpoints of one remote and hears the host's announcements. */
export class NameService {
  /** VIRTIO_RPMSG_F_NS was negotiated: announcements are sent and received. */
  enabled = false;
  /** Called for every name-service announcement the host makes (OpenAMP hosts announce). */
  onNameService: NameServiceListener | null = null;
  private readonly transmitter: NameServiceTransmitter;
  private readonly endpoints: EndpointTable;
  private readonly counters: ErrorCounters;
  private readonly report: ReportError;
  /** Scratch for name-service messages (sent rarely, but still without allocation). */
  private readonly scratch = new Uint8Array(RPMSG_NS_MSG_SIZE);
  private readonly scratchView = new DataView(this.scratch.buffer);

  constructor(transmitter: NameServiceTransmitter, endpoints: EndpointTable, counters: ErrorCounters, report: ReportError) {
    this.transmitter = transmitter;
    this.endpoints = endpoints;
    this.counters = counters;
    this.report = report;
  }

  /**
   * Send RPMSG_NS_CREATE or RPMSG_NS_DESTROY for a named endpoint; nothing for an unnamed one, or
   * while the host is away. OpenAMP's rules (rpmsg_create_ept, rpmsg_destroy_ept): a create only
   * for an endpoint whose destination is not known yet (one given a destination talks to a known
   * peer and needs no channel); a destroy only for an address >= 1024 (below are fixed services),
   * and here only for an endpoint this host was told about.
   */
  announce(endpoint: Endpoint, flags: number): void {
    if (!this.enabled || !this.transmitter.attached || endpoint.name === '') return;
    if (flags === RPMSG_NS_CREATE) {
      if (endpoint.destination !== RPMSG_ADDR_ANY) return;
      endpoint.announced = true;
    } else {
      if (!endpoint.announced || endpoint.address < RPMSG_RESERVED_ADDRESSES) return;
      endpoint.announced = false;
    }
    writeNameServiceMessage(this.scratchView, 0, endpoint.name, endpoint.address, flags);
    try {
      this.transmitter.transmit(endpoint.address, RPMSG_NS_ADDR, this.scratch, RPMSG_NS_MSG_SIZE, true);
    } catch (error) {
      this.report(error);
    }
  }

  /** Announce every bound endpoint (the host just set DRIVER_OK). */
  announceAll(flags: number): void {
    for (const endpoint of [...this.endpoints.list]) this.announce(endpoint, flags);
  }

  /** A message to address 53: bind same-named endpoints that do not know their peer yet, then tell the listener. */
  receive(bytes: Uint8Array, offset: number, length: number): void {
    let address: number;
    let name: string;
    let destroyed: boolean;
    try {
      const message = decodeNameServiceMessage(bytes, offset, length);
      address = message.addr;
      name = message.name;
      destroyed = isNameServiceDestroy(message.flags);
    } catch (error) {
      this.report(this.counters.record('name-service-malformed', error as RpmsgError));
      return;
    }
    const list = this.endpoints.list;
    for (let i = 0; i < list.length; i++) {
      const endpoint = list[i];
      if (endpoint.name !== name || !endpoint.destinationLearned) continue;
      if (!destroyed && endpoint.destination === RPMSG_ADDR_ANY) endpoint.destination = address;
      else if (destroyed && endpoint.destination === address) endpoint.destination = RPMSG_ADDR_ANY;
    }
    if (this.onNameService) this.onNameService(name, address, destroyed);
  }
}
