/** A readable dump of a decoded resource table, for the CLI and for logs. */
import { entryType, resourceTypeName } from './codec.ts';
import { FW_RSC_ADDR_ANY } from './layout.ts';
import type { DecodedResourceTable } from './model.ts';

function hex(n: number): string {
  return n === FW_RSC_ADDR_ANY ? 'ANY' : `0x${n.toString(16)}`;
}

/** One line per field, entries in offset[] order. */
export function formatResourceTable(decoded: DecodedResourceTable): string {
  const { table, offsets, size } = decoded;
  const lines = [`resource table: ver ${table.ver}, ${table.entries.length} entries, ${size} bytes, reserved [${table.reserved.join(', ')}]`];
  table.entries.forEach((entry, i) => {
    const head = `  [${i}] @${offsets[i]} ${resourceTypeName(entryType(entry))}`;
    switch (entry.kind) {
      case 'carveout':
      case 'devmem':
        lines.push(`${head} "${entry.name}" da ${hex(entry.da)} pa ${hex(entry.pa)} len 0x${entry.len.toString(16)} flags 0x${entry.flags.toString(16)} reserved ${entry.reserved}`);
        break;
      case 'trace':
        lines.push(`${head} "${entry.name}" da ${hex(entry.da)} len 0x${entry.len.toString(16)} reserved ${entry.reserved}`);
        break;
      case 'vdev':
        lines.push(`${head} id ${entry.id} notifyid ${entry.notifyid} dfeatures 0x${entry.dfeatures.toString(16)} gfeatures 0x${entry.gfeatures.toString(16)} status 0x${entry.status.toString(16)} config_len ${entry.config.length} reserved [${entry.reserved.join(', ')}]`);
        entry.vrings.forEach((vring, v) => {
          lines.push(`      vring ${v}: da ${hex(vring.da)} align ${vring.align} num ${vring.num} notifyid ${hex(vring.notifyid)} pa ${hex(vring.pa)}`);
        });
        break;
      case 'opaque':
        lines.push(`${head} ${entry.body.length} bytes`);
        break;
    }
  });
  return lines.join('\n');
}
