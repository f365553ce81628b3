/** What a running session answers on its control socket: channels, send, listen, trace, stats, expose, bridge, stop. */
import { RpmsgError } from '../wire/errors.ts';
import type { RpmsgBridge } from '../host-sim/bridge.ts';
import { ChannelEndpoint, listChannels, tapMessages, waitForChannel } from '../host-sim/channels.ts';
import type { Session } from '../host-sim/session.ts';
import type { Handler } from './control.ts';
import { describeBytes, fromHex, toHex } from './data.ts';

/** One channel as `channels` lists it. */
export function channelRow(device: { name: string; src: number; dst: number; driver: { name: string } | null; deviceName: string }) {
  return { name: device.name, remote: device.dst, local: device.src >>> 0 === 0xffffffff ? null : device.src, driver: device.driver?.name ?? null, device: device.deviceName };
}

/** Counters of both sides. */
export function sessionStats(session: Session, bridge: RpmsgBridge | null) {
  const transports = session.host.rpmsgTransports(session.rproc).map((t) => ({ bus: t.parentName, ...t.statistics }));
  const runtime = session.remoteRuntime();
  return {
    host: { transports, refusals: { ...session.rproc.counters.counts }, kicks: session.kicks(), bridge: bridge ? { ...bridge.errors.counts } : null },
    remote: runtime
      ? { statistics: { ...runtime.statistics }, refusals: { ...runtime.errors.counts } }
      : null,
    remoteNote: runtime ? null : `the ${session.target} remote runs outside this process; its own counters are read by the app (e.g. a "stats" command on one of its channels)`,
  };
}

/** The handler of the control socket; `stop()` is called for the "stop" verb. */
export function sessionHandler(session: Session, bridge: RpmsgBridge | null, stop: () => void): Handler {
  const host = session.host;
  return async (request, emit, signal) => {
    switch (request.verb) {
      case 'channels':
        return { channels: listChannels(host).map(channelRow), exposed: bridge?.endpoints().map(bridgeRow) ?? [] };
      case 'send': {
        const channel = String(request.channel);
        const timeoutMs = Number(request.timeoutMs ?? 2000);
        const device = await waitForChannel(host, channel, { timeoutMs });
        const endpoint = new ChannelEndpoint(host, device);
        try {
          const data = fromHex(String(request.hex ?? ''));
          const started = performance.now();
          await endpoint.send(data);
          const result: Record<string, unknown> = { channel, local: endpoint.address, remote: device.dst, sent: data.length, reply: null };
          if (request.wait !== false) {
            try {
              const reply = await endpoint.receive({ timeoutMs });
              result.reply = { from: reply.src, hex: toHex(reply.data), text: describeBytes(reply.data) };
              result.roundTripMs = performance.now() - started;
            } catch (error) {
              if ((error as RpmsgError).code !== 'ETIMEDOUT') throw error;
              result.replyNote = `no reply within ${timeoutMs} ms`;
            }
          }
          return result;
        } finally {
          endpoint.close();
        }
      }
      case 'listen': {
        const channel = String(request.channel);
        const count = Number(request.count ?? 0);
        let seen = 0;
        return await new Promise((resolve) => {
          const finish = () => {
            untap();
            unwatch();
            resolve({ channel, messages: seen });
          };
          const untap = tapMessages(host, (message) => {
            if (message.direction !== 'rx' || message.channel?.name !== channel) return;
            seen++;
            emit({ kind: 'message', channel, from: message.src, to: message.dst, length: message.data.length, hex: toHex(message.data), text: describeBytes(message.data) });
            if (count > 0 && seen >= count) finish();
          });
          const unwatch = host.rpmsg.watch((event, device) => {
            if (device.name === channel) emit({ kind: event === 'add' ? 'channel-added' : 'channel-removed', channel, remote: device.dst });
          });
          if (!listChannels(host).some((device) => device.name === channel)) emit({ kind: 'waiting', channel });
          signal.addEventListener('abort', finish, { once: true });
        });
      }
      case 'trace': {
        const traces = session.rproc.traces.map((trace, index) => ({ name: trace.name, text: session.rproc.readTrace(index) }));
        return { traces, note: traces.length ? null : `the ${session.target} firmware has no trace buffer (its resource table has no TRACE entry)` };
      }
      case 'stats':
        return sessionStats(session, bridge);
      case 'expose': {
        if (!bridge) throw new RpmsgError('EACCES', 'this session has no bridge: start it with a configuration, e.g. npx xs-rpmsg run --bridge bridge.json (a file like {"allow": ["channel-name"]})');
        return bridgeRow(bridge.expose(String(request.channel), { socket: request.socket !== false, pty: request.pty !== false }));
      }
      case 'bridge':
        return { allowed: bridge?.allowed ?? [], exposed: bridge?.endpoints().map(bridgeRow) ?? [], dir: bridge?.dir ?? null };
      case 'stop':
        setTimeout(stop, 10);
        return { stopping: true };
      default:
        throw new RpmsgError('EINVAL', `unknown request "${String(request.verb)}" (channels, send, listen, trace, stats, expose, bridge, stop)`);
    }
  };
}

function bridgeRow(endpoint: ReturnType<RpmsgBridge['endpoints']>[number]) {
  return { channel: endpoint.channel, bound: endpoint.bound, socket: endpoint.socketPath, tty: endpoint.ptyLink, pty: endpoint.ptyPath, binds: endpoint.binds };
}
