/** Read and write single fields of a resource table where it lies (shared memory), without decoding it. */
import { VIRTIO_ID_RPMSG } from '../wire/rpmsg.ts';
import {
  RSC_HDR_TYPE, RSC_TABLE_HEADER_SIZE, RSC_TABLE_NUM, RSC_VDEV, VDEV_CONFIG_LEN, VDEV_DFEATURES, VDEV_GFEATURES, VDEV_ID,
  VDEV_NUM_OF_VRINGS, VDEV_STATUS, VRING_RSC_ALIGN, VRING_RSC_DA, VRING_RSC_NOTIFYID, VRING_RSC_NUM, entryOffsetSlot,
  vdevConfigOffset, vdevVringOffset,
} from './layout.ts';

/**
 * Offset (inside `view`) of the first VDEV entry with device id `id` in the table at
 * `tableOffset` of `tableSize` bytes, or -1. Every read is bounds-checked against the table.
 */
export function findVdevEntry(view: DataView, tableOffset: number, tableSize: number, id: number = VIRTIO_ID_RPMSG): number {
  const end = Math.min(tableOffset + tableSize, view.byteLength);
  if (tableOffset < 0 || tableOffset + RSC_TABLE_HEADER_SIZE > end) return -1;
  const num = view.getUint32(tableOffset + RSC_TABLE_NUM, true);
  for (let i = 0; i < num; i++) {
    const slot = tableOffset + entryOffsetSlot(i);
    if (slot + 4 > end) return -1;
    const entry = tableOffset + view.getUint32(slot, true);
    if (entry + vdevVringOffset(0) > end) continue;
    if (view.getUint32(entry + RSC_HDR_TYPE, true) !== RSC_VDEV) continue;
    if (view.getUint32(entry + VDEV_ID, true) !== id) continue;
    const vrings = view.getUint8(entry + VDEV_NUM_OF_VRINGS);
    const configLen = view.getUint32(entry + VDEV_CONFIG_LEN, true);
    if (entry + vdevConfigOffset(vrings) + configLen > end) continue;
    return entry;
  }
  return -1;
}

/** The vdev's status byte (the host writes 0, 1, 3, 7). */
export function readVdevStatus(view: DataView, vdev: number): number {
  return view.getUint8(vdev + VDEV_STATUS);
}

/** Write the vdev's status byte (host side). */
export function writeVdevStatus(view: DataView, vdev: number, status: number): void {
  view.setUint8(vdev + VDEV_STATUS, status);
}

/** Features the device offers. */
export function readVdevDfeatures(view: DataView, vdev: number): number {
  return view.getUint32(vdev + VDEV_DFEATURES, true);
}

/** Features the host accepted. */
export function readVdevGfeatures(view: DataView, vdev: number): number {
  return view.getUint32(vdev + VDEV_GFEATURES, true);
}

/** Write the accepted features (host side). */
export function writeVdevGfeatures(view: DataView, vdev: number, features: number): void {
  view.setUint32(vdev + VDEV_GFEATURES, features >>> 0, true);
}

/** num_of_vrings of the vdev. */
export function readVdevNumOfVrings(view: DataView, vdev: number): number {
  return view.getUint8(vdev + VDEV_NUM_OF_VRINGS);
}

/** Device address of vring `index` (valid once the host set DRIVER_OK). */
export function readVringDa(view: DataView, vdev: number, index: number): number {
  return view.getUint32(vdev + vdevVringOffset(index) + VRING_RSC_DA, true);
}

/** Write the device address of vring `index` (host side, rp_find_vq). */
export function writeVringDa(view: DataView, vdev: number, index: number, da: number): void {
  view.setUint32(vdev + vdevVringOffset(index) + VRING_RSC_DA, da >>> 0, true);
}

/** Number of descriptors of vring `index`. */
export function readVringNum(view: DataView, vdev: number, index: number): number {
  return view.getUint32(vdev + vdevVringOffset(index) + VRING_RSC_NUM, true);
}

/** Alignment of vring `index`. */
export function readVringAlign(view: DataView, vdev: number, index: number): number {
  return view.getUint32(vdev + vdevVringOffset(index) + VRING_RSC_ALIGN, true);
}

/** Notify id of vring `index` (assigned by the host before start). */
export function readVringNotifyid(view: DataView, vdev: number, index: number): number {
  return view.getUint32(vdev + vdevVringOffset(index) + VRING_RSC_NOTIFYID, true);
}

/** Write the notify id of vring `index` (host side, rproc_alloc_vring). */
export function writeVringNotifyid(view: DataView, vdev: number, index: number, notifyid: number): void {
  view.setUint32(vdev + vdevVringOffset(index) + VRING_RSC_NOTIFYID, notifyid >>> 0, true);
}
