/**
 * rpmsg over virtio on the remote (OpenAMP's rpmsg_virtio.c, the device half of Linux's
 * virtio_rpmsg_bus.c): RX buffers from vring 1 to the endpoint they are addressed to, TX
 * buffers from vring 0 filled with a header and the payload, and waiting for TX buffers.
 * Endpoints live in the EndpointTable, announcements in the NameService.
 */
import { RpmsgError, type ErrorCounters } from '../../../wire/errors.ts';
import { RPMSG_NS_CREATE, RPMSG_NS_DESTROY } from '../../../wire/name-service.ts';
import {
  RPMSG_ADDR_ANY,
  RPMSG_HDR_DST,
  RPMSG_HDR_LEN,
  RPMSG_HDR_RESERVED,
  RPMSG_HDR_SIZE,
  RPMSG_HDR_SRC,
  RPMSG_MTU,
  RPMSG_NS_ADDR,
  rpmsgHeaderDst,
  rpmsgHeaderLen,
  rpmsgHeaderSrc,
  writeRpmsgHeader,
} from '../../../wire/rpmsg.ts';
import type { SharedMemory } from '../../../wire/shared-memory.ts';
import type { PlatformCommon } from '../platform.ts';
import type { DeviceConfiguration } from '../virtio/device-configuration.ts';
import { CachedVringDevice, VringDevice, type MemoryOrdering } from '../virtio/vring-device.ts';
import { VIRTIO_RING_F_EVENT_IDX } from '../../../wire/vring.ts';
import { AppErrors, type AppCallbackSite } from '../app-errors.ts';
import { Endpoint, type EndpointHost, type EndpointOptions } from './endpoint.ts';
import { EndpointTable } from './endpoint-table.ts';
import { NameService, type NameServiceTransmitter } from './name-service.ts';
import { createMessagePath, PHASE_AFTER_MESSAGE, PHASE_AFTER_REARM, type FullMessagePath, type MessagePath, type ReceivePhase, type RpmsgStatistics, type ZeroCopy, type ZeroCopyPath } from './message-path.ts';

export type { RpmsgStatistics } from './message-path.ts';


const VIRTIO_RPMSG_F_NS_MASK = 1;
/** VIRTIO_RING_F_EVENT_IDX (bit 29) in the negotiated features. */
const VIRTIO_RING_F_EVENT_IDX_MASK = 1 << VIRTIO_RING_F_EVENT_IDX;
/** While a send blocks for a TX buffer, look at the host's state at least this often (ms). */
const HOST_WATCH_MS = 20;
/** Linux's default printk rate limit: 10 lines per 5 s. */
const NO_RECIPIENT_BURST = 10;
const NO_RECIPIENT_WINDOW_MS = 5000;

/**
 * The remote's rpmsg transport over its two vrings. Nothing here touches hardware; the
 * message path allocates nothing.
 */
export class RpmsgVirtio implements EndpointHost, NameServiceTransmitter, FullMessagePath {
  // The fields used on every message come first: XS looks a property up by walking the object's
  // properties in creation order.
  /** The doorbell while attached (the runtime makes it platform.onNotify): status byte, then service() (message-path.ts). */
  readonly doorbell: () => void;
  /** Service vring 1 after a doorbell (kicks merge): deliver messages, wake writers (message-path.ts). */
  readonly service: () => void;
  /** EndpointHost: write one message into a TX buffer and kick the host if it wants (message-path.ts; the full code is transmitFull). */
  readonly transmit: (source: number, destination: number, data: Uint8Array, length: number, wait: boolean) => void;
  /** EndpointHost: the message being delivered (view, or copied into `target`). */
  readonly currentMessage: (endpoint: Endpoint, target: Uint8Array | undefined) => Uint8Array | number;
  /** EndpointHost: read() and sendTo() as one call each (message-path.ts). */
  readonly endpointRead: (this: Endpoint, target?: Uint8Array) => Uint8Array | number;
  readonly endpointSendTo: (this: Endpoint, destination: number, data: Uint8Array, length?: number) => void;
  /** True between DRIVER_OK and a host reset (a field, not a getter: read at every service pass). */
  attached = false;
  private receiveRing: VringDevice | null = null;
  private transmitRing: VringDevice | null = null;
  private memory: SharedMemory;
  private readonly platform: PlatformCommon;
  /** The bound endpoints. */
  readonly endpoints: EndpointTable;
  /** Announcements, both ways. */
  readonly nameService: NameService;
  /** While true, messages stay in vring 1 (flow control: the host's sends block once it is full). */
  receivePaused = false;
  readonly statistics: RpmsgStatistics;
  /**
   * Whether vring 0 (our TX ring) has the host's kicks turned on. As OpenAMP's remote does, we set
   * VRING_USED_F_NO_NOTIFY on it while we have buffers, so the host does not kick us each time it
   * re-posts one; kicks are turned on only while a sender waits for a TX buffer.
   */
  transmitKicksWanted = false;
  private readonly counters: ErrorCounters;
  /**
   * Set by the runtime: look at the host's state (status byte, re-initialised rings) and detach if
   * it went away. Called while a send blocks, so a reset is seen there too (never attaches).
   */
  watchHost: (() => void) | null = null;
  /** The rate limit of the "no recipient" lines: start of the window, lines logged in it, lines left out. */
  private noRecipientWindow = -Infinity;
  private noRecipientLogged = 0;
  private noRecipientSuppressed = 0;
  /** report() as a function value, for the table and the name service. */
  private readonly reportError = (error: unknown, site?: AppCallbackSite): void => this.report(error, site);
  /** App exceptions: reported with where they happened, counted, delivered to onError. */
  readonly appErrors: AppErrors;
  /** The common case of a message in one pass, and the zero-copy buffers (message-path.ts). */
  private readonly path: MessagePath;
  /** Zero-copy once the app enabled it (zero-copy.ts). */
  private zeroCopy: ZeroCopy | null = null;

  constructor(memory: SharedMemory, platform: PlatformCommon, counters: ErrorCounters) {
    this.memory = memory;
    this.platform = platform;
    this.counters = counters;
    this.appErrors = new AppErrors(platform, (text) => this.log(text), () => this.statistics.received, () => { this.statistics.appErrors++; });
    this.endpoints = new EndpointTable(this.reportError);
    this.nameService = new NameService(this, this.endpoints, counters, this.reportError);
    this.path = createMessagePath(this, platform, this.endpoints, this.appErrors);
    this.statistics = this.path.statistics;
    this.doorbell = this.path.doorbell;
    this.service = this.path.service;
    this.transmit = this.path.transmit;
    this.currentMessage = this.path.currentMessage;
    this.endpointRead = this.path.endpointRead;
    this.endpointSendTo = this.path.endpointSendTo;
  }

  // The full code of the message path (message-path.ts runs the common case and hands over to these).

  /**
   * The receive loop with every check, from `phase` on (the fast path hands over here at the
   * first unusual thing it meets, with its state): deliver messages, return their buffers, then
   * notify the host and wake writers. Once a second message waits (the host is streaming), it need
   * not kick vring 1 while we drain (VRING_USED_F_NO_NOTIFY, or a parked avail_event); once the
   * ring is empty, kicks go back on and the ring is looked at once more (Linux's virtio devices,
   * OpenAMP). With EVENT_IDX the re-arm comes after every pass (avail_event must follow the
   * entries taken). A single message (a round trip) costs nothing more.
   */
  receiveFrom(receive: VringDevice, suppressed: boolean, phase: ReceivePhase): void {
    for (;;) {
      if (this.receivePaused) {
        // The app paused receiving from inside a callback: the rest stays in the ring (pauseReceive(false) services it).
        if (suppressed) receive.enableKicks();
        break;
      }
      const head = receive.takeValid();
      if (head < 0) {
        if (phase !== PHASE_AFTER_MESSAGE) break;
        if (!suppressed && !receive.eventIndex) break;
        suppressed = false;
        receive.enableKicks();
        phase = PHASE_AFTER_REARM;
        continue;
      }
      if (phase === PHASE_AFTER_MESSAGE && !suppressed) {
        receive.setKicksWanted(false);
        suppressed = true;
      }
      const length = receive.bufferLength;
      const held = this.receiveOne(head, receive.bufferOffset, length);
      // Detached from inside the callback: the ring is the old host's, and may already be the next
      // host's, set up afresh; a used entry written now would corrupt it.
      if (this.receiveRing !== receive) return;
      if (!held) receive.pushUsed(head, length);
      phase = PHASE_AFTER_MESSAGE;
    }
    if (receive.shouldNotify()) this.platform.notify(receive.notifyId);
    if (this.endpoints.waitingWriters > 0 || this.transmitKicksWanted) this.wakeWriters();
  }

  /** One message with every check; true when the app held its buffer (zero-copy: not returned now). */
  private receiveOne(head: number, offset: number, length: number): boolean {
    const memory = this.memory;
    if (length < RPMSG_HDR_SIZE) {
      this.report(this.counters.record('buffer-too-small', new RpmsgError('EINVAL', `host sent a ${length}-byte buffer, smaller than the 16-byte rpmsg header; dropped`)));
      return false;
    }
    let source: number;
    let destination: number;
    let payload: number;
    if ((offset & 3) === 0) {
      source = memory.words[(offset + RPMSG_HDR_SRC) >> 2];
      destination = memory.words[(offset + RPMSG_HDR_DST) >> 2];
      payload = memory.halves[(offset + RPMSG_HDR_LEN) >> 1];
    } else {
      source = rpmsgHeaderSrc(memory.view, offset);
      destination = rpmsgHeaderDst(memory.view, offset);
      payload = rpmsgHeaderLen(memory.view, offset);
    }
    if (payload > length - RPMSG_HDR_SIZE) {
      this.report(this.counters.record('header-length-above-buffer', new RpmsgError('EINVAL', `host message claims ${payload} payload bytes in a ${length}-byte buffer; dropped`)));
      return false;
    }
    this.statistics.received++;
    if (destination === RPMSG_NS_ADDR && this.nameService.enabled) {
      this.nameService.receive(memory.bytes, offset + RPMSG_HDR_SIZE, payload);
      return false;
    }
    const endpoint = this.endpoints.byAddress.get(destination);
    if (endpoint === undefined) {
      this.noRecipient(source, destination, payload);
      return false;
    }
    if (endpoint.destination === RPMSG_ADDR_ANY) endpoint.destination = source;
    if (endpoint.onReadable === undefined) return false;
    return this.path.deliver(endpoint, head, offset, length, payload, source);
  }

  /** The full send (message-path.ts's transmit hands over here for anything unusual): every refusal. */
  transmitFull(source: number, destination: number, data: Uint8Array, length: number, wait: boolean): void {
    if (length > RPMSG_MTU) {
      throw new RpmsgError('EMSGSIZE', `message of ${length} bytes exceeds the rpmsg MTU of ${RPMSG_MTU}; split it`);
    }
    if (length > data.length || length < 0) {
      throw new RpmsgError('EINVAL', `length ${length} is outside the ${data.length}-byte data`);
    }
    if (source === RPMSG_ADDR_ANY || destination === RPMSG_ADDR_ANY) {
      throw new RpmsgError('EINVAL', destination === RPMSG_ADDR_ANY
        ? 'no destination address yet: it is learned from the host\'s first message; use sendTo with an address'
        : 'source address is RPMSG_ADDR_ANY; send from a bound endpoint address');
    }
    const transmit = this.transmitRing;
    if (transmit === null) {
      throw new RpmsgError('EPIPE', 'the host has not set DRIVER_OK (or reset the device); wait until it is up');
    }
    const head = this.acquireTransmitBuffer(transmit, source, length, wait);
    const offset = transmit.bufferOffset;
    const memory = this.memory;
    const bytes = memory.bytes;
    if ((offset & 3) === 0) {
      // Linux's buffers are 512-byte aligned: write the header through the u32/u16 views (cheap on XS).
      const words = memory.words;
      const word = offset >> 2;
      words[word + (RPMSG_HDR_SRC >> 2)] = source;
      words[word + (RPMSG_HDR_DST >> 2)] = destination;
      words[word + (RPMSG_HDR_RESERVED >> 2)] = 0;
      words[word + (RPMSG_HDR_LEN >> 2)] = length; // len (u16) and flags (u16, 0) as one little-endian u32
    } else {
      writeRpmsgHeader(memory.view, offset, source, destination, length);
    }
    const start = offset + RPMSG_HDR_SIZE;
    const platform = this.platform;
    if (platform.copy !== undefined) platform.copy(true, start, data, 0, length);
    else if (length === data.length) bytes.set(data, start);
    else for (let i = 0; i < length; i++) bytes[start + i] = data[i];
    transmit.pushUsed(head, RPMSG_HDR_SIZE + length);
    this.statistics.sent++;
    if (transmit.shouldNotify()) platform.notify(transmit.notifyId);
  }

  /**
   * A TX buffer of vring 0 for a send of `length` bytes from `source`: a spare one (released unsent)
   * first, else the host's next; waits as a blocking send does when `wait`. Returns its head
   * (offset and length in transmit.bufferOffset/bufferLength); throws ENOMEM, ERESTARTSYS, EPIPE, EIO.
   */
  acquireTransmitBuffer(transmit: VringDevice, source: number, length: number, wait: boolean): number {
    let head = this.path.takeSpareTransmitBuffer(transmit, length);
    if (head >= 0) return head;
    // From a callback of a pass: what the pass returned goes out first (the host may be waiting for it,
    // and a look at its state compares used.idx with the device's index).
    this.path.publishPending();
    head = this.takeTransmitBuffer(transmit, length);
    if (head < 0) {
      if (transmit.broken) throw this.transmitSetAside(transmit);
      // Out of buffers: we are about to wait, so ask the host to kick vring 0 again, then look once
      // more (Linux's virtqueue_enable_cb pattern): it may have posted one before it saw the flag.
      this.transmitKicksWanted = true;
      transmit.enableKicks();
      head = this.takeTransmitBuffer(transmit, length);
    }
    if (head < 0 && wait) {
      const timeout = this.endpoints.sendTimeoutFor(source);
      const platform = this.platform;
      const deadline = platform.now() + timeout;
      while (head < 0) {
        if (transmit.broken) throw this.transmitSetAside(transmit);
        const left = deadline - platform.now();
        if (left <= 0) {
          throw new RpmsgError('ERESTARTSYS', `no TX buffer came back from the host within ${timeout} ms; the host is not consuming messages`);
        }
        // Wake at least every HOST_WATCH_MS to look at the host's state: a reset ends the wait at once.
        platform.waitForNotify(left < HOST_WATCH_MS ? left : HOST_WATCH_MS);
        if (this.watchHost !== null) this.watchHost();
        const current = this.transmitRing;
        if (current !== transmit) throw new RpmsgError('EPIPE', 'the host reset the device while a send waited for a buffer; the message was not sent');
        head = this.takeTransmitBuffer(transmit, length);
      }
    }
    if (head < 0) {
      this.endpoints.markWaiting(source);
      throw new RpmsgError('ENOMEM', 'no free TX buffer: the host has not returned any; retry in onWritable');
    }
    return head;
  }

  /** The head of a TX buffer big enough for `length`, or -1; bad host buffers are skipped. */
  private takeTransmitBuffer(transmit: VringDevice, length: number): number {
    for (;;) {
      const head = transmit.takeValid();
      if (head < 0) return -1;
      if (transmit.bufferLength >= RPMSG_HDR_SIZE + length) return head;
      this.report(this.counters.record('transmit-buffer-too-small', new RpmsgError('EINVAL', `host posted a ${transmit.bufferLength}-byte TX buffer; rpmsg needs 512-byte buffers`)));
      transmit.pushUsed(head, 0);
    }
  }

  /** Create an endpoint (see EndpointOptions). */
  createEndpoint(options: EndpointOptions): Endpoint {
    return new Endpoint(this, options);
  }

  /** The host set DRIVER_OK: take over the vrings (in `memory`, if the transport brings its own) and announce every named endpoint. */
  attach(config: DeviceConfiguration, memory: SharedMemory = this.memory, statusOffset = -1): void {
    this.memory = memory;
    // EVENT_IDX as negotiated (dfeatures "event-idx"): the device then writes used.avail_event and reads avail.used_event.
    const eventIndex = (config.features & VIRTIO_RING_F_EVENT_IDX_MASK) !== 0;
    const platform = this.platform;
    if (platform.cacheClean !== undefined && platform.cacheInvalidate !== undefined) {
      const ordering = platform as Required<MemoryOrdering>;
      this.transmitRing = new CachedVringDevice(this.memory, config.transmit, eventIndex, this.counters, this.reportError, ordering);
      this.receiveRing = new CachedVringDevice(this.memory, config.receive, eventIndex, this.counters, this.reportError, ordering);
    } else {
      this.transmitRing = new VringDevice(this.memory, config.transmit, eventIndex, this.counters, this.reportError, platform);
      this.receiveRing = new VringDevice(this.memory, config.receive, eventIndex, this.counters, this.reportError, platform);
    }
    // The fast path only for a coherent window: a cached one's invalidations are in CachedVringDevice's methods.
    this.path.attach(this.receiveRing, this.transmitRing, this.memory, platform.cacheClean === undefined || platform.cacheInvalidate === undefined, statusOffset);
    this.attached = true;
    this.nameService.enabled = (config.features & VIRTIO_RPMSG_F_NS_MASK) !== 0;
    // Nothing waits for a TX buffer of this host (detach cleared the old session's writers).
    this.transmitKicksWanted = false;
    this.transmitRing.setKicksWanted(false);
    this.nameService.announceAll(RPMSG_NS_CREATE);
  }

  /** The host reset the device: forget the vrings and the addresses learned from it, and tell each endpoint. */
  detach(): void {
    this.transmitRing = null;
    this.receiveRing = null;
    this.attached = false;
    this.transmitKicksWanted = false;
    this.path.detach();
    // Writers waiting for a TX buffer of this host are told through onError; nothing resumes at the next host.
    this.endpoints.hostGone();
  }

  /** True when the host set either vring up afresh under us (see VringDevice.reinitialised). */
  ringsReinitialised(): boolean {
    const transmit = this.transmitRing;
    const receive = this.receiveRing;
    return transmit !== null && receive !== null && (transmit.reinitialised() || receive.reinitialised());
  }

  /** Wake writers waiting for onWritable; turn vring 0's kicks off once none wait. */
  wakeWriters(): void {
    const transmit = this.transmitRing;
    if (transmit === null) return;
    if (this.endpoints.waitingWriters > 0) this.endpoints.deliverWritable(this.transmitBuffersPosted);
    if (this.endpoints.waitingWriters === 0 && this.transmitKicksWanted) {
      // Nobody waits for a TX buffer any more: the host need not kick vring 0.
      this.transmitKicksWanted = false;
      transmit.setKicksWanted(false);
    }
  }

  /** How many TX buffers the host has posted (0 while detached). */
  private readonly transmitBuffersPosted = (): number => (this.transmitRing === null ? 0 : this.transmitRing.pending());

  /** EndpointHost: bind the endpoint (allocating its address) and announce it. */
  bind(endpoint: Endpoint): void {
    this.endpoints.add(endpoint);
    this.path.endpointsChanged();
    this.nameService.announce(endpoint, RPMSG_NS_CREATE);
  }

  /** EndpointHost: withdraw the endpoint. */
  unbind(endpoint: Endpoint): void {
    if (this.endpoints.byAddress.get(endpoint.address) !== endpoint) return;
    // Buffers it holds go back (RX: to the host; TX obtained and not sent: kept for the next send).
    this.path.releaseAll(endpoint);
    this.nameService.announce(endpoint, RPMSG_NS_DESTROY);
    this.endpoints.remove(endpoint);
    this.path.endpointsChanged();
  }

  /** Link zero-copy in (zero-copy.ts's enableZeroCopy passes its factory, so firmware without it does not carry it); again does nothing. */
  enableZeroCopy(create: (path: ZeroCopyPath, device: FullMessagePath, platform: PlatformCommon) => ZeroCopy): ZeroCopy {
    if (this.zeroCopy !== null) return this.zeroCopy;
    const zeroCopy = this.path.installZeroCopy((path) => create(path, this, this.platform));
    this.zeroCopy = zeroCopy;
    return zeroCopy;
  }

  /** RX buffers apps hold, TX buffers obtained and not sent, TX buffers kept for the next send (tests). */
  heldBuffers(): { receive: number; transmit: number; spare: number } {
    return this.path.heldCounts();
  }

  /**
   * A message to an address where nothing listens: counted, and logged as Linux does ("msg
   * received with no recipient", dev_warn_ratelimited): at most NO_RECIPIENT_BURST lines per
   * NO_RECIPIENT_WINDOW_MS, the number left out said in the next line logged.
   */
  private noRecipient(source: number, destination: number, payload: number): void {
    this.statistics.unrouted++;
    const error = this.counters.record('no-recipient', new RpmsgError('ENXIO', `msg received with no recipient: host sent ${payload} bytes from 0x${source.toString(16)} to 0x${destination.toString(16)}, where no endpoint listens; dropped`));
    const now = this.platform.now();
    if (now - this.noRecipientWindow >= NO_RECIPIENT_WINDOW_MS) {
      this.noRecipientWindow = now;
      this.noRecipientLogged = 0;
    }
    if (this.noRecipientLogged >= NO_RECIPIENT_BURST) {
      this.noRecipientSuppressed++;
      return;
    }
    this.noRecipientLogged++;
    const suppressed = this.noRecipientSuppressed;
    this.noRecipientSuppressed = 0;
    this.report(suppressed === 0 ? error : `${error.message} (${suppressed} more not logged before this one)`);
  }

  /**
   * The error of a send while vring 0 is set aside: no buffer can come until a reset. If the host
   * set the ring up afresh (a reset not seen yet), the runtime detaches now, before anything more
   * is written into the next session's rings, and the send fails with EPIPE.
   */
  private transmitSetAside(transmit: VringDevice): RpmsgError {
    if (this.watchHost !== null) this.watchHost();
    if (this.transmitRing !== transmit) return new RpmsgError('EPIPE', 'the host reset the device (it set the vrings up afresh); the message was not sent');
    return new RpmsgError('EIO', 'vring 0 (TX) is set aside since the host corrupted it; sends fail until the host resets the device');
  }

  /** Where report() and app exceptions write (the runtime points it at console + trace buffer). */
  log: (text: string) => void = (text) => this.platform.log(text);

  /** FullMessagePath: the runtime's full pass (set by the runtime; a doorbell that finds the device detached or DRIVER_OK clear calls it). */
  fullPass: () => void = () => this.service();

  /** FullMessagePath: a service pass ended with an error that is not the app's (logged as the runtime logs its own). */
  passFailed(error: unknown): void {
    this.log(`xs-rpmsg: ${error instanceof Error ? error.message : String(error)}`);
  }

  /** Log an error that has no caller to throw to; one from an app callback (`site`) goes to appErrors. */
  private report(error: unknown, site?: AppCallbackSite): void {
    if (site !== undefined) {
      this.appErrors.exception(error, site);
      return;
    }
    this.log(`rpmsg: ${error instanceof Error ? error.message : String(error)}`);
  }
}
