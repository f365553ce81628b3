/**
 * The common case of a message, written for XS's cost model (issue 11): a message to a bound
 * endpoint taken from vring 1, and a TX buffer taken from vring 0, each in one pass with no call
 * into VringDevice, no try per message and no allocation. Anything else (a check that fails, the
 * name service, no recipient, no TX buffer, a cached window) falls back to RpmsgVirtio's full
 * code, which makes the check again and refuses with its named, counted error: the fast path
 * decides only "everything is as usual", never how to refuse.
 *
 * Why it is written this way (measured on XS, docs/BENCHMARKS.md): every byte code costs 20-80
 * instructions, a JS call about 400, a try about 500, a named property read about 75 against 26 for
 * a closure variable. So one JS call per doorbell (platform.onNotify is `doorbell`, the pass
 * itself); the app's `this.read()` and `this.sendTo()` land directly in endpointRead and
 * endpointSendTo (the endpoint's own properties, EndpointHost.endpointRead/endpointSendTo); the ring
 * views are closure variables set at attach; the ring state (lastAvail, usedIndex, ...) and the
 * flags every pass reads are closure variables too, and the owners' fields (VringDevice's,
 * RpmsgVirtio's, EndpointTable's) are accessors of them, so the full code and the fast path share
 * one state and either can take over at any point; the checks are VringDevice.takeAvailable's and
 * RpmsgVirtio.receiveOne's, written out in the same order (test/firmware/message-path.test.ts runs
 * each refusal both ways).
 *
 * Also here: the message being delivered, which read() and zero-copy's hold() use (zero-copy.ts,
 * linked in only by apps that call enableZeroCopy).
 */
import { RpmsgError } from '../../../wire/errors.ts';
import type { SharedMemory } from '../../../wire/shared-memory.ts';
import { RPMSG_ADDR_ANY, RPMSG_HDR_SIZE, RPMSG_MTU, RPMSG_NS_ADDR } from '../../../wire/rpmsg.ts';
import { VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT } from '../../../wire/vring.ts';
import { VIRTIO_CONFIG_S_DRIVER_OK } from '../../../resource-table/layout.ts';
import type { AppErrors } from '../app-errors.ts';
import type { PlatformCommon } from '../platform.ts';
import type { VringDevice } from '../virtio/vring-device.ts';
import { closedEndpoint, type Endpoint } from './endpoint.ts';
import type { EndpointTable } from './endpoint-table.ts';

/*
 * SHORT_DATA: whether a typed array holds `length` elements is asked as `data[length - 1] !==
 * undefined || length === 0`, not `length <= data.length`: `.length` is a getter, a host call of
 * about 440 instructions on XS, where an element read is about 60. For a typed array the two agree,
 * also when its buffer is detached or resized (an element past the end reads undefined); the send
 * hands anything else to the full code, which compares with `.length` and refuses with its error.
 */

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
   * On a platform with onNotifyException (createMessagePath sets it) it does not catch: the event loop
   * hands what it throws to that handler; elsewhere it catches itself.
   */
  readonly doorbell: () => void;
  /** Service vring 1: every posted message, then the host's interrupt, then writers. Never throws. */
  readonly service: () => void;
  /** Send one message (EndpointHost.transmit). */
  readonly transmit: (source: number, destination: number, data: Uint8Array, length: number, wait: boolean) => void;
  /** Endpoint.read as one call (EndpointHost.endpointRead): `this` is the endpoint. */
  readonly endpointRead: (this: Endpoint, target?: Uint8Array) => Uint8Array | number;
  /** Endpoint.sendTo as one call, the one-pass send written out (EndpointHost.endpointSendTo). */
  readonly endpointSendTo: (this: Endpoint, destination: number, data: Uint8Array, length?: number) => void;
  /** The message being delivered (EndpointHost.currentMessage). */
  readonly currentMessage: (endpoint: Endpoint, target: Uint8Array | undefined) => Uint8Array | number;
  /** Deliver one checked message to `endpoint` (the full code's delivery, with its own try); true when the app held the buffer. */
  deliver(endpoint: Endpoint, head: number, bufferOffset: number, bufferLength: number, payload: number, source: number): boolean;
  /** Link zero-copy in (zero-copy.ts enableZeroCopy): `create` gets what it needs of the path; returns it. */
  installZeroCopy(create: (path: ZeroCopyPath) => ZeroCopy): ZeroCopy;
  /** Release every buffer `endpoint` holds (it is closing). */
  releaseAll(endpoint: Endpoint): void;
  /**
   * What the running pass has not published yet goes out now, with its kicks (finishPass): the full
   * code calls it before it takes a TX buffer from the ring, which may wait for the host, look at its
   * state (VringDevice.reinitialised compares used.idx with the device's index) or find the ring set aside.
   */
  publishPending(): void;
  /** A TX buffer released unsent (kept for the next send) big enough for `length`: its head (bufferOffset/bufferLength set on `ring`), or -1; the full send takes these first. */
  takeSpareTransmitBuffer(ring: VringDevice, length: number): number;
  /** How many RX buffers apps hold, TX buffers obtained and not sent, TX buffers kept (tests). */
  heldCounts(): { receive: number; transmit: number; spare: number };
}

/** What zero-copy.ts gets of the path: where to say how many TX buffers it keeps (the one-pass send leaves those to the full send), hold and release (they need the message being delivered). */
export interface ZeroCopyPath {
  setSpares(count: number): void;
  /** vring 0's next buffer in one pass (fast sessions, no spares): its head (offset and length in the ring's bufferOffset/bufferLength), or -1 for the full code. */
  readonly takeTransmit: (length: number) => number;
  /** Return TX buffer `head` with `usedLength` bytes, kicking the host if it wants. */
  readonly publishTransmit: (head: number, usedLength: number) => void;
  readonly hold: (endpoint: Endpoint) => number;
  readonly release: (endpoint: Endpoint, offset: number) => void;
}

/** Zero-copy's side (zero-copy.ts): told of sessions, held buffers, closing endpoints; gives its kept TX buffers to the full send. */
export interface ZeroCopy {
  /** What enableZeroCopy gives the app (zero-copy.ts RpmsgZeroCopy). */
  readonly api: object;
  /** A new session (`fast`: a coherent window, the rings taken and returned inline). */
  attach(receive: VringDevice, transmit: VringDevice, memory: SharedMemory, fast: boolean): void;
  detach(): void;
  /** onReadable returned with the RX buffer `head` (desc.len `length`) held by `endpoint`, payload at `offset` in the window; `stale`: the host went away meanwhile. */
  held(endpoint: Endpoint, head: number, length: number, offset: number, stale: boolean): void;
  releaseAll(endpoint: Endpoint): void;
  takeSpare(ring: VringDevice, length: number): number;
  counts(): { receive: number; transmit: number; spare: number };
  /** Messages sent by sendNoCopy (statistics.sent adds them). */
  sentCount(): number;
  readonly release: (endpoint: Endpoint, offset: number) => void;
  readonly getTxBuffer: (endpoint: Endpoint, wait: boolean) => number;
  readonly sendNoCopy: (endpoint: Endpoint, destination: number, offset: number, length: number) => void;
  readonly releaseTxBuffer: (endpoint: Endpoint, offset: number) => void;
}

/** Create the message path of `device`. */
export function createMessagePath(device: FullMessagePath, platform: PlatformCommon, endpoints: EndpointTable, appErrors: AppErrors): MessagePath {
  // received and sent as closure variables (an increment of a property costs several times more), read through accessors.
  let received = 0;
  let sent = 0;
  const statistics: RpmsgStatistics = {
    get received() { return received; },
    set received(count: number) { received = count; },
    get sent() { return zeroCopy === null ? sent : sent + zeroCopy.sentCount(); },
    set sent(count: number) { sent = zeroCopy === null ? count : count - zeroCopy.sentCount(); },
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
  // vring 1's state (VringDevice's lastAvail, usedIndex, lastNotifiedUsed, broken, kicksWanted) while
  // the fast path has the ring: closure variables, which the ring's own fields reach through accessors
  // (ownRingState), so the full code and the fast path still share one state (a read here costs
  // about a third of a property read).
  let rxLastAvail = 0;
  let rxUsedIndex = 0;
  let rxLastNotified = 0;
  let rxBroken = false;
  let rxKicksWanted = true;
  // vring 0's, the same way.
  let txLastAvail = 0;
  let txUsedIndex = 0;
  let txLastNotified = 0;
  let txBroken = false;
  let txKicksWanted = true;
  /** The rings whose state is in the variables above (null: none). */
  let receiveOwned: VringDevice | null = null;
  let transmitOwned: VringDevice | null = null;
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
  let base = 0;
  let size = 0;
  // The platform's hooks as plain functions (none uses `this`): a property read fewer per call. Taken again at each attach.
  let barrier = platform.barrier;
  let notify = platform.notify;
  let copy = platform.copy;
  // The message being delivered to onReadable (read(), hold()).
  let deliveringTo: Endpoint | null = null;
  let deliveringBufferOffset = 0;
  /** An endpoint closed in its own onReadable (releaseAll): nothing of that message can be held after. */
  let closedWhileDelivering: Endpoint | null = null;
  let deliveringLength = 0;
  let deliveringHeld = false;
  // The last endpoint looked up (one Map.get fewer per message to the same address); dropped when the table changes.
  let cachedAddress = -1;
  let cachedEndpoint: Endpoint | null = null;
  /** The vdev status byte (-1: none), read at every doorbell. */
  let statusOffset = -1;
  /** Where the doorbell reads the status byte: the window's bytes at statusOffset, or (no status byte) one byte with DRIVER_OK set. */
  const driverOkByte = new Uint8Array(1);
  driverOkByte[0] = VIRTIO_CONFIG_S_DRIVER_OK;
  let statusBytes: Uint8Array = driverOkByte;
  let statusIndex = 0;

  // Flags every pass reads, kept by the full code's objects (RpmsgVirtio.receivePaused and
  // transmitKicksWanted, EndpointTable.waitingWriters): closure variables, those fields accessors of
  // them (defined once, here).
  let receivePaused = device.receivePaused;
  let transmitKicksWanted = device.transmitKicksWanted;
  let waitingWriters = endpoints.waitingWriters;
  /** waitingWriters > 0 || transmitKicksWanted: the pass ends with wakeWriters(). */
  let wakeWanted = waitingWriters > 0 || transmitKicksWanted;
  /** fast && !receivePaused: the pass takes vring 1 itself (kept by attach, detach and the receivePaused setter). */
  let receiveFast = false;
  Object.defineProperties(device, {
    receivePaused: { get: () => receivePaused, set: (value: boolean) => { receivePaused = value; receiveFast = fast && !value; }, configurable: true, enumerable: true },
    transmitKicksWanted: { get: () => transmitKicksWanted, set: (value: boolean) => { transmitKicksWanted = value; wakeWanted = waitingWriters > 0 || value; }, configurable: true, enumerable: true },
  });
  Object.defineProperty(endpoints, 'waitingWriters', { get: () => waitingWriters, set: (value: number) => { waitingWriters = value; wakeWanted = value > 0 || transmitKicksWanted; }, configurable: true, enumerable: true });

  /** True while service() (the runtime's full pass, which has read the status itself) runs the pass: no handing back to it. */
  let inFullPass = false;
  // Used entries written by the fast path whose used.idx is not published yet: both rings' indexes
  // go out once per pass (finishPass, or the re-arm), as Linux's vhost batches vhost_add_used before
  // vhost_signal. A send made while a message is delivered (deliveringTo set: a pass runs, and ends
  // with finishPass) leaves vring 0's index and kick to the pass's end; anything that hands over to the
  // full code, or may wait, publishes first (finishPass).

  /** The descriptor head of the message being delivered (for recover; -1: the session ended meanwhile). */
  let deliveringHead = -1;

  /**
   * The end of a pass (and what comes before any hand-over to the full code): the used elements (and
   * the TX buffers' contents) out before the indexes (vhost's smp_wmb before used->idx), the indexes out
   * before the driver's notification fields are read (vhost_notify's smp_mb), then the kicks, vring 0's
   * first as when the send kicked at once. Two barriers for both rings and every message of the pass.
   * Nothing is published of a session that ended (detach drops it).
   */
  const finishPass = (): void => {
    const txUsed = txUsedIndex;
    const txNotified = txLastNotified;
    const rxUsed = rxUsedIndex;
    const rxNotified = rxLastNotified;
    // Nothing returned since the last kick decision: nothing unpublished either (lastNotified <= used.idx <= usedIndex).
    if (txUsed === txNotified && rxUsed === rxNotified) return;
    barrier();
    // Both rings' indexes (one that did not move gets the value it holds: the device is its only writer).
    rxUsedHalves[1] = rxUsed;
    txUsedHalves[1] = txUsed;
    barrier();
    if (txUsed !== txNotified) {
      txLastNotified = txUsed;
      if (txEventIndex ? ((txUsed - txAvail[txUsedEvent] - 1) & 0xffff) < ((txUsed - txNotified) & 0xffff) : (txAvail[0] & VRING_AVAIL_F_NO_INTERRUPT) === 0) notify(txNotifyId);
    }
    if (rxUsed !== rxNotified) {
      rxLastNotified = rxUsed;
      if (rxEventIndex ? ((rxUsed - rxAvail[rxUsedEvent] - 1) & 0xffff) < ((rxUsed - rxNotified) & 0xffff) : (rxAvail[0] & VRING_AVAIL_F_NO_INTERRUPT) === 0) notify(rxNotifyId);
    }
  };

  /** Hand the pass over to the full receive loop at `phase` (what the fast path returned published first). */
  const handOver = (ring: VringDevice, phase: ReceivePhase): void => {
    finishPass();
    device.receiveFrom(ring, !rxKicksWanted, phase);
    // What the callbacks it ran sent (deliveringTo was set: left to the pass's end).
    if (receive === ring) finishPass();
  };

  /**
   * The doorbell is the pass itself (one JS call per doorbell): the status byte, then vring 1. No try:
   * an exception (an app's onReadable, or the full code's) reaches whoever called the doorbell, which
   * hands it to recover(): the platform's event loop (xs_platform.c deliver_notify, through
   * platform.onNotifyException), or guardedDoorbell on a platform without that.
   */
  const doorbell = (): void => {
    const ring = receive;
    if (ring === null || (statusBytes[statusIndex] & VIRTIO_CONFIG_S_DRIVER_OK) === 0) {
      if (!inFullPass) {
        device.fullPass();
        return;
      }
      if (ring === null) return;
    }
    if (!receiveFast) {
      device.receiveFrom(ring, false, PHASE_FIRST); // (paused: it only wakes writers)
      return;
    }
    let phase: ReceivePhase = PHASE_FIRST;
    // Anything unusual (a check that fails, no recipient) leaves the block: the full loop takes over there.
    unusual: {
      // Once a second message waits (the host streams), kicks of vring 1 are suppressed while we
      // drain (rxKicksWanted false); once the ring is empty they go back on and the ring is looked at
      // once more (as RpmsgVirtio.receiveFrom, which is this loop with calls; see there).
      for (;;) {
        // VringDevice.takeAvailable, written out: any check that fails hands over to the full code, which
        // refuses and counts. (A broken ring is handed over before an entry is taken; with nothing
        // posted, the full code does what follows: it takes nothing from a broken ring either.)
        const last = rxLastAvail;
        // avail.idx is read again only once the entries seen at the last read are taken (Linux's
        // vhost keeps avail_idx the same way): one read and one barrier for a whole batch.
        let ahead = (rxKnownAvail - last) & 0xffff;
        if (ahead === 0 || ahead > rxNum) {
          rxKnownAvail = rxAvail[1];
          ahead = (rxKnownAvail - last) & 0xffff;
          if (ahead === 0) {
            if (phase !== PHASE_AFTER_MESSAGE) break;
            if (rxKicksWanted && !rxEventIndex) break;
            // VringDevice.enableKicks, written out (its barrier closes the store-buffer race: the kick
            // setting out before avail.idx is read again).
            rxKicksWanted = true;
            if (rxEventIndex) rxUsedHalves[rxAvailEvent] = last;
            else rxUsedHalves[0] = 0;
            barrier();
            phase = PHASE_AFTER_REARM;
            continue;
          }
          if (ahead > rxNum) {
            break unusual;
          }
          // The entries and their descriptors only after avail.idx.
          barrier();
        }
        const head = rxAvail[2 + (last & rxMask)];
        const descriptor = head << 2;
        const offset = rxDescWords[descriptor] - base;
        const bufferLength = rxDescWords[descriptor + 2];
        // Descriptor index, flags, address above 4 GiB, bounds in the region; then the rpmsg
        // header: at least 16 bytes, aligned (else the full code reads it through the DataView),
        // len within the buffer; not for the name service.
        // (Flags and the address's high word in one test; `bufferLength > size - offset` also refuses an
        // offset past the end, bufferLength being a u32.)
        if (rxBroken || head >= rxNum || ((rxDescHalves[(head << 3) + 6] & DESC_CHAINED) | rxDescWords[descriptor + 1]) !== 0 ||
          offset < 0 || bufferLength > size - offset || bufferLength < RPMSG_HDR_SIZE || (offset & 3) !== 0) {
          break unusual;
        }
        const word = offset >> 2;
        const destination = words[word + 1];
        const payload = halves[(offset >> 1) + 6];
        if (payload > bufferLength - RPMSG_HDR_SIZE || destination === RPMSG_NS_ADDR) {
          break unusual;
        }
        let endpoint = cachedEndpoint;
        if (destination !== cachedAddress) {
          endpoint = endpoints.byAddress.get(destination) ?? null;
          if (endpoint === null) {
            break unusual; // no recipient: counted and rate-limited there
          }
          cachedAddress = destination;
          cachedEndpoint = endpoint;
        }
        rxLastAvail = (last + 1) & 0xffff;
        if (phase === PHASE_AFTER_MESSAGE && rxKicksWanted) ring.setKicksWanted(false);
        received++;
        const source = words[word];
        // (An address is an integer: `| 0` tells the usual one from RPMSG_ADDR_ANY without a double compare.)
        const learned = endpoint!.destination;
        if ((learned | 0) === -1 && learned === RPMSG_ADDR_ANY) endpoint!.destination = source;
        deliveringHeld = false;
        if (endpoint!.onReadable !== undefined) {
          deliveringTo = endpoint;
          deliveringBufferOffset = offset;
          deliveringLength = payload;
          deliveringHead = head;
          endpoint!.onReadable(payload, source, offset + RPMSG_HDR_SIZE); // a method call: `this` is the endpoint
          deliveringTo = null;
        }
        // Detached from inside the callback: the ring is the old host's; a used entry now would corrupt the next one's.
        if (receive !== ring) {
          if (deliveringHeld) keepHeld(endpoint!, ring, head, bufferLength);
          return;
        }
        if (!deliveringHeld) {
          // VringDevice.pushUsed, written out; used.idx at the pass's end (finishPass) or re-arm.
          const usedIndex = rxUsedIndex;
          const element = 1 + ((usedIndex & rxMask) << 1);
          rxUsedWords[element] = head;
          rxUsedWords[element + 1] = bufferLength;
          rxUsedIndex = (usedIndex + 1) & 0xffff;
        } else {
          keepHeld(endpoint!, ring, head, bufferLength);
        }
        if (receivePaused) {
          if (!rxKicksWanted) ring.enableKicks();
          break;
        }
        phase = PHASE_AFTER_MESSAGE;
      }
      finishPass();
      if (wakeWanted) device.wakeWriters();
      return;
    }
    handOver(ring, phase);
  };

  /**
   * An exception escaped the doorbell. An app exception (onReadable threw): reported as the app's,
   * the message lost, its buffer returned, and the pass goes on in the full receive loop (which
   * catches each callback itself). Anything else (from the full code) ends the pass, logged, with
   * what it returned published.
   */
  const recover = (error: unknown): void => {
    const endpoint = deliveringTo;
    if (endpoint === null) {
      if (receiveOwned !== null) finishPass();
      device.passFailed(error);
      return;
    }
    deliveringTo = null;
    appErrors.exception(error, { callback: 'onReadable', endpoint });
    const head = deliveringHead;
    // head -1: the session ended in the callback (detach), nothing goes back to its rings.
    if (head < 0) {
      if (deliveringHeld) zeroCopy!.held(endpoint, head, 0, deliveringBufferOffset + RPMSG_HDR_SIZE, true);
      return;
    }
    // The used entry's len is desc.len read again (head was checked against num when taken; the length
    // only goes back to the host, nothing here is read or written through it): one variable fewer per message.
    const bufferLength = rxDescWords[(head << 2) + 2];
    const ring = receive!;
    if (deliveringHeld) keepHeld(endpoint, ring, head, bufferLength);
    else ring.pushUsed(head, bufferLength); // (published now, with the pass's earlier entries)
    handOver(ring, PHASE_AFTER_MESSAGE); // the full loop stops at once if the callback paused receiving
  };

  /** The doorbell with its exceptions handled here: for a platform whose event loop does not take them (platform.onNotifyException absent), and service(). */
  const guardedDoorbell = (): void => {
    try {
      doorbell();
    } catch (error) {
      recover(error);
    }
  };

  // A platform whose event loop catches (platform.onNotifyException) gets recover as its handler and the bare doorbell.
  if (platform.onNotifyException !== undefined) platform.onNotifyException = recover;

  /** The pass without the status byte (the runtime's full pass has handled it): the doorbell's body. */
  const service = (): void => {
    const outer = inFullPass;
    inFullPass = true;
    try {
      guardedDoorbell();
    } finally {
      inFullPass = outer;
    }
  };

  /**
   * vring 0's next buffer for a message of `length` bytes, taken in one pass (VringDevice.takeAvailable's
   * checks written out, then RpmsgVirtio.takeTransmitBuffer's size check, and an aligned header): its
   * head, with its offset and length in the ring's bufferOffset/bufferLength; -1 for anything
   * unusual (no buffer, a check failed, a broken ring), which the full code then takes with its
   * refusals. Only while `fast` and no zero-copy spares are kept. (The send, transmitMessage, and
   * zero-copy's getTxBuffer take here; endpointSendTo has the same written out.)
   */
  const takeTransmit = (length: number): number => {
    if (txBroken) return -1;
    const last = txLastAvail;
    let ahead = (txKnownAvail - last) & 0xffff;
    if (ahead === 0 || ahead > txNum) {
      // As on vring 1: avail.idx again only once the buffers seen at the last read are used up.
      txKnownAvail = txAvail[1];
      ahead = (txKnownAvail - last) & 0xffff;
      if (ahead === 0 || ahead > txNum) return -1;
      barrier();
    }
    const head = txAvail[2 + (last & txMask)];
    const descriptor = head << 2;
    const offset = txDescWords[descriptor] - base;
    const bufferLength = txDescWords[descriptor + 2];
    if (head < txNum && ((txDescHalves[(head << 3) + 6] & DESC_CHAINED) | txDescWords[descriptor + 1]) === 0 &&
      offset >= 0 && bufferLength <= size - offset && bufferLength >= RPMSG_HDR_SIZE + length && (offset & 3) === 0) {
      txLastAvail = (last + 1) & 0xffff;
      const ring = transmit!;
      ring.bufferOffset = offset;
      ring.bufferLength = bufferLength;
      return head;
    }
    return -1;
  };

  /**
   * Return TX buffer `head` with `usedLength` bytes (VringDevice.pushUsed, then shouldNotify, written
   * out): while a message is delivered used.idx and the kick wait for the pass's end, else they go out
   * now (finishPass), kicking the host if it wants.
   */
  const publishTransmit = (head: number, usedLength: number): void => {
    const usedIndex = txUsedIndex;
    const element = 1 + ((usedIndex & txMask) << 1);
    txUsedWords[element] = head;
    txUsedWords[element + 1] = usedLength;
    txUsedIndex = (usedIndex + 1) & 0xffff;
    if (deliveringTo === null) finishPass();
  };

  /** Send one message (the endpoint's send, trySend, sendOffchannel...): the one-pass take and return, else the full send. */
  const transmitMessage = (source: number, destination: number, data: Uint8Array, length: number, wait: boolean): void => {
    if (sendFast && length <= RPMSG_MTU && length >= 0 && (data[length - 1] !== undefined || length === 0) && // SHORT_DATA
      source !== RPMSG_ADDR_ANY && destination !== RPMSG_ADDR_ANY) {
      const head = takeTransmit(length);
      if (head >= 0) {
        const offset = transmit!.bufferOffset;
        const word = offset >> 2;
        words[word] = source;
        words[word + 1] = destination;
        words[word + 2] = 0;
        words[word + 3] = length; // len (u16) and flags (u16, 0) as one little-endian u32
        if (length !== 0) {
          if (copy !== undefined) copy(true, offset + RPMSG_HDR_SIZE, data, 0, length);
          else for (let i = 0; i < length; i++) bytes[offset + RPMSG_HDR_SIZE + i] = data[i];
        }
        sent++;
        publishTransmit(head, RPMSG_HDR_SIZE + length);
        return;
      }
    }
    device.transmitFull(source, destination, data, length, wait);
  };

  /**
   * Endpoint.sendTo(destination, data, length = data.length), one JS call: the endpoint's checks
   * (closed: EPIPE), then transmitMessage's one-pass send written out again (a call fewer per
   * message; the two are kept alike, test/firmware/message-path.test.ts sends both ways).
   */
  const endpointSendTo = function (this: Endpoint, destination: number, data: Uint8Array, length?: number): void {
    if (length === undefined) length = data.length; // the default parameter, evaluated first as the method's is
    if (this.host === null) throw closedEndpoint(this);
    const source = this.address;
    // `source` is a bound address (an integer): `| 0` first tells the usual one from RPMSG_ADDR_ANY without a double compare.
    if (sendFast && length <= RPMSG_MTU && length >= 0 && (data[length - 1] !== undefined || length === 0) && // SHORT_DATA
      ((source | 0) !== -1 || source !== RPMSG_ADDR_ANY) && destination !== RPMSG_ADDR_ANY && !txBroken) {
      const last = txLastAvail;
      let ahead = (txKnownAvail - last) & 0xffff;
      if (ahead === 0 || ahead > txNum) {
        txKnownAvail = txAvail[1];
        ahead = (txKnownAvail - last) & 0xffff;
        if (ahead !== 0 && ahead <= txNum) barrier();
      }
      if (ahead !== 0 && ahead <= txNum) {
        const head = txAvail[2 + (last & txMask)];
        const descriptor = head << 2;
        const offset = txDescWords[descriptor] - base;
        const bufferLength = txDescWords[descriptor + 2];
        if (head < txNum && ((txDescHalves[(head << 3) + 6] & DESC_CHAINED) | txDescWords[descriptor + 1]) === 0 &&
          offset >= 0 && bufferLength <= size - offset && bufferLength >= RPMSG_HDR_SIZE + length && (offset & 3) === 0) {
          txLastAvail = (last + 1) & 0xffff;
          const word = offset >> 2;
          words[word] = source;
          words[word + 1] = destination;
          words[word + 2] = 0;
          words[word + 3] = length;
          if (length !== 0) {
            if (copy !== undefined) copy(true, offset + RPMSG_HDR_SIZE, data, 0, length);
            else for (let i = 0; i < length; i++) bytes[offset + RPMSG_HDR_SIZE + i] = data[i];
          }
          sent++;
          // publishTransmit, written out: used.idx and the kick at the pass's end, or now.
          const usedIndex = txUsedIndex;
          const element = 1 + ((usedIndex & txMask) << 1);
          txUsedWords[element] = head;
          txUsedWords[element + 1] = RPMSG_HDR_SIZE + length;
          txUsedIndex = (usedIndex + 1) & 0xffff;
          if (deliveringTo === null) finishPass();
          return;
        }
      }
    }
    device.transmitFull(source, destination, data, length, true);
  };

  /** Endpoint.read(target?), one JS call: the endpoint's check (closed: EPIPE), then currentMessage's. */
  const endpointRead = function (this: Endpoint, target?: Uint8Array): Uint8Array | number {
    // Being delivered and not closed in the callback (close() calls releaseAll) is an open endpoint: no read of `host` then.
    if (deliveringTo !== this || closedWhileDelivering === this) {
      if (this.host === null) throw closedEndpoint(this);
      throw new RpmsgError('EINVAL', `read() on ${this.describe()} outside its onReadable callback; messages can only be read while they are delivered`);
    }
    const start = deliveringBufferOffset + RPMSG_HDR_SIZE;
    const length = deliveringLength;
    if (target === undefined) return bytes.subarray(start, start + length);
    if (target[length - 1] === undefined && length !== 0 && target.length < length) { // see SHORT_DATA
      throw new RpmsgError('EMSGSIZE', `read() target holds ${target.length} bytes but the message has ${length}; pass a buffer of at least ${RPMSG_MTU}`);
    }
    if (copy !== undefined) copy(false, start, target, 0, length);
    else for (let i = 0; i < length; i++) target[i] = bytes[start + i];
    return length;
  };

  /** Endpoint.prototype.read's way in (EndpointHost.currentMessage): the same as endpointRead. */
  const currentMessage = (endpoint: Endpoint, target: Uint8Array | undefined): Uint8Array | number => endpointRead.call(endpoint, target);


  /** Zero-copy, when the app enabled it (zero-copy.ts: linked only into firmware that uses it). */
  let zeroCopy: ZeroCopy | null = null;
  /** TX buffers zero-copy keeps for the next send (released unsent): the one-pass send leaves them to the full send. */
  let spares = 0;
  /** transmit !== null && fast && spares === 0: the one-pass send may run (kept at attach, detach, setSpares). */
  let sendFast = false;
  let attachedMemory: SharedMemory | null = null;

  // Zero-copy's hold and release (zero-copy.ts gets them through ZeroCopyPath): they need the message being delivered.
  const hold = (endpoint: Endpoint): number => {
    if (deliveringTo !== endpoint || receive === null || closedWhileDelivering === endpoint) {
      if (endpoint == null || typeof endpoint.describe !== 'function') throw new RpmsgError('EINVAL', `hold(): the argument must be the Endpoint whose onReadable is running, not ${endpoint === null ? 'null' : typeof endpoint}`);
      if (deliveringTo === endpoint) throw new RpmsgError('EPIPE', `hold() on ${endpoint.describe()}: the endpoint was closed in its onReadable callback; nothing can be held`);
      throw new RpmsgError('EINVAL', `hold() on ${endpoint.describe()} outside its onReadable callback; only the message being delivered can be held`);
    }
    if (deliveringHeld) throw new RpmsgError('EALREADY', `hold() twice for the same message on ${endpoint.describe()}; use the offset the first hold() returned`);
    // Recorded by zero-copy only if still held when onReadable returns (keepHeld): a release in the
    // callback itself only clears the flag, and the pass returns the buffer as usual.
    deliveringHeld = true;
    return deliveringBufferOffset + RPMSG_HDR_SIZE;
  };

  const release = (endpoint: Endpoint, offset: number): void => {
    if (deliveringHeld && deliveringTo === endpoint && offset === deliveringBufferOffset + RPMSG_HDR_SIZE) {
      deliveringHeld = false;
      return;
    }
    zeroCopy!.release(endpoint, offset);
  };

  /** onReadable returned with the message held: zero-copy keeps it (stale when the host went away meanwhile: `ring` is no longer the session's). */
  const keepHeld = (endpoint: Endpoint, ring: VringDevice, head: number, bufferLength: number): void => {
    zeroCopy!.held(endpoint, head, bufferLength, deliveringBufferOffset + RPMSG_HDR_SIZE, receive !== ring);
  };

  /**
   * Take both rings' state into the closure variables: each ring's fields become accessors of them
   * (defined on the instance at attach, so nothing is allocated per message).
   */
  const ownRingState = (rx: VringDevice, tx: VringDevice): void => {
    rxLastAvail = rx.lastAvail;
    rxUsedIndex = rx.usedIndex;
    rxLastNotified = rx.lastNotifiedUsed;
    rxBroken = rx.broken;
    rxKicksWanted = rx.kicksWanted;
    Object.defineProperties(rx, {
      lastAvail: { get: () => rxLastAvail, set: (value: number) => { rxLastAvail = value; }, configurable: true, enumerable: true },
      usedIndex: { get: () => rxUsedIndex, set: (value: number) => { rxUsedIndex = value; }, configurable: true, enumerable: true },
      lastNotifiedUsed: { get: () => rxLastNotified, set: (value: number) => { rxLastNotified = value; }, configurable: true, enumerable: true },
      broken: { get: () => rxBroken, set: (value: boolean) => { rxBroken = value; }, configurable: true, enumerable: true },
      kicksWanted: { get: () => rxKicksWanted, set: (value: boolean) => { rxKicksWanted = value; }, configurable: true, enumerable: true },
    });
    receiveOwned = rx;
    txLastAvail = tx.lastAvail;
    txUsedIndex = tx.usedIndex;
    txLastNotified = tx.lastNotifiedUsed;
    txBroken = tx.broken;
    txKicksWanted = tx.kicksWanted;
    Object.defineProperties(tx, {
      lastAvail: { get: () => txLastAvail, set: (value: number) => { txLastAvail = value; }, configurable: true, enumerable: true },
      usedIndex: { get: () => txUsedIndex, set: (value: number) => { txUsedIndex = value; }, configurable: true, enumerable: true },
      lastNotifiedUsed: { get: () => txLastNotified, set: (value: number) => { txLastNotified = value; }, configurable: true, enumerable: true },
      broken: { get: () => txBroken, set: (value: boolean) => { txBroken = value; }, configurable: true, enumerable: true },
      kicksWanted: { get: () => txKicksWanted, set: (value: boolean) => { txKicksWanted = value; }, configurable: true, enumerable: true },
    });
    transmitOwned = tx;
  };

  /** Give the state back to the rings' own fields (data properties again, with the values they reached): the session ended. */
  const releaseRingState = (): void => {
    const rx = receiveOwned;
    const tx = transmitOwned;
    receiveOwned = null;
    transmitOwned = null;
    // Deleting an own accessor and assigning makes a data property again (the prototype has none of these names).
    if (rx !== null) {
      const state = rx as unknown as Record<string, number | boolean>;
      delete state.lastAvail; delete state.usedIndex; delete state.lastNotifiedUsed; delete state.broken; delete state.kicksWanted;
      rx.lastAvail = rxLastAvail; rx.usedIndex = rxUsedIndex; rx.lastNotifiedUsed = rxLastNotified; rx.broken = rxBroken; rx.kicksWanted = rxKicksWanted;
    }
    if (tx !== null) {
      const state = tx as unknown as Record<string, number | boolean>;
      delete state.lastAvail; delete state.usedIndex; delete state.lastNotifiedUsed; delete state.broken; delete state.kicksWanted;
      tx.lastAvail = txLastAvail; tx.usedIndex = txUsedIndex; tx.lastNotifiedUsed = txLastNotified; tx.broken = txBroken; tx.kicksWanted = txKicksWanted;
    }
  };


  const path: MessagePath = {
    statistics,
    attach(rx, tx, memory, isFast, status) {
      releaseRingState();
      statusOffset = status;
      statusBytes = status >= 0 ? memory.bytes : driverOkByte;
      statusIndex = status >= 0 ? status : 0;
      receive = rx;
      transmit = tx;
      fast = isFast;
      receiveFast = isFast && !receivePaused;
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
      base = memory.base;
      size = memory.size;
      cachedAddress = -1;
      cachedEndpoint = null;
      attachedMemory = memory;
      spares = 0;
      sendFast = isFast;
      if (isFast) ownRingState(rx, tx);
      if (zeroCopy !== null) zeroCopy.attach(rx, tx, memory, isFast);
    },
    detach() {
      // What a pass had not published yet belongs to the rings of a host that went away: dropped.
      deliveringHead = -1;
      releaseRingState();
      receive = null;
      transmit = null;
      deliveringTo = null;
      attachedMemory = null;
      spares = 0;
      sendFast = false;
      receiveFast = false;
      if (zeroCopy !== null) zeroCopy.detach();
    },
    endpointsChanged() {
      cachedAddress = -1;
      cachedEndpoint = null;
    },
    doorbell: platform.onNotifyException === recover ? doorbell : guardedDoorbell,
    service,
    transmit: transmitMessage,
    endpointRead,
    endpointSendTo,
    currentMessage,
    deliver(endpoint, head, bufferOffset, bufferLength, payload, source) {
      deliveringTo = endpoint;
      deliveringBufferOffset = bufferOffset;
      deliveringLength = payload;
      deliveringHeld = false;
      const ring = receive!;
      try {
        endpoint.onReadable!(payload, source, bufferOffset + RPMSG_HDR_SIZE);
      } catch (error) {
        appErrors.exception(error, { callback: 'onReadable', endpoint });
      } finally {
        deliveringTo = null;
      }
      if (deliveringHeld) keepHeld(endpoint, ring, head, bufferLength);
      return deliveringHeld;
    },
    installZeroCopy(create) {
      zeroCopy = create({ setSpares(count) { spares = count; sendFast = transmit !== null && fast && count === 0; }, takeTransmit, publishTransmit, hold, release });
      if (receive !== null && transmit !== null) zeroCopy.attach(receive, transmit, attachedMemory!, fast);
      return zeroCopy;
    },
    releaseAll(endpoint) {
      // The message being delivered, held: the pass returns it; no hold() of it after this (closedWhileDelivering).
      if (deliveringTo === endpoint) {
        deliveringHeld = false;
        closedWhileDelivering = endpoint;
      }
      if (zeroCopy !== null) zeroCopy.releaseAll(endpoint);
    },
    publishPending() {
      if (deliveringTo !== null && receiveOwned !== null) finishPass();
    },
    takeSpareTransmitBuffer(ring, length) {
      return zeroCopy === null || spares === 0 ? -1 : zeroCopy.takeSpare(ring, length);
    },
    heldCounts() {
      if (zeroCopy === null) return { receive: 0, transmit: 0, spare: 0 };
      const counts = zeroCopy.counts();
      if (deliveringHeld && deliveringTo !== null) counts.receive++;
      return counts;
    },
  };
  return path;
}
