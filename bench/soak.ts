/**
 * The long soak: `npx tsx bench/soak.ts [--targets posix,qemu] [--messages 100000] [--cycles 50]
 * [--mutations 10000] [--seed 15]`. For each target: a two-way flood in each host send mode,
 * crash-and-recover and host-reset cycles, virtio unbind/bind cycles, leak accounting; then random hostile-remote
 * mutations against the host simulator and random hostile-host mutations against the sanitized
 * posix build. Prints one table and writes it (plus the raw JSON) under bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TargetName } from '../host-sim/session.ts';
import { firmwareImage } from '../launch/firmware-image.ts';
import {
  crashCycles, flood, leaks, openSoakSession, pingTimes, rebindCycles, remoteHeap, resetCycles, resources, type StreamCounts,
} from './soak/cases.ts';
import { hostileRemoteRun } from '../test/host-sim/hostile-mutations.ts';
import { hostileHostRun } from '../test/interop/hostile-mutations.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const targets = option('targets', 'posix,qemu').split(',') as TargetName[];
const messages = Number(option('messages', '100000'));
const cycles = Number(option('cycles', '50'));
const mutations = Number(option('mutations', '10000'));
const seed = Number(option('seed', '15'));

interface Row {
  target: string;
  case: string;
  sent: number;
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  /** Messages per second (floods) or cycles/mutations per second. */
  rate: string;
  serves: string;
  leaks: string;
  notes: string;
}

const rows: Row[] = [];

function sortKeys(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}
const raw: unknown[] = [];

function row(target: string, name: string, counts: StreamCounts, ms: number, serves: boolean, leakText: string, notes = ''): void {
  rows.push({
    target, case: name, sent: counts.sent, lost: counts.lost, duplicated: counts.duplicated, reordered: counts.reordered, corrupted: counts.corrupted,
    rate: `${Math.round(counts.received / (ms / 1000))}/s`, serves: serves ? 'yes' : 'NO', leaks: leakText, notes,
  });
  console.log(`${target} ${name}: ${JSON.stringify(counts)} in ${ms} ms ${notes}`);
}

async function soakTarget(target: TargetName): Promise<void> {
  if (target === 'qemu') await firmwareImage('qemu-mps2', 'e2e');
  if (target === 'posix') await firmwareImage('posix', 'e2e');
  const baseline = resources();
  const { session, peers } = await openSoakSession(target);
  try {
    const heapStart = await remoteHeap(peers);
    for (const [mode, offset] of [['blocking', 1], ['try', 2], ['mixed', 3]] as const) {
      const result = await flood(peers, { seed: seed * 100 + offset, messages, remoteMessages: messages, mode, window: 400 });
      raw.push({ target, case: `flood ${mode}`, result });
      const heap = await remoteHeap(peers);
      const notes = `${result.sendErrors.length} send errors; ${Math.round(result.ms / 1000)} s` + (heap !== null ? `; XS heap ${heap} B (start ${heapStart})` : '');
      row(target, `flood ${mode}: host->remote->host`, result.echo, result.ms, result.stillServes, '', notes);
      row(target, `flood ${mode}: remote->host (same time)`, result.remote, result.ms, result.stillServes, '');
    }
    {
      // The symptom of the dead qemu doorbell: after a flood, pings waited for the status poll.
      const times = await pingTimes(peers, 100);
      const sorted = [...times].sort((a, b) => a - b);
      const slow = times.filter((t) => t > 10).length;
      raw.push({ target, case: 'pings after the floods', times });
      rows.push({
        target, case: '100 pings after the floods', sent: 100, lost: 0, duplicated: 0, reordered: 0, corrupted: 0,
        rate: `median ${sorted[50].toFixed(2)} ms`, serves: 'yes', leaks: '', notes: `${slow} of 100 slower than 10 ms; max ${sorted[99].toFixed(1)} ms`,
      });
      console.log(`${target} pings after floods: median ${sorted[50].toFixed(2)} ms, ${slow} > 10 ms`);
    }
    const crash = await crashCycles(session, peers, { cycles, seed: seed * 100 + 10 });
    raw.push({ target, case: 'crash cycles', crash });
    row(target, `crash+recover x${cycles}: echo after each`, crash.counts, crash.ms, crash.failures.length === 0, '', `${crash.recovered}/${crash.cycles} recovered clean; max ${crash.maxProcesses} remote process(es)${crash.failures.length ? `; first failure: ${crash.failures[0]}` : ''}`);
    const heapBeforeReset = await remoteHeap(peers);
    const reset = await resetCycles(session, peers, { cycles, seed: seed * 100 + 20 });
    raw.push({ target, case: 'reset cycles', reset });
    const heapAfterReset = await remoteHeap(peers);
    row(target, `host reset (stop/boot) x${cycles}: echo after each`, reset.counts, reset.ms, reset.failures.length === 0, '', `${reset.recovered}/${reset.cycles} recovered clean; max ${reset.maxProcesses} remote process(es)` + (heapAfterReset !== null ? `; XS heap ${heapBeforeReset} -> ${heapAfterReset} B` : '') + (reset.failures.length ? `; first failure: ${reset.failures[0]}` : ''));
    {
      // Known to fail (firmware/runtime takes only status 0 as a host reset): a few cycles, short waits, then a reboot.
      const rebindCount = Math.min(cycles, 3);
      let rebind;
      try {
        rebind = await rebindCycles(session, peers, { cycles: rebindCount, seed: seed * 100 + 30, waitMs: 3000 });
      } finally {
        await session.reboot();
      }
      raw.push({ target, case: 'rebind cycles', rebind });
      row(target, `virtio unbind/bind x${rebindCount}: echo after each`, rebind.counts, rebind.ms, rebind.failures.length === 0, '', `${rebind.recovered}/${rebind.cycles} recovered clean` + (rebind.failures.length ? `; first failure: ${rebind.failures[0]} (known: the runtime waits for status 0, Linux leaves ACKNOWLEDGE)` : ''));
    }
  } finally {
    await session.close();
  }
  const found = leaks(baseline, resources());
  for (const r of rows) if (r.target === target) r.leaks = found.length ? found.join('; ') : 'none';
}

async function main(): Promise<void> {
  const started = new Date();
  for (const target of targets) await soakTarget(target);
  {
    const result = await hostileRemoteRun({ seed, mutations });
    raw.push({ case: 'hostile remote', result });
    rows.push({
      target: 'host-sim', case: `hostile remote: ${mutations} random mutations`, sent: result.mutations, lost: result.lost, duplicated: result.duplicated, reordered: result.reordered,
      corrupted: result.corrupted, rate: `${Math.round(result.mutations / (result.ms / 1000))}/s`, serves: result.stillServes ? 'yes' : 'NO', leaks: 'n/a (in process)',
      notes: `${result.threw} host exceptions; ${result.refusals} refusals counted (${Object.entries(result.byReason).map(([k, v]) => `${k} ${v}`).join(', ')}); ${result.recoveries} crash recoveries; ${result.checks} echo checks`,
    });
    console.log('hostile remote', JSON.stringify(result));
  }
  {
    const baseline = resources();
    const result = await hostileHostRun({ seed, mutations });
    const found = leaks(baseline, resources());
    raw.push({ case: 'hostile host', result });
    rows.push({
      target: 'posix (sanitized)', case: `hostile host: ${mutations} random mutations`, sent: result.mutations, lost: result.lost, duplicated: 0, reordered: 0,
      corrupted: result.corrupted, rate: `${Math.round(result.mutations / (result.ms / 1000))}/s`, serves: result.stillServes ? 'yes' : 'NO', leaks: found.length ? found.join('; ') : 'none',
      notes: `${result.faults} faults; ${result.refusals} refusals counted by the remote, by reason ${JSON.stringify(result.byReason) === JSON.stringify(sortKeys(result.expectedByReason)) || sameCounts(result.byReason, result.expectedByReason) ? 'exactly the mutations made' : `NOT the mutations made (${JSON.stringify(result.expectedByReason)})`}; ${result.checks} echo checks`,
    });
    console.log('hostile host', JSON.stringify(result));
  }
  const header = ['target', 'case', 'sent', 'lost', 'dup', 'reord', 'corrupt', 'rate', 'serves', 'leaks', 'notes'];
  const lines = [
    `# Soak ${started.toISOString()} (seed ${seed}, ${messages} messages each way per flood, ${cycles} cycles, ${mutations} mutations)`,
    '',
    `Command: npx tsx bench/soak.ts --targets ${targets.join(',')} --messages ${messages} --cycles ${cycles} --mutations ${mutations} --seed ${seed}`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${[r.target, r.case, r.sent, r.lost, r.duplicated, r.reordered, r.corrupted, r.rate, r.serves, r.leaks, r.notes].join(' | ')} |`),
  ];
  const text = lines.join('\n') + '\n';
  console.log(`\n${text}`);
  const folder = join(root, 'bench/results');
  mkdirSync(folder, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(folder, `soak-${stamp}.md`), text);
  writeFileSync(join(folder, `soak-${stamp}.json`), JSON.stringify(raw, null, 1));
  console.log(`written bench/results/soak-${stamp}.md and .json`);
  const bad = rows.some((r) => r.notes.includes('NOT the mutations') || r.lost + r.duplicated + r.reordered + r.corrupted > 0 || r.serves !== 'yes' || (r.leaks !== 'none' && !r.leaks.startsWith('n/a')));
  process.exitCode = bad ? 1 : 0;
}

await main();
