/** The virtio core (drivers/virtio/virtio.c): device numbering, status handshake, legacy feature negotiation, driver binding. */
import { RpmsgError, type ErrorCounters } from '../../wire/errors.ts';
import type { SharedMemory } from '../../wire/shared-memory.ts';
import { VIRTIO_RING_F_EVENT_IDX } from '../../wire/vring.ts';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FAILED,
} from '../../resource-table/layout.ts';
import type { HostLog } from '../log.ts';
import type { Virtqueue } from './virtqueue.ts';

/** VIRTIO_RING_F_INDIRECT_DESC: a transport bit Linux keeps if offered (rpmsg never uses it). */
export const VIRTIO_RING_F_INDIRECT_DESC = 28;
/** Transport feature bits that survive vring_transport_features() and fit in remoteproc's 32-bit features. */
export const TRANSPORT_FEATURES_KEPT = [VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX];

/** What a driver asks of find_vqs for one queue. */
export interface VirtqueueRequest {
  name: string;
  callback: (() => void) | null;
}

/** struct virtio_config_ops, as a transport (remoteproc_virtio.c) implements it. */
export interface VirtioConfigOps {
  getStatus(): number;
  setStatus(status: number): void;
  reset(): void;
  /** Device features (fw_rsc_vdev.dfeatures). */
  getFeatures(): number;
  /** Store the negotiated features where the device sees them (gfeatures). */
  finalizeFeatures(features: number): void;
  /** Create the device's virtqueues (zeroed rings, da published). */
  findVqs(requests: VirtqueueRequest[], eventIdx: boolean): Virtqueue<number>[];
  delVqs(): void;
  /** Read config space bytes. */
  getConfig(offset: number, length: number): Uint8Array;
  /** dma_alloc_coherent on the device's behalf: a block the device can reach (da == pa). */
  allocBuffers(length: number): { da: number; offset: number };
  /** dma_free_coherent of that block. */
  freeBuffers(): void;
  /** The memory that rings and buffers live in. */
  sharedMemory(): SharedMemory;
  /** Where refusals of the device's input are counted (one set per remote processor). */
  errorCounters(): ErrorCounters;
  /** Run `fn` with the shared memory current (transports that copy it sync around this). */
  access<T>(fn: () => T): T;
}

/** A virtio driver (struct virtio_driver). */
export interface VirtioDriver {
  name: string;
  /** Device id it binds to (VIRTIO_ID_RPMSG = 7). */
  deviceId: number;
  /** Feature bits the driver understands (legacy table). */
  featureTable: number[];
  /** Set the device up; may leave DRIVER_OK to the core. Throws RpmsgError on failure. */
  probe(device: VirtioDevice): void;
  /** Tear down; must reset the device. */
  remove(device: VirtioDevice): void;
}

/** A registered virtio device ("virtio<N>"). */
export class VirtioDevice {
  /** Index from the bus's allocator: the N of "virtio<N>". */
  index = -1;
  /** Negotiated features. */
  features = 0;
  /** The bound driver, if any. */
  driver: VirtioDriver | null = null;
  /** Driver state (vdev->priv). */
  priv: unknown = null;
  /** Every status value written, in order (observability for tests). */
  readonly statusWrites: number[] = [];

  constructor(
    /** Device id (7 for rpmsg). */
    readonly id: number,
    readonly config: VirtioConfigOps,
    /** The parent device's name, for logs (e.g. "remoteproc0#vdev0buffer"). */
    readonly parentName: string,
  ) {}

  /** "virtio<N>". */
  get name(): string {
    return `virtio${this.index}`;
  }

  /** virtio_has_feature. */
  hasFeature(bit: number): boolean {
    return ((this.features >>> bit) & 1) === 1;
  }

  /** Write the status byte and remember it. */
  setStatus(status: number): void {
    this.statusWrites.push(status);
    this.config.setStatus(status);
  }

  /** virtio_add_status. */
  addStatus(bits: number): void {
    this.setStatus(this.config.getStatus() | bits);
  }

  /** virtio_reset_device. */
  reset(): void {
    this.statusWrites.push(0);
    this.config.reset();
  }

  /** virtio_device_ready: set DRIVER_OK. */
  ready(): void {
    this.addStatus(VIRTIO_CONFIG_S_DRIVER_OK);
  }
}

/** The virtio bus: numbering (lowest free index, like an ida) and driver matching. */
export class VirtioBus {
  private readonly drivers: VirtioDriver[] = [];
  private readonly devices: VirtioDevice[] = [];
  private readonly usedIndexes = new Set<number>();

  constructor(private readonly log: HostLog) {}

  /** register_virtio_driver: binds to existing unbound devices. */
  registerDriver(driver: VirtioDriver): void {
    this.drivers.push(driver);
    for (const device of this.devices) if (device.driver === null && device.id === driver.deviceId) this.probe(device, driver);
  }

  /** unregister_virtio_driver. */
  unregisterDriver(driver: VirtioDriver): void {
    for (const device of this.devices) if (device.driver === driver) this.remove(device);
    const at = this.drivers.indexOf(driver);
    if (at >= 0) this.drivers.splice(at, 1);
  }

  /** register_virtio_device: reset, ACKNOWLEDGE, then probe a matching driver. */
  registerDevice(device: VirtioDevice): void {
    let index = 0;
    while (this.usedIndexes.has(index)) index++;
    this.usedIndexes.add(index);
    device.index = index;
    // "We always start by resetting the device, in case a previous driver messed it up."
    device.reset();
    device.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    this.devices.push(device);
    const driver = this.drivers.find((candidate) => candidate.deviceId === device.id);
    if (driver) this.probe(device, driver);
    else this.log.write('info', `virtio ${device.name}`, `no driver for virtio device id ${device.id}`);
  }

  /** unregister_virtio_device. */
  unregisterDevice(device: VirtioDevice): void {
    if (device.driver) this.remove(device);
    const at = this.devices.indexOf(device);
    if (at >= 0) this.devices.splice(at, 1);
    this.usedIndexes.delete(device.index);
  }

  /**
   * Unbind the driver from `device` (echo virtio0 > /sys/bus/virtio/drivers/<driver>/unbind):
   * virtio_dev_remove, the device stays registered with status ACKNOWLEDGE.
   */
  unbindDevice(device: VirtioDevice): void {
    if (device.driver) this.remove(device);
  }

  /** Bind a matching driver to an unbound `device` again (echo virtio0 > .../bind): virtio_dev_probe. */
  bindDevice(device: VirtioDevice): void {
    if (device.driver || !this.devices.includes(device)) return;
    const driver = this.drivers.find((candidate) => candidate.deviceId === device.id);
    if (driver) this.probe(device, driver);
  }

  /** virtio_dev_probe: DRIVER, negotiate (legacy: no FEATURES_OK), driver probe, DRIVER_OK if the driver did not. */
  private probe(device: VirtioDevice, driver: VirtioDriver): void {
    device.addStatus(VIRTIO_CONFIG_S_DRIVER);
    const deviceFeatures = device.config.getFeatures() >>> 0;
    let driverFeatures = 0;
    for (const bit of driver.featureTable) driverFeatures |= 1 << bit;
    let features = (driverFeatures & deviceFeatures) >>> 0;
    for (const bit of TRANSPORT_FEATURES_KEPT) if ((deviceFeatures >>> bit) & 1) features = (features | (1 << bit)) >>> 0;
    device.features = features;
    device.config.finalizeFeatures(features);
    device.driver = driver;
    try {
      driver.probe(device);
    } catch (error) {
      device.driver = null;
      device.addStatus(VIRTIO_CONFIG_S_FAILED);
      const message = error instanceof Error ? error.message : String(error);
      this.log.write('err', `${driver.name} ${device.name}`, `probe failed: ${message}`);
      if (!(error instanceof RpmsgError)) throw error;
      return;
    }
    if ((device.config.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK) === 0) device.ready();
  }

  /** virtio_dev_remove: driver remove (which resets), then ACKNOWLEDGE again. */
  private remove(device: VirtioDevice): void {
    const driver = device.driver;
    if (!driver) return;
    driver.remove(device);
    device.driver = null;
    if (device.config.getStatus() !== 0) {
      this.log.write('warn', `virtio ${device.name}`, 'driver did not reset the device on remove');
    }
    // "Acknowledge the device's existence again."
    device.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
  }
}
