/** Linux's acceptance rules for a resource table (remoteproc_elf_loader.c find_table, remoteproc_core.c handlers). */
import { RpmsgError } from '../wire/errors.ts';
import { VIRTIO_ID_RPMSG } from '../wire/rpmsg.ts';
import { isValidVringNum } from '../wire/vring.ts';
import { decodeResourceEntry, decodeResourceTableHeader, entryType, resourceTypeName } from './codec.ts';
import {
  RSC_LAST, RSC_TABLE_HEADER_SIZE, RSC_TABLE_RESERVED, RSC_TABLE_VER, RSC_TABLE_VERSION, RSC_VENDOR_END, RSC_VENDOR_START, VDEV_MAX_VRINGS,
} from './layout.ts';
import type { DecodedResourceTable, ResourceEntry, ResourceTable } from './model.ts';

/** What the host offers beyond the table itself. */
export interface ValidationOptions {
  /**
   * Whether the remote sits behind an IOMMU. Without one rproc_handle_devmem refuses every
   * DEVMEM entry (EINVAL). Default false: no target of this project has one.
   */
  iommu?: boolean;
  /**
   * Also apply the rules that make virtio_rpmsg_bus's probe fail for rpmsg vdevs (id 7): exactly
   * two vrings, both vrings the same size; and vring num a power of two, which Linux 6.x does not
   * check (its split ring masks indexes with num - 1, so another num misplaces buffers): we
   * refuse such a table early.
   * Default true.
   */
  rpmsg?: boolean;
  /**
   * Leave the vring num/align checks to the vdev's own probe: since Linux 6.1 they run in the
   * rproc-virtio platform driver, whose failure drops that vdev but not the boot. Default false.
   */
  vringsAtProbe?: boolean;
}

/** Things Linux accepts with a dev_warn. */
export interface ValidationReport {
  warnings: string[];
}

function where(index: number, type: number): string {
  return `resource entry ${index} (${resourceTypeName(type)})`;
}

/** find_table's header rules: ver 1, reserved zero. */
export function validateResourceTableHeader(ver: number, reserved: readonly [number, number]): void {
  if (ver !== RSC_TABLE_VERSION) {
    throw new RpmsgError('EINVAL', `resource table header: ver is ${ver}, Linux supports only version ${RSC_TABLE_VERSION} ("unsupported fw ver")`);
  }
  if (reserved[0] !== 0 || reserved[1] !== 0) {
    throw new RpmsgError('EINVAL', `resource table header: reserved[] is [${reserved[0]}, ${reserved[1]}], must be zero ("non zero reserved bytes")`);
  }
}

/** The rules Linux applies to entry `index` (its handler's checks); warnings for what it skips. */
export function validateResourceEntry(entry: ResourceEntry, index: number, options: ValidationOptions = {}, warnings: string[] = []): string[] {
  const type = entryType(entry);
  const at = where(index, type);
  switch (entry.kind) {
    case 'carveout':
    case 'devmem':
      if (entry.kind === 'devmem' && !options.iommu) {
        throw new RpmsgError('EINVAL', `${at}: Linux refuses DEVMEM entries when the remote has no IOMMU (rproc_handle_devmem); remove the entry or use a carveout`);
      }
      if (entry.reserved !== 0) {
        throw new RpmsgError('EINVAL', `${at}: reserved is 0x${entry.reserved.toString(16)}, must be zero ("${entry.kind} rsc has non zero reserved bytes")`);
      }
      break;
    case 'trace':
      if (entry.reserved !== 0) {
        throw new RpmsgError('EINVAL', `${at}: reserved is 0x${entry.reserved.toString(16)}, must be zero ("trace rsc has non zero reserved bytes")`);
      }
      break;
    case 'vdev': {
      if (entry.reserved[0] !== 0 || entry.reserved[1] !== 0) {
        throw new RpmsgError('EINVAL', `${at}: reserved[] is [${entry.reserved[0]}, ${entry.reserved[1]}], must be zero ("vdev rsc has non zero reserved bytes")`);
      }
      if (entry.vrings.length > VDEV_MAX_VRINGS) {
        throw new RpmsgError('EINVAL', `${at}: num_of_vrings is ${entry.vrings.length}, Linux supports at most ${VDEV_MAX_VRINGS} per vdev ("too many vrings")`);
      }
      if (!options.vringsAtProbe) entry.vrings.forEach((vring, i) => {
        if (vring.num === 0) throw new RpmsgError('EINVAL', `${at}: vring ${i} num is 0, must be non-zero ("invalid qsz")`);
        if (vring.align === 0) throw new RpmsgError('EINVAL', `${at}: vring ${i} align is 0, must be non-zero ("invalid alignment")`);
        if ((vring.align & (vring.align - 1)) !== 0) {
          warnings.push(`${at}: vring ${i} align ${vring.align} is not a power of two; Linux accepts it but its ALIGN() arithmetic assumes one`);
        }
      });
      if (entry.id === VIRTIO_ID_RPMSG && options.rpmsg !== false) {
        if (entry.vrings.length !== 2) {
          throw new RpmsgError('EINVAL', `${at}: num_of_vrings is ${entry.vrings.length}, virtio_rpmsg_bus needs exactly 2 (rx and tx); Linux would fail the probe with ENOMEM`);
        }
        entry.vrings.forEach((vring, i) => {
          if (!isValidVringNum(vring.num)) {
            throw new RpmsgError('EINVAL', `${at}: vring ${i} num is ${vring.num}, must be a power of two up to 32768. Linux 6.x accepts it (remoteproc's vring_new_virtqueue does not check), but its split ring finds slots by masking indexes with num - 1, so buffers land in the wrong slots; refused here, use a power of two`);
          }
        });
        if (entry.vrings[0].num !== entry.vrings[1].num) {
          warnings.push(`${at}: vring 0 has ${entry.vrings[0].num} entries and vring 1 ${entry.vrings[1].num}; virtio_rpmsg_bus expects symmetric vrings (WARN_ON)`);
        }
      }
      break;
    }
    case 'opaque':
      if (type >= RSC_VENDOR_START && type <= RSC_VENDOR_END) {
        warnings.push(`${at}: vendor resource; Linux passes it to the platform's handle_rsc op or skips it ("unsupported vendor resource")`);
      } else if (type >= RSC_LAST) {
        warnings.push(`${at}: unknown resource type; Linux skips it ("unsupported resource ${type}")`);
      }
      break;
  }
  return warnings;
}

/**
 * Check a decoded table against Linux's rules; the first violation throws RpmsgError('EINVAL')
 * naming the entry index, its type and the field. Returns what Linux only warns about.
 */
export function validateResourceTable(table: ResourceTable, options: ValidationOptions = {}): ValidationReport {
  validateResourceTableHeader(table.ver, table.reserved);
  const warnings: string[] = [];
  table.entries.forEach((entry, index) => validateResourceEntry(entry, index, options, warnings));
  return { warnings };
}

/** Decode then validate: the whole of Linux's acceptance test for a `.resource_table` section. */
export function checkResourceTable(bytes: Uint8Array, options: ValidationOptions = {}): DecodedResourceTable & ValidationReport {
  // Linux's order: header size, ver, reserved, offset[] (find_table), then entry by entry.
  if (bytes.length >= RSC_TABLE_HEADER_SIZE) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    validateResourceTableHeader(view.getUint32(RSC_TABLE_VER, true), [view.getUint32(RSC_TABLE_RESERVED, true), view.getUint32(RSC_TABLE_RESERVED + 4, true)]);
  }
  const header = decodeResourceTableHeader(bytes);
  const warnings: string[] = [];
  const entries: ResourceEntry[] = [];
  for (let index = 0; index < header.num; index++) {
    const entry = decodeResourceEntry(bytes, header.offsets, index);
    validateResourceEntry(entry, index, options, warnings);
    entries.push(entry);
  }
  return { table: { ver: header.ver, reserved: header.reserved, entries }, offsets: header.offsets, size: bytes.length, warnings };
}
