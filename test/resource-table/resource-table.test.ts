import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RpmsgError } from '../../wire/errors.ts';
import {
  FW_RSC_ADDR_ANY, checkResourceTable, decodeResourceTable, encodeResourceTable, findVdevEntry, readVdevDfeatures,
  readVdevStatus, readVringAlign, readVringDa, readVringNotifyid, readVringNum, resourceTableCSource,
  resourceTableFromManifest, validateResourceTable, writeVdevGfeatures, writeVdevStatus, writeVringDa,
  type ResourceEntry, type ResourceTable,
} from '../../resource-table/index.ts';
import { ONE_CARVEOUT, OPENAMP_POSIX, TRACE_AND_RPMSG_VDEV, hex } from './golden.ts';
import example from '../../resource-table/manifest.example.json' with { type: 'json' };

const rpmsgVdev = (): ResourceEntry => ({
  kind: 'vdev', id: 7, notifyid: 0, dfeatures: 1, gfeatures: 0, status: 0, reserved: [0, 0],
  vrings: [
    { da: FW_RSC_ADDR_ANY, align: 4096, num: 256, notifyid: FW_RSC_ADDR_ANY, pa: 0 },
    { da: FW_RSC_ADDR_ANY, align: 4096, num: 256, notifyid: FW_RSC_ADDR_ANY, pa: 0 },
  ],
  config: new Uint8Array(0),
});

const traceAndVdev = (): ResourceTable => ({
  ver: 1, reserved: [0, 0],
  entries: [{ kind: 'trace', da: 0, len: 4096, reserved: 0, name: 'trace' }, rpmsgVdev()],
});

function expectEinval(run: () => unknown, ...fragments: string[]): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RpmsgError);
    expect((error as RpmsgError).code).toBe('EINVAL');
    for (const fragment of fragments) expect((error as Error).message).toContain(fragment);
    return;
  }
  throw new Error('expected EINVAL');
}

/** Copy of `bytes` with a u32 (or u8) patched at `offset`. */
function patched(bytes: Uint8Array, offset: number, value: number, width: 1 | 4 = 4): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  if (width === 4) view.setUint32(offset, value >>> 0, true);
  else view.setUint8(offset, value);
  return copy;
}

describe('golden byte vectors (hand-written from include/linux/remoteproc.h)', () => {
  it('decodes a trace entry and an rpmsg vdev with two 256-entry vrings', () => {
    const decoded = decodeResourceTable(TRACE_AND_RPMSG_VDEV);
    expect(decoded.offsets).toEqual([24, 72]);
    expect(decoded.size).toBe(140);
    expect(decoded.table).toEqual(traceAndVdev());
  });

  it('encodes the same model to exactly the hand-written bytes', () => {
    expect(encodeResourceTable(traceAndVdev())).toEqual(TRACE_AND_RPMSG_VDEV);
  });

  it('the manifest example generates the golden table for qemu-mps2 (trace da left for the linker)', () => {
    const generated = resourceTableFromManifest(example, 'qemu-mps2');
    expect(encodeResourceTable(generated.table)).toEqual(TRACE_AND_RPMSG_VDEV);
    expect(generated.trace).toEqual({ entryIndex: 0, size: 4096, symbol: 'resource_table_trace', name: 'trace' });
  });

  it("the posix target produces OpenAMP's fixed layout byte for byte", () => {
    const generated = resourceTableFromManifest(example, 'posix');
    expect(encodeResourceTable(generated.table)).toEqual(OPENAMP_POSIX);
    expect(generated.trace).toBeNull();
    expect(checkResourceTable(OPENAMP_POSIX).warnings).toEqual([]);
  });

  it('decodes a carveout', () => {
    const { table } = decodeResourceTable(ONE_CARVEOUT);
    expect(table.entries).toEqual([{ kind: 'carveout', da: 0x21000000, pa: FW_RSC_ADDR_ANY, len: 0x100000, flags: 0, reserved: 0, name: 'fw' }]);
    expect(encodeResourceTable(table)).toEqual(ONE_CARVEOUT);
  });
});

describe("tables Linux rejects are rejected with the reason", () => {
  it('ver other than 1', () => expectEinval(() => checkResourceTable(patched(TRACE_AND_RPMSG_VDEV, 0, 2)), 'ver is 2'));
  it('non-zero header reserved', () => expectEinval(() => checkResourceTable(patched(TRACE_AND_RPMSG_VDEV, 12, 1)), 'reserved'));
  it('a table shorter than its header', () => expectEinval(() => checkResourceTable(TRACE_AND_RPMSG_VDEV.slice(0, 12)), '16-byte header'));
  it('num larger than the offsets that fit', () => expectEinval(() => checkResourceTable(patched(TRACE_AND_RPMSG_VDEV, 4, 1000)), 'num = 1000'));
  it('an offset past the end of the table', () =>
    expectEinval(() => checkResourceTable(patched(TRACE_AND_RPMSG_VDEV, 20, 138)), 'resource entry 1', 'offset[1] = 138'));
  it('a vdev whose vrings run past the table', () =>
    expectEinval(() => checkResourceTable(TRACE_AND_RPMSG_VDEV.slice(0, 130)), 'resource entry 1 (VDEV', 'num_of_vrings = 2'));
  it('a vdev whose config_len runs past the table', () =>
    expectEinval(() => checkResourceTable(patched(TRACE_AND_RPMSG_VDEV, 92, 1)), 'resource entry 1 (VDEV', 'config_len = 1'));
  it('non-zero vdev reserved bytes', () =>
    expectEinval(() => checkResourceTable(patched(TRACE_AND_RPMSG_VDEV, 98, 1, 1)), 'resource entry 1 (VDEV)', 'reserved[]'));
  it('more than two vrings', () => {
    const table = traceAndVdev();
    const vdev = table.entries[1] as Extract<ResourceEntry, { kind: 'vdev' }>;
    vdev.vrings.push({ ...vdev.vrings[0] });
    expectEinval(() => checkResourceTable(encodeResourceTable(table)), 'resource entry 1 (VDEV)', 'num_of_vrings is 3');
  });
  it('vring num 0', () => expectEinval(() => checkResourceTable(patched(TRACE_AND_RPMSG_VDEV, 108, 0)), 'resource entry 1 (VDEV)', 'vring 0 num is 0'));
  it('vring align 0', () => expectEinval(() => checkResourceTable(patched(TRACE_AND_RPMSG_VDEV, 124, 0)), 'resource entry 1 (VDEV)', 'vring 1 align is 0'));
  it('vring num not a power of two (Linux 6.x accepts it; refused, with the reason)', () =>
    expectEinval(() => checkResourceTable(patched(TRACE_AND_RPMSG_VDEV, 108, 100)), 'vring 0 num is 100', 'power of two', 'Linux 6.x accepts it'));
  it('an rpmsg vdev with one vring (rpmsg probe would fail)', () => {
    const table = traceAndVdev();
    (table.entries[1] as Extract<ResourceEntry, { kind: 'vdev' }>).vrings.pop();
    expectEinval(() => checkResourceTable(encodeResourceTable(table)), 'exactly 2');
  });
  it('non-zero trace reserved', () => expectEinval(() => checkResourceTable(patched(TRACE_AND_RPMSG_VDEV, 36, 5)), 'resource entry 0 (TRACE)', 'reserved'));
  it('a trace entry cut short', () => expectEinval(() => checkResourceTable(patched(TRACE_AND_RPMSG_VDEV, 20, 24).slice(0, 60)), 'resource entry 0 (TRACE'));
  it('non-zero carveout reserved', () => expectEinval(() => checkResourceTable(patched(ONE_CARVEOUT, 40, 1)), 'resource entry 0 (CARVEOUT)', 'reserved'));
  it('DEVMEM without an IOMMU', () => {
    const devmem = patched(ONE_CARVEOUT, 20, 1);
    expectEinval(() => checkResourceTable(devmem), 'resource entry 0 (DEVMEM)', 'IOMMU');
    expect(checkResourceTable(devmem, { iommu: true }).warnings).toEqual([]);
  });
  it("reports the first violation in Linux's order: header before offset[], entry 0 before entry 1", () => {
    const both = patched(patched(TRACE_AND_RPMSG_VDEV, 0, 2), 4, 1000);
    expectEinval(() => checkResourceTable(both), 'ver is 2');
    // entry 0 has a bad reserved field, entry 1 is cut short: Linux stops at entry 0
    const cut = patched(TRACE_AND_RPMSG_VDEV, 36, 5).slice(0, 130);
    expectEinval(() => checkResourceTable(cut), 'resource entry 0 (TRACE)', 'reserved');
    expectEinval(() => decodeResourceTable(cut), 'resource entry 1 (VDEV');
  });
  it('unknown types below 128 are skipped with a warning, as rproc_handle_resources does', () => {
    const result = checkResourceTable(patched(ONE_CARVEOUT, 20, 5));
    expect(result.warnings[0]).toContain('unknown resource type');
  });
  it('vendor types are kept as opaque bytes with a warning', () => {
    const result = checkResourceTable(patched(ONE_CARVEOUT, 20, 200));
    expect(result.table.entries[0]).toMatchObject({ kind: 'opaque', type: 200 });
    expect((result.table.entries[0] as { body: Uint8Array }).body.length).toBe(52);
    expect(result.warnings[0]).toContain('vendor resource');
  });
});

describe('in-place field access (for the firmware, on shared memory)', () => {
  const memory = new Uint8Array(4096);
  memory.set(TRACE_AND_RPMSG_VDEV, 256);
  const view = new DataView(memory.buffer);

  it('finds the rpmsg vdev and reads its fields', () => {
    const vdev = findVdevEntry(view, 256, TRACE_AND_RPMSG_VDEV.length);
    expect(vdev).toBe(256 + 72);
    expect(readVdevDfeatures(view, vdev)).toBe(1);
    expect(readVringNum(view, vdev, 1)).toBe(256);
    expect(readVringAlign(view, vdev, 0)).toBe(4096);
    expect(readVringNotifyid(view, vdev, 0)).toBe(FW_RSC_ADDR_ANY);
    writeVringDa(view, vdev, 1, 0x21004000);
    writeVdevGfeatures(view, vdev, 1);
    writeVdevStatus(view, vdev, 7);
    expect(readVringDa(view, vdev, 1)).toBe(0x21004000);
    expect(readVdevStatus(view, vdev)).toBe(7);
    const { table } = decodeResourceTable(memory.subarray(256, 256 + 140));
    expect(table.entries[1]).toMatchObject({ gfeatures: 1, status: 7 });
  });

  it('never reads outside the table, whatever the bytes say', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(300), (bytes, size) => {
      const region = new DataView(bytes.buffer);
      const found = findVdevEntry(region, 0, size);
      expect(found === -1 || (found >= 0 && found < bytes.length)).toBe(true);
    }));
  });
});

describe('C source', () => {
  it('places the encoded bytes in .resource_table and references the trace symbol for the trace da', () => {
    const source = resourceTableCSource(resourceTableFromManifest(example, 'qemu-mps2'));
    expect(source).toContain('__attribute__((section(".resource_table"), used, aligned(8)))');
    expect(source).toContain('char resource_table_trace[RESOURCE_TABLE_TRACE_SIZE]');
    expect(source).toContain('#define RESOURCE_TABLE_TRACE_DA ((uint32_t)(uintptr_t)resource_table_trace)');
    expect(source).toContain('uint8_t before_trace_da[28];');
    expect(source).toContain('uint8_t after_trace_da[108];');
  });
  it('a table without trace is a plain byte array', () => {
    const source = resourceTableCSource(resourceTableFromManifest(example, 'posix'));
    expect(source).toContain('uint8_t resource_table[RESOURCE_TABLE_SIZE]');
    const body = source.slice(source.indexOf('= {'), source.indexOf('};'));
    const bytes = Uint8Array.from(body.match(/0x[0-9a-f]{2}/g)!.map((b) => parseInt(b, 16)));
    expect(bytes).toEqual(OPENAMP_POSIX);
  });
});

describe('manifest', () => {
  it('names the field at fault', () => {
    expectEinval(() => resourceTableFromManifest({ resourceTable: { vdevs: [{ vrings: [{ num: 'lots' }, {}] }] } }), 'vdevs[0].vrings[0].num');
    expectEinval(() => resourceTableFromManifest({ resourceTable: { vdevs: [{ features: ['telepathy'] }] } }), 'telepathy');
    expectEinval(() => resourceTableFromManifest({}), 'resourceTable');
    expectEinval(() => resourceTableFromManifest({ resourceTable: { vdevs: [{ vrings: [{ num: 100 }, { num: 100 }] }] } }), 'power of two');
  });
  it('event-idx sets bit 29', () => {
    const generated = resourceTableFromManifest({ resourceTable: { vdevs: [{ features: ['ns', 'event-idx'] }] } });
    expect((generated.table.entries[0] as { dfeatures: number }).dfeatures).toBe(0x20000001);
  });
});

// Arbitrary models for the round-trip property.
const u32 = fc.nat(0xffffffff);
const name = fc.string({ maxLength: 31 }).map((s) => s.replace(/[^\x01-\x7f]/g, 'x'));
const entryArbitrary: fc.Arbitrary<ResourceEntry> = fc.oneof(
  fc.record({ kind: fc.constantFrom('carveout' as const, 'devmem' as const), da: u32, pa: u32, len: u32, flags: u32, reserved: u32, name }),
  fc.record({ kind: fc.constant('trace' as const), da: u32, len: u32, reserved: u32, name }),
  fc.record({
    kind: fc.constant('vdev' as const), id: u32, notifyid: u32, dfeatures: u32, gfeatures: u32, status: fc.nat(255),
    reserved: fc.tuple(fc.nat(255), fc.nat(255)),
    vrings: fc.array(fc.record({ da: u32, align: u32, num: u32, notifyid: u32, pa: u32 }), { maxLength: 4 }),
    config: fc.uint8Array({ maxLength: 20 }),
  }),
  fc.record({
    kind: fc.constant('opaque' as const),
    type: fc.oneof(fc.integer({ min: 4, max: 127 }), fc.integer({ min: 128, max: 512 }), fc.integer({ min: 513, max: 0xffffffff })),
    body: fc.nat(16).chain((words) => fc.uint8Array({ minLength: 4 * words, maxLength: 4 * words })),
  }),
);
const tableArbitrary: fc.Arbitrary<ResourceTable> = fc.record({
  ver: u32, reserved: fc.tuple(u32, u32), entries: fc.array(entryArbitrary, { maxLength: 6 }),
});

describe('properties', () => {
  it('encode then decode gives the model back, and re-encoding gives the same bytes', () => {
    fc.assert(fc.property(tableArbitrary, (table) => {
      const bytes = encodeResourceTable(table);
      const decoded = decodeResourceTable(bytes);
      expect(decoded.table).toEqual(table);
      expect(encodeResourceTable(decoded.table)).toEqual(bytes);
    }));
  });

  const onlyRpmsgErrors = (bytes: Uint8Array): void => {
    try {
      checkResourceTable(bytes);
    } catch (error) {
      if (!(error instanceof RpmsgError)) throw error;
      expect(error.code).toBe('EINVAL');
    }
  };

  it('decode and validate throw nothing but RpmsgError on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), onlyRpmsgErrors), { numRuns: 2000 });
  });

  it('decode and validate throw nothing but RpmsgError on mutated golden tables', () => {
    const golden = fc.constantFrom(TRACE_AND_RPMSG_VDEV, OPENAMP_POSIX, ONE_CARVEOUT);
    const mutation = fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { minLength: 1, maxLength: 6 });
    fc.assert(fc.property(golden, mutation, fc.nat(200), (bytes, changes, cut) => {
      const copy = bytes.slice(0, Math.max(cut, bytes.length - cut));
      for (const [at, value] of changes) if (at < copy.length) copy[at] = value;
      onlyRpmsgErrors(copy);
    }), { numRuns: 3000 });
  });

  it('validate accepts every table the manifest generator produces', () => {
    const vringArbitrary = fc.record({ num: fc.constantFrom(2, 16, 64, 256, 1024), align: fc.constantFrom(16, 4096), da: fc.oneof(fc.constant('ANY'), u32) });
    fc.assert(fc.property(fc.boolean(), fc.nat(1 << 20), vringArbitrary, (withTrace, traceSize, vring) => {
      const manifest = { resourceTable: { trace: withTrace ? { size: traceSize + 1 } : null, vdevs: [{ vrings: [vring, vring] }] } };
      const generated = resourceTableFromManifest(manifest);
      expect(() => validateResourceTable(decodeResourceTable(encodeResourceTable(generated.table)).table)).not.toThrow();
    }));
  });
});

it('hex() helper reads comments', () => {
  expect(hex('01 // one\n 02')).toEqual(new Uint8Array([1, 2]));
});
