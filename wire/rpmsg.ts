/** The rpmsg message header (struct rpmsg_hdr, drivers/rpmsg/virtio_rpmsg_bus.c) and address constants. */

/** Size of struct rpmsg_hdr: src u32, dst u32, reserved u32, len u16, flags u16 (packed). */
export const RPMSG_HDR_SIZE = 16;
/** Offsets of the header fields. */
export const RPMSG_HDR_SRC = 0;
export const RPMSG_HDR_DST = 4;
export const RPMSG_HDR_RESERVED = 8;
export const RPMSG_HDR_LEN = 12;
export const RPMSG_HDR_FLAGS = 14;

/** MAX_RPMSG_BUF_SIZE: every rpmsg buffer is this big. */
export const RPMSG_BUF_SIZE = 512;
/** Largest payload in one buffer. */
export const RPMSG_MTU = RPMSG_BUF_SIZE - RPMSG_HDR_SIZE;
/** RPMSG_ADDR_ANY: "any address" / "allocate one for me". */
export const RPMSG_ADDR_ANY = 0xffffffff;
/** RPMSG_NS_ADDR: the name service endpoint. */
export const RPMSG_NS_ADDR = 53;
/** How long a blocking send waits for a TX buffer before ERESTARTSYS (virtio_rpmsg_bus: msecs_to_jiffies(15000)). */
export const RPMSG_SEND_TIMEOUT_MS = 15000;
/** RPMSG_RESERVED_ADDRESSES: dynamic addresses start here. */
export const RPMSG_RESERVED_ADDRESSES = 1024;
/** VIRTIO_RPMSG_F_NS: feature bit 0, the remote has a name service. */
export const VIRTIO_RPMSG_F_NS = 0;
/** VIRTIO_ID_RPMSG: virtio device id of rpmsg. */
export const VIRTIO_ID_RPMSG = 7;

/** A decoded header, for logs and tests (the message path uses the field accessors). */
export interface RpmsgHeader {
  src: number;
  dst: number;
  reserved: number;
  len: number;
  flags: number;
}

/** Write a header at `offset`: reserved and flags are 0 on the wire. */
export function writeRpmsgHeader(view: DataView, offset: number, src: number, dst: number, len: number): void {
  view.setUint32(offset + RPMSG_HDR_SRC, src >>> 0, true);
  view.setUint32(offset + RPMSG_HDR_DST, dst >>> 0, true);
  view.setUint32(offset + RPMSG_HDR_RESERVED, 0, true);
  view.setUint16(offset + RPMSG_HDR_LEN, len, true);
  view.setUint16(offset + RPMSG_HDR_FLAGS, 0, true);
}

/** src of the header at `offset`. */
export function rpmsgHeaderSrc(view: DataView, offset: number): number {
  return view.getUint32(offset + RPMSG_HDR_SRC, true);
}

/** dst of the header at `offset`. */
export function rpmsgHeaderDst(view: DataView, offset: number): number {
  return view.getUint32(offset + RPMSG_HDR_DST, true);
}

/** Payload length of the header at `offset`. */
export function rpmsgHeaderLen(view: DataView, offset: number): number {
  return view.getUint16(offset + RPMSG_HDR_LEN, true);
}

/** Decode the whole header at `offset` (allocates: not for the message path). */
export function readRpmsgHeader(view: DataView, offset: number): RpmsgHeader {
  return {
    src: view.getUint32(offset + RPMSG_HDR_SRC, true),
    dst: view.getUint32(offset + RPMSG_HDR_DST, true),
    reserved: view.getUint32(offset + RPMSG_HDR_RESERVED, true),
    len: view.getUint16(offset + RPMSG_HDR_LEN, true),
    flags: view.getUint16(offset + RPMSG_HDR_FLAGS, true),
  };
}
