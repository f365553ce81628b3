/** Read and write single fields of a resource table where it lies (shared memory), without decoding it. */
import { VIRTIO_ID_RPMSG } from '../wire/rpmsg.ts';
import {
  RSC_HDR_SIZE, RSC_HDR_TYPE, RSC_TABLE_HEADER_SIZE, RSC_TABLE_NUM, RSC_TABLE_VER, RSC_TABLE_VERSION, RSC_TRACE, RSC_VDEV, TRACE_LEN, VDEV_CONFIG_LEN, VDEV_DFEATURES, VDEV_GFEATURES, VDEV_ID,
  VDEV_NUM_OF_VRINGS, VDEV_STATUS, VRING_RSC_ALIGN, VRING_RSC_DA, VRING_RSC_NOTIFYID, VRING_RSC_NUM, entryOffsetSlot,
  vdevConfigOffset, vdevVringOffset,
} from './layout.ts';

/** What a walk found: offsets (inside the view) of the first matching VDEV entry and the first TRACE entry, -1 when absent. */
export interface ResourceTableEntries {
  vdev: number;
  trace: number;
}

/** A strict walk's reaction to the first problem: a counter name and a sentence; it must throw. */
export type RefuseResourceTable = (reason: string, message: string) => never;

/** How to walk: which virtio device id to look for, and whether problems are refused. */
export interface WalkOptions {
  /** Device id of the VDEV entry to find (default 7, rpmsg). */
  id?: number;
  /**
   * Strict walk (the remote's own table): the first problem is passed here, with a reason
   * and a sentence, and must throw. Without it the walk is lenient: entries that do not fit
   * are skipped and a header that does not fit finds nothing.
   */
  refuse?: RefuseResourceTable;
}

/**
 * Walk the table at `tableOffset` (at most `tableSize` bytes) through its entry offsets, every
 * read bounds-checked: the one walker of the project, strict for the remote's own table and
 * lenient for hosts and tools that only look.
 */
export function walkResourceTable(view: DataView, tableOffset: number, tableSize: number, options: WalkOptions = {}): ResourceTableEntries {
  const id = options.id ?? VIRTIO_ID_RPMSG;
  const refuse = options.refuse;
  const found: ResourceTableEntries = { vdev: -1, trace: -1 };
  const end = Math.min(tableOffset + tableSize, view.byteLength);
  if (tableOffset < 0 || tableOffset + RSC_TABLE_HEADER_SIZE > end) {
    if (refuse) refuse('resource-table-outside', 'header lies outside shared memory; check the linker script');
    return found;
  }
  if (refuse && view.getUint32(tableOffset + RSC_TABLE_VER, true) !== RSC_TABLE_VERSION) {
    refuse('resource-table-version', `version is ${view.getUint32(tableOffset + RSC_TABLE_VER, true)}, expected ${RSC_TABLE_VERSION}`);
  }
  const count = view.getUint32(tableOffset + RSC_TABLE_NUM, true);
  if (refuse && tableOffset + entryOffsetSlot(count) > end) refuse('resource-table-outside', `${count} entries do not fit in shared memory`);
  for (let index = 0; index < count; index++) {
    const slot = tableOffset + entryOffsetSlot(index);
    if (slot + 4 > end) return found;
    const entry = tableOffset + view.getUint32(slot, true);
    if (entry + RSC_HDR_SIZE > end) {
      if (refuse) refuse('resource-table-outside', `entry ${index} lies outside shared memory`);
      continue;
    }
    const type = view.getUint32(entry + RSC_HDR_TYPE, true);
    if (type === RSC_VDEV && found.vdev < 0) {
      if (entry + vdevVringOffset(0) > end) {
        if (refuse) refuse('resource-table-outside', `vdev entry ${index} lies outside shared memory`);
        continue;
      }
      if (view.getUint32(entry + VDEV_ID, true) !== id) continue;
      const vrings = view.getUint8(entry + VDEV_NUM_OF_VRINGS);
      if (entry + vdevConfigOffset(vrings) + view.getUint32(entry + VDEV_CONFIG_LEN, true) > end) {
        if (refuse) refuse('resource-table-outside', `vdev entry ${index} (${vrings} vrings and its config space) lies outside shared memory`);
        continue;
      }
      found.vdev = entry;
    } else if (type === RSC_TRACE && found.trace < 0) {
      if (entry + TRACE_LEN + 4 > end) {
        if (refuse) refuse('resource-table-outside', `trace entry ${index} lies outside shared memory`);
        continue;
      }
      found.trace = entry;
    }
  }
  return found;
}

/**
 * Offset (inside `view`) of the first VDEV entry with device id `id` in the table at
 * `tableOffset` of `tableSize` bytes, or -1 (a lenient walk).
 */
export function findVdevEntry(view: DataView, tableOffset: number, tableSize: number, id: number = VIRTIO_ID_RPMSG): number {
  return walkResourceTable(view, tableOffset, tableSize, { id }).vdev;
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
