/** Build a resource table from manifest.json's "resourceTable" section, with per-target overrides. */
import { RpmsgError } from '../wire/errors.ts';
import { VIRTIO_ID_RPMSG, VIRTIO_RPMSG_F_NS } from '../wire/rpmsg.ts';
import { VIRTIO_RING_F_EVENT_IDX } from '../wire/vring.ts';
import { FW_RSC_ADDR_ANY, RSC_TABLE_VERSION } from './layout.ts';
import type { MemoryEntry, ResourceEntry, ResourceTable, TraceEntry, VdevEntry, VdevVring } from './model.ts';
import { validateResourceTable } from './validate.ts';

/** A number in the manifest: 4096, "0x1000", or "ANY" (FW_RSC_ADDR_ANY) where an address is expected. */
export type ManifestNumber = number | string;

/** One vring of a vdev. */
export interface ManifestVring {
  /** Descriptors, a power of two. Default 256. */
  num?: ManifestNumber;
  /** Alignment of the used ring. Default 4096. */
  align?: ManifestNumber;
  /** "ANY" (default: the host allocates) or a fixed device address. */
  da?: ManifestNumber;
  /** "ANY" (default: Linux assigns from 0) or a fixed value the host is expected to keep. */
  notifyid?: ManifestNumber;
}

/** A virtio device; only rpmsg is produced by this project. */
export interface ManifestVdev {
  /** "rpmsg" (default): id 7. */
  type?: 'rpmsg';
  /** Offered features by name: "ns" (VIRTIO_RPMSG_F_NS, bit 0), "event-idx" (bit 29). Default ["ns"]. */
  features?: string[];
  /** Offered features as a number; overrides `features`. */
  dfeatures?: ManifestNumber;
  /** The vdev's own notifyid (Linux ignores it). Default 0. */
  notifyid?: ManifestNumber;
  /** Default: two vrings with the defaults above. */
  vrings?: ManifestVring[];
  /** Config space bytes. Default none. */
  config?: number[];
}

/** A trace buffer the firmware logs into and the host reads. */
export interface ManifestTrace {
  /** Bytes. */
  size: ManifestNumber;
  /** Name in the table. Default "trace". */
  name?: string;
  /** C symbol of the buffer in the generated source. Default "resource_table_trace". */
  symbol?: string;
}

/** A carveout the host allocates (da "ANY") or maps at a fixed da. */
export interface ManifestCarveout {
  name: string;
  len: ManifestNumber;
  da?: ManifestNumber;
  pa?: ManifestNumber;
  flags?: ManifestNumber;
}

/** The manifest section, before target overrides. */
export interface ManifestResourceTableBase {
  carveouts?: ManifestCarveout[];
  trace?: ManifestTrace | null;
  vdevs?: ManifestVdev[];
}

/** manifest.json "resourceTable". */
export interface ManifestResourceTable extends ManifestResourceTableBase {
  /** target name -> partial section merged over the base (objects by key, arrays by index; null removes). */
  targets?: Record<string, ManifestResourceTableBase>;
}

/** A generated table plus what the C output needs to know about the trace buffer. */
export interface GeneratedResourceTable {
  table: ResourceTable;
  target: string | null;
  /** Present when the table has a trace entry whose da the linker resolves. */
  trace: { entryIndex: number; size: number; symbol: string; name: string } | null;
  warnings: string[];
}

/** Feature names accepted in `features`. */
export const FEATURE_BITS: Record<string, number> = {
  ns: VIRTIO_RPMSG_F_NS,
  'event-idx': VIRTIO_RING_F_EVENT_IDX,
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge: objects by key, arrays by index, null deletes, anything else replaces. */
export function mergeOverride(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (Array.isArray(override)) {
    const result = Array.isArray(base) ? [...base] : [];
    override.forEach((item, i) => { result[i] = mergeOverride(result[i], item); });
    return result;
  }
  if (isObject(override)) {
    const result: Record<string, unknown> = isObject(base) ? { ...base } : {};
    for (const key of Object.keys(override)) {
      if (override[key] === null) delete result[key];
      else result[key] = mergeOverride(result[key], override[key]);
    }
    return result;
  }
  return override;
}

function parseNumber(value: unknown, path: string, fallback: number, allowAny: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) return value;
  if (typeof value === 'string') {
    const text = value.trim();
    if (allowAny && text.toUpperCase() === 'ANY') return FW_RSC_ADDR_ANY;
    if (/^(0x[0-9a-f]+|\d+)$/i.test(text)) {
      const n = Number(text);
      if (n <= 0xffffffff) return n;
    }
  }
  throw new RpmsgError('EINVAL', `manifest resourceTable.${path} is ${JSON.stringify(value)}; expected an integer 0..0xffffffff${allowAny ? ' or "ANY"' : ''} (decimal or "0x..." hex)`);
}

function parseName(value: unknown, path: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length > 31 || !/^[\x20-\x7e]*$/.test(value)) {
    throw new RpmsgError('EINVAL', `manifest resourceTable.${path} is ${JSON.stringify(value)}; expected printable ASCII of at most 31 characters`);
  }
  return value;
}

function parseVdev(raw: unknown, index: number): VdevEntry {
  const path = `vdevs[${index}]`;
  if (!isObject(raw)) throw new RpmsgError('EINVAL', `manifest resourceTable.${path} must be an object`);
  if (raw.type !== undefined && raw.type !== 'rpmsg') {
    throw new RpmsgError('EINVAL', `manifest resourceTable.${path}.type is ${JSON.stringify(raw.type)}; only "rpmsg" is supported`);
  }
  let dfeatures = 0;
  if (raw.dfeatures !== undefined) {
    dfeatures = parseNumber(raw.dfeatures, `${path}.dfeatures`, 0, false);
  } else {
    const names = raw.features === undefined ? ['ns'] : raw.features;
    if (!Array.isArray(names)) throw new RpmsgError('EINVAL', `manifest resourceTable.${path}.features must be an array of names (${Object.keys(FEATURE_BITS).join(', ')})`);
    for (const name of names) {
      const bit = typeof name === 'string' ? FEATURE_BITS[name] : undefined;
      if (bit === undefined) {
        throw new RpmsgError('EINVAL', `manifest resourceTable.${path}.features has unknown feature ${JSON.stringify(name)}; known: ${Object.keys(FEATURE_BITS).join(', ')}`);
      }
      dfeatures = (dfeatures | (1 << bit)) >>> 0;
    }
  }
  const rawVrings = raw.vrings === undefined ? [{}, {}] : raw.vrings;
  if (!Array.isArray(rawVrings)) throw new RpmsgError('EINVAL', `manifest resourceTable.${path}.vrings must be an array`);
  const vrings: VdevVring[] = rawVrings.map((v: unknown, i: number) => {
    const vpath = `${path}.vrings[${i}]`;
    const vring = isObject(v) ? v : {};
    if (!isObject(v)) throw new RpmsgError('EINVAL', `manifest resourceTable.${vpath} must be an object`);
    return {
      da: parseNumber(vring.da, `${vpath}.da`, FW_RSC_ADDR_ANY, true),
      align: parseNumber(vring.align, `${vpath}.align`, 4096, false),
      num: parseNumber(vring.num, `${vpath}.num`, 256, false),
      notifyid: parseNumber(vring.notifyid, `${vpath}.notifyid`, FW_RSC_ADDR_ANY, true),
      pa: 0,
    };
  });
  let config = new Uint8Array(0);
  if (raw.config !== undefined) {
    if (!Array.isArray(raw.config) || raw.config.some((b) => typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255)) {
      throw new RpmsgError('EINVAL', `manifest resourceTable.${path}.config must be an array of bytes 0..255`);
    }
    config = Uint8Array.from(raw.config as number[]);
  }
  return {
    kind: 'vdev',
    id: VIRTIO_ID_RPMSG,
    notifyid: parseNumber(raw.notifyid, `${path}.notifyid`, 0, true),
    dfeatures,
    gfeatures: 0,
    status: 0,
    reserved: [0, 0],
    vrings,
    config,
  };
}

/** The effective section for `target` (null: the base alone). */
export function resolveManifestSection(manifest: unknown, target: string | null): ManifestResourceTableBase {
  const section = isObject(manifest) ? manifest.resourceTable : undefined;
  if (!isObject(section)) {
    throw new RpmsgError('EINVAL', 'manifest has no "resourceTable" object; add one (see resource-table/manifest.example.json)');
  }
  const { targets, ...base } = section as ManifestResourceTable;
  if (target === null) return base;
  if (targets !== undefined && !isObject(targets)) throw new RpmsgError('EINVAL', 'manifest resourceTable.targets must be an object keyed by target name');
  const override = targets?.[target];
  if (override === undefined) return base;
  return mergeOverride(base, override) as ManifestResourceTableBase;
}

/**
 * Generate the table for `target`: carveouts first (Linux wants them first: other entries may
 * live inside them), then the trace buffer, then the vdevs. The result passes validateResourceTable.
 */
export function resourceTableFromManifest(manifest: unknown, target: string | null = null): GeneratedResourceTable {
  const section = resolveManifestSection(manifest, target);
  const entries: ResourceEntry[] = [];
  const rawCarveouts = section.carveouts ?? [];
  if (!Array.isArray(rawCarveouts)) throw new RpmsgError('EINVAL', 'manifest resourceTable.carveouts must be an array');
  rawCarveouts.forEach((raw: unknown, i: number) => {
    const path = `carveouts[${i}]`;
    if (!isObject(raw)) throw new RpmsgError('EINVAL', `manifest resourceTable.${path} must be an object`);
    const carveout: MemoryEntry = {
      kind: 'carveout',
      da: parseNumber(raw.da, `${path}.da`, FW_RSC_ADDR_ANY, true),
      pa: parseNumber(raw.pa, `${path}.pa`, 0, true),
      len: parseNumber(raw.len, `${path}.len`, Number.NaN, false),
      flags: parseNumber(raw.flags, `${path}.flags`, 0, false),
      reserved: 0,
      name: parseName(raw.name, `${path}.name`, ''),
    };
    if (Number.isNaN(carveout.len) || carveout.len === 0) throw new RpmsgError('EINVAL', `manifest resourceTable.${path}.len is required and non-zero`);
    entries.push(carveout);
  });
  let trace: GeneratedResourceTable['trace'] = null;
  if (section.trace !== undefined && section.trace !== null) {
    if (!isObject(section.trace)) throw new RpmsgError('EINVAL', 'manifest resourceTable.trace must be an object {size, name?, symbol?} or null');
    const raw = section.trace as Record<string, unknown>;
    const size = parseNumber(raw.size, 'trace.size', Number.NaN, false);
    if (Number.isNaN(size) || size === 0) throw new RpmsgError('EINVAL', 'manifest resourceTable.trace.size is required and non-zero');
    const name = parseName(raw.name, 'trace.name', 'trace');
    const symbol = raw.symbol === undefined ? 'resource_table_trace' : raw.symbol;
    if (typeof symbol !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(symbol)) {
      throw new RpmsgError('EINVAL', `manifest resourceTable.trace.symbol is ${JSON.stringify(symbol)}; expected a C identifier`);
    }
    const entry: TraceEntry = { kind: 'trace', da: 0, len: size, reserved: 0, name };
    trace = { entryIndex: entries.length, size, symbol, name };
    entries.push(entry);
  }
  const rawVdevs = section.vdevs ?? [{}];
  if (!Array.isArray(rawVdevs)) throw new RpmsgError('EINVAL', 'manifest resourceTable.vdevs must be an array');
  rawVdevs.forEach((raw: unknown, i: number) => entries.push(parseVdev(raw, i)));
  const table: ResourceTable = { ver: RSC_TABLE_VERSION, reserved: [0, 0], entries };
  const { warnings } = validateResourceTable(table);
  return { table, target, trace, warnings };
}
