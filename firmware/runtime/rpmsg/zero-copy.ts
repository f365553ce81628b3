/**
 * Zero-copy on the remote (docs/ZERO-COPY.md), in the manner of OpenAMP's rpmsg_hold_rx_buffer /
 * rpmsg_release_rx_buffer and rpmsg_get_tx_payload_buffer / rpmsg_send_nocopy /
 * rpmsg_release_tx_buffer: RX buffers held past onReadable, TX buffers obtained, filled in place
 * and sent or given back. An app turns it on with enableZeroCopy(rpmsg); firmware that does not
 * import this module does not carry its code (the smallest parts count its byte code).
 *
 * A buffer is named by the offset of its payload in the shared window, which the app reads and
 * writes through the one `Uint8Array` over the whole window (`ZeroCopyWindow.bytes`, made when the
 * host attaches): no view object per message, so nothing is allocated per message (issue 11; a
 * `subarray` per message cost 11 slots and a chunk, and collections). The bookkeeping is by
 * descriptor head in typed arrays made at attach, as stacks (the buffer released is almost always
 * the last one held: one comparison). getTxBuffer, sendNoCopy and release take and return buffers
 * on the rings themselves, written out as message-path.ts does (every check of VringDevice's, no
 * method call), and fall back to the full code (RpmsgVirtio.acquireTransmitBuffer) for anything
 * unusual: no buffer posted, a malformed entry, kept buffers, a cached window.
 */
import { RpmsgError } from '../../../wire/errors.ts';
import { RPMSG_ADDR_ANY, RPMSG_HDR_SIZE, RPMSG_MTU, writeRpmsgHeader } from '../../../wire/rpmsg.ts';
import { VRING_AVAIL_F_NO_INTERRUPT } from '../../../wire/vring.ts';
import type { PlatformCommon } from '../platform.ts';
import type { Rpmsg } from '../runtime.ts';
import type { Endpoint } from './endpoint.ts';
import type { VringDevice } from '../virtio/vring-device.ts';
import type { FullMessagePath, ZeroCopy, ZeroCopyPath } from './message-path.ts';
import type { RpmsgVirtio } from './rpmsg-virtio.ts';

/**
 * Zero-copy for the endpoints of one rpmsg device (enableZeroCopy): functions that take the
 * endpoint, as OpenAMP's rpmsg_hold_rx_buffer(ept, ...) do (one call each: no method of Endpoint, so
 * firmware that does not enable zero-copy carries none of it), over the shared window `bytes`.
 * A buffer is named by its payload's offset in `bytes`.
 */
export interface RpmsgZeroCopy {
  /**
   * The whole shared window of the current session as one `Uint8Array` (empty while the host is
   * not attached): the offsets index it. Read it again after a host reset (the next session may
   * map another window, as vhost-user does); reading it per message is one property read. Writing
   * outside the buffers you hold or obtained corrupts the rings: bounds are yours to keep.
   */
  readonly bytes: Uint8Array;
  /**
   * Inside `endpoint`'s onReadable: keep the message's RX buffer past the callback instead of
   * returning it to the host. Returns the offset of its payload (`count` bytes) in `bytes`, valid
   * until release(endpoint, offset). EINVAL outside onReadable, EALREADY twice for one message,
   * EPIPE on an endpoint closed in the callback.
   */
  readonly hold: (endpoint: Endpoint) => number;
  /**
   * A TX buffer to fill in place: the offset of its payload area in `bytes` (room for txSize(),
   * 496 bytes with Linux's 512-byte buffers). Waits up to sendTimeout for a buffer as send() does
   * (ERESTARTSYS); with `wait` false fails at once with ENOMEM (onWritable follows). EPIPE while
   * the host is not attached or for a closed endpoint.
   */
  readonly getTxBuffer: (endpoint: Endpoint, wait?: boolean) => number;
  /**
   * Give a held RX buffer back to the host. Released in its own onReadable, the buffer goes back
   * with the others when the callback returns (nothing more to do); later, at once. EBADF for an
   * offset the endpoint does not hold (released already, never held). Do not touch its bytes afterwards.
   */
  readonly release: (endpoint: Endpoint, offset: number) => void;
  /**
   * Send the first `length` bytes of the TX buffer at `offset` to `destination`; the buffer is the
   * host's afterwards. EBADF for a buffer not obtained by the endpoint (or already sent or given
   * back), EMSGSIZE for a length that is not an integer from 0 to its room, EINVAL without a
   * destination (both leave the buffer obtained), EPIPE when the host reset the device since.
   */
  readonly sendToNoCopy: (endpoint: Endpoint, destination: number, offset: number, length: number) => void;
  /** sendToNoCopy to the endpoint's destination. */
  readonly sendNoCopy: (endpoint: Endpoint, offset: number, length: number) => void;
  /** Give back an obtained TX buffer unsent (the remote keeps it for its next send: on the used ring it would read as a message). EBADF when not obtained or given back already. */
  readonly releaseTxBuffer: (endpoint: Endpoint, offset: number) => void;
  /** The payload room of the TX buffer at `offset` that `endpoint` obtained (496 with Linux), or -1 when it has none there. */
  readonly txSize: (endpoint: Endpoint, offset: number) => number;
}

/** Turn zero-copy on for the endpoints of `rpmsg` (once, at boot; again returns the same object). */
export function enableZeroCopy(rpmsg: Rpmsg): RpmsgZeroCopy {
  return (rpmsg as unknown as { device: RpmsgVirtio }).device.enableZeroCopy(createZeroCopy).api as RpmsgZeroCopy;
}

/** An Endpoint's device, null once closed (its private field: one property read, where `open` is a getter call). */
const hostOf = (endpoint: Endpoint): unknown => (endpoint as unknown as { host: unknown }).host;

/** The refusal of a zero-copy call on something that is not an open endpoint. */
function notOpen(what: string, endpoint: Endpoint | null | undefined): RpmsgError {
  if (endpoint === null || endpoint === undefined || hostOf(endpoint) === undefined) {
    return new RpmsgError('EINVAL', `${what}: the first argument must be the Endpoint (rpmsg.createEndpoint), not ${endpoint === null ? 'null' : typeof endpoint}`);
  }
  return new RpmsgError('EPIPE', `${what} on ${endpoint.describe()}: the endpoint is closed; create a new Endpoint`);
}

/** Zero-copy's state and calls for one device (given to RpmsgVirtio.enableZeroCopy). */
export function createZeroCopy(path: ZeroCopyPath, device: FullMessagePath, platform: PlatformCommon): ZeroCopy {
  let words: Uint32Array = new Uint32Array(0);
  let dataView: DataView = new DataView(new ArrayBuffer(0));
  let fast = false;
  /** fast && no kept TX buffer && attached: getTxBuffer may take from vring 0 in one pass (kept at attach, detach and when spareCount changes). */
  let takeFast = false;
  let barrier = platform.barrier;
  let notify = platform.notify;
  /** The session's rings (null while detached), as attach gave them, and their views. */
  let rxRing: VringDevice | null = null;
  let txRing: VringDevice | null = null;
  let rxMask = 0;
  let rxUsedWords: Uint32Array = new Uint32Array(0);
  let rxUsedHalves: Uint16Array = new Uint16Array(0);
  let rxAvail: Uint16Array = new Uint16Array(0);
  let rxEventIndex = false;
  let rxUsedEvent = 0;
  let rxNotifyId = 0;
  let txNum = 0;
  /** The message path's one-pass take and return of vring 0's buffers (message-path.ts). */
  const takeTransmit = path.takeTransmit;
  const publishTransmit = path.publishTransmit;
  /** Messages sent zero-copy (RpmsgStatistics.sent adds them: a closure variable, where statistics.sent++ is two accessor calls). */
  let sent = 0;
  // By descriptor head (typed arrays of the session's ring size, made at attach; the endpoint lists
  // are plain arrays made then too): RX buffers held, TX buffers obtained and not sent, TX buffers
  // released unsent (kept for the next send). Each list is a stack of heads; the endpoint, payload
  // offset and buffer length of a head are in the arrays indexed by it.
  let rxHeldHeads: Uint16Array = new Uint16Array(0);
  let rxHeldCount = 0;
  let rxHeldEndpoints: (Endpoint | null)[] = [];
  let rxHeldOffset: Int32Array = new Int32Array(0);
  let rxHeldLength: Uint32Array = new Uint32Array(0);
  let txHeldHeads: Uint16Array = new Uint16Array(0);
  let txHeldCount = 0;
  let txHeldEndpoints: (Endpoint | null)[] = [];
  let txHeldOffset: Int32Array = new Int32Array(0);
  let txBufferOffset: Uint32Array = new Uint32Array(0);
  let txBufferLength: Uint32Array = new Uint32Array(0);
  let spareHeads: Uint16Array = new Uint16Array(0);
  let spareCount = 0;
  // The TX buffer obtained last, while not sent, in closure variables (head -1: none): an app that
  // obtains a buffer and sends it touches no array. Every other call first moves it to the lists (spill).
  let lastHead = -1;
  let lastEndpoint: Endpoint | null = null;
  /** The payload offset (the buffer's is 16 bytes before) and the buffer's length. */
  let lastOffset = -1;
  let lastBufferLength = 0;
  /** The last obtained TX buffer onto the obtained list. */
  const spill = (): void => {
    if (lastHead < 0) return;
    const head = lastHead;
    txHeldHeads[txHeldCount++] = head;
    txHeldEndpoints[head] = lastEndpoint;
    txHeldOffset[head] = lastOffset;
    txBufferOffset[head] = lastOffset - RPMSG_HDR_SIZE;
    txBufferLength[head] = lastBufferLength;
    lastHead = -1;
    lastEndpoint = null;
  };
  /**
   * Buffers held or obtained when the host reset the device (they went with its rings), as pairs of
   * endpoint and payload offset: a release of one only forgets it, a send of one is EPIPE. A buffer
   * held now at the same offset is found first (see docs/ZERO-COPY.md). Filled only at a reset.
   */
  const staleEndpoints: Endpoint[] = [];
  const staleOffsets: number[] = [];

  /** The message being delivered is the path's: hold and release are its (ZeroCopyPath). */
  const api = {
    bytes: new Uint8Array(0) as Uint8Array,
    hold: path.hold,
    // Set below, once the functions exist (the object's properties in this order: XS looks them up in creation order).
    getTxBuffer: null as unknown as (endpoint: Endpoint, wait?: boolean) => number,
    release: path.release,
    sendToNoCopy: null as unknown as (endpoint: Endpoint, destination: number, offset: number, length: number) => void,
    sendNoCopy: (endpoint: Endpoint, offset: number, length: number): void => sendNoCopy(endpoint, endpoint == null ? RPMSG_ADDR_ANY : endpoint.destination, offset, length),
    releaseTxBuffer: null as unknown as (endpoint: Endpoint, offset: number) => void,
    txSize: (endpoint: Endpoint, offset: number): number => {
      spill();
      const i = findObtained(endpoint, offset);
      if (i < 0) return -1;
      const room = txBufferLength[txHeldHeads[i]] - RPMSG_HDR_SIZE;
      return room > RPMSG_MTU ? RPMSG_MTU : room;
    },
  };

  /** Forget the stale buffer (endpoint, offset) if there is one; true when there was. */
  const forgetStale = (endpoint: Endpoint, offset: number): boolean => {
    for (let i = staleOffsets.length - 1; i >= 0; i--) {
      if (staleOffsets[i] !== offset || staleEndpoints[i] !== endpoint) continue;
      staleOffsets[i] = staleOffsets[staleOffsets.length - 1];
      staleEndpoints[i] = staleEndpoints[staleEndpoints.length - 1];
      staleOffsets.pop();
      staleEndpoints.pop();
      return true;
    }
    return false;
  };

  const notHeld = (what: string, endpoint: Endpoint, offset: unknown): RpmsgError => {
    if (typeof offset !== 'number') {
      const kind = offset === null ? 'null' : typeof offset;
      return new RpmsgError('EBADF', `${what} on ${endpoint.describe()}: takes the offset hold() or getTxBuffer() returned, not a ${kind}`);
    }
    return new RpmsgError('EBADF', `${what} on ${endpoint.describe()}: offset ${offset} is not a buffer the endpoint holds (released or sent already, or never obtained from it); a buffer is released or sent once`);
  };

  const release = (endpoint: Endpoint, offset: number): void => {
    for (let i = rxHeldCount - 1; i >= 0; i--) {
      const head = rxHeldHeads[i];
      if (rxHeldOffset[head] !== offset || rxHeldEndpoints[head] !== endpoint) continue;
      rxHeldHeads[i] = rxHeldHeads[--rxHeldCount];
      rxHeldEndpoints[head] = null;
      rxHeldOffset[head] = -1;
      const ring = rxRing!;
      // VringDevice.pushUsed then shouldNotify, written out (the host learns its buffer is back).
      const usedIndex = ring.usedIndex;
      const element = 1 + ((usedIndex & rxMask) << 1);
      rxUsedWords[element] = head;
      rxUsedWords[element + 1] = rxHeldLength[head];
      barrier();
      const next = (usedIndex + 1) & 0xffff;
      ring.usedIndex = next;
      rxUsedHalves[1] = next;
      const notified = ring.lastNotifiedUsed;
      barrier();
      ring.lastNotifiedUsed = next;
      if (rxEventIndex ? ((next - rxAvail[rxUsedEvent] - 1) & 0xffff) < ((next - notified) & 0xffff) : (rxAvail[0] & VRING_AVAIL_F_NO_INTERRUPT) === 0) {
        notify(rxNotifyId);
      }
      return;
    }
    if (endpoint == null || hostOf(endpoint) == null) throw notOpen('release()', endpoint);
    if (!forgetStale(endpoint, offset)) throw notHeld('release()', endpoint, offset);
  };

  /**
   * getTxBuffer, the usual case in few closure variables (XS copies every variable a closure uses at
   * each call: the rare cases are getTxBufferFull's): a fast session, no kept buffer, none obtained
   * and unsent, an open endpoint, and the path's one-pass take finds a buffer. (16 is
   * RPMSG_HDR_SIZE, written as a number for the same reason.)
   */
  const getTxBuffer = (endpoint: Endpoint, wait?: boolean): number => {
    if (takeFast && lastHead < 0 && endpoint != null && (endpoint as unknown as { host: unknown }).host != null) {
      const head = takeTransmit(0);
      if (head >= 0) {
        const ring = txRing!;
        lastHead = head;
        lastEndpoint = endpoint;
        lastBufferLength = ring.bufferLength;
        return (lastOffset = ring.bufferOffset + 16);
      }
    }
    return getTxBufferFull(endpoint, wait);
  };

  const getTxBufferFull = (endpoint: Endpoint, wait = true): number => {
    if (endpoint == null || (endpoint as unknown as { host: unknown }).host == null) throw notOpen('getTxBuffer()', endpoint);
    const ring = txRing;
    if (ring === null) throw new RpmsgError('EPIPE', 'the host has not set DRIVER_OK (or reset the device); wait until it is up');
    let head = -1;
    if (fast && spareCount === 0) head = takeTransmit(0); // the message path's one-pass take (message-path.ts)
    // Else the full code's take: kept buffers first, every check and report, waiting as a send does.
    if (head < 0) head = device.acquireTransmitBuffer(ring, endpoint.address, 0, wait);
    const offset = ring.bufferOffset;
    const bufferLength = ring.bufferLength;
    if (lastHead >= 0) spill();
    lastHead = head;
    lastEndpoint = endpoint;
    lastOffset = offset + RPMSG_HDR_SIZE;
    lastBufferLength = bufferLength;
    return offset + RPMSG_HDR_SIZE;
  };

  /** The index in txHeldHeads of the buffer at payload `offset` obtained by `endpoint`, or -1. */
  const findObtained = (endpoint: Endpoint, offset: number): number => {
    for (let i = txHeldCount - 1; i >= 0; i--) {
      const head = txHeldHeads[i];
      if (txHeldOffset[head] === offset && txHeldEndpoints[head] === endpoint) return i;
    }
    return -1;
  };

  /** Take entry `i` off the obtained list; returns its head. */
  const unobtain = (i: number): number => {
    const head = txHeldHeads[i];
    txHeldHeads[i] = txHeldHeads[--txHeldCount];
    txHeldEndpoints[head] = null;
    txHeldOffset[head] = -1;
    return head;
  };

  /**
   * sendToNoCopy, the usual case in few closure variables (see getTxBuffer): the buffer obtained last,
   * an aligned header, a length from 0 to the room, a destination (an address is an integer: `| 0`
   * tells the usual one from RPMSG_ADDR_ANY without a double compare); the rest, with every refusal,
   * is sendNoCopyFull's. Then the header and the path's return of the buffer.
   */
  const sendNoCopy = (endpoint: Endpoint, destination: number, offset: number, length: number): void => {
    if (lastOffset === offset && lastEndpoint === endpoint && lastHead >= 0 && (offset & 3) === 0 &&
      length >= 0 && length <= lastBufferLength - 16 && length <= 496 && (length | 0) === length &&
      ((destination | 0) !== -1 || destination !== 0xffffffff)) {
      const head = lastHead;
      lastHead = -1;
      lastEndpoint = null;
      const word = (offset - 16) >> 2;
      words[word] = endpoint.address;
      words[word + 1] = destination;
      words[word + 2] = 0;
      words[word + 3] = length; // len (u16) and flags (u16, 0) as one little-endian u32
      sent++;
      publishTransmit(head, 16 + length); // the message path's return of a TX buffer (message-path.ts)
      return;
    }
    sendNoCopyFull(endpoint, destination, offset, length);
  };

  const sendNoCopyFull = (endpoint: Endpoint, destination: number, offset: number, length: number): void => {
    // The buffer sent is almost always the last one obtained (closure variables); another one is first made the last one.
    if (lastHead < 0 || lastOffset !== offset || lastEndpoint !== endpoint) {
      spill();
      const i = findObtained(endpoint, offset);
      if (i < 0) {
        if (endpoint == null || hostOf(endpoint) == null) throw notOpen('sendNoCopy()', endpoint);
        if (forgetStale(endpoint, offset)) {
          throw new RpmsgError('EPIPE', `sendNoCopy() on ${endpoint.describe()}: the host reset the device since the TX buffer was obtained; the buffer is gone and the message was not sent`);
        }
        throw notHeld('sendNoCopy()', endpoint, offset);
      }
      const head = unobtain(i);
      lastHead = head;
      lastEndpoint = endpoint;
      lastOffset = offset;
      lastBufferLength = txBufferLength[head];
    }
    const room = lastBufferLength - RPMSG_HDR_SIZE > RPMSG_MTU ? RPMSG_MTU : lastBufferLength - RPMSG_HDR_SIZE;
    if (!(length >= 0 && length <= room && (length | 0) === length)) {
      throw new RpmsgError('EMSGSIZE', `sendNoCopy() of ${String(length)} bytes from a TX buffer with room for ${room}; the length must be an integer from 0 to ${room} (the buffer stays obtained)`);
    }
    if (destination === RPMSG_ADDR_ANY) {
      throw new RpmsgError('EINVAL', 'no destination address yet: it is learned from the first message the host sends; use sendToNoCopy with an address (the buffer stays obtained)');
    }
    const head = lastHead;
    const start = offset - RPMSG_HDR_SIZE;
    lastHead = -1;
    lastEndpoint = null;
    if ((start & 3) === 0) {
      const word = start >> 2;
      words[word] = endpoint.address;
      words[word + 1] = destination;
      words[word + 2] = 0;
      words[word + 3] = length; // len (u16) and flags (u16, 0) as one little-endian u32
    } else {
      writeRpmsgHeader(dataView, start, endpoint.address, destination, length);
    }
    sent++;
    publishTransmit(head, RPMSG_HDR_SIZE + length); // the message path's return of a TX buffer (message-path.ts)
  };

  const releaseTxBuffer = (endpoint: Endpoint, offset: number): void => {
    spill();
    const i = findObtained(endpoint, offset);
    if (i < 0) {
      if (endpoint == null || hostOf(endpoint) == null) throw notOpen('releaseTxBuffer()', endpoint);
      if (!forgetStale(endpoint, offset)) throw notHeld('releaseTxBuffer()', endpoint, offset);
      return;
    }
    // Kept by the remote for its next send (OpenAMP's rpmsg_virtio_release_tx_buffer): handing it back
    // on the used ring would read to the host as a message.
    spareHeads[spareCount++] = unobtain(i);
    takeFast = false;
    path.setSpares(spareCount);
  };

  api.getTxBuffer = getTxBuffer;
  api.sendToNoCopy = sendNoCopy;
  api.releaseTxBuffer = releaseTxBuffer;

  return {
    api,
    release,
    getTxBuffer,
    sendNoCopy,
    releaseTxBuffer,
    held(endpoint, head, length, offset, isStale) {
      if (isStale) {
        staleEndpoints.push(endpoint);
        staleOffsets.push(offset);
        return;
      }
      rxHeldHeads[rxHeldCount++] = head;
      rxHeldEndpoints[head] = endpoint;
      rxHeldOffset[head] = offset;
      rxHeldLength[head] = length;
    },
    attach(receive, transmit, memory, isFast) {
      rxRing = receive;
      txRing = transmit;
      fast = isFast;
      takeFast = isFast;
      barrier = platform.barrier;
      notify = platform.notify;
      const rxNum = receive.num;
      txNum = transmit.num;
      rxMask = rxNum - 1;
      rxUsedWords = receive.usedWords;
      rxUsedHalves = receive.usedHalves;
      rxAvail = receive.availHalves;
      rxEventIndex = receive.eventIndex;
      rxUsedEvent = receive.usedEventHalf;
      rxNotifyId = receive.notifyId;
      api.bytes = memory.bytes;
      words = memory.words;
      dataView = memory.view;
      rxHeldHeads = new Uint16Array(rxNum);
      rxHeldEndpoints = new Array<Endpoint | null>(rxNum).fill(null);
      rxHeldOffset = new Int32Array(rxNum).fill(-1);
      rxHeldLength = new Uint32Array(rxNum);
      rxHeldCount = 0;
      txHeldHeads = new Uint16Array(txNum);
      txHeldEndpoints = new Array<Endpoint | null>(txNum).fill(null);
      txHeldOffset = new Int32Array(txNum).fill(-1);
      txBufferOffset = new Uint32Array(txNum);
      txBufferLength = new Uint32Array(txNum);
      txHeldCount = 0;
      lastHead = -1;
      lastEndpoint = null;
      spareHeads = new Uint16Array(txNum);
      spareCount = 0;
    },
    detach() {
      spill();
      rxRing = null;
      txRing = null;
      takeFast = false;
      api.bytes = new Uint8Array(0);
      // Buffers held of the old session: a release of one only forgets it, a send of one is EPIPE; nothing goes to the next session's rings.
      for (let i = 0; i < rxHeldCount; i++) {
        const head = rxHeldHeads[i];
        staleEndpoints.push(rxHeldEndpoints[head]!);
        staleOffsets.push(rxHeldOffset[head]);
      }
      for (let i = 0; i < txHeldCount; i++) {
        const head = txHeldHeads[i];
        staleEndpoints.push(txHeldEndpoints[head]!);
        staleOffsets.push(txHeldOffset[head]);
      }
      rxHeldCount = 0;
      txHeldCount = 0;
      spareCount = 0;
    },
    releaseAll(endpoint) {
      spill();
      for (let i = rxHeldCount - 1; i >= 0; i--) {
        const head = rxHeldHeads[i];
        if (rxHeldEndpoints[head] === endpoint) release(endpoint, rxHeldOffset[head]);
      }
      for (let i = txHeldCount - 1; i >= 0; i--) {
        const head = txHeldHeads[i];
        if (txHeldEndpoints[head] === endpoint) releaseTxBuffer(endpoint, txHeldOffset[head]);
      }
      // Its stale buffers are forgotten too: the endpoint is gone.
      for (let i = staleOffsets.length - 1; i >= 0; i--) {
        if (staleEndpoints[i] === endpoint) forgetStale(endpoint, staleOffsets[i]);
      }
    },
    takeSpare(ring, length) {
      if (spareCount === 0 || ring !== txRing) return -1;
      for (let i = spareCount - 1; i >= 0; i--) {
        const head = spareHeads[i];
        if (txBufferLength[head] < RPMSG_HDR_SIZE + length) continue;
        spareHeads[i] = spareHeads[--spareCount];
        takeFast = fast && spareCount === 0;
        path.setSpares(spareCount);
        ring.bufferOffset = txBufferOffset[head];
        ring.bufferLength = txBufferLength[head];
        return head;
      }
      return -1;
    },
    counts() {
      return { receive: rxHeldCount, transmit: txHeldCount + (lastHead >= 0 ? 1 : 0), spare: spareCount };
    },
    sentCount() {
      return sent;
    },
  };
}
