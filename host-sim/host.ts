/** The simulated Linux host: kernel log, virtio bus, rpmsg bus with virtio_rpmsg_bus and rpmsg_ns, remote processors. */
import { HostLog, type LogLine } from './log.ts';
import { Rproc, type RprocOptions } from './remoteproc/remoteproc-core.ts';
import { RpmsgBus } from './rpmsg/rpmsg-core.ts';
import { RpmsgChar } from './rpmsg/rpmsg-char.ts';
import { rpmsgNsDriver } from './rpmsg/rpmsg-ns.ts';
import { DEFAULT_TX_TIMEOUT_MS, VirtprocInfo, virtioRpmsgDriver } from './rpmsg/virtio-rpmsg-bus.ts';
import { VirtioBus } from './virtio/virtio.ts';

/** Host-wide settings. */
export interface LinuxHostOptions {
  /** How long blocking sends wait for a TX buffer before ERESTARTSYS. Default 15000 ms, as Linux. */
  txTimeoutMs?: number;
  /** Register a "virtio<N>.rpmsg_ctrl.0.0" device per rpmsg bus (CONFIG_RPMSG_CTRL). Default true. */
  rpmsgCtrl?: boolean;
  /** Load rpmsg_char and rpmsg_ctrl (/dev/rpmsg_ctrlN, /dev/rpmsgN, "rpmsg-raw" channels). Default true. */
  rpmsgChar?: boolean;
  /** Sees every kernel log line (e.g. print to the console). */
  logSink?: (line: LogLine) => void;
}

/** One simulated kernel: create it, register rpmsg drivers on `rpmsg`, add remote processors, boot them. */
export class LinuxHost {
  readonly log: HostLog;
  readonly virtio: VirtioBus;
  readonly rpmsg: RpmsgBus;
  readonly rprocs: Rproc[] = [];
  /** /dev/rpmsg_ctrlN and /dev/rpmsgN. */
  readonly rpmsgChar: RpmsgChar;

  constructor(options: LinuxHostOptions = {}) {
    this.log = new HostLog(options.logSink ?? null);
    this.virtio = new VirtioBus(this.log);
    this.rpmsg = new RpmsgBus(this.log);
    this.rpmsg.registerRpmsgDriver(rpmsgNsDriver(this.log));
    this.rpmsgChar = new RpmsgChar(this.log);
    if (options.rpmsgChar ?? true) this.rpmsgChar.register(this.rpmsg);
    this.virtioRpmsgDriver = virtioRpmsgDriver(this.rpmsg, this.log, { txTimeoutMs: options.txTimeoutMs ?? DEFAULT_TX_TIMEOUT_MS, rpmsgCtrl: options.rpmsgCtrl ?? true });
    this.virtio.registerDriver(this.virtioRpmsgDriver);
  }

  /** virtio_rpmsg_bus as registered on the virtio bus. */
  private readonly virtioRpmsgDriver: ReturnType<typeof virtioRpmsgDriver>;

  /**
   * rmmod virtio_rpmsg_bus (or unbind through sysfs): virtio_dev_remove on each of its devices
   * (the driver resets the device, status 0, then ACKNOWLEDGE at once), channels removed.
   */
  unbindVirtioRpmsg(): void {
    this.virtio.unregisterDriver(this.virtioRpmsgDriver);
  }

  /** insmod virtio_rpmsg_bus (or bind): probes every unbound rpmsg virtio device again, rings set up afresh. */
  bindVirtioRpmsg(): void {
    this.virtio.registerDriver(this.virtioRpmsgDriver);
  }

  /** The rpmsg buses (with their statistics and endpoints) of `rproc`'s registered virtio devices. */
  rpmsgTransports(rproc: Rproc): VirtprocInfo[] {
    return rproc.virtioDevices.map((vdev) => vdev.priv).filter((priv): priv is VirtprocInfo => priv instanceof VirtprocInfo);
  }

  /** rproc_alloc + rproc_add: a remote processor driven through `options.ops`. */
  addRproc(options: RprocOptions): Rproc {
    const rproc = new Rproc(this.log, this.virtio, options, this.rprocs.length);
    this.rprocs.push(rproc);
    return rproc;
  }
}
