/**
 * The benchmark's history: bench/results/history.json (one entry per commit and engine
 * variant), rendered as bench/results/HISTORY.md (a table) and two SVG charts
 * (instructions per 16/496-byte echo by entry, instructions per echo by payload size).
 * Pure functions of the entries: the same entries give the same files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS = join(root, 'bench/results');

export interface HistoryEntry {
  /** Short commit hash ("" for figures from before this file existed); "+" appended when the tree had changes. */
  commit: string;
  /** ISO date of the measurement (yyyy-mm-dd). */
  date: string;
  /** What changed, or which engine variant. */
  label: string;
  /** Guest instructions per echo by payload size (bytes -> instructions), qemu-mps2. */
  perEcho: Record<string, number>;
  /** The same echoes through the zero-copy API, by payload size (up to 2241908: hold/getTxBuffer/set/sendToNoCopy with a view per buffer; since: in place, getTxBuffer/copyWithin/sendToNoCopy over window offsets). */
  zeroCopyPerEcho?: Record<string, number>;
  /** 16 B messages per doorbell: instructions per message and marginal cost, by batch size. */
  batches?: Record<string, { perMessage: number; marginal: number }>;
  /** posix round trips, 16 B. */
  posix?: { perSecond: number; hostCpuUs: number; remoteCpuUs: number };
  /** Firmware text bytes (qemu-mps2 bench image). */
  text?: number;
}

export function readHistory(file = join(RESULTS, 'history.json')): HistoryEntry[] {
  if (!existsSync(file)) return [];
  return JSON.parse(readFileSync(file, 'utf8')) as HistoryEntry[];
}

/** Adds `entry`, replacing an earlier one with the same commit and label. */
export function addEntry(entries: HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  const rest = entries.filter((e) => !(e.commit === entry.commit && e.label === entry.label));
  return [...rest, entry];
}

/** The checkout's short commit, "+" when tracked files differ from it. */
export function currentCommit(): string {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short=10', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${hash}+` : hash;
  } catch {
    return 'unknown';
  }
}

const SIZES = ['1', '16', '64', '256', '496'];
const group = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '' : Math.round(n).toLocaleString('en-US'));
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function historyMarkdown(entries: HistoryEntry[]): string {
  const lines = [
    '# Benchmark history',
    '',
    'Written by `npx tsx bench/bench.ts` (bench/history.ts) from bench/results/history.json: do not edit by hand.',
    'Guest instructions per echo on the Cortex-M3 (qemu-mps2, exact TCG plugin count, no refill pass), by payload size;',
    '16 B messages several per doorbell (instructions per message / marginal cost of one more); posix round trips',
    '(host simulator <-> posix remote, 16 B, wall-clock figures from a shared, loaded machine) and CPU microseconds',
    'per round trip of each process; zero-copy: the same echo zero-copy (docs/ZERO-COPY.md; up to 2241908 through hold/getTxBuffer/set/release/sendToNoCopy with a view per buffer, since then in place over window offsets: getTxBuffer, copyWithin, sendToNoCopy).',
    'Entries without a commit come from docs/BENCHMARKS.md\'s earlier history.',
    '',
    `| commit | date | change / engine | ${SIZES.map((s) => `${s} B`).join(' | ')} | 8/doorbell | 64/doorbell | zero-copy 16 B | zero-copy 496 B | posix rt/s | host us/rt | remote us/rt | text |`,
    `|---|---|---|${SIZES.map(() => '---:').join('|')}|---:|---:|---:|---:|---:|---:|---:|---:|`,
  ];
  for (const e of entries) {
    const batch = (n: string) => (e.batches?.[n] ? `${group(e.batches[n].perMessage)} / ${group(e.batches[n].marginal)}` : '');
    lines.push(`| ${e.commit ? `\`${e.commit}\`` : ''} | ${e.date} | ${e.label.replace(/\|/g, '\\|')} | ${SIZES.map((s) => group(e.perEcho[s])).join(' | ')} | ${batch('8')} | ${batch('64')} | ${group(e.zeroCopyPerEcho?.['16'])} | ${group(e.zeroCopyPerEcho?.['496'])} | ` +
      `${group(e.posix?.perSecond)} | ${e.posix ? e.posix.hostCpuUs.toFixed(1) : ''} | ${e.posix ? e.posix.remoteCpuUs.toFixed(1) : ''} | ${group(e.text)} |`);
  }
  return `${lines.join('\n')}\n`;
}

interface Series { name: string; color: string; points: { x: number; y: number }[] }

function lineChart(title: string, xLabels: { x: number; label: string }[], series: Series[], xTitle: string, notes: string[] = []): string {
  const width = 900, height = 460, left = 80, right = 200, top = 40, bottom = 130;
  const plotW = width - left - right, plotH = height - top - bottom;
  const xs = xLabels.map((l) => l.x);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const yMax = Math.max(1, ...ys) * 1.08;
  const step = [1000, 2000, 5000, 10000, 20000, 50000].find((s) => yMax / s <= 8) ?? 100000;
  const X = (x: number) => left + (xMax === xMin ? plotW / 2 : ((x - xMin) / (xMax - xMin)) * plotW);
  const Y = (y: number) => top + plotH - (y / yMax) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (let y = 0; y <= yMax; y += step) {
    out.push(`<line x1="${left}" y1="${Y(y).toFixed(1)}" x2="${left + plotW}" y2="${Y(y).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${(Y(y) + 4).toFixed(1)}" text-anchor="end">${y.toLocaleString('en-US')}</text>`);
  }
  out.push(`<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`);
  for (const l of xLabels) {
    const x = X(l.x).toFixed(1);
    out.push(`<line x1="${x}" y1="${top + plotH}" x2="${x}" y2="${top + plotH + 4}" stroke="#333"/>`);
    out.push(`<text transform="translate(${x},${top + plotH + 10}) rotate(40)" text-anchor="start">${escapeXml(l.label)}</text>`);
  }
  out.push(`<text x="${left + plotW / 2}" y="${height - 8}" text-anchor="middle">${escapeXml(xTitle)}</text>`);
  out.push(`<text transform="translate(16,${top + plotH / 2}) rotate(-90)" text-anchor="middle">guest instructions per echo (Cortex-M3)</text>`);
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of s.points) out.push(`<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="3" fill="${s.color}"><title>${escapeXml(`${s.name}: ${group(p.y)}`)}</title></circle>`);
    const ly = top + 10 + i * 18;
    out.push(`<line x1="${left + plotW + 16}" y1="${ly}" x2="${left + plotW + 36}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${left + plotW + 40}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  notes.forEach((note, i) => out.push(`<text x="${left + plotW + 16}" y="${top + 30 + series.length * 18 + i * 14}" fill="#555">${escapeXml(note)}</text>`));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];

/** Instructions per echo (16 B and 496 B) and per message in batches, one point per entry. */
export function byCommitSvg(entries: HistoryEntry[]): string {
  const labels = entries.map((e, i) => ({ x: i, label: `${e.commit || '-'} ${e.label}`.slice(0, 34) }));
  const series: Series[] = [
    { name: '16 B echo', color: COLORS[0], points: entries.flatMap((e, i) => (e.perEcho['16'] ? [{ x: i, y: e.perEcho['16'] }] : [])) },
    { name: '496 B echo', color: COLORS[1], points: entries.flatMap((e, i) => (e.perEcho['496'] ? [{ x: i, y: e.perEcho['496'] }] : [])) },
    { name: '16 B, 8 per doorbell', color: COLORS[2], points: entries.flatMap((e, i) => (e.batches?.['8'] ? [{ x: i, y: e.batches['8'].perMessage }] : [])) },
    { name: '16 B, 64 per doorbell', color: COLORS[3], points: entries.flatMap((e, i) => (e.batches?.['64'] ? [{ x: i, y: e.batches['64'].perMessage }] : [])) },
    { name: '16 B zero-copy echo', color: COLORS[4], points: entries.flatMap((e, i) => (e.zeroCopyPerEcho?.['16'] ? [{ x: i, y: e.zeroCopyPerEcho['16'] }] : [])) },
  ];
  return lineChart('xs-rpmsg: guest instructions per echo, by commit', labels, series, 'commit and change (bench/results/HISTORY.md)', ['targets: 20,000 (aim 12,000)', 'OpenAMP C: about 900']);
}

/** Instructions per echo by payload size, one line per entry that measured every size (the last five). */
export function bySizeSvg(entries: HistoryEntry[]): string {
  const full = entries.filter((e) => SIZES.every((s) => e.perEcho[s] !== undefined)).slice(-5);
  const series = full.map((e, i) => ({ name: `${e.commit || '-'} ${e.label}`.slice(0, 30), color: COLORS[i % COLORS.length], points: SIZES.map((s) => ({ x: Number(s), y: e.perEcho[s] })) }));
  // The zero-copy echo of the last entry that measured it at every size, beside the copying ones.
  const zeroCopy = [...entries].reverse().find((e) => SIZES.every((s) => e.zeroCopyPerEcho?.[s] !== undefined));
  if (zeroCopy) series.push({ name: `${zeroCopy.commit || '-'} zero-copy`.slice(0, 30), color: COLORS[5], points: SIZES.map((s) => ({ x: Number(s), y: zeroCopy.zeroCopyPerEcho![s] })) });
  return lineChart('xs-rpmsg: guest instructions per echo, by payload size', SIZES.map((s) => ({ x: Number(s), label: `${s} B` })), series, 'payload bytes');
}

/** Writes history.json, HISTORY.md and the two charts. */
export function writeHistory(entries: HistoryEntry[], dir = RESULTS): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ['history.json', `${JSON.stringify(entries, null, 2)}\n`],
    ['HISTORY.md', historyMarkdown(entries)],
    ['instructions-by-commit.svg', byCommitSvg(entries)],
    ['instructions-by-size.svg', bySizeSvg(entries)],
  ];
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}
