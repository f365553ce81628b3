/**
 * The common case of a message, written for XS's cost model (issue 11): a message to a bound
 * endpoint taken from vring 1, and a TX buffer taken from vring 0, each in one pass with no call
 * into VringDevice, no try per message and no allocation. Anything else (a check that fails, the
 * name service, no recipient, no TX buffer, a cached window) falls back to RpmsgVirtio's full
 * code, which makes the check again and refuses with its named, counted error: the fast path
 * decides only "everything is as usual", never how to refuse.
 *
 * Why it is written this way (measured on XS, docs/BENCHMARKS.md): a closure variable costs
 * about a third of a property read, a JS call several hundred instructions, a try block about a
 * thousand. So the ring views are closure variables set at attach, the ring state stays in the
 * VringDevice (the full code and the fast path share it: the fast path reads and writes it around
 * each step, so either can take over at any point), and the checks are VringDevice.takeAvailable's
 * and RpmsgVirtio.receiveOne's, written out in the same order.
 *
 * Also here, because it shares the message being delivered and the rings: the zero-copy API
 * (hold/release of RX buffers, TX buffers obtained, filled in place and sent or released;
 * docs/ZERO-COPY.md).
 */
import { RpmsgError } from '../../../wire/errors.ts';
import type { SharedMemory } from '../../../wire/shared-memory.ts';
import { RPMSG_ADDR_ANY, RPMSG_HDR_SIZE, RPMSG_MTU, RPMSG_NS_ADDR, writeRpmsgHeader } from '../../../wire/rpmsg.ts';
import { VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT } from '../../../wire/vring.ts';
import { VIRTIO_CONFIG_S_DRIVER_OK } from '../../../resource-table/layout.ts';
import type { AppErrors } from '../app-errors.ts';
import type { PlatformCommon } from '../platform.ts';
import type { VringDevice } from '../virtio/vring-device.ts';
import type { Endpoint } from './endpoint.ts';
import type { EndpointTable } from './endpoint-table.ts';

/** Descriptor flags the rpmsg buffers must not have (single descriptors only). */
const DESC_CHAINED = VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT;

/**
 * The receive loop's position, so the full code can take over where the fast path stopped (see
 * RpmsgVirtio.receiveFrom): the pass's first look at vring 1, a look after a message was
 * delivered, the look right after kicks were turned back on.
 */
export type ReceivePhase = 0 | 1 | 2;
export const PHASE_FIRST = 0;
export const PHASE_AFTER_MESSAGE = 1;
export const PHASE_AFTER_REARM = 2;

/** Message statistics, for tests and benchmarks (RpmsgVirtio.statistics, rpmsg.statistics). */
export interface RpmsgStatistics {
  received: number;
  sent: number;
  /** Messages dropped because nobody listens at their dst (Linux: "no recipient"). */
  unrouted: number;
  /** Exceptions that escaped app callbacks (onReadable: that message is lost), see app-errors.ts. */
  appErrors: number;
}

/** What the fast path needs of RpmsgVirtio: its full code, for everything unusual. */
export interface FullMessagePath {
  /** While true, messages stay in vring 1. */
  receivePaused: boolean;
  /** Whether vring 0 has the host's kicks turned on (a writer waits). */
  transmitKicksWanted: boolean;
  /** The full receive loop, from `phase` on (it also notifies and wakes writers). */
  receiveFrom(ring: VringDevice, suppressed: boolean, phase: ReceivePhase): void;
  /** The full send, with every refusal. */
  transmitFull(source: number, destination: number, data: Uint8Array, length: number, wait: boolean): void;
  /** A TX buffer for a send from `source` (waiting as a send does): its head; offset and length in the ring's bufferOffset/bufferLength. */
  acquireTransmitBuffer(ring: VringDevice, source: number, length: number, wait: boolean): number;
  /** Wake writers waiting for onWritable, turn vring 0's kicks off once none wait. */
  wakeWriters(): void;
  /** A pass ended with an error that is not the app's (a refusal the full code threw): log it. */
  passFailed(error: unknown): void;
  /** The runtime's full pass (status, attach or detach, then service), for a doorbell that finds anything unusual. */
  fullPass: () => void;
}

/** The message path of one RpmsgVirtio (see the file comment). */
export interface MessagePath {
  /** The message counts (received and sent kept by the path). */
  readonly statistics: RpmsgStatistics;
  /**
   * Take over the rings of a new session (fast: the window is coherent, no cache hooks).
   * `statusOffset`: where the vdev status byte is in `memory` (-1: no status byte, vhost-user);
   * a doorbell finding DRIVER_OK clear there goes to the runtime's full pass.
   */
  attach(receive: VringDevice, transmit: VringDevice, memory: SharedMemory, fast: boolean, statusOffset: number): void;
  /** The session's rings are gone: forget them and every buffer the app held of them. */
  detach(): void;
  /** The endpoint table changed (bind, unbind): the cached lookup is dropped. */
  endpointsChanged(): void;
  /**
   * The doorbell (platform.onNotify while attached): the status byte, then serviceRings(); anything
   * unusual (detached, DRIVER_OK clear) goes to the runtime's full pass (FullMessagePath.fullPass).
   */
  readonly doorbell: () => void;
  /** Service vring 1: every posted message, then the host's interrupt, then writers. Never throws. */
  readonly service: () => void;
  /** Send one message (EndpointHost.transmit). */
  readonly transmit: (source: number, destination: number, data: Uint8Array, length: number, wait: boolean) => void;
  /** The message being delivered (EndpointHost.currentMessage). */
  readonly currentMessage: (endpoint: Endpoint, target: Uint8Array | undefined) => Uint8Array | number;
  /** Deliver one checked message to `endpoint` (the full code's delivery, with its own try); true when the app held the buffer. */
  deliver(endpoint: Endpoint, head: number, bufferOffset: number, bufferLength: number, payload: number, source: number): boolean;
  /** Zero-copy (EndpointHost): hold the message being delivered, release a held one. */
  readonly hold: (endpoint: Endpoint) => Uint8Array;
  readonly release: (endpoint: Endpoint, view: Uint8Array) => void;
  /** Zero-copy (EndpointHost): a TX buffer to fill in place, its send, its release unsent. */
  readonly getTxBuffer: (endpoint: Endpoint, wait: boolean) => Uint8Array;
  readonly sendNoCopy: (endpoint: Endpoint, destination: number, view: Uint8Array, length: number) => void;
  readonly releaseTxBuffer: (endpoint: Endpoint, view: Uint8Array) => void;
  /** Release every buffer `endpoint` holds (it is closing). */
  releaseAll(endpoint: Endpoint): void;
  /** A TX buffer released unsent (kept for the next send) big enough for `length`: its head (bufferOffset/bufferLength set on `ring`), or -1; the full send takes these first. */
  takeSpareTransmitBuffer(ring: VringDevice, length: number): number;
  /** How many RX buffers apps hold, and TX buffers obtained and not sent (tests, statistics). */
  heldCounts(): { receive: number; transmit: number; spare: number };
}

/** Create the message path of `device`. */
export function createMessagePath(device: FullMessagePath, platform: PlatformCommon, endpoints: EndpointTable, appErrors: AppErrors): MessagePath {
  // received and sent as closure variables (an increment of a property costs several times more), read through accessors.
  let received = 0;
  let sent = 0;
  const statistics: RpmsgStatistics = {
    get received() { return received; },
    set received(count: number) { received = count; },
    get sent() { return sent; },
    set sent(count: number) { sent = count; },
    unrouted: 0,
    appErrors: 0,
  };
  // The rings of the session (null while detached) and their views, as closure variables.
  let receive: VringDevice | null = null;
  let transmit: VringDevice | null = null;
  /** False for a cached window: CachedVringDevice's cache maintenance is in its methods, so the full code runs. */
  let fast = false;
  let rxNum = 0;
  let rxMask = 0;
  let rxAvail: Uint16Array = new Uint16Array(0);
  let rxDescHalves: Uint16Array = new Uint16Array(0);
  let rxDescWords: Uint32Array = new Uint32Array(0);
  let rxUsedWords: Uint32Array = new Uint32Array(0);
  let rxUsedHalves: Uint16Array = new Uint16Array(0);
  let rxEventIndex = false;
  let rxUsedEvent = 0;
  let rxAvailEvent = 0;
  let rxNotifyId = 0;
  /** avail.idx of vring 1 at its last read (entries up to it were seen after a barrier). */
  let rxKnownAvail = 0;
  let txNum = 0;
  let txMask = 0;
  let txAvail: Uint16Array = new Uint16Array(0);
  let txDescHalves: Uint16Array = new Uint16Array(0);
  let txDescWords: Uint32Array = new Uint32Array(0);
  let txUsedWords: Uint32Array = new Uint32Array(0);
  let txUsedHalves: Uint16Array = new Uint16Array(0);
  let txEventIndex = false;
  let txUsedEvent = 0;
  let txNotifyId = 0;
  let txKnownAvail = 0;
  let words: Uint32Array = new Uint32Array(0);
  let halves: Uint16Array = new Uint16Array(0);
  let bytes: Uint8Array = new Uint8Array(0);
  let dataView: DataView = new DataView(new ArrayBuffer(0));
  let base = 0;
  let size = 0;
  // The platform's hooks as plain functions (none uses `this`): a property read fewer per call. Taken again at each attach.
  let barrier = platform.barrier;
  let notify = platform.notify;
  let copy = platform.copy;
  // The message being delivered to onReadable (read(), hold()).
  let deliveringTo: Endpoint | null = null;
  let deliveringHead = 0;
  let deliveringBufferOffset = 0;
  let deliveringBufferLength = 0;
  let deliveringLength = 0;
  let deliveringHeld = false;
  // The last endpoint looked up (one Map.get fewer per message to the same address); dropped when the table changes.
  let cachedAddress = -1;
  let cachedEndpoint: Endpoint | null = null;
  // Zero-copy, by descriptor head (arrays of the session's ring size, made at attach: nothing allocated
  // per message but the view itself): RX buffers held, TX buffers obtained and not sent, TX buffers
  // released unsent (kept for the next send). Each list is a stack of heads; the view, endpoint, buffer
  // offset and length of a head are in the arrays indexed by it.
  let rxHeldHeads: Uint16Array = new Uint16Array(0);
  let rxHeldCount = 0;
  let rxHeldViews: (Uint8Array | null)[] = [];
  let rxHeldEndpoints: (Endpoint | null)[] = [];
  let rxHeldLength: Uint32Array = new Uint32Array(0);
  let txHeldHeads: Uint16Array = new Uint16Array(0);
  let txHeldCount = 0;
  let txHeldViews: (Uint8Array | null)[] = [];
  let txHeldEndpoints: (Endpoint | null)[] = [];
  let txBufferOffset: Uint32Array = new Uint32Array(0);
  let txBufferLength: Uint32Array = new Uint32Array(0);
  let spareHeads: Uint16Array = new Uint16Array(0);
  let spareCount = 0;
  /** Views held when the host reset the device (their buffers went with its rings): a release of one only forgets it. */
  const stale: Uint8Array[] = [];
  const staleEndpoints: Endpoint[] = [];

  /** The vdev status byte (-1: none), read at every doorbell. */
  let statusOffset = -1;

  const doorbell = (): void => {
    if (receive === null || (statusOffset >= 0 && (bytes[statusOffset] & VIRTIO_CONFIG_S_DRIVER_OK) === 0)) device.fullPass();
    else service();
  };

  const service = (): void => {
    const ring = receive;
    if (ring === null) return;
    if (device.receivePaused || !fast) {
      try {
        if (device.receivePaused) device.wakeWriters();
        else device.receiveFrom(ring, false, PHASE_FIRST);
      } catch (error) {
        device.passFailed(error);
      }
      return;
    }
    // Once a second message waits (the host streams), kicks of vring 1 are suppressed while we
    // drain; once the ring is empty they go back on and the ring is looked at once more (as
    // RpmsgVirtio.receiveFrom, which is this loop with calls; see there).
    let suppressed = false;
    let phase: ReceivePhase = PHASE_FIRST;
    let head = 0;
    let bufferLength = 0;
    for (;;) {
      try {
        for (;;) {
          // VringDevice.takeAvailable, written out: any check that fails hands over to the full code, which refuses and counts.
          if (ring.broken) {
            device.receiveFrom(ring, suppressed, phase);
            return;
          }
          const last = ring.lastAvail;
          // avail.idx is read again only once the entries seen at the last read are taken (Linux's
          // vhost keeps avail_idx the same way): one read and one barrier for a whole batch.
          let ahead = (rxKnownAvail - last) & 0xffff;
          if (ahead === 0 || ahead > rxNum) {
            rxKnownAvail = rxAvail[1];
            ahead = (rxKnownAvail - last) & 0xffff;
            if (ahead === 0) {
              if (phase !== PHASE_AFTER_MESSAGE) break;
              if (!suppressed && !rxEventIndex) break;
              // VringDevice.enableKicks, written out.
              suppressed = false;
              ring.kicksWanted = true;
              if (rxEventIndex) rxUsedHalves[rxAvailEvent] = last;
              else rxUsedHalves[0] = 0;
              barrier();
              phase = PHASE_AFTER_REARM;
              continue;
            }
            if (ahead > rxNum) {
              device.receiveFrom(ring, suppressed, phase);
              return;
            }
            // The entries and their descriptors only after avail.idx.
            barrier();
          }
          head = rxAvail[2 + (last & rxMask)];
          const descriptor = head << 2;
          const offset = rxDescWords[descriptor] - base;
          bufferLength = rxDescWords[descriptor + 2];
          // Descriptor index, flags, address above 4 GiB, bounds in the region; then the rpmsg
          // header: at least 16 bytes, aligned (else the full code reads it through the DataView),
          // len within the buffer; not for the name service.
          // (Flags and the address's high word in one test; `bufferLength > size - offset` also refuses an
          // offset past the end, bufferLength being a u32.)
          if (head >= rxNum || ((rxDescHalves[(head << 3) + 6] & DESC_CHAINED) | rxDescWords[descriptor + 1]) !== 0 ||
            offset < 0 || bufferLength > size - offset || bufferLength < RPMSG_HDR_SIZE || (offset & 3) !== 0) {
            device.receiveFrom(ring, suppressed, phase);
            return;
          }
          const word = offset >> 2;
          const destination = words[word + 1];
          const payload = halves[(offset >> 1) + 6];
          if (payload > bufferLength - RPMSG_HDR_SIZE || destination === RPMSG_NS_ADDR) {
            device.receiveFrom(ring, suppressed, phase);
            return;
          }
          let endpoint = cachedEndpoint;
          if (destination !== cachedAddress) {
            endpoint = endpoints.byAddress.get(destination) ?? null;
            if (endpoint === null) {
              device.receiveFrom(ring, suppressed, phase); // no recipient: counted and rate-limited there
              return;
            }
            cachedAddress = destination;
            cachedEndpoint = endpoint;
          }
          ring.lastAvail = (last + 1) & 0xffff;
          if (phase === PHASE_AFTER_MESSAGE && !suppressed) {
            ring.setKicksWanted(false);
            suppressed = true;
          }
          received++;
          const source = words[word];
          if (endpoint!.destination === RPMSG_ADDR_ANY) endpoint!.destination = source;
          deliveringHeld = false;
          if (endpoint!.onReadable !== undefined) {
            deliveringTo = endpoint;
            deliveringHead = head;
            deliveringBufferOffset = offset;
            deliveringBufferLength = bufferLength;
            deliveringLength = payload;
            endpoint!.onReadable(payload, source); // a method call: `this` is the endpoint
            deliveringTo = null;
          }
          // Detached from inside the callback: the ring is the old host's; a used entry now would corrupt the next one's.
          if (receive !== ring) return;
          if (!deliveringHeld) {
            // VringDevice.pushUsed, written out.
            const usedIndex = ring.usedIndex;
            const element = 1 + ((usedIndex & rxMask) << 1);
            rxUsedWords[element] = head;
            rxUsedWords[element + 1] = bufferLength;
            barrier();
            const next = (usedIndex + 1) & 0xffff;
            ring.usedIndex = next;
            rxUsedHalves[1] = next;
          }
          if (device.receivePaused) {
            if (suppressed) ring.enableKicks();
            break;
          }
          phase = PHASE_AFTER_MESSAGE;
        }
        break;
      } catch (error) {
        // One try per pass, not per message. An app exception: the message is lost, the buffer
        // returned, the pass goes on. Anything else (from the full code) ends the pass, logged.
        const endpoint = deliveringTo;
        if (endpoint === null) {
          device.passFailed(error);
          return;
        }
        deliveringTo = null;
        appErrors.exception(error, { callback: 'onReadable', endpoint });
        if (receive !== ring) return;
        if (!deliveringHeld) ring.pushUsed(head, bufferLength);
        if (device.receivePaused) {
          if (suppressed) ring.enableKicks();
          break;
        }
        phase = PHASE_AFTER_MESSAGE;
      }
    }
    // VringDevice.shouldNotify, written out.
    const usedIndex = ring.usedIndex;
    const notified = ring.lastNotifiedUsed;
    if (usedIndex !== notified) {
      barrier();
      ring.lastNotifiedUsed = usedIndex;
      if (rxEventIndex ? ((usedIndex - rxAvail[rxUsedEvent] - 1) & 0xffff) < ((usedIndex - notified) & 0xffff) : (rxAvail[0] & VRING_AVAIL_F_NO_INTERRUPT) === 0) {
        notify(rxNotifyId);
      }
    }
    if (endpoints.waitingWriters > 0 || device.transmitKicksWanted) {
      try {
        device.wakeWriters();
      } catch (error) {
        device.passFailed(error);
      }
    }
  };

  const transmitMessage = (source: number, destination: number, data: Uint8Array, length: number, wait: boolean): void => {
    const ring = transmit;
    if (ring !== null && fast && spareCount === 0 && length <= RPMSG_MTU && length >= 0 && length <= data.length &&
      source !== RPMSG_ADDR_ANY && destination !== RPMSG_ADDR_ANY && !ring.broken) {
      const last = ring.lastAvail;
      let ahead = (txKnownAvail - last) & 0xffff;
      if (ahead === 0 || ahead > txNum) {
        // As on vring 1: avail.idx again only once the buffers seen at the last read are used up.
        txKnownAvail = txAvail[1];
        ahead = (txKnownAvail - last) & 0xffff;
        if (ahead !== 0 && ahead <= txNum) barrier();
      }
      if (ahead !== 0 && ahead <= txNum) {
        const head = txAvail[2 + (last & txMask)];
        const descriptor = head << 2;
        const offset = txDescWords[descriptor] - base;
        const bufferLength = txDescWords[descriptor + 2];
        // VringDevice.takeAvailable's checks, then RpmsgVirtio.takeTransmitBuffer's size check, and an aligned header.
        if (head < txNum && ((txDescHalves[(head << 3) + 6] & DESC_CHAINED) | txDescWords[descriptor + 1]) === 0 &&
          offset >= 0 && bufferLength <= size - offset && bufferLength >= RPMSG_HDR_SIZE + length && (offset & 3) === 0) {
          ring.lastAvail = (last + 1) & 0xffff;
          const word = offset >> 2;
          words[word] = source;
          words[word + 1] = destination;
          words[word + 2] = 0;
          words[word + 3] = length; // len (u16) and flags (u16, 0) as one little-endian u32
          if (length !== 0) {
            if (copy !== undefined) copy(true, offset + RPMSG_HDR_SIZE, data, 0, length);
            else for (let i = 0; i < length; i++) bytes[offset + RPMSG_HDR_SIZE + i] = data[i];
          }
          // VringDevice.pushUsed, then shouldNotify, written out.
          const usedIndex = ring.usedIndex;
          const element = 1 + ((usedIndex & txMask) << 1);
          txUsedWords[element] = head;
          txUsedWords[element + 1] = RPMSG_HDR_SIZE + length;
          barrier();
          const next = (usedIndex + 1) & 0xffff;
          ring.usedIndex = next;
          txUsedHalves[1] = next;
          sent++;
          const notified = ring.lastNotifiedUsed;
          barrier();
          ring.lastNotifiedUsed = next;
          if (txEventIndex ? ((next - txAvail[txUsedEvent] - 1) & 0xffff) < ((next - notified) & 0xffff) : (txAvail[0] & VRING_AVAIL_F_NO_INTERRUPT) === 0) {
            notify(txNotifyId);
          }
          return;
        }
      }
    }
    device.transmitFull(source, destination, data, length, wait);
  };

  const currentMessage = (endpoint: Endpoint, target: Uint8Array | undefined): Uint8Array | number => {
    if (deliveringTo !== endpoint) {
      throw new RpmsgError('EINVAL', `read() on ${endpoint.describe()} outside its onReadable callback; messages can only be read while they are delivered`);
    }
    const start = deliveringBufferOffset + RPMSG_HDR_SIZE;
    const length = deliveringLength;
    if (target === undefined) return bytes.subarray(start, start + length);
    if (target.length < length) {
      throw new RpmsgError('EMSGSIZE', `read() target holds ${target.length} bytes but the message has ${length}; pass a buffer of at least ${RPMSG_MTU}`);
    }
    if (copy !== undefined) copy(false, start, target, 0, length);
    else for (let i = 0; i < length; i++) target[i] = bytes[start + i];
    return length;
  };

  const notHeld = (what: string, endpoint: Endpoint): RpmsgError =>
    new RpmsgError('EBADF', `${what} on ${endpoint.describe()}: this view is not a buffer the endpoint holds (released or sent already, or never obtained from it); a buffer is released or sent once`);

  /** Forget a view held in a session the host reset; false when `view` is not one. */
  const forgetStale = (endpoint: Endpoint, view: Uint8Array): boolean => {
    for (let i = 0; i < stale.length; i++) {
      if (stale[i] === view && staleEndpoints[i] === endpoint) {
        stale.splice(i, 1);
        staleEndpoints.splice(i, 1);
        return true;
      }
    }
    return false;
  };

  const hold = (endpoint: Endpoint): Uint8Array => {
    if (deliveringTo !== endpoint || receive === null) {
      throw new RpmsgError('EINVAL', `hold() on ${endpoint.describe()} outside its onReadable callback; only the message being delivered can be held`);
    }
    if (deliveringHeld) throw new RpmsgError('EALREADY', `hold() twice for the same message on ${endpoint.describe()}; use the view the first hold() returned`);
    const start = deliveringBufferOffset + RPMSG_HDR_SIZE;
    const view = bytes.subarray(start, start + deliveringLength);
    const head = deliveringHead;
    rxHeldHeads[rxHeldCount++] = head;
    rxHeldViews[head] = view;
    rxHeldEndpoints[head] = endpoint;
    rxHeldLength[head] = deliveringBufferLength;
    deliveringHeld = true;
    return view;
  };

  const release = (endpoint: Endpoint, view: Uint8Array): void => {
    const ring = receive;
    for (let i = rxHeldCount - 1; i >= 0; i--) {
      const head = rxHeldHeads[i];
      if (rxHeldViews[head] !== view || rxHeldEndpoints[head] !== endpoint) continue;
      rxHeldHeads[i] = rxHeldHeads[--rxHeldCount];
      rxHeldViews[head] = null;
      rxHeldEndpoints[head] = null;
      // VringDevice.pushUsed and shouldNotify (the host learns its buffer is back).
      ring!.pushUsed(head, rxHeldLength[head]);
      if (ring!.shouldNotify()) notify(rxNotifyId);
      return;
    }
    if (!forgetStale(endpoint, view)) throw notHeld('release()', endpoint);
  };

  const getTxBuffer = (endpoint: Endpoint, wait: boolean): Uint8Array => {
    const ring = transmit;
    if (ring === null) throw new RpmsgError('EPIPE', 'the host has not set DRIVER_OK (or reset the device); wait until it is up');
    let head = -1;
    let offset = 0;
    let length = 0;
    if (fast && spareCount === 0 && !ring.broken) {
      // As transmitMessage takes a buffer (every check), for a buffer of at least the header.
      const last = ring.lastAvail;
      let ahead = (txKnownAvail - last) & 0xffff;
      if (ahead === 0 || ahead > txNum) {
        txKnownAvail = txAvail[1];
        ahead = (txKnownAvail - last) & 0xffff;
        if (ahead !== 0 && ahead <= txNum) barrier();
      }
      if (ahead !== 0 && ahead <= txNum) {
        const candidate = txAvail[2 + (last & txMask)];
        const descriptor = candidate << 2;
        offset = txDescWords[descriptor] - base;
        length = txDescWords[descriptor + 2];
        if (candidate < txNum && (txDescHalves[(candidate << 3) + 6] & DESC_CHAINED) === 0 && txDescWords[descriptor + 1] === 0 &&
          offset >= 0 && offset <= size && length <= size - offset && length >= RPMSG_HDR_SIZE) {
          ring.lastAvail = (last + 1) & 0xffff;
          head = candidate;
        }
      }
    }
    if (head < 0) {
      head = device.acquireTransmitBuffer(ring, endpoint.address, 0, wait);
      offset = ring.bufferOffset;
      length = ring.bufferLength;
    }
    const payload = length - RPMSG_HDR_SIZE > RPMSG_MTU ? RPMSG_MTU : length - RPMSG_HDR_SIZE;
    const view = bytes.subarray(offset + RPMSG_HDR_SIZE, offset + RPMSG_HDR_SIZE + payload);
    txHeldHeads[txHeldCount++] = head;
    txHeldViews[head] = view;
    txHeldEndpoints[head] = endpoint;
    txBufferOffset[head] = offset;
    txBufferLength[head] = length;
    return view;
  };

  /** The index in txHeldHeads of `view` obtained by `endpoint`, or -1. */
  const findObtained = (endpoint: Endpoint, view: Uint8Array): number => {
    for (let i = txHeldCount - 1; i >= 0; i--) {
      const head = txHeldHeads[i];
      if (txHeldViews[head] === view && txHeldEndpoints[head] === endpoint) return i;
    }
    return -1;
  };

  /** Take entry `i` off the obtained list; returns its head. */
  const unobtain = (i: number): number => {
    const head = txHeldHeads[i];
    txHeldHeads[i] = txHeldHeads[--txHeldCount];
    txHeldViews[head] = null;
    txHeldEndpoints[head] = null;
    return head;
  };

  const sendNoCopy = (endpoint: Endpoint, destination: number, view: Uint8Array, length: number): void => {
    const i = findObtained(endpoint, view);
    if (i < 0) {
      if (forgetStale(endpoint, view)) {
        throw new RpmsgError('EPIPE', `sendNoCopy() on ${endpoint.describe()}: the host reset the device since the TX buffer was obtained; the buffer is gone and the message was not sent`);
      }
      throw notHeld('sendNoCopy()', endpoint);
    }
    if (!(length >= 0 && length <= view.length && length === Math.floor(length))) {
      throw new RpmsgError('EMSGSIZE', `sendNoCopy() of ${String(length)} bytes from a ${view.length}-byte TX buffer; the length must be an integer from 0 to ${view.length} (the buffer stays obtained)`);
    }
    if (destination === RPMSG_ADDR_ANY) {
      throw new RpmsgError('EINVAL', 'no destination address yet: it is learned from the first message the host sends; use sendToNoCopy with an address (the buffer stays obtained)');
    }
    const head = unobtain(i);
    const ring = transmit!;
    const offset = txBufferOffset[head];
    if ((offset & 3) === 0) {
      const word = offset >> 2;
      words[word] = endpoint.address;
      words[word + 1] = destination;
      words[word + 2] = 0;
      words[word + 3] = length;
    } else {
      writeRpmsgHeader(dataView, offset, endpoint.address, destination, length);
    }
    ring.pushUsed(head, RPMSG_HDR_SIZE + length);
    sent++;
    if (ring.shouldNotify()) notify(txNotifyId);
  };

  const releaseTxBuffer = (endpoint: Endpoint, view: Uint8Array): void => {
    const i = findObtained(endpoint, view);
    if (i < 0) {
      if (!forgetStale(endpoint, view)) throw notHeld('releaseTxBuffer()', endpoint);
      return;
    }
    // Kept by the remote for its next send (OpenAMP's rpmsg_virtio_release_tx_buffer): handing it back
    // on the used ring would read to the host as a message.
    spareHeads[spareCount++] = unobtain(i);
  };

  const path: MessagePath = {
    statistics,
    attach(rx, tx, memory, isFast, status) {
      statusOffset = status;
      receive = rx;
      transmit = tx;
      fast = isFast;
      rxNum = rx.num;
      rxMask = rx.num - 1;
      rxAvail = rx.availHalves;
      rxDescHalves = rx.descHalves;
      rxDescWords = rx.descWords;
      rxUsedWords = rx.usedWords;
      rxUsedHalves = rx.usedHalves;
      rxEventIndex = rx.eventIndex;
      rxUsedEvent = rx.usedEventHalf;
      rxAvailEvent = rx.availEventHalf;
      rxNotifyId = rx.notifyId;
      barrier = platform.barrier;
      notify = platform.notify;
      copy = platform.copy;
      rxKnownAvail = rx.lastAvail;
      txNum = tx.num;
      txMask = tx.num - 1;
      txAvail = tx.availHalves;
      txDescHalves = tx.descHalves;
      txDescWords = tx.descWords;
      txUsedWords = tx.usedWords;
      txUsedHalves = tx.usedHalves;
      txEventIndex = tx.eventIndex;
      txUsedEvent = tx.usedEventHalf;
      txNotifyId = tx.notifyId;
      txKnownAvail = tx.lastAvail;
      words = memory.words;
      halves = memory.halves;
      bytes = memory.bytes;
      dataView = memory.view;
      base = memory.base;
      size = memory.size;
      cachedAddress = -1;
      cachedEndpoint = null;
      rxHeldHeads = new Uint16Array(rxNum);
      rxHeldViews = new Array<Uint8Array | null>(rxNum).fill(null);
      rxHeldEndpoints = new Array<Endpoint | null>(rxNum).fill(null);
      rxHeldLength = new Uint32Array(rxNum);
      rxHeldCount = 0;
      txHeldHeads = new Uint16Array(txNum);
      txHeldViews = new Array<Uint8Array | null>(txNum).fill(null);
      txHeldEndpoints = new Array<Endpoint | null>(txNum).fill(null);
      txBufferOffset = new Uint32Array(txNum);
      txBufferLength = new Uint32Array(txNum);
      txHeldCount = 0;
      spareHeads = new Uint16Array(txNum);
      spareCount = 0;
    },
    detach() {
      receive = null;
      transmit = null;
      deliveringTo = null;
      // Views held of the old session: a release of one only forgets it, a send of one is EPIPE; nothing goes to the next session's rings.
      for (let i = 0; i < rxHeldCount; i++) {
        stale.push(rxHeldViews[rxHeldHeads[i]]!);
        staleEndpoints.push(rxHeldEndpoints[rxHeldHeads[i]]!);
      }
      for (let i = 0; i < txHeldCount; i++) {
        stale.push(txHeldViews[txHeldHeads[i]]!);
        staleEndpoints.push(txHeldEndpoints[txHeldHeads[i]]!);
      }
      rxHeldCount = 0;
      txHeldCount = 0;
      spareCount = 0;
    },
    endpointsChanged() {
      cachedAddress = -1;
      cachedEndpoint = null;
    },
    doorbell,
    service,
    transmit: transmitMessage,
    currentMessage,
    deliver(endpoint, head, bufferOffset, bufferLength, payload, source) {
      deliveringTo = endpoint;
      deliveringHead = head;
      deliveringBufferOffset = bufferOffset;
      deliveringBufferLength = bufferLength;
      deliveringLength = payload;
      deliveringHeld = false;
      try {
        endpoint.onReadable!(payload, source);
      } catch (error) {
        appErrors.exception(error, { callback: 'onReadable', endpoint });
      } finally {
        deliveringTo = null;
      }
      return deliveringHeld;
    },
    hold,
    release,
    getTxBuffer,
    sendNoCopy,
    releaseTxBuffer,
    releaseAll(endpoint) {
      for (let i = rxHeldCount - 1; i >= 0; i--) {
        const head = rxHeldHeads[i];
        if (rxHeldEndpoints[head] === endpoint) release(endpoint, rxHeldViews[head]!);
      }
      for (let i = txHeldCount - 1; i >= 0; i--) {
        const head = txHeldHeads[i];
        if (txHeldEndpoints[head] === endpoint) releaseTxBuffer(endpoint, txHeldViews[head]!);
      }
      for (let i = stale.length - 1; i >= 0; i--) {
        if (staleEndpoints[i] === endpoint) {
          stale.splice(i, 1);
          staleEndpoints.splice(i, 1);
        }
      }
    },
    takeSpareTransmitBuffer(ring, length) {
      if (spareCount === 0 || ring !== transmit) return -1;
      for (let i = spareCount - 1; i >= 0; i--) {
        const head = spareHeads[i];
        if (txBufferLength[head] < RPMSG_HDR_SIZE + length) continue;
        spareHeads[i] = spareHeads[--spareCount];
        ring.bufferOffset = txBufferOffset[head];
        ring.bufferLength = txBufferLength[head];
        return head;
      }
      return -1;
    },
    heldCounts() {
      return { receive: rxHeldCount, transmit: txHeldCount, spare: spareCount };
    },
  };
  return path;
}
