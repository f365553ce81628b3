/**
 * `xs-rpmsg run --debug`: the command line boots the debug image and serves the adapter over TCP;
 * an editor attaches (DAP over the connection, as VS Code's "debugServer" does), the firmware,
 * waiting at boot, takes the breakpoints; a message from the host stops it in onReadable.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { callSession, findSession } from '../../cli/control.ts';
import { DapClient } from '../../debug/dap.ts';
import { buildAppFirmware } from '../../launch/firmware-image.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const app = join(root, 'test/fixtures/apps/debug-probe/main.ts');
const STEP_B = readFileSync(app, 'utf8').split('\n').findIndex((line) => line.includes('// STEP-B')) + 1;

describe('run --debug (posix)', () => {
  it('serves the adapter on TCP; an attached editor stops the firmware at a breakpoint and reads a local', async () => {
    await buildAppFirmware('posix', app, false, true);
    const session = `rundbg-${process.pid}`;
    const run = spawn(process.execPath, [join(root, 'bin/xs-rpmsg.mjs'), 'run', '--app', app, '--target', 'posix', '--debug', '--debug-port', '0', '--session', session], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    run.stdout!.on('data', (chunk) => { output += chunk; });
    run.stderr!.on('data', (chunk) => { output += chunk; });
    const exited = new Promise((r) => run.once('exit', r));
    try {
      const deadline = Date.now() + 120_000;
      while (!/listens on 127\.0\.0\.1:(\d+)/.test(output)) {
        if (Date.now() > deadline || run.exitCode !== null) throw new Error(`no adapter port printed:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const port = Number(/listens on 127\.0\.0\.1:(\d+)/.exec(output)![1]);
      const socket = connect(port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      const client = new DapClient(socket, socket);
      await client.request('initialize', { adapterID: 'xs-rpmsg' });
      await client.request('attach', {});
      await client.request('setBreakpoints', { source: { path: app }, breakpoints: [{ line: STEP_B }] });
      await client.request('configurationDone');
      const stopped = client.waitForEvent('stopped', () => true, 120_000);
      let info = null;
      while (!info) {
        try { info = findSession(session); } catch { await new Promise((r) => setTimeout(r, 100)); }
        if (Date.now() > deadline) throw new Error(`the session did not come up:\n${output}`);
      }
      const reply = callSession(info, { verb: 'send', channel: 'debug-probe', hex: Buffer.from('hi').toString('hex'), timeoutMs: 120_000 }).result as Promise<{ reply: { hex: string } | null }>;
      expect(((await stopped).body as { reason: string }).reason).toBe('breakpoint');
      const frames = (await client.request('stackTrace', { threadId: 1 })).body as { stackFrames: { id: number; line: number; source?: { path: string } }[] };
      expect(frames.stackFrames[0].line).toBe(STEP_B);
      expect(frames.stackFrames[0].source?.path).toBe(app);
      const text = await client.request('evaluate', { expression: 'text', frameId: frames.stackFrames[0].id });
      expect((text.body as { result: string }).result).toBe("'hi'");
      // the remote's console reaches the editor's debug console
      expect(client.events.some((e) => e.event === 'output' && (e.body as { output: string }).output.includes('[remote] debug-probe: serving'))).toBe(true);
      await client.request('continue', { threadId: 1 });
      const answer = await reply;
      expect(Buffer.from(answer.reply!.hex, 'hex').toString()).toBe('echo hi #1');
      await client.request('disconnect', {});
      socket.destroy();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- run output ---\n${output}`);
    } finally {
      run.kill('SIGTERM');
      const timer = setTimeout(() => run.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    expect(output).toContain('run: stopped');
  }, 240_000);
});
