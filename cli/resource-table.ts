/** The resource-table verbs of the command line: C source, bytes, or a decoded table with Linux's verdict. */
import { readFileSync, writeFileSync } from 'node:fs';
import { RpmsgError } from '../wire/errors.ts';
import { encodeResourceTable } from '../resource-table/codec.ts';
import { resourceTableCSource } from '../resource-table/c-source.ts';
import { formatResourceTable } from '../resource-table/dump.ts';
import { resourceTableFromManifest } from '../resource-table/manifest.ts';
import { checkResourceTable } from '../resource-table/validate.ts';
import { elfFindResourceTable } from '../resource-table/elf.ts';

const USAGE = `usage:
  npx xs-rpmsg c-source <manifest.json> [--target qemu-mps2|posix|...] [--symbol name]   C source on stdout
  npx xs-rpmsg bytes <manifest.json> [--target T] [--out file]                         binary (stdout or file)
  npx xs-rpmsg decode <file | firmware.elf>                                           readable dump + Linux's verdict`;

function option(args: string[], name: string): string | null {
  const i = args.indexOf(name);
  if (i < 0) return null;
  const value = args[i + 1];
  if (value === undefined) throw new RpmsgError('EINVAL', `${name} needs a value`);
  args.splice(i, 2);
  return value;
}

/** Runs `c-source`, `bytes` or `decode` with its arguments; returns the exit status. */
export function resourceTableCommand(argv: string[]): number {
  const args = [...argv];
  const command = args.shift();
  const target = option(args, '--target');
  const out = option(args, '--out');
  const symbol = option(args, '--symbol');
  const file = args.shift();
  if (!command || !file || args.length > 0) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  if (command === 'decode') {
    let bytes = new Uint8Array(readFileSync(file));
    if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
      // A firmware ELF: the table is the `.resource_table` section, found as remoteproc finds it.
      const section = elfFindResourceTable(bytes);
      if (!section) throw new RpmsgError('EINVAL', `${file} has no .resource_table section`);
      process.stdout.write(`.resource_table: file offset 0x${section.fileOffset.toString(16)}, sh_addr 0x${section.address.toString(16)}, ${section.size} bytes\n`);
      bytes = bytes.slice(section.fileOffset, section.fileOffset + section.size);
    }
    const result = checkResourceTable(bytes);
    process.stdout.write(formatResourceTable(result) + '\n');
    for (const warning of result.warnings) process.stdout.write(`warning: ${warning}\n`);
    process.stdout.write('Linux accepts this table.\n');
    return 0;
  }
  const manifest: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const generated = resourceTableFromManifest(manifest, target);
  for (const warning of generated.warnings) process.stderr.write(`warning: ${warning}\n`);
  if (command === 'c-source') {
    process.stdout.write(resourceTableCSource(generated, symbol ? { tableSymbol: symbol } : {}));
    return 0;
  }
  if (command === 'bytes') {
    const bytes = encodeResourceTable(generated.table);
    if (out) writeFileSync(out, bytes);
    else process.stdout.write(bytes);
    return 0;
  }
  process.stderr.write(USAGE + '\n');
  return 2;
}

/** resourceTableCommand, with RpmsgError and JSON errors printed as one line (exit 1). */
export function runResourceTableCommand(argv: string[]): number {
  try {
    return resourceTableCommand(argv);
  } catch (error) {
    if (error instanceof RpmsgError || error instanceof SyntaxError) {
      process.stderr.write(`resource-table: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
