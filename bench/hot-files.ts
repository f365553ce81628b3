/**
 * What each -O2 hot file (tools/xs-engine-patches.ts HOT_FILES) costs in text and buys in
 * instructions per echo: the bench image built with no hot file, with each one alone, and with
 * all of them, each measured by bench/echo-instructions.ts (exact TCG plugin counts).
 *
 *   npx tsx bench/hot-files.ts [--count 100] [--files xsRun.c,xsType.c] [--json]
 *
 * Each variant compiles the whole engine once (build/xs-engine/qemu-mps2-<hash>/, cached).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HOT_FILES } from '../tools/xs-engine-patches.ts';
import { textByFile } from '../tools/size-report.ts';
import { measureEchoes } from './echo-instructions.ts';

export interface HotFileRow {
  /** "-Os" (none), a file name, or "all". */
  variant: string;
  files: string[];
  text: number;
  /** Text of the file(s) at -O2 minus at -Os (linker map), and the image's text difference. */
  fileText: number;
  imageText: number;
  /** Instructions per 16-byte and 496-byte echo; difference against the -Os image. */
  perEcho16: number;
  perEcho496: number;
  saved16: number;
  saved496: number;
  boot: number | null;
}

export async function measureHotFiles(options: { count?: number; files?: string[]; progress?: (line: string) => void } = {}): Promise<HotFileRow[]> {
  const files = options.files ?? HOT_FILES;
  const variants: { variant: string; files: string[] }[] = [{ variant: '-Os', files: [] }, ...files.map((f) => ({ variant: f, files: [f] })), { variant: 'all', files }];
  const measured = [];
  for (const v of variants) {
    options.progress?.(`hot files: ${v.variant} ...`);
    const result = await measureEchoes({ count: options.count ?? 100, sizes: [16, 496], batches: [], skipAllocation: true, engine: { hotFiles: v.files } });
    const byFile = textByFile(readFileSync(result.elf.replace(/firmware\.elf$/, 'firmware.map'), 'utf8'));
    measured.push({ ...v, result, byFile });
  }
  const base = measured[0];
  const perEcho = (m: typeof base, size: number) => m.result.sizes.find((s) => s.size === size)!.perEcho;
  return measured.map((m) => {
    const objects = m.files.map((f) => f.replace(/\.c$/, '.o'));
    const fileText = objects.reduce((t, o) => t + (m.byFile.get(o) ?? 0) - (base.byFile.get(o) ?? 0), 0);
    return {
      variant: m.variant,
      files: m.files,
      text: m.result.firmwareSize.text,
      fileText,
      imageText: m.result.firmwareSize.text - base.result.firmwareSize.text,
      perEcho16: perEcho(m, 16),
      perEcho496: perEcho(m, 496),
      saved16: perEcho(base, 16) - perEcho(m, 16),
      saved496: perEcho(base, 496) - perEcho(m, 496),
      boot: m.result.bootInstructions,
    };
  });
}

export function hotFilesReport(rows: HotFileRow[]): string {
  const pad = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(14) : c.padStart(11))).join('  ');
  const lines = ['-O2 hot files on qemu-mps2 (bench image; instructions per echo, exact plugin counts)', '',
    pad(['-O2 files', 'text', '+file text', '+image', 'instr/16B', 'saved 16B', 'instr/496B', 'saved 496B', 'saved/KB', 'boot'])];
  for (const r of rows) {
    lines.push(pad([r.variant, String(r.text), `${r.fileText}`, `${r.imageText}`, r.perEcho16.toFixed(1), r.saved16.toFixed(1), r.perEcho496.toFixed(1), r.saved496.toFixed(1),
      r.imageText > 0 ? (r.saved16 / (r.imageText / 1024)).toFixed(1) : '-', String(r.boot ?? 'n/a')]));
  }
  lines.push('', 'saved: instructions per echo fewer than with the whole engine -Os; saved/KB: per 1 KB of image text (16-byte echo).');
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const argv = process.argv.slice(2);
  const value = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  measureHotFiles({ count: Number(value('--count') ?? 100), files: value('--files')?.split(',').filter(Boolean), progress: (l) => process.stderr.write(`${l}\n`) }).then(
    (rows) => console.log(argv.includes('--json') ? JSON.stringify(rows, null, 2) : hotFilesReport(rows)),
    (error: unknown) => { console.error(error instanceof Error ? error.stack : error); process.exitCode = 1; },
  );
}
