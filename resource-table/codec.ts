/** Encode and decode resource tables; decode refuses (EINVAL) what would make Linux read outside the table. */
import { RpmsgError } from '../wire/errors.ts';
import {
  CARVEOUT_BODY_SIZE, CARVEOUT_DA, CARVEOUT_ENTRY_SIZE, CARVEOUT_FLAGS, CARVEOUT_LEN, CARVEOUT_NAME, CARVEOUT_PA,
  CARVEOUT_RESERVED, RSC_CARVEOUT, RSC_DEVMEM, RSC_HDR_SIZE, RSC_HDR_TYPE, RSC_NAME_SIZE, RSC_TABLE_HEADER_SIZE,
  RSC_TABLE_NUM, RSC_TABLE_RESERVED, RSC_TABLE_VER, RSC_TRACE, RSC_VDEV, TRACE_BODY_SIZE, TRACE_DA, TRACE_ENTRY_SIZE,
  TRACE_LEN, TRACE_NAME, TRACE_RESERVED, VDEV_BODY_SIZE, VDEV_CONFIG_LEN, VDEV_DFEATURES, VDEV_GFEATURES, VDEV_ID,
  VDEV_NOTIFYID, VDEV_NUM_OF_VRINGS, VDEV_RESERVED, VDEV_STATUS, VRING_RSC_ALIGN, VRING_RSC_DA, VRING_RSC_NOTIFYID,
  VRING_RSC_NUM, VRING_RSC_PA, VRING_RSC_SIZE, entryOffsetSlot, vdevConfigOffset, vdevEntrySize, vdevVringOffset,
} from './layout.ts';
import type { DecodedResourceTable, ResourceEntry, ResourceTable, VdevVring } from './model.ts';

/** Human name of an entry type, for messages. */
export function resourceTypeName(type: number): string {
  switch (type) {
    case RSC_CARVEOUT: return 'CARVEOUT';
    case RSC_DEVMEM: return 'DEVMEM';
    case RSC_TRACE: return 'TRACE';
    case RSC_VDEV: return 'VDEV';
    default: return type >= 128 && type <= 512 ? `VENDOR(${type})` : `UNKNOWN(${type})`;
  }
}

/** The type word of an entry. */
export function entryType(entry: ResourceEntry): number {
  switch (entry.kind) {
    case 'carveout': return RSC_CARVEOUT;
    case 'devmem': return RSC_DEVMEM;
    case 'trace': return RSC_TRACE;
    case 'vdev': return RSC_VDEV;
    case 'opaque': return entry.type >>> 0;
  }
}

/** Bytes an entry takes, type word included, before padding. */
export function entrySize(entry: ResourceEntry): number {
  switch (entry.kind) {
    case 'carveout':
    case 'devmem': return CARVEOUT_ENTRY_SIZE;
    case 'trace': return TRACE_ENTRY_SIZE;
    case 'vdev': return vdevEntrySize(entry.vrings.length, entry.config.length);
    case 'opaque': return RSC_HDR_SIZE + entry.body.length;
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Where encode() puts each entry, and the total size (entries are 4-byte aligned, back to back). */
export function resourceTableLayout(table: ResourceTable): { offsets: number[]; size: number } {
  let cursor = RSC_TABLE_HEADER_SIZE + 4 * table.entries.length;
  const offsets: number[] = [];
  for (const entry of table.entries) {
    cursor = align4(cursor);
    offsets.push(cursor);
    cursor += entrySize(entry);
  }
  return { offsets, size: align4(cursor) };
}

function writeName(bytes: Uint8Array, offset: number, name: string, where: string): void {
  if (name.length > RSC_NAME_SIZE - 1) {
    throw new RpmsgError('EINVAL', `${where}: name "${name}" is ${name.length} characters; resource names hold at most ${RSC_NAME_SIZE - 1}`);
  }
  for (let i = 0; i < RSC_NAME_SIZE; i++) {
    const code = i < name.length ? name.charCodeAt(i) : 0;
    if (code > 0x7f) throw new RpmsgError('EINVAL', `${where}: name "${name}" is not ASCII; use plain ASCII`);
    bytes[offset + i] = code;
  }
}

function readName(bytes: Uint8Array, offset: number): string {
  let name = '';
  for (let i = 0; i < RSC_NAME_SIZE; i++) {
    const code = bytes[offset + i];
    if (code === 0) break;
    name += String.fromCharCode(code);
  }
  return name;
}

/** Encode a table to bytes (no validation beyond what the layout needs: build hostile tables for tests too). */
export function encodeResourceTable(table: ResourceTable): Uint8Array {
  const { offsets, size } = resourceTableLayout(table);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(RSC_TABLE_VER, table.ver >>> 0, true);
  view.setUint32(RSC_TABLE_NUM, table.entries.length, true);
  view.setUint32(RSC_TABLE_RESERVED, table.reserved[0] >>> 0, true);
  view.setUint32(RSC_TABLE_RESERVED + 4, table.reserved[1] >>> 0, true);
  table.entries.forEach((entry, index) => {
    const at = offsets[index];
    const where = `resource entry ${index} (${resourceTypeName(entryType(entry))})`;
    view.setUint32(entryOffsetSlot(index), at, true);
    view.setUint32(at + RSC_HDR_TYPE, entryType(entry), true);
    switch (entry.kind) {
      case 'carveout':
      case 'devmem':
        view.setUint32(at + CARVEOUT_DA, entry.da >>> 0, true);
        view.setUint32(at + CARVEOUT_PA, entry.pa >>> 0, true);
        view.setUint32(at + CARVEOUT_LEN, entry.len >>> 0, true);
        view.setUint32(at + CARVEOUT_FLAGS, entry.flags >>> 0, true);
        view.setUint32(at + CARVEOUT_RESERVED, entry.reserved >>> 0, true);
        writeName(bytes, at + CARVEOUT_NAME, entry.name, where);
        break;
      case 'trace':
        view.setUint32(at + TRACE_DA, entry.da >>> 0, true);
        view.setUint32(at + TRACE_LEN, entry.len >>> 0, true);
        view.setUint32(at + TRACE_RESERVED, entry.reserved >>> 0, true);
        writeName(bytes, at + TRACE_NAME, entry.name, where);
        break;
      case 'vdev': {
        if (entry.vrings.length > 255) throw new RpmsgError('EINVAL', `${where}: ${entry.vrings.length} vrings do not fit num_of_vrings (u8)`);
        view.setUint32(at + VDEV_ID, entry.id >>> 0, true);
        view.setUint32(at + VDEV_NOTIFYID, entry.notifyid >>> 0, true);
        view.setUint32(at + VDEV_DFEATURES, entry.dfeatures >>> 0, true);
        view.setUint32(at + VDEV_GFEATURES, entry.gfeatures >>> 0, true);
        view.setUint32(at + VDEV_CONFIG_LEN, entry.config.length, true);
        view.setUint8(at + VDEV_STATUS, entry.status & 0xff);
        view.setUint8(at + VDEV_NUM_OF_VRINGS, entry.vrings.length);
        view.setUint8(at + VDEV_RESERVED, entry.reserved[0] & 0xff);
        view.setUint8(at + VDEV_RESERVED + 1, entry.reserved[1] & 0xff);
        entry.vrings.forEach((vring, i) => {
          const v = at + vdevVringOffset(i);
          view.setUint32(v + VRING_RSC_DA, vring.da >>> 0, true);
          view.setUint32(v + VRING_RSC_ALIGN, vring.align >>> 0, true);
          view.setUint32(v + VRING_RSC_NUM, vring.num >>> 0, true);
          view.setUint32(v + VRING_RSC_NOTIFYID, vring.notifyid >>> 0, true);
          view.setUint32(v + VRING_RSC_PA, vring.pa >>> 0, true);
        });
        bytes.set(entry.config, at + vdevConfigOffset(entry.vrings.length));
        break;
      }
      case 'opaque':
        bytes.set(entry.body, at + RSC_HDR_SIZE);
        break;
    }
  });
  return bytes;
}

/** The header fields and offset[] of a table, checked only for size (what reading needs). */
export interface ResourceTableHeader {
  ver: number;
  num: number;
  reserved: [number, number];
  offsets: number[];
}

/** Read the header and offset[]: EINVAL when the table is shorter than its header or offset[]. */
export function decodeResourceTableHeader(input: Uint8Array): ResourceTableHeader {
  const size = input.length;
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  if (size < RSC_TABLE_HEADER_SIZE) {
    throw new RpmsgError('EINVAL', `resource table is ${size} bytes, smaller than its 16-byte header ("header-less resource table" in Linux)`);
  }
  const ver = view.getUint32(RSC_TABLE_VER, true);
  const num = view.getUint32(RSC_TABLE_NUM, true);
  const reserved: [number, number] = [view.getUint32(RSC_TABLE_RESERVED, true), view.getUint32(RSC_TABLE_RESERVED + 4, true)];
  if (RSC_TABLE_HEADER_SIZE + 4 * num > size) {
    throw new RpmsgError('EINVAL', `resource table header says num = ${num} entries but offset[] would end at ${RSC_TABLE_HEADER_SIZE + 4 * num}, past the table's ${size} bytes ("resource table incomplete" in Linux)`);
  }
  const offsets: number[] = [];
  for (let i = 0; i < num; i++) offsets.push(view.getUint32(entryOffsetSlot(i), true));
  return { ver, num, reserved, offsets };
}

/**
 * Decode entry `index` at `offsets[index]`, checking that its fixed and variable parts lie
 * inside the table (rproc_handle_resources' `avail` checks). An opaque entry runs to the next
 * entry start or the table end. Throws RpmsgError('EINVAL') naming the index, type and field.
 */
export function decodeResourceEntry(input: Uint8Array, offsets: readonly number[], index: number): ResourceEntry {
  const size = input.length;
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const at = offsets[index];
  if (at > size - RSC_HDR_SIZE) {
    throw new RpmsgError('EINVAL', `resource entry ${index}: offset[${index}] = ${at} leaves no room for its type word in the ${size}-byte table ("rsc table is truncated" in Linux)`);
  }
  const type = view.getUint32(at + RSC_HDR_TYPE, true);
  const avail = size - at - RSC_HDR_SIZE;
  const where = `resource entry ${index} (${resourceTypeName(type)} at offset ${at})`;
  const need = (bodySize: number, field: string): void => {
    if (bodySize > avail) {
      throw new RpmsgError('EINVAL', `${where}: ${field} needs ${bodySize} bytes after the type word but only ${avail} remain in the table (Linux: "rsc is truncated")`);
    }
  };
  if (type === RSC_CARVEOUT || type === RSC_DEVMEM) {
    need(CARVEOUT_BODY_SIZE, type === RSC_CARVEOUT ? 'struct fw_rsc_carveout' : 'struct fw_rsc_devmem');
    return {
      kind: type === RSC_CARVEOUT ? 'carveout' : 'devmem',
      da: view.getUint32(at + CARVEOUT_DA, true),
      pa: view.getUint32(at + CARVEOUT_PA, true),
      len: view.getUint32(at + CARVEOUT_LEN, true),
      flags: view.getUint32(at + CARVEOUT_FLAGS, true),
      reserved: view.getUint32(at + CARVEOUT_RESERVED, true),
      name: readName(input, at + CARVEOUT_NAME),
    };
  }
  if (type === RSC_TRACE) {
    need(TRACE_BODY_SIZE, 'struct fw_rsc_trace');
    return {
      kind: 'trace',
      da: view.getUint32(at + TRACE_DA, true),
      len: view.getUint32(at + TRACE_LEN, true),
      reserved: view.getUint32(at + TRACE_RESERVED, true),
      name: readName(input, at + TRACE_NAME),
    };
  }
  if (type === RSC_VDEV) {
    need(VDEV_BODY_SIZE, 'struct fw_rsc_vdev');
    const numOfVrings = view.getUint8(at + VDEV_NUM_OF_VRINGS);
    const configLen = view.getUint32(at + VDEV_CONFIG_LEN, true);
    need(VDEV_BODY_SIZE + VRING_RSC_SIZE * numOfVrings + configLen, `num_of_vrings = ${numOfVrings} and config_len = ${configLen}`);
    const vrings: VdevVring[] = [];
    for (let i = 0; i < numOfVrings; i++) {
      const v = at + vdevVringOffset(i);
      vrings.push({
        da: view.getUint32(v + VRING_RSC_DA, true),
        align: view.getUint32(v + VRING_RSC_ALIGN, true),
        num: view.getUint32(v + VRING_RSC_NUM, true),
        notifyid: view.getUint32(v + VRING_RSC_NOTIFYID, true),
        pa: view.getUint32(v + VRING_RSC_PA, true),
      });
    }
    const configStart = at + vdevConfigOffset(numOfVrings);
    return {
      kind: 'vdev',
      id: view.getUint32(at + VDEV_ID, true),
      notifyid: view.getUint32(at + VDEV_NOTIFYID, true),
      dfeatures: view.getUint32(at + VDEV_DFEATURES, true),
      gfeatures: view.getUint32(at + VDEV_GFEATURES, true),
      status: view.getUint8(at + VDEV_STATUS),
      reserved: [view.getUint8(at + VDEV_RESERVED), view.getUint8(at + VDEV_RESERVED + 1)],
      vrings,
      config: input.slice(configStart, configStart + configLen),
    };
  }
  let end = size;
  for (const start of offsets) if (start > at && start < end) end = start;
  return { kind: 'opaque', type, body: input.slice(at + RSC_HDR_SIZE, end) };
}

/**
 * Decode a whole table, checking only what reading needs: header and offset[] inside the
 * table, each entry's fixed and variable parts inside the table. Field values (ver, reserved,
 * num, align) are validateResourceTable's job; checkResourceTable does both in Linux's order.
 * Throws RpmsgError('EINVAL') naming the entry index, type and field; never anything else.
 */
export function decodeResourceTable(input: Uint8Array): DecodedResourceTable {
  const header = decodeResourceTableHeader(input);
  const entries: ResourceEntry[] = [];
  for (let index = 0; index < header.num; index++) entries.push(decodeResourceEntry(input, header.offsets, index));
  return { table: { ver: header.ver, reserved: header.reserved, entries }, offsets: header.offsets, size: input.length };
}
