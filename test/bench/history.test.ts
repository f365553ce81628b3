/** bench/history.ts: the history table and charts are pure functions of the entries. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addEntry, byCommitSvg, bySizeSvg, historyMarkdown, writeHistory, type HistoryEntry } from '../../bench/history.ts';

const entries: HistoryEntry[] = [
  { commit: '', date: '2026-11-30', label: 'before: DataView on every field', perEcho: { 16: 132452, 496: 132982 } },
  {
    commit: 'abc1234567', date: '2026-12-01', label: 'patches 0100, hot files -O2',
    perEcho: { 1: 55200, 16: 55257, 64: 55300, 256: 55500, 496: 55809 },
    batches: { 8: { perMessage: 46455.4, marginal: 45198 }, 64: { perMessage: 45355.2, marginal: 45198 } },
    posix: { perSecond: 9876.5, hostCpuUs: 61.2, remoteCpuUs: 20.4 }, text: 510676,
  },
];

describe('bench/history', () => {
  it('renders one table row per entry with grouped figures, batches and posix columns', () => {
    const md = historyMarkdown(entries);
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| commit'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('| 132,452 |');
    expect(rows[1]).toContain('`abc1234567`');
    expect(rows[1]).toContain('| 55,257 |');
    expect(rows[1]).toContain('| 46,455 / 45,198 |');
    expect(rows[1]).toContain('| 9,877 | 61.2 | 20.4 | 510,676 |');
  });

  it('replaces an entry of the same commit and label, keeps the others in order', () => {
    const again = addEntry(entries, { ...entries[1], perEcho: { 16: 1 } });
    expect(again).toHaveLength(2);
    expect(again[1].perEcho).toEqual({ 16: 1 });
    expect(addEntry(entries, { ...entries[1], label: 'other' })).toHaveLength(3);
  });

  it('draws both charts as SVG with a point per measured figure', () => {
    const byCommit = byCommitSvg(entries);
    expect(byCommit.startsWith('<svg ')).toBe(true);
    expect(byCommit.trim().endsWith('</svg>')).toBe(true);
    expect(byCommit.match(/<circle /g)).toHaveLength(2 + 2 + 1 + 1); // 16 B, 496 B, batch 8, batch 64
    const bySize = bySizeSvg(entries);
    expect(bySize.match(/<circle /g)).toHaveLength(5); // only the entry that measured every size
    expect(bySize).toContain('496 B');
  });

  it('writes the same files for the same entries', () => {
    const dir = mkdtempSync(join(tmpdir(), `xs-rpmsg-history-${process.pid}-`));
    try {
      const files = writeHistory(entries, dir);
      const first = files.map((f) => readFileSync(f, 'utf8'));
      writeHistory(entries, dir);
      expect(files.map((f) => readFileSync(f, 'utf8'))).toEqual(first);
      expect(JSON.parse(first[0])).toEqual(entries);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
