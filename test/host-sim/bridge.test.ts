/**
 * The userland bridge, driven by ordinary Debian programs (python3's socket module with
 * AF_UNIX/SOCK_SEQPACKET, socat on the pseudo-terminal): one message per packet, the
 * allowlist, EPIPE and hang-up when the channel or the remote goes away, re-binding after.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readlinkSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpmsgBridge, checkBridgeConfig, readBridgeConfig } from '../../host-sim/bridge.ts';
import { openChannel, waitForChannel } from '../../host-sim/channels.ts';
import type { Session } from '../../host-sim/session.ts';
import { openTestSession, until, type Control } from '../e2e/harness.ts';

const PYTHON = '/usr/bin/python3';
const SOCAT = '/usr/bin/socat';

/** Run a python3 program with `args`; resolves with its stdout/stderr/status. */
function python(program: string, args: string[], timeoutMs = 15000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-c', program, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Python: connect, send each argument as one packet, print each reply packet (repr of bytes) on its own line. */
const ECHO_CLIENT = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.settimeout(10)
for message in sys.argv[2:]:
    s.send(message.encode('latin-1'))
for message in sys.argv[2:]:
    print(repr(s.recv(4096)), flush=True)
`;

/** Python: connect, say hello, then block on recv until end of file; then try to send and report the errno. */
const WAIT_FOR_HANGUP = `
import socket, sys, errno
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(b'ping')
print('reply', s.recv(4096), flush=True)
print('ready', flush=True)
data = s.recv(4096)
print('eof' if data == b'' else 'data %r' % data, flush=True)
try:
    s.send(b'after')
    print('sent', flush=True)
except OSError as e:
    print(errno.errorcode[e.errno], flush=True)
`;

describe('the userland bridge (rpmsg_char / rpmsg_tty for programs outside Node)', () => {
  let session: Session;
  let control: Control;
  let bridge: RpmsgBridge;
  let dir: string;

  beforeAll(async () => {
    expect(existsSync(PYTHON) && existsSync(SOCAT), 'python3 and socat (bash scripts/setup.sh --for test installs them)').toBe(true);
    ({ session, control } = await openTestSession('in-process'));
    await waitForChannel(session.host, 'rpmsg-client-sample');
    dir = mkdtempSync(join(tmpdir(), `xs-rpmsg-bridge-test-${process.pid}-`));
    bridge = new RpmsgBridge(session.host, { config: { allow: ['rpmsg-client-sample', 'extra-service'] }, dir: join(dir, 'bridge') });
  });

  afterAll(async () => {
    bridge?.close();
    await session?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a python3 program talks to the echo channel over SOCK_SEQPACKET: one message per packet, boundaries kept', async () => {
    const endpoint = bridge.expose('rpmsg-client-sample');
    expect(endpoint.bound).toBe(true);
    const result = await python(ECHO_CLIENT, [endpoint.socketPath!, 'hello', 'a', 'x'.repeat(496), 'two words']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual(["b'hello'", "b'a'", `b'${'x'.repeat(496)}'`, "b'two words'"]);
  });

  it('two programs at once each get their own endpoint (their own replies only)', async () => {
    const path = bridge.expose('rpmsg-client-sample').socketPath!;
    const [a, b] = await Promise.all([python(ECHO_CLIENT, [path, 'from-a-1', 'from-a-2']), python(ECHO_CLIENT, [path, 'from-b-1'])]);
    expect(a.stdout.trim().split('\n')).toEqual(["b'from-a-1'", "b'from-a-2'"]);
    expect(b.stdout.trim().split('\n')).toEqual(["b'from-b-1'"]);
  });

  it('a zero-length packet is an empty message (echoed as an empty packet), not end of file', async () => {
    const path = bridge.expose('rpmsg-client-sample').socketPath!;
    const program = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.settimeout(10)
s.send(b'')
s.send(b'after')
print(repr(s.recv(4096)), repr(s.recv(4096)))
`;
    const result = await python(program, [path]);
    expect(result.stdout.trim(), result.stderr).toBe("b'' b'after'");
  });

  it('1000 messages in bursts from a writer that does not wait for replies all come back, in order', async () => {
    const path = bridge.expose('rpmsg-client-sample').socketPath!;
    const program = `
import socket, sys, threading, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.settimeout(20)
def write():
    for i in range(1000):
        s.send(b'%04d' % i + b'.' * (i % 64))
        if i % 50 == 49:
            time.sleep(0.05)  # bursts larger than the 16 sends the bridge keeps in flight, then quiet
threading.Thread(target=write).start()
got = [s.recv(4096) for _ in range(1000)]
bad = [i for i, m in enumerate(got) if m != b'%04d' % i + b'.' * (i % 64)]
print('ok' if not bad else 'bad at %d: %r' % (bad[0], got[bad[0]]))
`;
    const result = await python(program, [path], 60000);
    expect(result.stdout.trim(), result.stderr).toBe('ok');
    expect(bridge.errors.count('bridge-reader-slow')).toBe(0);
  });

  it('a packet larger than one rpmsg buffer is refused and counted, not cut', async () => {
    const path = bridge.expose('rpmsg-client-sample').socketPath!;
    const before = bridge.errors.count('bridge-message-too-big');
    const program = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.settimeout(10)
s.send(b'y' * 497)
s.send(b'small')
print(s.recv(4096))
`;
    const result = await python(program, [path]);
    expect(result.stdout.trim()).toBe("b'small'");
    expect(bridge.errors.count('bridge-message-too-big')).toBe(before + 1);
    expect(bridge.errors.last?.message).toMatch(/^EMSGSIZE: .*497-byte packet.*at most 496 bytes/);
  });

  it('socat on the pseudo-terminal: a line written comes back from the echo service', async () => {
    const endpoint = bridge.expose('rpmsg-client-sample');
    expect(readlinkSync(endpoint.ptyLink!)).toBe(endpoint.ptyPath);
    // socat: stdin -> terminal, terminal -> stdout; raw so the bytes pass unchanged.
    const reader = spawn(SOCAT, ['-T5', '-u', `OPEN:${endpoint.ptyLink},raw,echo=0`, 'STDOUT'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    reader.stdout.on('data', (chunk) => { output += chunk; });
    await new Promise((r) => setTimeout(r, 300));
    const writer = spawnSync(SOCAT, ['-u', 'STDIN', `OPEN:${endpoint.ptyLink},raw,echo=0`], { input: 'line from socat\n', encoding: 'utf8', timeout: 10000 });
    expect(writer.status, writer.stderr).toBe(0);
    await until(() => output.includes('line from socat\n'), 'the echoed line on the terminal', 10000);
    reader.kill('SIGTERM');
  });

  it('a channel not on the allowlist is refused with EACCES naming the configuration', () => {
    const strict = new RpmsgBridge(session.host, { config: { allow: ['rpmsg-client-sample'] }, configPath: 'bridge.json', dir: join(dir, 'strict') });
    try {
      expect(() => strict.expose('xs-rpmsg-test-control')).toThrow(/^EACCES: channel "xs-rpmsg-test-control" is not on the bridge's allowlist in bridge\.json \(allowed: rpmsg-client-sample\)/);
    } finally {
      strict.close();
    }
  });

  it('configuration files are checked: unknown fields, bad names, exposing what is not allowed', () => {
    expect(() => checkBridgeConfig({ allow: ['a'], alow: [] }, 'b.json')).toThrow(/EINVAL: b\.json: unknown field "alow"/);
    expect(() => checkBridgeConfig({ allow: ['x'.repeat(32)] })).toThrow(/not a channel name/);
    expect(() => checkBridgeConfig({ allow: ['a'], expose: [{ channel: 'b' }] })).toThrow(/"expose" names b, which is not in "allow"/);
    const file = join(dir, 'bridge.json');
    writeFileSync(file, JSON.stringify({ allow: ['a'], expose: [{ channel: 'a', pty: false }] }));
    expect(readBridgeConfig(file)).toEqual({ allow: ['a'], expose: [{ channel: 'a', socket: true, pty: false }] });
    expect(() => readBridgeConfig(join(dir, 'missing.json'))).toThrow(/^ENOENT: bridge configuration/);
  });

  it('when the channel goes away a connected reader sees end of file and its write fails with EPIPE; it re-binds when the channel returns', async () => {
    expect(await control.command('open extra-service')).toMatch(/^ok open extra-service/);
    const endpoint = bridge.expose('extra-service');
    await until(() => endpoint.bound, 'extra-service bound');
    const child = spawn(PYTHON, ['-c', WAIT_FOR_HANGUP, endpoint.socketPath!], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    const exited = new Promise((r) => child.on('close', r));
    await until(() => output.includes('ready'), 'the python client connected', 10000);
    expect(output).toContain("reply b'ping'");
    expect(await control.command('close extra-service')).toBe('ok close extra-service');
    await exited;
    expect(output.trim().split('\n').slice(-2)).toEqual(['eof', 'EPIPE']);
    expect(endpoint.bound).toBe(false);
    expect(existsSync(endpoint.socketPath!)).toBe(false);
    // A program that connects now is told there is no such endpoint.
    const refused = await python(ECHO_CLIENT, [endpoint.socketPath!, 'x']);
    expect(refused.stderr).toMatch(/FileNotFoundError|ConnectionRefusedError/);
    // The remote opens it again: same path, working again.
    expect(await control.command('open extra-service')).toMatch(/^ok open/);
    await until(() => endpoint.bound, 'extra-service bound again');
    const again = await python(ECHO_CLIENT, [endpoint.socketPath!, 'back']);
    expect(again.stdout.trim()).toBe("b'back'");
    expect(endpoint.binds).toBe(2);
    expect(await control.command('close extra-service')).toBe('ok close extra-service');
  });

  it('when the remote crashes the terminal hangs up (socat ends) and a new terminal is bound after recovery', async () => {
    const endpoint = bridge.expose('rpmsg-client-sample');
    const reader = spawn(SOCAT, ['-u', `OPEN:${endpoint.ptyLink},raw,echo=0`, 'STDOUT'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const ended = new Promise<number | null>((r) => reader.on('close', r));
    await new Promise((r) => setTimeout(r, 300));
    await session.rproc.reportCrash('test crash');
    const status = await Promise.race([ended, new Promise((r) => setTimeout(() => r('still running'), 10000))]);
    expect(status).not.toBe('still running');
    reader.kill('SIGKILL');
    await until(() => endpoint.bound, 'rpmsg-client-sample bound after recovery', 30000);
    expect(endpoint.binds).toBeGreaterThanOrEqual(2);
    expect(readlinkSync(endpoint.ptyLink!)).toBe(endpoint.ptyPath);
    const echo = await python(ECHO_CLIENT, [endpoint.socketPath!, 'after recovery']);
    expect(echo.stdout.trim()).toBe("b'after recovery'");
    const api = await openChannel(session.host, 'rpmsg-client-sample');
    expect(new TextDecoder().decode(await api.request('via the API'))).toBe('via the API');
    api.close();
  });

  it('close() removes every socket, link and the folder', () => {
    const endpoint = bridge.expose('rpmsg-client-sample');
    bridge.close();
    expect(existsSync(endpoint.socketPath!)).toBe(false);
    expect(existsSync(bridge.dir)).toBe(false);
  });
});
