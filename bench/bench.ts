/**
 * The benchmark, one command: guest instructions per echo on the Cortex-M3 for 1, 16, 64, 256
 * and 496 bytes (copying and zero-copy echo) and per message with 8 and 64 messages per doorbell (bench/echo-instructions.ts),
 * posix round trips/s and CPU per round trip of both processes (bench/posix-roundtrips.ts);
 * then adds the figures to bench/results/history.json and rewrites HISTORY.md and the SVG charts.
 *
 *   npx tsx bench/bench.ts [--count 300] [--seconds 3] [--label TEXT] [--no-history] [--no-posix]
 *     [--engine patched|stock] [--patches A,B] [--hot-files on|off]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { measureEchoes, report, type EchoOptions } from './echo-instructions.ts';
import { addEntry, currentCommit, readHistory, writeHistory, type HistoryEntry } from './history.ts';
import { measurePosixRoundTrips, posixReport } from './posix-roundtrips.ts';

async function main(argv: string[]): Promise<void> {
  const value = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const echoOptions: EchoOptions = { count: Number(value('--count') ?? 300), sizes: [1, 16, 64, 256, 496], batches: [8, 64], progress: (l) => process.stderr.write(`${l}\n`) };
  const engine = value('--engine');
  if (engine !== undefined) echoOptions.engine = { ...echoOptions.engine, patches: engine === 'patched' };
  const patches = value('--patches');
  if (patches !== undefined) echoOptions.engine = { ...echoOptions.engine, patches: patches.split(',').filter(Boolean) };
  const hot = value('--hot-files');
  if (hot !== undefined) echoOptions.engine = { ...echoOptions.engine, hotFiles: hot !== 'off' };

  const echoes = await measureEchoes(echoOptions);
  console.log(report(echoes));
  let posix = null;
  if (!argv.includes('--no-posix')) {
    posix = await measurePosixRoundTrips({ seconds: Number(value('--seconds') ?? 3), progress: (l) => process.stderr.write(`${l}\n`) });
    console.log('');
    console.log(posixReport(posix));
  }
  if (argv.includes('--no-history')) return;
  const e = echoes.engine;
  const engineLabel = `patches ${e.patches.map((p) => p.slice(0, 4)).join('+') || 'none'}, hot files ${e.hotFiles ? '-O2' : '-Os'}`;
  const entry: HistoryEntry = {
    commit: currentCommit(),
    date: new Date().toISOString().slice(0, 10),
    label: value('--label') ?? engineLabel,
    perEcho: Object.fromEntries(echoes.sizes.map((s) => [String(s.size), s.perEcho])),
    ...(echoes.zeroCopy.length > 0 ? { zeroCopyPerEcho: Object.fromEntries(echoes.zeroCopy.map((s) => [String(s.size), s.perEcho])) } : {}),
    batches: Object.fromEntries(echoes.batches.map((b) => [String(b.messages), { perMessage: b.perMessage, marginal: b.marginal }])),
    text: echoes.firmwareSize.text,
    ...(posix ? { posix: { perSecond: posix.perSecond, hostCpuUs: posix.hostCpuPerRoundTrip * 1e6, remoteCpuUs: posix.remoteCpuPerRoundTrip * 1e6 } } : {}),
  };
  const files = writeHistory(addEntry(readHistory(), entry));
  console.log('');
  console.log(`history: ${files.map((f) => f.replace(`${resolve('.')}/`, '')).join(', ')}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exitCode = 1;
  });
}
