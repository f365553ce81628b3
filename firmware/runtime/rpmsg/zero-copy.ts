/**
 * Zero-copy on the remote (docs/ZERO-COPY.md), in the manner of OpenAMP's rpmsg_hold_rx_buffer /
 * rpmsg_release_rx_buffer and rpmsg_get_tx_payload_buffer / rpmsg_send_nocopy /
 * rpmsg_release_tx_buffer: RX buffers held past onReadable, TX buffers obtained, filled in place
 * and sent or given back. An app turns it on with enableZeroCopy(rpmsg); firmware that does not
 * import this module does not carry its code (about 2 KB of byte code: the smallest parts count it).
 * The bookkeeping is by descriptor head, in arrays made when the host attaches: nothing is
 * allocated per message but the views the app gets.
 */
import { RpmsgError } from '../../../wire/errors.ts';
import { RPMSG_ADDR_ANY, RPMSG_HDR_SIZE, RPMSG_MTU, writeRpmsgHeader } from '../../../wire/rpmsg.ts';
import type { PlatformCommon } from '../platform.ts';
import type { Rpmsg } from '../runtime.ts';
import type { Endpoint } from './endpoint.ts';
import type { VringDevice } from '../virtio/vring-device.ts';
import type { FullMessagePath, RpmsgStatistics, ZeroCopy, ZeroCopyPath } from './message-path.ts';
import type { RpmsgVirtio } from './rpmsg-virtio.ts';

/** Turn zero-copy on for the endpoints of `rpmsg` (once, at boot; again does nothing). */
export function enableZeroCopy(rpmsg: Rpmsg): void {
  (rpmsg as unknown as { device: RpmsgVirtio }).device.enableZeroCopy(createZeroCopy);
}

/** Zero-copy's state and calls for one device (given to RpmsgVirtio.enableZeroCopy). */
export function createZeroCopy(path: ZeroCopyPath, device: FullMessagePath, platform: PlatformCommon, statistics: RpmsgStatistics): ZeroCopy {
  let bytes: Uint8Array = new Uint8Array(0);
  let words: Uint32Array = new Uint32Array(0);
  let dataView: DataView = new DataView(new ArrayBuffer(0));
  /** The session's rings (null while detached), as attach gave them. */
  let rxRing: VringDevice | null = null;
  let txRing: VringDevice | null = null;
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
  const stale = new WeakSet<Uint8Array>();

  const notHeld = (what: string, endpoint: Endpoint): RpmsgError =>
    new RpmsgError('EBADF', `${what} on ${endpoint.describe()}: this view is not a buffer the endpoint holds (released or sent already, or never obtained from it); a buffer is released or sent once`);

  const release = (endpoint: Endpoint, view: Uint8Array): void => {
    const ring = rxRing;
    for (let i = rxHeldCount - 1; i >= 0; i--) {
      const head = rxHeldHeads[i];
      if (rxHeldViews[head] !== view || rxHeldEndpoints[head] !== endpoint) continue;
      rxHeldHeads[i] = rxHeldHeads[--rxHeldCount];
      rxHeldViews[head] = null;
      rxHeldEndpoints[head] = null;
      // VringDevice.pushUsed and shouldNotify (the host learns its buffer is back).
      ring!.pushUsed(head, rxHeldLength[head]);
      if (ring!.shouldNotify()) platform.notify(ring!.notifyId);
      return;
    }
    if (!stale.delete(view)) throw notHeld('release()', endpoint);
  };

  const getTxBuffer = (endpoint: Endpoint, wait: boolean): Uint8Array => {
    const ring = txRing;
    if (ring === null) throw new RpmsgError('EPIPE', 'the host has not set DRIVER_OK (or reset the device); wait until it is up');
    // The full code's take (every check, waiting as a send does): zero-copy is not the common case
    // the one-pass code is for, and the firmware's byte code has to fit the smallest parts (stm32mp15's SRAM4).
    const head = device.acquireTransmitBuffer(ring, endpoint.address, 0, wait);
    const offset = ring.bufferOffset;
    const length = ring.bufferLength;
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
      if (stale.delete(view)) {
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
    const ring = txRing!;
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
    statistics.sent++;
    if (ring.shouldNotify()) platform.notify(ring.notifyId);
  };

  const releaseTxBuffer = (endpoint: Endpoint, view: Uint8Array): void => {
    const i = findObtained(endpoint, view);
    if (i < 0) {
      if (!stale.delete(view)) throw notHeld('releaseTxBuffer()', endpoint);
      return;
    }
    // Kept by the remote for its next send (OpenAMP's rpmsg_virtio_release_tx_buffer): handing it back
    // on the used ring would read to the host as a message.
    spareHeads[spareCount++] = unobtain(i);
    path.setSpares(spareCount);
  };

  return {
    release,
    getTxBuffer,
    sendNoCopy,
    releaseTxBuffer,
    held(endpoint, view, head, length) {
      rxHeldHeads[rxHeldCount++] = head;
      rxHeldViews[head] = view;
      rxHeldEndpoints[head] = endpoint;
      rxHeldLength[head] = length;
    },
    attach(receive, transmit, memory) {
      rxRing = receive;
      txRing = transmit;
      const rxNum = receive.num;
      const txNum = transmit.num;
      bytes = memory.bytes;
      words = memory.words;
      dataView = memory.view;
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
      rxRing = null;
      txRing = null;
      // Views held of the old session: a release of one only forgets it, a send of one is EPIPE; nothing goes to the next session's rings.
      for (let i = 0; i < rxHeldCount; i++) stale.add(rxHeldViews[rxHeldHeads[i]]!);
      for (let i = 0; i < txHeldCount; i++) stale.add(txHeldViews[txHeldHeads[i]]!);
      rxHeldCount = 0;
      txHeldCount = 0;
      spareCount = 0;
    },
    releaseAll(endpoint) {
      for (let i = rxHeldCount - 1; i >= 0; i--) {
        const head = rxHeldHeads[i];
        if (rxHeldEndpoints[head] === endpoint) release(endpoint, rxHeldViews[head]!);
      }
      for (let i = txHeldCount - 1; i >= 0; i--) {
        const head = txHeldHeads[i];
        if (txHeldEndpoints[head] === endpoint) releaseTxBuffer(endpoint, txHeldViews[head]!);
      }
    },
    takeSpare(ring, length) {
      if (spareCount === 0 || ring !== txRing) return -1;
      for (let i = spareCount - 1; i >= 0; i--) {
        const head = spareHeads[i];
        if (txBufferLength[head] < RPMSG_HDR_SIZE + length) continue;
        spareHeads[i] = spareHeads[--spareCount];
        path.setSpares(spareCount);
        ring.bufferOffset = txBufferOffset[head];
        ring.bufferLength = txBufferLength[head];
        return head;
      }
      return -1;
    },
    counts() {
      return { receive: rxHeldCount, transmit: txHeldCount, spare: spareCount };
    },
  };
}
