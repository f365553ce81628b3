/** Legacy split virtqueue layout (include/uapi/linux/virtio_ring.h), shared by driver and device. */

/** struct vring_desc: addr u64, len u32, flags u16, next u16. */
export const VRING_DESC_SIZE = 16;
export const VRING_DESC_ADDR = 0;
export const VRING_DESC_LEN = 8;
export const VRING_DESC_FLAGS = 12;
export const VRING_DESC_NEXT = 14;
/** struct vring_used_elem: id u32, len u32. */
export const VRING_USED_ELEM_SIZE = 8;
/** Offsets inside struct vring_avail / vring_used: flags u16, idx u16, ring[]. */
export const VRING_FLAGS = 0;
export const VRING_IDX = 2;
export const VRING_RING = 4;

/** VRING_DESC_F_NEXT: the buffer continues in desc.next. */
export const VRING_DESC_F_NEXT = 1;
/** VRING_DESC_F_WRITE: the device writes this buffer. */
export const VRING_DESC_F_WRITE = 2;
/** VRING_DESC_F_INDIRECT: the buffer holds a descriptor table. */
export const VRING_DESC_F_INDIRECT = 4;
/** VRING_USED_F_NO_NOTIFY: the device asks the driver not to kick. */
export const VRING_USED_F_NO_NOTIFY = 1;
/** VRING_AVAIL_F_NO_INTERRUPT: the driver asks the device not to interrupt. */
export const VRING_AVAIL_F_NO_INTERRUPT = 1;
/** VIRTIO_RING_F_EVENT_IDX feature bit. */
export const VIRTIO_RING_F_EVENT_IDX = 29;

/** Where the three parts of a vring sit, relative to its start. */
export interface VringLayout {
  num: number;
  align: number;
  desc: number;
  avail: number;
  used: number;
  /** vring_size(num, align): total bytes. */
  size: number;
}

/** True for a ring size a legacy split ring accepts (power of two, 1..32768). */
export function isValidVringNum(num: number): boolean {
  return Number.isInteger(num) && num > 0 && num <= 32768 && (num & (num - 1)) === 0;
}

/** vring_init()'s placement of desc, avail and used for `num` entries and `align`. */
export function vringLayout(num: number, align: number): VringLayout {
  const desc = 0;
  const avail = num * VRING_DESC_SIZE;
  // avail: flags, idx, ring[num], used_event
  const availEnd = avail + VRING_RING + 2 * num + 2;
  const used = Math.ceil(availEnd / align) * align;
  // used: flags, idx, ring[num] of {id, len}, avail_event
  const size = used + VRING_RING + VRING_USED_ELEM_SIZE * num + 2;
  return { num, align, desc, avail, used, size };
}

/** vring_size(num, align). */
export function vringSize(num: number, align: number): number {
  return vringLayout(num, align).size;
}

/** Offset of avail.used_event (the driver's EVENT_IDX field), relative to avail. */
export function availUsedEventOffset(num: number): number {
  return VRING_RING + 2 * num;
}

/** Offset of used.avail_event (the device's EVENT_IDX field), relative to used. */
export function usedAvailEventOffset(num: number): number {
  return VRING_RING + VRING_USED_ELEM_SIZE * num;
}

/** vring_need_event(): should a notification be sent when moving from oldIdx to newIdx? */
export function vringNeedEvent(eventIdx: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}
