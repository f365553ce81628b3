/** The remote runtime: boots the virtio transport, runs the rpmsg device, and hosts the app. */
import { ErrorCounters, RpmsgError } from '../../wire/errors.ts';
import { SharedMemory, integerIfExact } from '../../wire/shared-memory.ts';
import type { Endpoint, EndpointOptions } from './rpmsg/endpoint.ts';
import type { NameServiceListener } from './rpmsg/name-service.ts';
import type { Platform, VhostUserDeviceInfo } from './platform.ts';
import { RemoteprocTransport } from './virtio/remoteproc-transport.ts';
import { RpmsgVirtio, type RpmsgStatistics } from './rpmsg/rpmsg-virtio.ts';
import type { DeviceConfiguration } from './virtio/device-configuration.ts';
import { vhostUserConfiguration } from './virtio/vhost-user-transport.ts';
import { TraceBuffer } from './trace-buffer.ts';
import type { AppCallback, AppException } from './app-errors.ts';
import { VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_NEEDS_RESET } from '../../resource-table/layout.ts';

/** Tuning a target or app may pass to startRuntime. */
export interface RuntimeOptions {
  /** Status poll period while waiting for DRIVER_OK, ms (OpenAMP hosts do not kick). */
  pollWhileWaiting?: number;
  /** Status poll period once running, to notice a host reset, ms. */
  pollWhileRunning?: number;
}

/** What an app sees: endpoints, a console that also feeds the trace buffer, and state. */
export interface Rpmsg {
  /** Create an endpoint; a named one is announced to the host. */
  createEndpoint(options: EndpointOptions): Endpoint;
  /** Log a line to the console and the trace buffer. */
  log(text: string): void;
  /** True while the host has the device running (DRIVER_OK). */
  readonly hostReady: boolean;
  /** Called when the host sets DRIVER_OK, and again after each host reset. */
  onHostReady: (() => void) | null;
  /** Called when the host resets the device (any status without DRIVER_OK, NEEDS_RESET, rings set up afresh) or goes away. */
  onHostReset: (() => void) | null;
  /** Called for name-service announcements the host makes. */
  onNameService: NameServiceListener | null;
  /**
   * App-wide handler of exceptions that escaped an app callback and that no endpoint onError took
   * (timers included: with a handler set, a throwing timer no longer stops the firmware). See
   * app-errors.ts; every such exception is also logged with its stack and counted in statistics.appErrors.
   */
  onError: ((error: AppException) => void) | null;
  /** Stop taking messages from the host (they wait in vring 1), or start again. */
  pauseReceive(paused: boolean): void;
  /** Message counts. */
  readonly statistics: RpmsgStatistics;
  /** Refused inputs from the host, by reason. */
  readonly errors: ErrorCounters;
}

/** An app is a function that receives the runtime once at boot. */
export type App = (rpmsg: Rpmsg) => void;

/** The running runtime (also the object apps get). */
export class Runtime implements Rpmsg {
  // Fields read at every service pass first (XS looks properties up in creation order).
  private stopped = false;
  /** The resource-table transport, or null on vhost-user (the C layer pushes device events). */
  private readonly transport: RemoteprocTransport | null;
  readonly device: RpmsgVirtio;
  /** The status byte of the resource table's vdev, as bytes[statusOffset] (read at every pass without a call). */
  private readonly statusBytes: Uint8Array;
  private readonly statusOffset: number;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  /** device.attached when the poll timer was (re)started: its period follows that state. */
  private pollAttached = false;
  readonly errors = new ErrorCounters();
  /** The shared window (vhost-user: the region of the current device, empty until one is ready). */
  memory: SharedMemory;
  onHostReady: (() => void) | null = null;
  onHostReset: (() => void) | null = null;
  private readonly platform: Platform;
  private readonly trace: TraceBuffer | null;
  private readonly options: Required<RuntimeOptions>;
  private pollPeriod = 0;
  /** The host's vring configuration was refused; not read again until the host resets (status 0). */
  private configurationRefused = false;
  /** The app's onNameService (the name service gets it wrapped, so an exception is the app's). */
  private nameServiceListener: NameServiceListener | null = null;

  constructor(platform: Platform, options: RuntimeOptions = {}) {
    this.platform = platform;
    this.options = { pollWhileWaiting: options.pollWhileWaiting ?? 1, pollWhileRunning: options.pollWhileRunning ?? 20 };
    if (platform.transport === 'vhost-user') {
      this.memory = new SharedMemory(new ArrayBuffer(0), 0);
      this.transport = null;
      this.trace = null;
      this.statusBytes = new Uint8Array(0);
      this.statusOffset = 0;
      platform.onDeviceReady = (info) => this.vhostUserReady(info);
      platform.onDeviceReset = (reason) => this.hostGone(`vhost-user device reset (${reason})`);
    } else {
      this.memory = new SharedMemory(platform.memory, platform.memoryBase);
      this.transport = new RemoteprocTransport(this.memory, integerIfExact(platform.resourceTableOffset), this.errors);
      this.statusBytes = this.memory.bytes;
      this.statusOffset = this.transport.statusOffset;
      const trace = this.transport.trace;
      this.trace = trace === null ? null : new TraceBuffer(this.memory.bytes, trace.offset, trace.length);
    }
    this.device = new RpmsgVirtio(this.memory, platform, this.errors);
    this.device.log = (text) => this.log(text);
    this.device.watchHost = () => this.watchHost();
    // A doorbell goes to the device's one-pass path; it hands anything unusual (detached, status
    // changed) to this.service, the full pass. One JS call per doorbell.
    this.device.fullPass = this.service;
    platform.onNotify = this.device.doorbell;
  }

  private vhostUserReady(info: VhostUserDeviceInfo): void {
    if (this.device.attached) this.hostGone('vhost-user device replaced');
    try {
      const { config, memory } = vhostUserConfiguration(info, this.errors);
      this.memory = memory;
      this.hostArrived(config, memory);
    } catch (error) {
      this.log(`xs-rpmsg: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private hostArrived(config: DeviceConfiguration, memory: SharedMemory): void {
    this.device.attach(config, memory, this.transport === null ? -1 : this.statusOffset);
    this.log(`xs-rpmsg: host ready (features 0x${config.features.toString(16)}, vrings ${config.transmit.num}/${config.receive.num})`);
    if (this.onHostReady) this.callApp('onHostReady', this.onHostReady);
  }

  private hostGone(why: string): void {
    if (!this.device.attached) return;
    this.device.detach();
    this.log(`xs-rpmsg: ${why}; waiting for the host again`);
    if (this.onHostReset) this.callApp('onHostReset', this.onHostReset);
  }

  /** Call a runtime-wide app callback; an exception is the app's (reported, counted, delivered to onError). */
  private callApp(callback: AppCallback, call: () => void): void {
    try {
      call();
    } catch (error) {
      this.device.appErrors.exception(error, { callback, endpoint: null });
    }
  }

  get onError(): ((error: AppException) => void) | null {
    return this.device.appErrors.onError;
  }

  set onError(handler: ((error: AppException) => void) | null) {
    this.device.appErrors.onError = handler;
  }

  /**
   * Report and count exceptions escaping the app's timers too (the entry scripts call this with
   * the firmware's global object; not done for a runtime hosted directly in Node).
   */
  catchTimerExceptions(global: { setTimeout: unknown; setInterval: unknown }): void {
    this.device.appErrors.wrapTimers(global);
  }

  get hostReady(): boolean {
    return this.device.attached;
  }

  get statistics(): RpmsgStatistics {
    return this.device.statistics;
  }

  get onNameService(): NameServiceListener | null {
    return this.nameServiceListener;
  }

  set onNameService(listener: NameServiceListener | null) {
    this.nameServiceListener = listener;
    this.device.nameService.onNameService = listener === null ? null : (name, address, destroyed) => {
      this.callApp('onNameService', () => listener(name, address, destroyed));
    };
  }

  createEndpoint(options: EndpointOptions): Endpoint {
    return this.device.createEndpoint(options);
  }

  pauseReceive(paused: boolean): void {
    this.device.receivePaused = paused;
    if (!paused) this.service();
  }

  log(text: string): void {
    this.platform.log(text);
    if (this.trace !== null) this.trace.writeLine(text);
  }

  /** Start watching the status byte. */
  start(): void {
    this.log('xs-rpmsg: remote up, waiting for the host (DRIVER_OK)');
    this.service();
  }

  /** Stop timers (the firmware is going down). */
  stop(): void {
    this.stopped = true;
    this.platform.onNotify = this.service; // which does nothing once stopped
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  /**
   * The full pass: status (attach, detach), then both vrings. Never re-entered. The usual doorbell
   * skips it (device.doorbell reads the status byte itself); this runs for a doorbell while
   * detached or after a status change, from the poll timer, start() and pauseReceive(false).
   */
  readonly service = (): void => {
    if (this.stopped) return;
    const device = this.device;
    // The usual pass (attached, DRIVER_OK still set) reads the status byte only, with no call and no
    // try (device.service() catches what it must); checkStatus() handles any change.
    // (NEEDS_RESET with DRIVER_OK still set is seen by the poll's watchHost.)
    if (this.transport !== null && !(device.attached && (this.statusBytes[this.statusOffset] & VIRTIO_CONFIG_S_DRIVER_OK) !== 0)) {
      try {
        this.checkStatus();
      } catch (error) {
        this.log(`xs-rpmsg: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    device.service();
    // The poll timer's period follows attached/detached; both change only in a full pass (or in hostGone, which the poll's pass follows).
    if (this.pollTimer === null || this.pollAttached !== device.attached) this.schedulePoll();
  };

  /**
   * React to the status byte. While attached, any status without DRIVER_OK is a reset: Linux's
   * virtio_dev_remove writes 0 and at once ACKNOWLEDGE (1), so the 0 alone is rarely seen. An
   * OpenAMP host writes NEEDS_RESET (0x40) and waits for the device to write 0.
   */
  private checkStatus(): void {
    const transport = this.transport;
    if (transport === null) return;
    const status = transport.status();
    if ((status & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0) {
      transport.acknowledgeReset();
      this.configurationRefused = false;
      this.hostGone(`host asked for a reset (status 0x${status.toString(16)}, NEEDS_RESET; answered with 0)`);
      return;
    }
    if ((status & VIRTIO_CONFIG_S_DRIVER_OK) === 0) {
      this.configurationRefused = false; // the host starts over: its next configuration is read afresh
      this.hostGone(status === 0 ? 'host reset the device (status 0)' : `host reset the device (status 0x${status.toString(16)}, no DRIVER_OK)`);
      return;
    }
    if (this.device.attached || this.configurationRefused) return;
    let config: ReturnType<RemoteprocTransport['configuration']>;
    try {
      config = transport.configuration();
    } catch (error) {
      // Refuse once (logged and counted by the caller), not at every poll.
      this.configurationRefused = true;
      throw error;
    }
    this.hostArrived(config, this.memory);
  }

  /**
   * While a send blocks, and at every poll: has the host gone (reset status, rings set up afresh)?
   * Detaches if so; never attaches (that waits for the event loop).
   */
  private watchHost(): void {
    const device = this.device;
    if (!device.attached) return;
    const transport = this.transport;
    if (transport !== null) {
      const status = transport.status();
      if ((status & VIRTIO_CONFIG_S_DRIVER_OK) === 0 || (status & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0) {
        this.checkStatus();
        return;
      }
    }
    if (device.ringsReinitialised()) this.hostGone('host set the vrings up afresh without a reset the remote saw (status still DRIVER_OK)');
  }

  /** The poll timer: watch for a silent re-initialisation of the rings, then an ordinary pass. */
  private readonly poll = (): void => {
    if (this.stopped) return;
    try {
      this.watchHost();
    } catch (error) {
      this.log(`xs-rpmsg: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.service();
  };

  /** Keep one interval timer at the period for the current state (no timer work per message). */
  private schedulePoll(): void {
    if (this.stopped || this.transport === null) return;
    this.pollAttached = this.device.attached;
    const period = this.pollAttached ? this.options.pollWhileRunning : this.options.pollWhileWaiting;
    if (this.pollTimer !== null && period === this.pollPeriod) return;
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.pollPeriod = period;
    this.pollTimer = setInterval(this.poll, period);
  }
}

/** Boot the runtime on `platform` and hand it to `app`. */
export function startRuntime(platform: Platform, app: App, options?: RuntimeOptions): Runtime {
  const runtime = new Runtime(platform, options);
  app(runtime);
  runtime.start();
  return runtime;
}

/** What a bundled firmware's entry hands to bootFirmware: the app module (its default export, its runtimeOptions). */
export interface AppModule {
  default: App;
  runtimeOptions?: RuntimeOptions;
}

/**
 * The steps of a bundled firmware's entry (firmware/platform/xs/xs-entry.ts, in-process/vm-entry.ts):
 * the runtime on `platform`, timer exceptions caught, the app, then start. A runtime that cannot
 * start (a malformed own resource table, e.g. a host scribbled on it before we booted) is refused
 * with a line and exit status 1, not a crash. `started` sees the runtime before the app does.
 */
export function bootFirmware(platform: Platform, appModule: AppModule, started?: (runtime: Runtime) => void): Runtime | null {
  let runtime: Runtime;
  try {
    runtime = new Runtime(platform, appModule.runtimeOptions);
  } catch (error) {
    platform.log(`xs-rpmsg: cannot start: ${error instanceof Error ? error.message : String(error)}; exiting`);
    platform.exit(1);
    return null;
  }
  if (started) started(runtime);
  runtime.catchTimerExceptions(globalThis);
  appModule.default(runtime);
  runtime.start();
  return runtime;
}

export { RpmsgError };
export { AppException } from './app-errors.ts';
