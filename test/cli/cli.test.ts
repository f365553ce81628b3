/**
 * The xs-rpmsg command line as a user runs it (separate processes): --help and refused
 * options for every verb, demo's summary, a running session reached from "another terminal"
 * (two at once), the bridge from python3, new + build --manifest.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../e2e/harness.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(root, 'bin/xs-rpmsg.mjs');
const runtimeDir = mkdtempSync(join(tmpdir(), `xs-rpmsg-cli-test-${process.pid}-`));
const env = { ...process.env, XS_RPMSG_RUNTIME_DIR: runtimeDir };

/** Run the command line to completion. */
function cli(args: string[], options: { timeout?: number } = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: root, env, encoding: 'utf8', timeout: options.timeout ?? 60000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A long-running `run`, its output collected. */
function startRun(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'run', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk) => { text += chunk; });
  child.stderr!.on('data', (chunk) => { text += chunk; });
  const exited = new Promise<number | null>((r) => child.on('close', r));
  return { child, output: () => text, exited };
}

const VERBS = ['new', 'build', 'run', 'send', 'listen', 'channels', 'trace', 'stats', 'expose', 'sessions', 'stop', 'bench', 'demo', 'decode', 'c-source', 'bytes'];

const started: ChildProcess[] = [];
afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(runtimeDir, { recursive: true, force: true });
});

describe('xs-rpmsg: help and refused options', () => {
  it('is the package.json bin, runnable as npx xs-rpmsg', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['xs-rpmsg']).toBe('bin/xs-rpmsg.mjs');
    const result = spawnSync('npx', ['xs-rpmsg', '--help'], { cwd: root, env, encoding: 'utf8', timeout: 60000 });
    expect(result.status, result.stderr).toBe(0);
    for (const verb of VERBS) expect(result.stdout).toMatch(new RegExp(`^  ${verb}\\b`, 'm'));
  });

  it.each(VERBS)('%s --help prints its usage and does nothing else', (verb) => {
    const result = cli([verb, '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^usage: xs-rpmsg ${verb}\\b`));
    expect(result.stdout).toMatch(/--json/);
    expect(result.stdout).not.toMatch(/echoed|powering up/);
  });

  it.each(VERBS)('%s --bogus is refused with the list of valid options', (verb) => {
    const result = cli([verb, '--bogus']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^xs-rpmsg: EINVAL: ${verb}: unknown option --bogus; valid options: .*--help`));
    expect(result.stdout).toBe('');
  });

  it('an unknown verb, a missing argument and a bad choice are refused with what to do', () => {
    expect(cli(['frobnicate']).stderr).toMatch(/EINVAL: unknown verb "frobnicate"; verbs: new, build, run/);
    expect(cli(['send', 'only-channel']).stderr).toMatch(/EINVAL: send: expected CHANNEL DATA, got "only-channel"; see xs-rpmsg send --help/);
    expect(cli(['demo', '--target', 'arm']).stderr).toMatch(/EINVAL: --target must be one of in-process, posix, qemu, linux, got "arm"/);
    expect(cli(['send', 'x', 'hex:zz']).stderr).toMatch(/EINVAL: "hex:zz" is not hex/);
  }, 180000);

  it('verbs that need a session say how to start one', () => {
    const result = cli(['channels']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/ENOENT: no running session; start one in another terminal with: npx xs-rpmsg run/);
  });
});

describe('xs-rpmsg demo', () => {
  it('prints one summary line with elapsed time and round-trip figures, folds the 100 lines, hints the next step', () => {
    const result = cli(['demo', '--target', 'in-process']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^demo: 100\/100 echoed on rpmsg-client-sample by app "echo" on in-process in \d+\.\d s \(start \d+\.\d s\); round trip median \d+\.\d+ ms, p95 \d+\.\d+ ms over 100$/m);
    expect(result.stdout.match(/incoming msg \d+ \(src/g)).toHaveLength(3);
    expect(result.stdout).toMatch(/incoming msg 3\.\.99 folded \(--verbose prints every line\)/);
    expect(result.stdout).toMatch(/^next: npx xs-rpmsg run --app echo/m);
    const verbose = cli(['demo', '--target', 'in-process', '--verbose', '--count', '20']);
    expect(verbose.stdout.match(/incoming msg \d+ \(src/g)).toHaveLength(20);
  }, 180000);

  it('--json: one summary object', () => {
    const result = cli(['demo', '--target', 'in-process', '--json', '--count', '10']);
    const records = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const summary = records.find((r) => r.type === 'summary')!;
    expect(summary).toMatchObject({ app: 'echo', target: 'in-process', echoed: 10, count: 10 });
    expect((summary.roundTrip as { count: number }).count).toBe(10);
  }, 180000);
});

describe('xs-rpmsg bench', () => {
  it('prints round-trip figures; --json gives them as numbers', () => {
    const result = cli(['bench', '--target', 'in-process', '--count', '50', '--size', '496', '--json']);
    expect(result.status, result.stderr).toBe(0);
    const record = JSON.parse(result.stdout.trim().split('\n')[0]) as { count: number; size: number; roundTrip: { count: number; medianMs: number }; messagesPerSecond: number };
    expect(record).toMatchObject({ count: 50, size: 496 });
    expect(record.roundTrip.count).toBe(50);
    expect(record.roundTrip.medianMs).toBeGreaterThan(0);
    expect(cli(['bench', '--target', 'in-process', '--size', '497']).stderr).toMatch(/EMSGSIZE: --size 497/);
    const human = cli(['bench', '--target', 'in-process', '--count', '10']);
    expect(human.stdout).toMatch(/^bench: 10 round trips of 64 bytes on rpmsg-client-sample \(app "echo", in-process\): median \d+\.\d+ ms, p95/m);
  }, 180000);
});

describe('xs-rpmsg run, reached from another terminal', () => {
  it('two sessions at once: channels, send (text, hex, @file), listen, stats, trace each reach their own; SIGTERM and stop shut down cleanly', async () => {
    const a = startRun(['--target', 'in-process', '--session', `a-${process.pid}`]);
    const b = startRun(['--target', 'in-process', '--app', 'e2e', '--session', `b-${process.pid}`]);
    started.push(a.child, b.child);
    await until(() => a.output().includes('+ channel rpmsg-client-sample') && b.output().includes('+ channel xs-rpmsg-test-control'), 'both sessions up', 30000);
    expect(a.output()).toMatch(/\[ +\d+\.\d{6}\] virtio_rpmsg_bus virtio0: rpmsg host is online/);
    expect(a.output()).toMatch(/\[remote\] echo: serving "rpmsg-client-sample"/);

    // A second session under a running one's id is refused before it boots anything.
    const clash = cli(['run', '--target', 'in-process', '--session', `a-${process.pid}`]);
    expect(clash.status).toBe(1);
    expect(clash.stderr).toMatch(new RegExp(`EADDRINUSE: a session "a-${process.pid}" is already running \\(pid \\d+\\)`));
    expect(clash.stdout).not.toMatch(/powering up/);

    // Two sessions: a verb without --session refuses to guess.
    expect(cli(['channels']).stderr).toMatch(/EINVAL: 2 sessions are running .*pick one with --session ID/);
    const sessions = JSON.parse(cli(['sessions', '--json']).stdout) as { sessions: { id: string }[] };
    expect(sessions.sessions.map((s) => s.id).sort()).toEqual([`a-${process.pid}`, `b-${process.pid}`]);

    const channelsB = cli(['channels', '--session', `b-${process.pid}`]);
    expect(channelsB.stdout).toMatch(/xs-rpmsg-test-control/);
    expect(cli(['channels', '--session', `a-${process.pid}`]).stdout).not.toMatch(/xs-rpmsg-test-control/);

    expect(cli(['send', 'rpmsg-client-sample', 'hello', '--session', `a-${process.pid}`]).stdout).toMatch(/^reply from 0x400 in \d+\.\d+ ms: "hello"$/m);
    expect(cli(['send', 'rpmsg-client-sample', 'hex:00ff41', '--session', `a-${process.pid}`]).stdout).toMatch(/: hex:00ff41$/m);
    const file = join(runtimeDir, 'payload.bin');
    writeFileSync(file, 'from a file');
    const json = JSON.parse(cli(['send', 'rpmsg-client-sample', `@${file}`, '--json', '--session', `a-${process.pid}`]).stdout) as { reply: { hex: string } };
    expect(Buffer.from(json.reply.hex, 'hex').toString()).toBe('from a file');
    expect(cli(['send', 'xs-rpmsg-test-control', 'stats', '--session', `b-${process.pid}`]).stdout).toMatch(/"ok stats received=\d+/);
    expect(cli(['send', 'rpmsg-client-sample', 'x'.repeat(497), '--session', `a-${process.pid}`]).stderr).toMatch(/EMSGSIZE: 497 bytes do not fit one rpmsg message/);

    // listen in one process, send from another.
    const listener = spawn(process.execPath, [BIN, 'listen', 'rpmsg-client-sample', '--count', '2', '--session', `a-${process.pid}`], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(listener);
    let heard = '';
    listener.stdout.on('data', (chunk) => { heard += chunk; });
    const listened = new Promise((r) => listener.on('close', r));
    await new Promise((r) => setTimeout(r, 800));
    cli(['send', 'rpmsg-client-sample', 'first', '--session', `a-${process.pid}`]);
    cli(['send', 'rpmsg-client-sample', 'second', '--session', `a-${process.pid}`]);
    await listened;
    expect(heard).toMatch(/rpmsg-client-sample 0x400 -> 0x[0-9a-f]+ \(5 bytes\): "first"\n.*"second"\nlisten: 2 message\(s\)/s);

    const stats = JSON.parse(cli(['stats', '--json', '--session', `a-${process.pid}`]).stdout) as { host: { transports: { rxMessages: number; txMessages: number }[] }; remote: { statistics: { received: number; sent: number } } };
    expect(stats.host.transports[0].txMessages).toBeGreaterThanOrEqual(5);
    expect(stats.remote.statistics.received).toBe(stats.host.transports[0].txMessages);
    expect(stats.remote.statistics.sent).toBe(stats.host.transports[0].rxMessages);
    expect(cli(['trace', '--session', `a-${process.pid}`]).stdout).toMatch(/^trace0:\necho: serving "rpmsg-client-sample"/);

    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(a.output()).toMatch(/run: stopped/);
    expect(cli(['stop', '--session', `b-${process.pid}`]).status).toBe(0);
    expect(await b.exited).toBe(0);
    expect(readdirSync(join(runtimeDir, 'sessions'))).toEqual([]);
  }, 180000);

  it('the bridge of a session: python3 reaches the allowlisted channel; others are refused by name', async () => {
    const id = `bridge-${process.pid}`;
    const run = startRun(['--target', 'in-process', '--session', id]);
    started.push(run.child);
    await until(() => /bridge: bound rpmsg-client-sample/.test(run.output()), 'the bridge bound', 30000);
    const channels = JSON.parse(cli(['channels', '--json', '--session', id]).stdout) as { exposed: { socket: string; tty: string; bound: boolean }[] };
    expect(channels.exposed[0].bound).toBe(true);
    const program = 'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET)\ns.connect(sys.argv[1])\ns.send(b"from python")\nprint(s.recv(496).decode())';
    const python = spawnSync('/usr/bin/python3', ['-c', program, channels.exposed[0].socket], { encoding: 'utf8', timeout: 10000 });
    expect(python.stdout.trim(), python.stderr).toBe('from python');
    const refused = cli(['expose', 'anything-else', '--session', id]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/EACCES: channel "anything-else" is not on the bridge's allowlist in .*firmware\/apps\/echo\/bridge\.json \(allowed: rpmsg-client-sample\)/);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(existsSync(channels.exposed[0].socket)).toBe(false);
  }, 180000);
});

describe('xs-rpmsg new and build', () => {
  it('new NAME makes an app whose own test passes, and demo runs that app (not the echo app)', () => {
    const name = `tmpl-${process.pid}`;
    try {
      const made = cli(['new', name]);
      expect(made.status, made.stderr).toBe(0);
      for (const file of [`firmware/apps/${name}/main.ts`, `firmware/apps/${name}/manifest.json`, `firmware/apps/${name}/bridge.json`, `test/apps/${name}.test.ts`]) {
        expect(made.stdout).toContain(file);
        expect(existsSync(join(root, file))).toBe(true);
      }
      expect(JSON.parse(readFileSync(join(root, `firmware/apps/${name}/manifest.json`), 'utf8')).app).toEqual({ name });
      expect(cli(['new', name]).stderr).toMatch(/EEXIST: firmware\/apps\/tmpl-\d+ already exists/);
      const test = spawnSync('npx', ['vitest', 'run', `test/apps/${name}.test.ts`], { cwd: root, env, encoding: 'utf8', timeout: 60000 });
      expect(test.status, test.stdout + test.stderr).toBe(0);
      const demo = cli(['demo', '--app', name, '--target', 'in-process']);
      expect(demo.status, demo.stderr).toBe(0);
      expect(demo.stdout).toMatch(new RegExp(`^demo: "hello" to ${name}: reply "HELLO" in \\d+\\.\\d+ ms$`, 'm'));
      expect(demo.stdout).toMatch(new RegExp(`^demo: app "${name}" on in-process announced 1 channel\\(s\\), 1 answered "hello"`, 'm'));
      expect(demo.stdout).not.toMatch(/echoed/);
    } finally {
      rmSync(join(root, 'firmware/apps', name), { recursive: true, force: true });
      rmSync(join(root, 'test/apps', `${name}.test.ts`), { force: true });
    }
    expect(cli(['new', 'Bad Name']).stderr).toMatch(/EINVAL: "Bad Name" cannot be an app name/);
  }, 180000);

  it('tools/build-firmware.ts --manifest X embeds the app X names', () => {
    const out = mkdtempSync(join(tmpdir(), `xs-rpmsg-build-manifest-${process.pid}-`));
    try {
      const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      manifest.app = { name: 'e2e' };
      writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest));
      const result = spawnSync('npx', ['tsx', 'tools/build-firmware.ts', '--target', 'posix', '--manifest', join(out, 'manifest.json'), '--out', join(out, 'build')], { cwd: root, encoding: 'utf8', timeout: 300000 });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/bundling firmware JS of app "e2e"/);
      expect(readFileSync(join(out, 'build/firmware.js'), 'utf8')).toContain('xs-rpmsg-test-control');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300000);
});
