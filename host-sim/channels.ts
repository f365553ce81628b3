/**
 * Talking to a remote's channels from a script or a test: wait for a channel to be announced,
 * open an endpoint on it (as a program opens /dev/rpmsgN), send, receive, request/reply.
 */
import { RpmsgError } from '../wire/errors.ts';
import type { LinuxHost } from './host.ts';
import { createEndpoint, destroyEndpoint, payloadBytes, sendTo, type RpmsgDevice, type RpmsgEndpoint } from './rpmsg/rpmsg-core.ts';
import { isChannel } from './bridge.ts';
import { VirtprocInfo, type RpmsgTapMessage } from './rpmsg/virtio-rpmsg-bus.ts';

/** The channel called `name` if the remote has announced it. */
export function findChannel(host: LinuxHost, name: string): RpmsgDevice | undefined {
  return host.rpmsg.devices().find((device) => isChannel(device) && device.name === name);
}

/** Every channel the remote has announced (not the bus's ctrl and name-service devices). */
export function listChannels(host: LinuxHost): RpmsgDevice[] {
  return host.rpmsg.devices().filter(isChannel);
}

/** Resolves with the channel `name` once it exists (at once if it does); ETIMEDOUT after `timeoutMs` (default 20 s). */
export function waitForChannel(host: LinuxHost, name: string, options: { timeoutMs?: number } = {}): Promise<RpmsgDevice> {
  const present = findChannel(host, name);
  if (present) return Promise.resolve(present);
  const timeoutMs = options.timeoutMs ?? 20000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unwatch();
      const known = listChannels(host).map((device) => device.name);
      reject(new RpmsgError('ETIMEDOUT', `no channel "${name}" was announced within ${timeoutMs} ms (channels now: ${known.join(', ') || 'none'}); check the app creates an endpoint with that name`));
    }, timeoutMs);
    const unwatch = host.rpmsg.watch((event, device) => {
      if (event !== 'add' || !isChannel(device) || device.name !== name) return;
      clearTimeout(timer);
      unwatch();
      resolve(device);
    });
  });
}

/** One message a channel endpoint received. */
export interface ChannelMessage {
  data: Uint8Array;
  /** The sender's address on the remote. */
  src: number;
}

/**
 * An endpoint of ours on a channel (RPMSG_CREATE_EPT_IOCTL {src: ANY, dst: the channel's}):
 * send() goes to the channel's remote address, receive() yields what the remote sends to us.
 */
export class ChannelEndpoint {
  private readonly ept: RpmsgEndpoint;
  private readonly queue: ChannelMessage[] = [];
  private readonly waiting: ((message: ChannelMessage | null) => void)[] = [];
  private readonly unwatch: () => void;
  private gone = false;

  constructor(host: LinuxHost, readonly device: RpmsgDevice) {
    this.ept = createEndpoint(device, (_device, data, src) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter({ data, src });
      else this.queue.push({ data, src });
    });
    this.unwatch = host.rpmsg.watch((event, removed) => {
      if (event === 'remove' && removed === device) this.close();
    });
  }

  /** Our local address. */
  get address(): number {
    return this.ept.addr;
  }

  /** False once closed or once the channel went away. */
  get open(): boolean {
    return !this.gone;
  }

  /** A blocking send (rpmsg_sendto) of text (Latin-1) or bytes; EPIPE once the channel is gone. */
  async send(data: Uint8Array | string): Promise<void> {
    if (this.gone) throw new RpmsgError('EPIPE', `channel ${this.device.name} is gone (removed by the remote, or closed here)`);
    await sendTo(this.ept, payloadBytes(data), this.device.dst);
  }

  /** The next message; ETIMEDOUT after `timeoutMs` (default 5 s), EPIPE if the channel goes away. */
  receive(options: { timeoutMs?: number } = {}): Promise<ChannelMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.gone) return Promise.reject(new RpmsgError('EPIPE', `channel ${this.device.name} is gone`));
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const waiter = (message: ChannelMessage | null) => {
        clearTimeout(timer);
        if (message) resolve(message);
        else reject(new RpmsgError('EPIPE', `channel ${this.device.name} went away while waiting for a message`));
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new RpmsgError('ETIMEDOUT', `no message on ${this.device.name} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.push(waiter);
    });
  }

  /** Send `data` and resolve with the first message that comes back. */
  async request(data: Uint8Array | string, options: { timeoutMs?: number } = {}): Promise<Uint8Array> {
    this.queue.length = 0;
    await this.send(data);
    return (await this.receive(options)).data;
  }

  /** Destroy the endpoint. Idempotent. */
  close(): void {
    if (this.gone) return;
    this.gone = true;
    this.unwatch();
    destroyEndpoint(this.ept);
    for (const waiter of this.waiting.splice(0)) waiter(null);
  }
}

/** Wait for channel `name`, then open an endpoint on it. */
export async function openChannel(host: LinuxHost, name: string, options: { timeoutMs?: number } = {}): Promise<ChannelEndpoint> {
  return new ChannelEndpoint(host, await waitForChannel(host, name, options));
}

/** One request/reply on channel `name`: open an endpoint, send, await the first reply, close. */
export async function request(host: LinuxHost, name: string, data: Uint8Array | string, options: { timeoutMs?: number } = {}): Promise<Uint8Array> {
  const endpoint = await openChannel(host, name, options);
  try {
    return await endpoint.request(data, options);
  } finally {
    endpoint.close();
  }
}

/** A message seen by tapMessages, with the channel it belongs to (by the remote address), if any. */
export interface TappedMessage extends RpmsgTapMessage {
  /** The channel whose remote address sent ('rx') or receives ('tx') it, if one does. */
  channel: RpmsgDevice | null;
}

/** See every rpmsg message between host and remote (both directions, every bus, also after recovery). Returns the untap function. */
export function tapMessages(host: LinuxHost, listener: (message: TappedMessage) => void): () => void {
  const tapped = new Set<VirtprocInfo>();
  const tap = (message: RpmsgTapMessage, transport: VirtprocInfo) => {
    const remote = message.direction === 'rx' ? message.src : message.dst;
    const channel = host.rpmsg.devices().find((device) => device.transport === transport && isChannel(device) && device.dst === remote) ?? null;
    listener({ ...message, channel });
  };
  const taps = new Map<VirtprocInfo, (message: RpmsgTapMessage) => void>();
  const add = (transport: unknown) => {
    if (!(transport instanceof VirtprocInfo) || tapped.has(transport)) return;
    tapped.add(transport);
    const bound = (message: RpmsgTapMessage) => tap(message, transport);
    taps.set(transport, bound);
    transport.taps.add(bound);
  };
  for (const device of host.rpmsg.devices()) add(device.transport);
  const unwatch = host.rpmsg.watch((event, device) => {
    if (event === 'add') add(device.transport);
  });
  return () => {
    unwatch();
    for (const [transport, bound] of taps) transport.taps.delete(bound);
  };
}
