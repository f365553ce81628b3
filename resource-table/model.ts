/** The resource table as data: one TypeScript shape per kernel struct (include/linux/remoteproc.h). */

/** struct fw_rsc_carveout (type RSC_CARVEOUT) or struct fw_rsc_devmem (type RSC_DEVMEM): same layout. */
export interface MemoryEntry {
  kind: 'carveout' | 'devmem';
  /** Device address; FW_RSC_ADDR_ANY lets the host choose (carveout only). */
  da: number;
  /** Physical address, filled by the host for carveouts. */
  pa: number;
  len: number;
  /** IOMMU protection flags. */
  flags: number;
  /** Must be 0. */
  reserved: number;
  /** At most 31 characters. */
  name: string;
}

/** struct fw_rsc_trace (type RSC_TRACE): a log buffer the host reads. */
export interface TraceEntry {
  kind: 'trace';
  da: number;
  len: number;
  /** Must be 0. */
  reserved: number;
  name: string;
}

/** struct fw_rsc_vdev_vring. */
export interface VdevVring {
  /** Device address of the ring; FW_RSC_ADDR_ANY lets the host choose. The host writes it after start. */
  da: number;
  align: number;
  /** Number of descriptors (a power of two). */
  num: number;
  /** Filled by the host before start (Linux assigns them from 0). */
  notifyid: number;
  /** Physical address; Linux never reads or writes it. */
  pa: number;
}

/** struct fw_rsc_vdev (type RSC_VDEV): a virtio device, e.g. rpmsg (id 7). */
export interface VdevEntry {
  kind: 'vdev';
  /** Virtio device id (VIRTIO_ID_RPMSG = 7). */
  id: number;
  /** Linux never uses or writes this. */
  notifyid: number;
  /** Features the device offers. */
  dfeatures: number;
  /** Features the host accepted (written by the host). */
  gfeatures: number;
  /** Virtio status byte (written by the host). */
  status: number;
  /** Must be [0, 0]. */
  reserved: [number, number];
  vrings: VdevVring[];
  /** The config space (config_len bytes). */
  config: Uint8Array;
}

/** An entry Linux has no built-in handler for: a vendor type (128..512) or an unknown one. Kept as bytes. */
export interface OpaqueEntry {
  kind: 'opaque';
  /** The raw type word. */
  type: number;
  /** The bytes after the type word up to the next entry (or the table's end). */
  body: Uint8Array;
}

/** One resource entry. */
export type ResourceEntry = MemoryEntry | TraceEntry | VdevEntry | OpaqueEntry;

/** struct resource_table with its entries, in offset[] order. */
export interface ResourceTable {
  /** Must be 1. */
  ver: number;
  /** Must be [0, 0]. */
  reserved: [number, number];
  entries: ResourceEntry[];
}

/** A decoded table plus where each entry sits (offset[i], from the table start). */
export interface DecodedResourceTable {
  table: ResourceTable;
  /** offset[i] as found in the table. */
  offsets: number[];
  /** Size of the table in bytes (the section size). */
  size: number;
}
