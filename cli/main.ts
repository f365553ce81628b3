/**
 * xs-rpmsg, the command line: new, build, run, send, listen, channels, trace, stats, expose,
 * sessions, stop, bench, demo, and the resource-table verbs decode, c-source, bytes.
 * `npx xs-rpmsg VERB --help` for each; --json for machine-readable output.
 */
import { RpmsgError } from '../wire/errors.ts';
import { buildAppFirmware, defaultApp } from '../launch/firmware-image.ts';
import { choice, integer, parseVerb, value, verbHelp, type Parsed, type VerbSpec } from './args.ts';
import { callSession, findSession, listSessions } from './control.ts';
import { parseData } from './data.ts';
import { newApp } from './new-app.ts';
import { runResourceTableCommand } from './resource-table.ts';
import { bench, demo, output, runSession, SESSION_TARGETS } from './run.ts';

const TARGETS_TEXT = SESSION_TARGETS.join('|');
const APP = { name: '--app', value: 'A', help: "the firmware app (firmware/apps/A/); default: manifest.json's app" };
const TARGET = { name: '--target', value: 'T', help: `where the remote runs: ${TARGETS_TEXT} (default qemu)` };
const SESSION = { name: '--session', value: 'ID', help: 'the running session to talk to (default: the only one; see xs-rpmsg sessions)' };

const VERBS: VerbSpec[] = [
  {
    name: 'new', positional: 'NAME', arity: [1, 1], summary: 'create an app from the template: firmware/apps/NAME/ (main.ts, manifest.json, bridge.json) and test/apps/NAME.test.ts',
    options: [], details: 'example: npx xs-rpmsg new sensor && npx vitest run test/apps/sensor.test.ts && npx xs-rpmsg run --app sensor',
  },
  {
    name: 'build', summary: 'build the XS firmware of an app (progress on stderr); prints the image path and its size',
    options: [APP, { name: '--target', value: 'T', help: 'qemu-mps2 (the Cortex-M3 ELF, default) or posix (a Linux executable)' }, { name: '--quiet', help: 'no progress lines' },
      { name: '--debug', help: 'the debug image (build/<target>-<app>-debug/): XS debugger, TypeScript line tables (docs/DEBUGGING.md)' }],
  },
  {
    name: 'run', summary: 'boot the remote with the host simulator attached; stream its console, the kernel log and channel events; serve a control socket; stay up until Ctrl-C',
    options: [APP, TARGET, { name: '--bridge', value: 'FILE', help: 'bridge configuration {"allow": [...], "expose": [...]} (default firmware/apps/A/bridge.json if present)' }, { name: '--session', value: 'ID', help: 'the session id (default APP-PID)' }, { name: '--for', value: 'SECONDS', help: 'stop by itself after SECONDS' },
      { name: '--debug', help: 'posix, qemu: boot the debug image and serve the debug adapter to an editor on 127.0.0.1:4711 (docs/DEBUGGING.md)' }, { name: '--debug-port', value: 'PORT', help: 'the port of --debug' },
      { name: '--debug-socket', value: 'PATH', help: 'posix, qemu: boot the debug image, its engine connecting to the adapter at PATH (what debug/main.ts starts)' },
      { name: '--gdb', help: "qemu: QEMU's gdb stub on 127.0.0.1:1234 for the C layer; prints the gdb-multiarch command (docs/DEBUGGING.md)" }, { name: '--gdb-port', value: 'PORT', help: 'the port of --gdb' }],
    details: 'from another terminal: xs-rpmsg channels, send, listen, trace, stats, expose, stop',
  },
  {
    name: 'send', positional: 'CHANNEL DATA', arity: [2, 2], summary: 'send one message on a channel of a running session and print the reply (DATA: text, hex:4865..., or @file)',
    options: [SESSION, { name: '--timeout', value: 'MS', help: 'how long to wait for the channel and the reply (default 2000)' }, { name: '--no-reply', help: 'do not wait for a reply' }],
  },
  {
    name: 'listen', positional: 'CHANNEL', arity: [1, 1], summary: 'print every message the remote sends on a channel of a running session (until Ctrl-C or --count)',
    options: [SESSION, { name: '--count', value: 'N', help: 'stop after N messages' }],
  },
  { name: 'channels', summary: 'the channels of a running session (and what the bridge exposes)', options: [SESSION] },
  { name: 'trace', summary: "the remote's trace buffer (remoteproc trace0) of a running session", options: [SESSION] },
  { name: 'stats', summary: 'message and refusal counters of both sides of a running session', options: [SESSION] },
  {
    name: 'expose', positional: 'CHANNEL', arity: [1, 1], summary: 'expose an allowlisted channel of a running session as a SOCK_SEQPACKET socket and a pseudo-terminal',
    options: [SESSION, { name: '--no-pty', help: 'no pseudo-terminal' }, { name: '--no-socket', help: 'no socket' }],
  },
  { name: 'sessions', summary: 'the running sessions (id, app, target, control socket)', options: [] },
  { name: 'stop', summary: 'stop a running session', options: [SESSION] },
  {
    name: 'bench', summary: 'round trips on an echoing channel: median, p95, rate (wall clock)',
    options: [APP, TARGET, { name: '--channel', value: 'C', help: 'the channel (default rpmsg-client-sample)' }, { name: '--count', value: 'N', help: 'round trips (default 200)' }, { name: '--size', value: 'B', help: 'bytes per message, 0..496 (default 64)' }],
  },
  {
    name: 'demo', summary: "boot an app and run Linux's rpmsg-client-sample against it (or say hello on each channel if it does not serve the sample)",
    options: [APP, TARGET, { name: '--count', value: 'N', help: 'messages of the sample (default 100)' }, { name: '--verbose', help: 'print every line (the sample\'s "incoming msg" lines are folded otherwise)' }, { name: '--quiet', help: 'only the summary' }, { name: '--attach', value: 'SHM,SOCKET', help: 'posix: use a remote that is already running' }],
  },
  { name: 'decode', positional: 'FILE', arity: [1, 1], summary: "decode a resource table (binary, or a firmware ELF's .resource_table) with Linux's verdict", options: [] },
  { name: 'c-source', positional: 'MANIFEST', arity: [1, 1], summary: 'the resource table of a manifest as C source', options: [{ name: '--target', value: 'T', help: 'the manifest target override to apply' }, { name: '--symbol', value: 'NAME', help: 'the table symbol' }] },
  { name: 'bytes', positional: 'MANIFEST', arity: [1, 1], summary: 'the resource table of a manifest as bytes', options: [{ name: '--target', value: 'T', help: 'the manifest target override to apply' }, { name: '--out', value: 'FILE', help: 'write to FILE instead of stdout' }] },
];

function usage(): string {
  const width = Math.max(...VERBS.map((v) => `${v.name} ${v.positional ?? ''}`.length));
  return [
    'usage: npx xs-rpmsg VERB [arguments] [options]     (npx xs-rpmsg VERB --help for each)',
    '',
    ...VERBS.map((v) => `  ${`${v.name} ${v.positional ?? ''}`.padEnd(width)}  ${v.summary}`),
    '',
    'typical loop: new my-app -> build --app my-app -> run --app my-app -> (another terminal) send my-app hello',
  ].join('\n');
}

function printJsonOrLines(parsed: Parsed, result: unknown, lines: () => string[]): void {
  if (parsed.flags.has('--json')) process.stdout.write(`${JSON.stringify(result)}\n`);
  else for (const line of lines()) process.stdout.write(`${line}\n`);
}

const hex = (n: number | null) => (n === null ? '-' : `0x${n.toString(16)}`);

async function client(verb: string, parsed: Parsed): Promise<number> {
  // Check what the user typed before looking for a session.
  const bytes = verb === 'send' ? parseData(parsed.positional[1]) : null;
  const info = findSession(value(parsed, '--session'));
  const json = parsed.flags.has('--json');
  const out = output(json);
  switch (verb) {
    case 'channels': {
      const result = (await callSession(info, { verb: 'channels' }).result) as { channels: { name: string; remote: number; local: number | null; driver: string | null }[]; exposed: { channel: string; bound: boolean; socket: string | null; tty: string | null }[] };
      printJsonOrLines(parsed, result, () => [
        `session ${info.id} (app ${info.app}, ${info.target}): ${result.channels.length} channel(s)`,
        ...result.channels.map((c) => `  ${c.name.padEnd(32)} remote ${hex(c.remote).padEnd(8)} local ${hex(c.local).padEnd(8)} driver ${c.driver ?? '-'}`),
        ...result.exposed.map((e) => `  bridge: ${e.channel} ${e.bound ? 'bound' : 'waiting for the channel'}${e.socket ? `, socket ${e.socket}` : ''}${e.tty ? `, tty ${e.tty}` : ''}`),
      ]);
      return 0;
    }
    case 'send': {
      const channel = parsed.positional[0];
      const timeoutMs = integer(parsed, '--timeout', 2000);
      const result = (await callSession(info, { verb: 'send', channel, hex: Buffer.from(bytes!).toString('hex'), timeoutMs, wait: !parsed.flags.has('--no-reply') }).result) as { sent: number; local?: number | null; remote: number; device?: string; reply: { text: string; from: number } | null; roundTripMs?: number; replyNote?: string };
      printJsonOrLines(parsed, result, () => [
        `sent ${result.sent} bytes on ${channel} (${result.device ?? hex(result.local ?? null)} -> 0x${result.remote.toString(16)})`,
        ...(result.reply ? [`reply from 0x${result.reply.from.toString(16)} in ${result.roundTripMs!.toFixed(2)} ms: ${result.reply.text}`] : result.replyNote ? [result.replyNote] : []),
      ]);
      return 0;
    }
    case 'listen': {
      const count = integer(parsed, '--count', 0);
      const call = callSession(info, { verb: 'listen', channel: parsed.positional[0], count }, (event) => {
        const e = event as { kind: string; channel: string; from?: number; to?: number; length?: number; text?: string; remote?: number };
        out.record(e);
        if (e.kind === 'message') out.line(`${e.channel} 0x${e.from!.toString(16)} -> ${hex(e.to ?? null)} (${e.length} bytes): ${e.text}`);
        else if (e.kind === 'listening') out.line(`listen: ${e.channel} through ${(e as { device?: string }).device}`);
        else if (e.kind === 'waiting') out.line(`listen: ${e.channel} does not exist yet; waiting for the remote to announce it`);
        else out.line(`listen: ${e.channel} ${e.kind === 'channel-added' ? 'appeared' : 'went away'} (remote 0x${(e.remote ?? 0).toString(16)})`);
      });
      const stop = () => call.cancel();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const result = (await call.result) as { messages: number };
        out.line(`listen: ${result.messages} message(s)`);
        out.record({ kind: 'done', ...result });
      } catch (error) {
        if ((error as RpmsgError).code !== 'EPIPE' || count > 0) throw error;
      }
      return 0;
    }
    case 'trace': {
      const result = (await callSession(info, { verb: 'trace' }).result) as { traces: { name: string; text: string }[]; note: string | null };
      printJsonOrLines(parsed, result, () => (result.traces.length ? result.traces.flatMap((t) => [`${t.name}:`, t.text.replace(/\n$/, '')]) : [result.note ?? '']));
      return 0;
    }
    case 'stats': {
      const result = (await callSession(info, { verb: 'stats' }).result) as ReturnType<typeof import('./service.ts').sessionStats>;
      printJsonOrLines(parsed, result, () => {
        const kv = (o: object) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
        return [
          `host (simulated Linux), session ${info.id}:`,
          ...result.host.transports.map((t) => `  ${t.bus}: ${kv(Object.fromEntries(Object.entries(t).filter(([k]) => k !== 'bus')))}`),
          `  refusals: ${kv(result.host.refusals)}`,
          `  doorbells rung: ${result.host.kicks}`,
          ...(result.host.bridge ? [`  bridge refusals: ${kv(result.host.bridge)}`] : []),
          'remote:',
          result.remote ? `  ${kv(result.remote.statistics)}\n  refusals: ${kv(result.remote.refusals)}` : `  ${result.remoteNote}`,
        ];
      });
      return 0;
    }
    case 'expose': {
      const result = (await callSession(info, { verb: 'expose', channel: parsed.positional[0], pty: !parsed.flags.has('--no-pty'), socket: !parsed.flags.has('--no-socket') }).result) as { channel: string; bound: boolean; socket: string | null; tty: string | null; pty: string | null };
      printJsonOrLines(parsed, result, () => [
        `${result.channel}: ${result.bound ? 'bound' : 'exposed; binds when the remote announces it'}`,
        ...(result.socket ? [`  socket (SOCK_SEQPACKET, one message per packet): ${result.socket}`] : []),
        ...(result.tty ? [`  terminal: ${result.tty}${result.pty ? ` -> ${result.pty}` : ''}`] : []),
      ]);
      return 0;
    }
    case 'stop':
      await callSession(info, { verb: 'stop' }).result;
      out.line(`session ${info.id}: stopping`);
      out.record({ stopping: info.id });
      return 0;
    default:
      throw new RpmsgError('EINVAL', `unknown verb ${verb}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...args] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(`${usage()}\n`);
    return verb === undefined ? 2 : 0;
  }
  const spec = VERBS.find((v) => v.name === verb);
  if (!spec) throw new RpmsgError('EINVAL', `unknown verb "${verb}"; verbs: ${VERBS.map((v) => v.name).join(', ')} (npx xs-rpmsg --help)`);
  const parsed = parseVerb(spec, args);
  if (parsed.flags.has('--help')) {
    process.stdout.write(`${verbHelp(spec)}\n`);
    return 0;
  }
  const json = parsed.flags.has('--json');
  const app = value(parsed, '--app');
  switch (verb) {
    case 'new': {
      const name = parsed.positional[0];
      const files = newApp(name);
      printJsonOrLines(parsed, { app: name, files }, () => [
        `new app "${name}":`,
        ...files.map((f) => `  ${f}`),
        'next:',
        `  npx vitest run test/apps/${name}.test.ts        its host-side test (in-process, milliseconds)`,
        `  npx xs-rpmsg build --app ${name}                 the Cortex-M3 firmware ELF`,
        `  npx xs-rpmsg run --app ${name}                   boot it and stay up; then: npx xs-rpmsg send ${name} hello`,
      ]);
      return 0;
    }
    case 'build': {
      const target = choice(parsed, '--target', ['qemu-mps2', 'posix', 'qemu'] as const, 'qemu-mps2');
      const chosen = app ?? defaultApp();
      const debug = parsed.flags.has('--debug');
      const result = await buildAppFirmware(target === 'qemu' ? 'qemu-mps2' : target, chosen, !parsed.flags.has('--quiet') && !json, debug);
      printJsonOrLines(parsed, { app: chosen, target, image: result.output, size: result.size, seconds: result.seconds, ...(debug ? { debug } : {}) }, () => [
        `build: ${debug ? 'debug image of ' : ''}app "${chosen}" for ${target}: text ${result.size.text} data ${result.size.data} bss ${result.size.bss} bytes, ${result.seconds.toFixed(1)} s`,
        result.output,
      ]);
      return 0;
    }
    case 'run': {
      const seconds = integer(parsed, '--for', 0);
      const debugSocket = value(parsed, '--debug-socket');
      const xsDebug = debugSocket ? { socket: debugSocket } : parsed.flags.has('--debug') || value(parsed, '--debug-port') ? { port: integer(parsed, '--debug-port', 4711) } : undefined;
      const gdb = parsed.flags.has('--gdb') || value(parsed, '--gdb-port') ? { gdbPort: integer(parsed, '--gdb-port', 1234), xs: xsDebug !== undefined } : undefined;
      const debug = xsDebug || gdb ? { ...xsDebug, ...gdb } : undefined;
      return runSession({ app, target: choice(parsed, '--target', SESSION_TARGETS, 'qemu'), bridgeConfig: value(parsed, '--bridge'), sessionId: value(parsed, '--session'), json, durationMs: seconds ? seconds * 1000 : undefined, debug });
    }
    case 'sessions': {
      const sessions = listSessions();
      printJsonOrLines(parsed, { sessions }, () => (sessions.length ? sessions.map((s) => `${s.id.padEnd(24)} app ${s.app.padEnd(16)} ${s.target.padEnd(10)} pid ${s.pid}  ${s.socket}`) : ['no running session (start one with: npx xs-rpmsg run)']));
      return 0;
    }
    case 'bench': {
      const size = integer(parsed, '--size', 64);
      if (size > 496) throw new RpmsgError('EMSGSIZE', `--size ${size}: one rpmsg message holds at most 496 bytes`);
      return bench({ app, target: choice(parsed, '--target', SESSION_TARGETS, 'qemu'), channel: value(parsed, '--channel', 'rpmsg-client-sample'), count: integer(parsed, '--count', 200), size, json });
    }
    case 'demo': {
      const attach = value(parsed, '--attach');
      const [shmPath, socketPath] = attach ? attach.split(',') : [];
      return demo({
        app, target: choice(parsed, '--target', SESSION_TARGETS, 'qemu'), count: integer(parsed, '--count', 100), verbose: parsed.flags.has('--verbose'), quiet: parsed.flags.has('--quiet'), json,
        posixAttach: attach !== undefined ? { shmPath: shmPath || undefined, socketPath: socketPath || undefined } : undefined,
      });
    }
    case 'decode':
    case 'c-source':
    case 'bytes':
      if (json) throw new RpmsgError('EINVAL', `${verb} has no JSON output; leave out --json`);
      return runResourceTableCommand(argv);
    default:
      return client(verb, parsed);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`xs-rpmsg: ${error.message}\n`);
    process.exit(1);
  },
);
