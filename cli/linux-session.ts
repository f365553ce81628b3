/**
 * `run --target linux`: the app's posix remote as the vhost-user backend of a real Linux 6.1
 * kernel (User-Mode Linux), with linux/guest-agent.py in the guest serving channels, send and
 * listen through /dev/rpmsg_ctrl0 and /dev/rpmsgN. The same control socket as the other
 * targets; trace, stats and expose are refused (no remoteproc in UML, no simulator counters,
 * the bridge belongs to the simulator: inside the guest programs open /dev/rpmsgN themselves).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RpmsgError } from '../wire/errors.ts';
import { firmwareImage } from '../launch/firmware-image.ts';
import { ControlServer, type Handler } from './control.ts';
import { describeBytes } from './data.ts';
import { untilStopped, type Output } from './output.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onEvent?: (event: unknown) => void;
}

/** Boot UML with the app's remote and the agent; serve the control socket until stop. */
export async function runLinuxSession(options: { app: string; id: string; out: Output; durationMs?: number }): Promise<number> {
  const { app, id, out } = options;
  // uml.ts kills everything at once on SIGINT/SIGTERM; here those signals stop the session in order instead.
  const before = new Map((['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, new Set(process.listeners(signal))]));
  const uml = await import('../linux/uml.ts');
  for (const [signal, kept] of before) for (const listener of process.listeners(signal)) if (!kept.has(listener)) process.off(signal, listener as () => void);

  const kernel = await uml.buildKernel((line) => out.line(`[build-kernel] ${line}`));
  const executable = await firmwareImage('posix', app, !out.json);
  let agentInput: NodeJS.WritableStream | null = null;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  let ready: () => void = () => {};
  const agentReady = new Promise<void>((r) => { ready = r; });
  const ask = (request: Record<string, unknown>, onEvent?: (event: unknown) => void): { id: number; result: Promise<unknown> } => {
    const requestId = nextId++;
    const result = new Promise<unknown>((resolvePromise, reject) => {
      pending.set(requestId, { resolve: resolvePromise, reject, onEvent });
      agentInput!.write(`${JSON.stringify({ ...request, id: requestId })}\n`);
    });
    return { id: requestId, result };
  };
  const onAgent = (text: string) => {
    let message: { id?: number; ready?: boolean; event?: unknown; ok?: boolean; result?: unknown; error?: { code: string; message: string } };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.ready) return ready();
    const waiter = message.id !== undefined ? pending.get(message.id) : undefined;
    if (!waiter) return;
    if ('event' in message) return waiter.onEvent?.(message.event);
    pending.delete(message.id!);
    if (message.ok) waiter.resolve(message.result);
    else {
      const error = new Error(message.error?.message ?? 'the guest agent failed') as Error & { code?: string };
      error.code = message.error?.code;
      waiter.reject(error);
    }
  };
  const onLine = (line: string) => {
    if (line.startsWith('xsr-agent: ')) return onAgent(line.slice('xsr-agent: '.length));
    if (line.startsWith('{')) return; // a request echoed before the agent turned echo off
    const channel = /virtio_rpmsg_bus virtio\d+: (creating|destroying) channel (\S+) addr (0x[0-9a-f]+)/.exec(line);
    out.line(/^\[\s*\d+\.\d+\]/.test(line) ? line : `[guest] ${line}`);
    out.record({ type: /^\[\s*\d+\.\d+\]/.test(line) ? 'kernel' : 'guest', line });
    if (channel) {
      out.line(`${channel[1] === 'creating' ? '+' : '-'} channel ${channel[2]} (remote address ${channel[3]})`);
      out.record({ type: 'channel', event: channel[1] === 'creating' ? 'added' : 'removed', name: channel[2], remote: Number(channel[3]) });
    }
  };
  out.line(`run: app "${app}" on linux: ${executable} as the vhost-user backend of ${kernel.linux}`);
  const boot = uml.bootUml({
    kernel,
    steps: ['online', 'agent'],
    remote: { command: executable, args: ['--vhost-user', '{socket}'] },
    initParameters: { xsr_agent: join(root, 'linux/guest-agent.py'), xsr_wait: '60' },
    timeoutMs: 7 * 24 * 3600 * 1000,
    onLine,
    onStart: (stdin) => { agentInput = stdin; },
  });
  let bootDone = false;
  const booted = boot.then((result) => {
    bootDone = true;
    for (const waiter of pending.values()) waiter.reject(new RpmsgError('EPIPE', 'the Linux guest stopped'));
    return result;
  });
  const failedEarly = booted.then((result) => { throw new Error(`EIO: the Linux guest stopped before its agent was ready:\n${result.log.slice(-2000)}\n${result.remoteLog.slice(-1000)}`); });
  await Promise.race([agentReady, failedEarly]);

  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => { finish = r; });
  let stopping: Promise<void> | null = null;
  let control: ControlServer | null = null;
  const stop = () => {
    stopping ??= (async () => {
      out.line('run: stopping (the guest agent quits, Linux powers off, the remote is stopped)');
      await control?.close();
      if (!bootDone) {
        ask({ verb: 'quit' }).result.catch(() => {});
        await Promise.race([booted, new Promise((r) => setTimeout(r, 20000))]);
      }
      if (bootDone) {
        const result = await booted;
        for (const line of result.remoteLog.split('\n').filter(Boolean)) out.line(`[remote] ${line}`);
      }
      out.record({ type: 'stopped' });
      out.line('run: stopped');
      finish();
    })();
  };
  void booted.then(() => { if (!stopping) { out.line('run: the Linux guest stopped by itself'); stop(); } });

  const handler: Handler = async (request, emit, signal) => {
    switch (request.verb) {
      case 'channels': {
        const result = (await ask({ verb: 'channels' }).result) as { channels: unknown[] };
        return { channels: result.channels, exposed: [] };
      }
      case 'send': {
        const result = (await ask({ verb: 'send', channel: request.channel, hex: request.hex, timeoutMs: request.timeoutMs, wait: request.wait }).result) as { reply: { hex: string; text?: string } | null; local?: number };
        if (result.reply) result.reply.text = describeBytes(Buffer.from(result.reply.hex, 'hex'));
        return result;
      }
      case 'listen': {
        const call = ask({ verb: 'listen', channel: request.channel, count: request.count ?? 0 }, (event) => {
          const e = event as { kind: string; hex?: string };
          emit(e.kind === 'message' ? { ...e, to: null, text: describeBytes(Buffer.from(e.hex!, 'hex')) } : e);
        });
        signal.addEventListener('abort', () => agentInput?.write(`${JSON.stringify({ verb: 'stop', listen: call.id })}\n`), { once: true });
        return call.result;
      }
      case 'trace':
      case 'stats':
        throw new RpmsgError('EINVAL', `${String(request.verb)} is not available on the linux target: UML has no remoteproc (the remote is a vhost-user backend) and the counters are the simulator's; use the in-process, posix or qemu target`);
      case 'expose':
      case 'bridge':
        throw new RpmsgError('EINVAL', 'the bridge is part of the host simulator; on the linux target programs inside the guest open /dev/rpmsg_ctrl0 and /dev/rpmsgN themselves');
      case 'stop':
        setTimeout(stop, 10);
        return { stopping: true };
      default:
        throw new RpmsgError('EINVAL', `unknown request "${String(request.verb)}"`);
    }
  };
  control = await ControlServer.start({ id, app, target: 'linux', bridgeDir: null }, handler);
  out.record({ type: 'session', id, app, target: 'linux', socket: control.info.socket, bridge: null, allowed: [] });
  out.line(`run: session ${id} is up (control socket ${control.info.socket}); Ctrl-C stops it`);
  out.line('     from another terminal: npx xs-rpmsg channels | npx xs-rpmsg send CHANNEL hello | npx xs-rpmsg listen CHANNEL (through /dev/rpmsgN in the guest)');
  await untilStopped(stop, finished, options.durationMs);
  return 0;
}
