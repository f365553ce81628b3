/**
 * The debugger end to end, driven as an editor drives it: the adapter (debug/main.ts) is started
 * with DAP on its stdin/stdout, launches the debug-probe app's debug image on the target (through
 * `xs-rpmsg run --debug-socket`), and the host side sends messages through the session's control
 * socket. Checked: a breakpoint in onReadable is hit when the host sends, the stack shows the
 * TypeScript file:line, a local's value is read (and a closure variable, and evaluate), step over
 * moves one line, continue lets the echo complete; break on exceptions stops at the throw's line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DapClient, type DapMessage } from '../../debug/dap.ts';
import { callSession, findSession } from '../../cli/control.ts';
import { buildAppFirmware } from '../../launch/firmware-image.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const app = join(root, 'test/fixtures/apps/debug-probe/main.ts');
const source = readFileSync(app, 'utf8').split('\n');
const lineOf = (marker: string) => source.findIndex((line) => line.includes(`// ${marker}`)) + 1;
const STEP_A = lineOf('STEP-A');
const STEP_B = lineOf('STEP-B');
const THROW_LINE = lineOf('THROW-LINE');

interface Started {
  adapter: ChildProcess;
  client: DapClient;
  session: string;
  output: () => string;
}

const started: Started[] = [];
let sessions = 0;

async function startAdapter(target: 'posix' | 'qemu', breakpoints: number[], exceptions = false): Promise<Started> {
  const adapter = spawn(process.execPath, ['--import', 'tsx', join(root, 'debug/main.ts')], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  adapter.stderr!.on('data', (chunk) => { stderr += chunk; });
  const client = new DapClient(adapter.stdout!, adapter.stdin!);
  const session = `dbg-${target}-${process.pid}-${sessions++}`;
  const one: Started = {
    adapter, client, session,
    output: () => `${client.events.filter((e) => e.event === 'output').map((e) => (e.body as { output: string }).output).join('')}${stderr}`,
  };
  started.push(one);
  const initialized = client.waitForEvent('initialized');
  const capabilities = await client.request('initialize', { adapterID: 'xs-rpmsg', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  expect((capabilities.body as { supportsConfigurationDoneRequest: boolean }).supportsConfigurationDoneRequest).toBe(true);
  await initialized;
  await client.request('launch', { app, target, session });
  const set = await client.request('setBreakpoints', { source: { path: app }, breakpoints: breakpoints.map((line) => ({ line })) });
  expect((set.body as { breakpoints: { verified: boolean }[] }).breakpoints.every((b) => b.verified)).toBe(true);
  await client.request('setExceptionBreakpoints', { filters: exceptions ? ['all'] : [] });
  await client.request('configurationDone');
  return one;
}

/** Sends `text` on debug-probe through the session's control socket; resolves with the reply's text. */
async function sendThroughSession(session: string, text: string): Promise<string | null> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    try {
      const info = findSession(session);
      const result = await callSession(info, { verb: 'send', channel: 'debug-probe', hex: Buffer.from(text).toString('hex'), timeoutMs: 180_000 }).result as { reply: { hex: string } | null };
      return result.reply ? Buffer.from(result.reply.hex, 'hex').toString() : null;
    } catch (error) {
      if (Date.now() > deadline || !/ENOENT|no running session|ECONNREFUSED/.test(String(error))) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function stackTop(client: DapClient): Promise<{ id: number; name: string; line: number; source?: { path: string } }[]> {
  const trace = await client.request('stackTrace', { threadId: 1 });
  return (trace.body as { stackFrames: { id: number; name: string; line: number; source?: { path: string } }[] }).stackFrames;
}

async function variablesOf(client: DapClient, frameId: number, scope: string): Promise<{ name: string; value: string; variablesReference: number }[]> {
  const scopes = (await client.request('scopes', { frameId })).body as { scopes: { name: string; variablesReference: number }[] };
  const reference = scopes.scopes.find((s) => s.name === scope)!.variablesReference;
  return ((await client.request('variables', { variablesReference: reference })).body as { variables: { name: string; value: string; variablesReference: number }[] }).variables;
}

afterAll(async () => {
  for (const one of started) {
    try {
      await Promise.race([one.client.request('disconnect', { terminateDebuggee: true }), new Promise((r) => setTimeout(r, 15_000))]);
    } catch { /* already gone */ }
    const exited = new Promise((r) => (one.adapter.exitCode !== null ? r(null) : one.adapter.once('exit', r)));
    setTimeout(() => one.adapter.kill('SIGKILL'), 20_000).unref();
    await exited;
  }
}, 60_000);

describe.each(['posix', 'qemu'] as const)('the debug adapter over DAP on %s', (target) => {
  it('stops at a breakpoint in onReadable, shows TypeScript lines and locals, steps over / in / out, and continue completes the echo', async () => {
    await buildAppFirmware(target === 'qemu' ? 'qemu-mps2' : 'posix', app, false, true);
    const { client, session, output } = await startAdapter(target, [STEP_A]);
    try {
      const stopped = client.waitForEvent('stopped', () => true, 240_000);
      const reply = sendThroughSession(session, 'hi');
      const stop = await stopped;
      expect((stop.body as { reason: string }).reason).toBe('breakpoint');

      const frames = await stackTop(client);
      expect(frames[0].name).toBe('onReadable');
      expect(frames[0].source?.path).toBe(app);
      expect(frames[0].line).toBe(STEP_A);
      // the runtime's frames are TypeScript too
      expect(frames.some((f) => /firmware\/runtime\/rpmsg\/[\w-]+\.ts$/.test(f.source?.path ?? ''))).toBe(true);

      const locals = await variablesOf(client, frames[0].id, 'Locals');
      expect(locals.find((v) => v.name === 'count')?.value).toBe('2'); // onReadable(count, source): "hi" is 2 bytes
      const closure = await variablesOf(client, frames[0].id, 'Closure');
      expect(closure.find((v) => v.name === 'echoed')?.value).toBe('0');
      const evaluated = await client.request('evaluate', { expression: 'count', frameId: frames[0].id, context: 'watch' });
      expect((evaluated.body as { result: string }).result).toBe('2');

      const stepped = client.waitForEvent('stopped', () => true, 60_000);
      await client.request('next', { threadId: 1 });
      expect(((await stepped).body as { reason: string }).reason).toBe('step');
      const after = await stackTop(client);
      expect(after[0].line).toBe(STEP_B);
      expect((await variablesOf(client, after[0].id, 'Locals')).find((v) => v.name === 'text')?.value).toBe("'hi'");

      // step over twice more to the send's line, step into the text helper it calls, step out again
      for (const line of [THROW_LINE, THROW_LINE + 1]) {
        const next = client.waitForEvent('stopped', () => true, 60_000);
        await client.request('next', { threadId: 1 });
        await next;
        expect((await stackTop(client))[0].line).toBe(line);
      }
      const into = client.waitForEvent('stopped', () => true, 60_000);
      await client.request('stepIn', { threadId: 1 });
      await into;
      const inside = await stackTop(client);
      expect(inside[0].source?.path).toBe(join(root, 'firmware/runtime/text.ts'));
      expect(inside[0].name).toBe('utf8EncodeInto');
      const out = client.waitForEvent('stopped', () => true, 60_000);
      await client.request('stepOut', { threadId: 1 });
      await out;
      const outside = await stackTop(client);
      expect(outside[0].source?.path).not.toBe(join(root, 'firmware/runtime/text.ts'));
      expect(outside.length).toBeLessThan(inside.length);

      await client.request('continue', { threadId: 1 });
      expect(await reply).toBe('echo hi #1');
      expect(output()).toContain('[remote] debug-probe: serving'); // the remote's console in the debug console
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- adapter output ---\n${output()}`);
    }
  }, 300_000);
});

describe('break on exceptions (posix)', () => {
  it('stops at the throw with its TypeScript line, and the app exception is reported after continue', async () => {
    await buildAppFirmware('posix', app, false, true);
    const { client, session, output } = await startAdapter('posix', [], true);
    try {
      const stopped = client.waitForEvent('stopped', (m) => (m.body as { reason: string }).reason === 'exception', 240_000);
      void sendThroughSession(session, 'throw').catch(() => null);
      const stop: DapMessage = await stopped;
      expect((stop.body as { reason: string }).reason).toBe('exception');
      let frames = await stackTop(client);
      // every throw stops (caught ones too): go on to the app's
      for (let others = 0; frames[0].line !== THROW_LINE && others < 20; others++) {
        const next = client.waitForEvent('stopped', () => true, 60_000);
        await client.request('continue', { threadId: 1 });
        await next;
        frames = await stackTop(client);
      }
      expect(frames[0].line).toBe(THROW_LINE);
      expect(frames[0].source?.path).toBe(app);
      await client.request('continue', { threadId: 1 });
      const deadline = Date.now() + 30_000;
      while (!output().includes(`test/fixtures/apps/debug-probe/main.ts:${THROW_LINE}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(output()).toContain(`at onReadable (test/fixtures/apps/debug-probe/main.ts:${THROW_LINE})`);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- adapter output ---\n${output()}`);
    }
  }, 300_000);
});
