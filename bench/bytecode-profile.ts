/**
 * Per-echo profile of the 16-byte copying echo (issue 11): two runs of the bench image with
 * different echo counts, the difference of the plugin's per-address counts divided by the
 * difference of the counts (warm-up, boot and control cancel out), then fxRunID's addresses
 * mapped to the byte code whose `mxCase` precedes their source line in xsRun.c (addr2line).
 *
 *     npx tsx bench/bytecode-profile.ts [--counts 50,150] [--size 16] [--out build/bench/bytecodes.txt]
 *
 * The byte-code attribution is approximate (the compiler moves code between cases: shared tails
 * land on the case they were written in); the per-function figures are exact.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { functionLookup, measureEchoes } from './echo-instructions.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function readRaw(raw: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const line of readFileSync(raw, 'utf8').split('\n')) {
    if (!line || line.startsWith('caller')) continue;
    const [address, count] = line.split(' ');
    counts.set(parseInt(address, 16), Number(count));
  }
  return counts;
}

async function run(count: number, size: number, out: string): Promise<Map<number, number>> {
  process.env.XSBENCH_KEEP_RAW = '1';
  await measureEchoes({ count, sizes: [size], batches: [], zeroCopy: false, skipAllocation: true, profile: out });
  const counts = readRaw(`${out}.raw`);
  unlinkSync(`${out}.raw`);
  unlinkSync(out);
  return counts;
}

/** The patched xsRun.c the bench image was built from (newest build/xs-patched/<hash>). */
function xsRunSource(): string {
  const dir = join(root, 'build', 'xs-patched');
  const candidates = readdirSync(dir).map((hash) => join(dir, hash, 'xs', 'sources', 'xsRun.c')).filter(existsSync);
  if (candidates.length === 0) throw new Error('no build/xs-patched/*/xs/sources/xsRun.c: build the bench image first');
  return candidates[0];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let counts = [50, 150];
  let size = 16;
  let out = join(root, 'build', 'bench', 'bytecodes.txt');
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--counts') counts = args[++i].split(',').map(Number);
    else if (args[i] === '--size') size = Number(args[++i]);
    else if (args[i] === '--out') out = resolve(args[++i]);
    else throw new Error(`unknown argument ${args[i]}; use --counts A,B --size N --out FILE`);
  }
  const tmp = join(root, 'build', 'bench', `bytecode-profile-${process.pid}.txt`);
  const a = await run(counts[0], size, tmp);
  const b = await run(counts[1], size, tmp);
  const per = new Map<number, number>();
  for (const [address, count] of b) {
    const d = (count - (a.get(address) ?? 0)) / (counts[1] - counts[0]);
    if (d !== 0) per.set(address, d);
  }
  const elf = join(root, 'build', 'qemu-mps2-bench-echo', 'firmware.elf');
  const functionOf = functionLookup(elf);
  const byFunction = new Map<string, number>();
  const runAddresses: number[] = [];
  let total = 0;
  for (const [address, d] of per) {
    total += d;
    const name = functionOf(address);
    byFunction.set(name, (byFunction.get(name) ?? 0) + d);
    if (name === 'fxRunID') runAddresses.push(address);
  }
  // fxRunID's addresses -> xsRun.c lines -> the preceding mxCase.
  const lines = execFileSync('arm-none-eabi-addr2line', ['-e', elf], { input: runAddresses.map((x) => x.toString(16)).join('\n'), maxBuffer: 1 << 26 }).toString().split('\n');
  const source = readFileSync(xsRunSource(), 'utf8').split('\n');
  const caseAt: string[] = [];
  let current = '(prologue)';
  for (let i = 0; i < source.length; i++) {
    const m = /mxCase\((XS_CODE_\w+)\)/.exec(source[i]);
    if (m) current = m[1].slice(8);
    caseAt[i + 1] = current;
  }
  const byCase = new Map<string, number>();
  runAddresses.forEach((address, i) => {
    const m = /xsRun\.c:(\d+)/.exec(lines[i] ?? '');
    const name = m ? caseAt[Number(m[1])] ?? '?' : `(${(lines[i] ?? '?').split('/').pop()})`;
    byCase.set(name, (byCase.get(name) ?? 0) + per.get(address)!);
  });
  const fmt = (n: number) => n.toFixed(1).padStart(10);
  const text = [
    `# ${size} B echo: guest instructions per echo (runs of ${counts.join(' and ')} echoes, the difference), total ${total.toFixed(1)}`,
    '# by function',
    ...[...byFunction].sort((x, y) => y[1] - x[1]).filter(([, d]) => Math.abs(d) >= 1).map(([name, d]) => `${fmt(d)}  ${name}`),
    '',
    '# fxRunID by byte code (the mxCase preceding the source line; approximate)',
    ...[...byCase].sort((x, y) => y[1] - x[1]).filter(([, d]) => Math.abs(d) >= 1).map(([name, d]) => `${fmt(d)}  ${name}`),
    '',
  ].join('\n');
  writeFileSync(out, text);
  console.log(text);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
