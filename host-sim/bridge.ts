/**
 * The userland bridge: chosen channels of the simulated host as local endpoints that any
 * program can open, in the manner of Linux's rpmsg_char and rpmsg_tty.
 *
 * - A UNIX SOCK_SEQPACKET socket per exposed channel: each connection is one endpoint, as one
 *   open of a /dev/rpmsgN made with RPMSG_CREATE_EPT_IOCTL {name, src: ANY, dst: the channel's
 *   remote address}; one packet = one message each way, at most 496 bytes.
 * - A pseudo-terminal per exposed channel, as /dev/ttyRPMSGN: what a program writes is sent in
 *   chunks of up to 496 bytes; what the remote sends is written to the terminal.
 * Only channels on the allowlist (a configuration file) can be exposed; others get EACCES.
 * When the channel (or the whole remote) goes away, connections are shut down (readers see end
 * of file, writers EPIPE), the socket file is removed and the terminal hangs up; when a channel
 * of that name comes back, the bridge binds it again at the same socket path and terminal link.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCounters, RpmsgError } from '../wire/errors.ts';
import { RPMSG_MTU } from '../wire/rpmsg.ts';
import { RPMSG_NAME_SIZE } from '../wire/name-service.ts';
import type { LinuxHost } from './host.ts';
import { bridgeNative, DISCONNECT, READABLE, WRITABLE, type BridgeNative, type PollHandle } from './native/bridge-native.ts';
import { createEndpoint, destroyEndpoint, sendTo, type RpmsgDevice, type RpmsgEndpoint } from './rpmsg/rpmsg-core.ts';
import { VirtprocInfo } from './rpmsg/virtio-rpmsg-bus.ts';

/** The bridge's configuration file (JSON). */
export interface BridgeConfig {
  /** Channel names that may be exposed; everything else is refused. */
  allow: string[];
  /** Channels to expose as soon as the bridge starts (each must be allowed). Default: none. */
  expose?: { channel: string; socket?: boolean; pty?: boolean }[];
}

/** Read and check a bridge configuration file; EINVAL names the file and the field. */
export function readBridgeConfig(path: string): BridgeConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'ENOENT' : 'EINVAL';
    throw new RpmsgError(code, `bridge configuration ${path}: ${(error as Error).message}`);
  }
  return checkBridgeConfig(parsed, path);
}

/** Check a configuration object (as read from `origin`). */
export function checkBridgeConfig(value: unknown, origin = 'the bridge configuration'): BridgeConfig {
  const bad = (what: string) => new RpmsgError('EINVAL', `${origin}: ${what}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('must be a JSON object like {"allow": ["channel-name"]}');
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) if (key !== 'allow' && key !== 'expose' && key !== '$comment') throw bad(`unknown field "${key}" (allow, expose)`);
  if (!Array.isArray(object.allow)) throw bad('"allow" must be an array of channel names');
  for (const name of object.allow) {
    if (typeof name !== 'string' || name.length === 0 || name.length >= RPMSG_NAME_SIZE) throw bad(`"allow" entry ${JSON.stringify(name)} is not a channel name (1..${RPMSG_NAME_SIZE - 1} characters)`);
  }
  const expose: NonNullable<BridgeConfig['expose']> = [];
  if (object.expose !== undefined) {
    if (!Array.isArray(object.expose)) throw bad('"expose" must be an array of {"channel": name, "socket": bool, "pty": bool}');
    for (const entry of object.expose) {
      const e = entry as Record<string, unknown>;
      if (typeof e !== 'object' || e === null || typeof e.channel !== 'string') throw bad(`"expose" entry ${JSON.stringify(entry)} needs a "channel"`);
      if (!(object.allow as string[]).includes(e.channel)) throw bad(`"expose" names ${e.channel}, which is not in "allow"`);
      expose.push({ channel: e.channel, socket: e.socket !== false, pty: e.pty !== false });
    }
  }
  return { allow: [...(object.allow as string[])], expose };
}

/** Options of a bridge. */
export interface BridgeOptions {
  /** The allowlist and the channels to expose at once. */
  config: BridgeConfig;
  /** Where the configuration came from (named in refusals). */
  configPath?: string;
  /** Folder of the sockets and terminal links (created; removed by close()). */
  dir: string;
}

/** What expose() asks for. */
export interface ExposeOptions {
  /** A SOCK_SEQPACKET socket (default true). */
  socket?: boolean;
  /** A pseudo-terminal (default true). */
  pty?: boolean;
}

/** Messages queued for a slow reader before the bridge refuses more (each refusal is logged and counted). */
const QUEUE_LIMIT = 256;

/** One exposed channel. */
export class BridgeEndpoint {
  /** The SOCK_SEQPACKET socket path (exists while bound), or null if no socket was asked for. */
  readonly socketPath: string | null;
  /** A symbolic link to the current pseudo-terminal (exists while bound), or null. */
  readonly ptyLink: string | null;
  /** The current terminal (/dev/pts/N) while bound. */
  ptyPath: string | null = null;
  /** The channel it is bound to, or null while the channel is absent. */
  device: RpmsgDevice | null = null;
  /** How many times it was bound (1 after the first channel, 2 after the remote came back, ...). */
  binds = 0;
  private listener: { fd: number; poll: PollHandle } | null = null;
  private readonly connections = new Set<Connection>();
  private pty: Connection | null = null;

  constructor(
    private readonly bridge: RpmsgBridge,
    readonly channel: string,
    readonly options: Required<ExposeOptions>,
    index: number,
  ) {
    const base = `${index}-${channel.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    this.socketPath = options.socket ? join(bridge.dir, `rpmsg-${base}.sock`) : null;
    this.ptyLink = options.pty ? join(bridge.dir, `ttyRPMSG-${base}`) : null;
  }

  /** True while the channel exists and the endpoint is usable. */
  get bound(): boolean {
    return this.device !== null;
  }

  /** Connected socket clients. */
  get clients(): number {
    return this.connections.size;
  }

  /** @internal the channel appeared: listen, open the terminal. */
  bind(device: RpmsgDevice): void {
    if (this.device) return;
    const native = this.bridge.native;
    this.device = device;
    this.binds++;
    if (this.socketPath) {
      if (existsSync(this.socketPath)) unlinkSync(this.socketPath);
      const fd = native.seqpacketListen(this.socketPath);
      const poll = native.poll(fd, READABLE, () => this.acceptAll());
      this.listener = { fd, poll };
    }
    if (this.ptyLink) {
      const pty = native.openpty();
      this.ptyPath = pty.path;
      this.pty = new Connection(this, pty.master, false, pty.slave);
      if (isLink(this.ptyLink) || existsSync(this.ptyLink)) unlinkSync(this.ptyLink);
      symlinkSync(pty.path, this.ptyLink);
    }
    this.bridge.note(`bound ${this.channel} (addr 0x${device.dst.toString(16)})${this.socketPath ? ` socket ${this.socketPath}` : ''}${this.ptyPath ? ` tty ${this.ptyPath}` : ''}`);
  }

  /** @internal the channel went away (or the bridge closes): EPIPE for everyone, terminal hung up. */
  unbind(reason: string): void {
    if (!this.device) return;
    this.device = null;
    for (const connection of [...this.connections]) connection.hangUp();
    this.pty?.hangUp();
    this.pty = null;
    this.ptyPath = null;
    if (this.listener) {
      this.bridge.native.pollStop(this.listener.poll);
      this.bridge.native.close(this.listener.fd);
      this.listener = null;
    }
    for (const path of [this.socketPath, this.ptyLink]) {
      if (path && (existsSync(path) || isLink(path))) unlinkSync(path);
    }
    this.bridge.note(`unbound ${this.channel}: ${reason}`);
  }

  private acceptAll(): void {
    if (!this.listener || !this.device) return;
    for (;;) {
      const fd = this.bridge.native.accept(this.listener.fd);
      if (fd < 0) return;
      this.connections.add(new Connection(this, fd, true, null));
    }
  }

  /** @internal */
  forget(connection: Connection): void {
    this.connections.delete(connection);
  }

  /** @internal */
  get native(): BridgeNative {
    return this.bridge.native;
  }

  /** @internal */
  get counters(): ErrorCounters {
    return this.bridge.errors;
  }
}

/** True if `path` is a symbolic link (dangling or not). */
function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** One socket connection (its own rpmsg endpoint) or the terminal of an exposed channel. */
class Connection {
  private readonly ept: RpmsgEndpoint;
  private readonly poll: PollHandle;
  private readonly outgoing: Uint8Array[] = [];
  private sending: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private closed = false;
  /** The program hung up (EPOLLRDHUP): a read of 0 bytes is then end of file, not an empty packet. */
  private peerClosed = false;

  constructor(
    private readonly owner: BridgeEndpoint,
    private readonly fd: number,
    private readonly isSocket: boolean,
    /** The terminal's slave side, kept open by us (terminals only). */
    private readonly slave: number | null,
  ) {
    const native = owner.native;
    this.ept = createEndpoint(owner.device!, (_device, data) => this.deliver(data));
    this.poll = native.poll(fd, this.pollFlags(), (flags) => this.ready(flags));
  }

  private get native(): BridgeNative {
    return this.owner.native;
  }

  private what(): string {
    return this.isSocket ? `${this.owner.socketPath} (endpoint 0x${this.ept.addr.toString(16)})` : `${this.owner.ptyPath}`;
  }

  /** A message from the remote: one packet (or terminal bytes); queued while the reader is slow. */
  private deliver(data: Uint8Array): void {
    if (this.closed) return;
    if (this.outgoing.length >= QUEUE_LIMIT) {
      this.owner.counters.record('bridge-reader-slow', new RpmsgError('ENOBUFS', `${this.what()}: ${QUEUE_LIMIT} messages wait for a reader that does not read; this one is dropped`));
      return;
    }
    this.outgoing.push(data);
    this.flush();
  }

  private flush(): void {
    while (this.outgoing.length > 0 && !this.closed) {
      const data = this.outgoing[0];
      try {
        const written = this.native.write(this.fd, data, this.isSocket);
        if (!this.isSocket && written < data.length) {
          this.outgoing[0] = data.subarray(written);
          break;
        }
        this.outgoing.shift();
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'EAGAIN') break;
        this.close();
        return;
      }
    }
    if (!this.closed) this.native.pollUpdate(this.poll, this.pollFlags());
  }

  /** Readable unless 16 sends are in flight (the writer is slowed, not dropped); writable while messages wait. */
  private pollFlags(): number {
    return (this.inFlight < 16 ? READABLE : 0) | (this.outgoing.length > 0 ? WRITABLE : 0) | (this.isSocket ? DISCONNECT : 0);
  }

  private ready(flags: number): void {
    if (this.closed) return;
    if (flags < 0) {
      this.close();
      return;
    }
    if (flags & DISCONNECT) this.peerClosed = true;
    if (flags & WRITABLE) this.flush();
    if (flags & (READABLE | DISCONNECT)) this.readAll();
  }

  private readAll(): void {
    while (!this.closed && this.inFlight < 16) {
      const data = this.native.read(this.fd, 65536);
      if (data === null) break;
      if (data === false) {
        if (!this.isSocket) break; // terminals: no reader left; we keep the slave open, so this is transient
        if (this.peerClosed) {
          this.close(); // end of file: the program closed its socket
          return;
        }
        this.transmit(new Uint8Array(0)); // a zero-length packet: an empty rpmsg message
        break; // wait for the next readiness: a hang-up then comes with DISCONNECT
      }
      if (this.isSocket && data.length > RPMSG_MTU) {
        this.owner.counters.record('bridge-message-too-big', new RpmsgError('EMSGSIZE', `${this.what()}: a ${data.length}-byte packet was refused; one rpmsg message holds at most ${RPMSG_MTU} bytes`));
        continue;
      }
      for (let at = 0; at < data.length; at += RPMSG_MTU) this.transmit(new Uint8Array(data.subarray(at, at + RPMSG_MTU)));
    }
    if (!this.closed) this.native.pollUpdate(this.poll, this.pollFlags());
  }

  /** Blocking sends (as write() on /dev/rpmsgN), in order. */
  private transmit(data: Uint8Array): void {
    const device = this.owner.device;
    if (!device) return;
    this.inFlight++;
    this.sending = this.sending.then(async () => {
      try {
        if (!this.closed) await sendTo(this.ept, data, device.dst);
      } catch (error) {
        this.owner.counters.record('bridge-send-failed', error instanceof RpmsgError ? error : new RpmsgError('EIO', (error as Error).message));
      } finally {
        this.inFlight--;
        if (!this.closed && this.inFlight < 16) this.readAll();
      }
    });
  }

  /** The channel is gone: the program reads end of file, its writes fail with EPIPE (terminal: hung up). */
  hangUp(): void {
    if (this.closed) return;
    if (this.isSocket) this.native.shutdown(this.fd);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    destroyEndpoint(this.ept);
    this.native.pollStop(this.poll);
    this.native.close(this.fd);
    if (this.slave !== null) this.native.close(this.slave);
    this.owner.forget(this);
  }
}

/** The bridge of one host: expose() allowlisted channels; close() removes everything it made. */
export class RpmsgBridge {
  /** Refusals (too-big packets, slow readers, failed sends), by reason. */
  readonly errors = new ErrorCounters();
  /** What happened (bound/unbound), newest last. */
  readonly events: string[] = [];
  /** Sees each event line as it happens. */
  onEvent: ((line: string) => void) | null = null;
  readonly dir: string;
  /** @internal */
  readonly native: BridgeNative;
  private readonly exposed: BridgeEndpoint[] = [];
  private readonly unwatch: () => void;
  private closed = false;

  constructor(private readonly host: LinuxHost, private readonly options: BridgeOptions) {
    this.native = bridgeNative();
    this.dir = options.dir;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.unwatch = host.rpmsg.watch((event, device) => {
      if (!isChannel(device)) return;
      for (const endpoint of this.exposed) {
        if (endpoint.channel !== device.name) continue;
        if (event === 'add') endpoint.bind(device);
        else if (endpoint.device === device) endpoint.unbind('the channel was removed (the remote closed it, stopped or crashed)');
      }
    });
    for (const entry of options.config.expose ?? []) this.expose(entry.channel, entry);
  }

  /** The allowlist. */
  get allowed(): readonly string[] {
    return this.options.config.allow;
  }

  /**
   * Expose `channel` (RPMSG_CREATE_EPT_IOCTL's role): EACCES unless it is on the allowlist.
   * Binds now if the channel exists, else as soon as it appears. Exposing it again returns the
   * existing endpoint.
   */
  expose(channel: string, options: ExposeOptions = {}): BridgeEndpoint {
    if (this.closed) throw new RpmsgError('ENODEV', 'the bridge is closed');
    if (!this.options.config.allow.includes(channel)) {
      const where = this.options.configPath ? ` in ${this.options.configPath}` : '';
      throw new RpmsgError('EACCES', `channel "${channel}" is not on the bridge's allowlist${where} (allowed: ${this.options.config.allow.join(', ') || 'none'}); add it to "allow"${where} to expose it`);
    }
    const existing = this.exposed.find((endpoint) => endpoint.channel === channel);
    if (existing) return existing;
    const endpoint = new BridgeEndpoint(this, channel, { socket: options.socket ?? true, pty: options.pty ?? true }, this.exposed.length);
    this.exposed.push(endpoint);
    const device = this.host.rpmsg.devices().find((candidate) => isChannel(candidate) && candidate.name === channel);
    if (device) endpoint.bind(device);
    else this.note(`${channel} is exposed; it binds when the remote announces it`);
    return endpoint;
  }

  /** Every exposed channel. */
  endpoints(): readonly BridgeEndpoint[] {
    return this.exposed;
  }

  /** @internal */
  note(line: string): void {
    this.events.push(line);
    this.onEvent?.(line);
  }

  /** Hang everything up and remove the folder. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch();
    for (const endpoint of this.exposed) endpoint.unbind('the bridge closed');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A channel a program may talk to: one of a virtio rpmsg bus, not its ctrl or name-service device. */
export function isChannel(device: RpmsgDevice): boolean {
  return device.transport instanceof VirtprocInfo && device.driverOverride === null;
}
