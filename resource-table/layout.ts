/** Byte layout of the remoteproc resource table (include/linux/remoteproc.h), offsets for in-place access. */

/** enum fw_resource_type */
export const RSC_CARVEOUT = 0;
export const RSC_DEVMEM = 1;
export const RSC_TRACE = 2;
export const RSC_VDEV = 3;
/** RSC_LAST: types from here up to RSC_VENDOR_START are unknown to Linux (skipped with a warning). */
export const RSC_LAST = 4;
/** Vendor-specific types, handled by the platform driver's handle_rsc op if any. */
export const RSC_VENDOR_START = 128;
export const RSC_VENDOR_END = 512;

/** FW_RSC_ADDR_ANY: "host, allocate this address". */
export const FW_RSC_ADDR_ANY = 0xffffffff;

/** struct resource_table: ver u32, num u32, reserved[2] u32, offset[num] u32. */
export const RSC_TABLE_VER = 0;
export const RSC_TABLE_NUM = 4;
export const RSC_TABLE_RESERVED = 8;
export const RSC_TABLE_OFFSETS = 16;
/** sizeof(struct resource_table) without the offsets. */
export const RSC_TABLE_HEADER_SIZE = 16;
/** The only version Linux accepts. */
export const RSC_TABLE_VERSION = 1;

/** struct fw_rsc_hdr: type u32; every entry offset points at it. */
export const RSC_HDR_TYPE = 0;
export const RSC_HDR_SIZE = 4;

/** Name fields (carveout, devmem, trace) are char[32]. */
export const RSC_NAME_SIZE = 32;

/** struct fw_rsc_carveout / fw_rsc_devmem, offsets from the entry's type word. */
export const CARVEOUT_DA = 4;
export const CARVEOUT_PA = 8;
export const CARVEOUT_LEN = 12;
export const CARVEOUT_FLAGS = 16;
export const CARVEOUT_RESERVED = 20;
export const CARVEOUT_NAME = 24;
/** type word + body (da, pa, len, flags, reserved, name[32]). */
export const CARVEOUT_ENTRY_SIZE = 56;
/** sizeof(struct fw_rsc_carveout), the body Linux checks against `avail`. */
export const CARVEOUT_BODY_SIZE = 52;

/** struct fw_rsc_trace, offsets from the entry's type word. */
export const TRACE_DA = 4;
export const TRACE_LEN = 8;
export const TRACE_RESERVED = 12;
export const TRACE_NAME = 16;
export const TRACE_ENTRY_SIZE = 48;
/** sizeof(struct fw_rsc_trace). */
export const TRACE_BODY_SIZE = 44;

/** struct fw_rsc_vdev, offsets from the entry's type word. */
export const VDEV_ID = 4;
export const VDEV_NOTIFYID = 8;
export const VDEV_DFEATURES = 12;
export const VDEV_GFEATURES = 16;
export const VDEV_CONFIG_LEN = 20;
export const VDEV_STATUS = 24;
export const VDEV_NUM_OF_VRINGS = 25;
export const VDEV_RESERVED = 26;
export const VDEV_VRINGS = 28;
/** sizeof(struct fw_rsc_vdev) without vrings and config. */
export const VDEV_BODY_SIZE = 24;
/** Linux's struct rproc_vdev holds two vrings; more is refused. */
export const VDEV_MAX_VRINGS = 2;

/** struct fw_rsc_vdev_vring, offsets from the vring's start. */
export const VRING_RSC_DA = 0;
export const VRING_RSC_ALIGN = 4;
export const VRING_RSC_NUM = 8;
export const VRING_RSC_NOTIFYID = 12;
export const VRING_RSC_PA = 16;
export const VRING_RSC_SIZE = 20;

/** Virtio device status bits (include/uapi/linux/virtio_config.h). */
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
export const VIRTIO_CONFIG_S_DRIVER = 2;
export const VIRTIO_CONFIG_S_DRIVER_OK = 4;
export const VIRTIO_CONFIG_S_FEATURES_OK = 8;
/** NEEDS_RESET: an OpenAMP host writes it to reset the device and waits for the device to write 0. */
export const VIRTIO_CONFIG_S_NEEDS_RESET = 0x40;
export const VIRTIO_CONFIG_S_FAILED = 0x80;

/** Offset (from the table start) of entry `index`'s offset[] slot. */
export function entryOffsetSlot(index: number): number {
  return RSC_TABLE_OFFSETS + 4 * index;
}

/** Offset (from the vdev entry's type word) of vring `index`'s struct fw_rsc_vdev_vring. */
export function vdevVringOffset(index: number): number {
  return VDEV_VRINGS + VRING_RSC_SIZE * index;
}

/** Offset (from the vdev entry's type word) of the config space that follows `numOfVrings` vrings. */
export function vdevConfigOffset(numOfVrings: number): number {
  return VDEV_VRINGS + VRING_RSC_SIZE * numOfVrings;
}

/** Size of a vdev entry with its vrings and config space, type word included. */
export function vdevEntrySize(numOfVrings: number, configLen: number): number {
  return vdevConfigOffset(numOfVrings) + configLen;
}
