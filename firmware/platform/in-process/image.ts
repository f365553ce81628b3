/** The in-process "firmware image": the resource table and trace buffer placed in the shared window. */
import { encodeResourceTable } from '../../../resource-table/codec.ts';
import { resourceTableFromManifest } from '../../../resource-table/manifest.ts';
import type { TraceEntry } from '../../../resource-table/model.ts';

/** Where the in-process image put things, as offsets into the shared window. */
export interface InProcessImage {
  /** The encoded table as the firmware ships it (before the host touches it). */
  resourceTable: Uint8Array;
  /** Offset of the table in the window (the firmware's `.resource_table`). */
  resourceTableOffset: number;
  /** First offset the image does not use: the host allocates vrings and buffers from here. */
  end: number;
}

const align = (value: number, to: number) => Math.ceil(value / to) * to;

/**
 * Lay out the image the way the qemu linker script does in PSRAM: the table first, the trace
 * buffer after it, and the rest free for the host. Writes both into `window`.
 */
export function placeInProcessImage(manifest: unknown, window: Uint8Array, memoryBase: number, target = 'in-process'): InProcessImage {
  const generated = resourceTableFromManifest(manifest, target);
  const table = generated.table;
  let size = encodeResourceTable(table).length;
  let end = align(size, 16);
  if (generated.trace !== null) {
    const trace = table.entries[generated.trace.entryIndex] as TraceEntry;
    trace.da = memoryBase + end;
    window.fill(0, end, end + trace.len);
    end = align(end + trace.len, 16);
  }
  const bytes = encodeResourceTable(table);
  size = bytes.length;
  window.set(bytes, 0);
  return { resourceTable: bytes, resourceTableOffset: 0, end: align(end, 4096) };
}
