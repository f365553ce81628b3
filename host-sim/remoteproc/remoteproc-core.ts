/** The remoteproc core (drivers/remoteproc/remoteproc_core.c): boot, resources, start/stop, crash recovery, trace. */
import { ErrorCounters, RpmsgError } from '../../wire/errors.ts';
import type { SharedMemory } from '../../wire/shared-memory.ts';
import { vringSize } from '../../wire/vring.ts';
import { checkResourceTable } from '../../resource-table/validate.ts';
import {
  CARVEOUT_DA, CARVEOUT_LEN, CARVEOUT_PA, FW_RSC_ADDR_ANY, VRING_RSC_NOTIFYID, vdevVringOffset,
} from '../../resource-table/layout.ts';
import type { HostLog } from '../log.ts';
import { VirtioDevice, type VirtioBus } from '../virtio/virtio.ts';
import { DeviceMemory, pageAlign, type DeviceMemoryEntry } from './device-memory.ts';
import { elfFindResourceTable, elfLoadSegments, elfSanityCheck, type ElfResourceTable, type ElfSegment } from '../../resource-table/elf.ts';
import type { ReservedMemory, RprocFirmware, RprocOps } from './ops.ts';
import { RprocVdev, type RprocVring, type TablePointer } from './remoteproc-virtio.ts';

/** enum rproc_state, the part we model. */
export type RprocState = 'offline' | 'running' | 'crashed';

/** How a remote processor is set up. */
export interface RprocOptions {
  /** rproc->name, for logs. Default "remoteproc<N>". */
  name?: string;
  ops: RprocOps;
  /** The remote's memory the host shares (base = the remote's address of byte 0). */
  memory: SharedMemory;
  /** Regions the platform reserved by name (e.g. "vdev0buffer", "vdev0vring0"). */
  reservedMemory?: ReservedMemory[];
  /** Where "ANY" allocations may go. Default: the whole shared memory. */
  dmaPool?: { da: number; len: number };
  /** The remote sits behind an IOMMU (DEVMEM entries allowed). Default false. */
  iommu?: boolean;
  /** Restart after reportCrash(). Default true (Linux's default). */
  recovery?: boolean;
  /** Limit and backoff of crash recovery (Linux has none; a supervisor's defaults, see RecoveryLimit). */
  recoveryLimit?: Partial<RecoveryLimit>;
}

/**
 * How often recovery restarts a crashing remote, like systemd's StartLimitBurst=5 in
 * StartLimitIntervalSec=10 and a growing RestartSec: the first crash restarts at once, each
 * further crash within `windowMs` waits `backoffMs` doubled per crash (up to `maxBackoffMs`), and
 * the `maxCrashes`-th crash within `windowMs` stops recovery with one line: "remote crashed N times
 * in M s at <reason>; not restarting".
 */
export interface RecoveryLimit {
  /** Crashes within windowMs that end recovery. Default 5. */
  maxCrashes: number;
  /** Default 10000 ms. */
  windowMs: number;
  /** Wait before the second restart in the window, doubled for each one after. Default 100 ms. */
  backoffMs: number;
  /** Default 5000 ms. */
  maxBackoffMs: number;
}

export const DEFAULT_RECOVERY_LIMIT: RecoveryLimit = { maxCrashes: 5, windowMs: 10_000, backoffMs: 100, maxBackoffMs: 5_000 };

/** A trace buffer entry (struct rproc_debug_trace). */
export interface RprocTrace {
  /** "trace0", "trace1", ... as debugfs names them. */
  name: string;
  da: number;
  len: number;
}

interface Carveout {
  name: string;
  da: number | null;
  len: number;
  /** Offset of the entry body in the table, or null for vrings (not table entries). */
  rscOffset: number | null;
  memory: DeviceMemoryEntry | null;
}

/** The parsed firmware, kept for recovery (request_firmware again). */
interface LoadedFirmware {
  elf: Uint8Array | null;
  segments: ElfSegment[];
  elfTable: ElfResourceTable | null;
  /** For the in-memory form: where the remote keeps its table. */
  tableOffset: number | null;
}

/** A remote processor (struct rproc). */
export class Rproc {
  readonly name: string;
  state: RprocState = 'offline';
  /** Refusals of bad input from this remote (bad rings, lengths, announcements, tables). */
  readonly counters = new ErrorCounters();
  /** Trace buffers of the running firmware. */
  traces: RprocTrace[] = [];
  /** vdevs of the running firmware. */
  vdevs: RprocVdev[] = [];
  /** Their virtio devices while registered. */
  virtioDevices: VirtioDevice[] = [];
  /** How many times recovery restarted the remote. */
  recoveries = 0;
  /** rproc->crash_cnt. */
  crashCount = 0;
  readonly memory: SharedMemory;
  private readonly ops: RprocOps;
  private readonly deviceMemory: DeviceMemory;
  private readonly iommu: boolean;
  private readonly recovery: boolean;
  private carveouts: Carveout[] = [];
  private cachedTable: Uint8Array | null = null;
  private tablePtr: TablePointer | null = null;
  /** Local offset of the loaded table in the shared memory, when found. */
  private loadedTableOffset: number | null = null;
  private firmware: LoadedFirmware | null = null;
  private recovering: Promise<void> | null = null;
  private accessDepth = 0;
  private readonly recoveryLimit: RecoveryLimit;
  /** When the crashes inside the current window happened (Date.now()). */
  private crashTimes: number[] = [];
  /** A crash reported while recovery was still restarting the remote. */
  private crashDuringRecovery: string | null = null;
  /** Ends a backoff wait early (shutdown). */
  private cancelBackoff: (() => void) | null = null;
  /** The line recovery gave up with, or null while it restarts. */
  gaveUp: string | null = null;
  private readonly reservedNames: string[];

  constructor(
    private readonly log: HostLog,
    private readonly virtioBus: VirtioBus,
    options: RprocOptions,
    index = 0,
  ) {
    this.name = options.name ?? `remoteproc${index}`;
    this.ops = options.ops;
    this.memory = options.memory;
    this.deviceMemory = new DeviceMemory(options.memory, options.reservedMemory ?? [], options.dmaPool ?? null);
    this.reservedNames = (options.reservedMemory ?? []).map((region) => region.name);
    this.iommu = options.iommu ?? false;
    this.recovery = options.recovery ?? true;
    this.recoveryLimit = { ...DEFAULT_RECOVERY_LIMIT, ...options.recoveryLimit };
  }

  private get source(): string {
    return `remoteproc ${this.name}`;
  }

  /**
   * Run `fn` with the shared memory current: ops.syncMemory("pull") before and ("push") after,
   * outermost call only. A no-op wrapper when the transport shares the memory itself.
   */
  withMemory<T>(fn: () => T): T {
    const sync = this.ops.syncMemory;
    if (!sync) return fn();
    if (this.accessDepth++ === 0) sync.call(this.ops, 'pull');
    try {
      return fn();
    } finally {
      if (--this.accessDepth === 0) sync.call(this.ops, 'push');
    }
  }

  /** ops.kick, after pushing the host's writes for transports that copy the memory. */
  private kick(notifyid: number): void {
    if (this.accessDepth > 0) this.ops.syncMemory?.('push');
    this.ops.kick(notifyid);
  }

  /** Allocations in the remote's memory (carveouts, vrings, buffer pool). */
  allocations(): readonly DeviceMemoryEntry[] {
    return this.deviceMemory.list();
  }

  /** Where the loaded resource table is (local offset in the shared memory) and its size, once started. */
  loadedTable(): { offset: number; size: number } | null {
    return this.loadedTableOffset === null || !this.cachedTable ? null : { offset: this.loadedTableOffset, size: this.cachedTable.length };
  }

  /** rproc_boot: parse the firmware, handle its resources, load it, start it, register its vdevs. */
  async boot(firmware: RprocFirmware): Promise<void> {
    if (this.state !== 'offline') throw new RpmsgError('EBUSY', `${this.name} is ${this.state}; shut it down first`);
    this.log.write('info', this.source, `powering up ${this.name}`);
    try {
      this.firmware = this.parseFirmware(firmware);
      this.handleResources();
      this.allocateCarveouts();
      await this.start();
    } catch (error) {
      this.resourceCleanup();
      if (error instanceof RpmsgError) {
        this.counters.record('boot-failed', error);
        this.log.write('err', this.source, `Failed to boot: ${error.message}`);
      }
      throw error;
    }
  }

  private parseFirmware(firmware: RprocFirmware): LoadedFirmware {
    if (firmware instanceof Uint8Array) {
      elfSanityCheck(firmware);
      const segments = elfLoadSegments(firmware);
      const elfTable = elfFindResourceTable(firmware);
      this.log.write('info', this.source, `Booting fw image, size ${firmware.length}`);
      if (elfTable) this.cachedTable = firmware.slice(elfTable.fileOffset, elfTable.fileOffset + elfTable.size);
      else this.log.write('info', this.source, 'No resource table in elf');
      return { elf: firmware, segments, elfTable, tableOffset: null };
    }
    if (!this.memory.contains(firmware.offset, firmware.resourceTable.length)) {
      throw new RpmsgError('EINVAL', `the resource table (${firmware.resourceTable.length} bytes at offset 0x${firmware.offset.toString(16)}) does not fit the shared memory`);
    }
    this.cachedTable = firmware.resourceTable.slice();
    return { elf: null, segments: [], elfTable: null, tableOffset: firmware.offset };
  }

  /** rproc_handle_resources with the loading handlers, then vring allocation and notifyids. */
  private handleResources(): void {
    this.traces = [];
    this.vdevs = [];
    this.carveouts = [];
    const cached = this.cachedTable;
    if (!cached) return;
    this.tablePtr = { view: new DataView(cached.buffer, cached.byteOffset, cached.byteLength), offset: 0 };
    const checked = checkResourceTable(cached, { iommu: this.iommu, rpmsg: false, vringsAtProbe: true });
    for (const warning of checked.warnings) this.log.write('warn', this.source, warning);
    const view = this.tablePtr.view;
    const usedNotifyids = new Set<number>();
    let vdevCount = 0;
    checked.table.entries.forEach((entry, index) => {
      const entryOffset = checked.offsets[index];
      switch (entry.kind) {
        case 'carveout':
          this.carveouts.push({ name: entry.name, da: entry.da === FW_RSC_ADDR_ANY ? null : entry.da, len: entry.len, rscOffset: entryOffset, memory: null });
          break;
        case 'devmem':
          break; // iommu mapping only: nothing to do without one (validation refused it)
        case 'trace':
          this.traces.push({ name: `trace${this.traces.length}`, da: entry.da, len: entry.len });
          break;
        case 'vdev': {
          const vdevIndex = vdevCount++;
          // rproc_virtio_probe (Linux >= 6.1): a bad vring fails this vdev's probe, not the boot.
          const bad = entry.vrings.findIndex((vring) => vring.num === 0 || vring.align === 0);
          if (bad >= 0) {
            const vring = entry.vrings[bad];
            const device = `rproc-virtio rproc-virtio.${vdevIndex}.auto`;
            // Linux's text, then the field names so a reader knows which entry to fix.
            this.log.write('err', device, `invalid qsz (${vring.num}) or alignment (${vring.align}) (resource entry ${index}, vring ${bad}: num ${vring.num}, align ${vring.align})`);
            this.log.write('warn', device, 'probe failed with error -22');
            this.counters.record('vdev-probe-failed', new RpmsgError('EINVAL', `resource entry ${index} (VDEV): vring ${bad} has num ${vring.num} and align ${vring.align}; Linux drops this vdev (no virtio device) but boots the remote`));
            break;
          }
          const vrings: RprocVring[] = entry.vrings.map((vring, i) => {
            const carveout: Carveout = {
              name: `vdev${vdevIndex}vring${i}`,
              da: vring.da === FW_RSC_ADDR_ANY ? null : vring.da,
              len: pageAlign(vringSize(vring.num, vring.align)),
              rscOffset: null,
              memory: null,
            };
            this.carveouts.push(carveout);
            // idr_alloc from 0: the lowest free notifyid; Linux ignores a notifyid the firmware wrote.
            let notifyid = 0;
            while (usedNotifyids.has(notifyid)) notifyid++;
            usedNotifyids.add(notifyid);
            view.setUint32(entryOffset + vdevVringOffset(i) + VRING_RSC_NOTIFYID, notifyid, true);
            return { num: vring.num, align: vring.align, notifyid, memory: null, vq: null };
          });
          const rvdev = new RprocVdev({
            tablePointer: () => this.tablePtr!,
            memory: this.memory,
            deviceMemory: this.deviceMemory,
            kick: (notifyid) => this.kick(notifyid),
            access: (fn) => this.withMemory(fn),
            counters: this.counters,
            log: this.log,
          }, vdevIndex, entryOffset + 4, entry.id, vrings);
          this.vdevs.push(rvdev);
          break;
        }
        case 'opaque':
          break;
      }
    });
  }

  /**
   * rproc_alloc_registered_carveouts: in list order (table order, each vdev's vrings at its entry);
   * carveout entries get da/pa/len. A fixed da is placed there (see docs/HOST-SIM.md), so an ANY
   * request earlier in the list keeps clear of the fixed ones still to come.
   */
  private allocateCarveouts(): void {
    const firmware = this.firmware!;
    for (const segment of firmware.segments) this.deviceMemory.reserve('firmware segment', segment.da, segment.memsz);
    if (firmware.elfTable) this.deviceMemory.reserve('resource table', firmware.elfTable.address, firmware.elfTable.size);
    if (firmware.tableOffset !== null && this.cachedTable) this.deviceMemory.reserve('resource table', this.memory.address(firmware.tableOffset), this.cachedTable.length);
    const reservedNames = new Set(this.reservedNames);
    this.carveouts.forEach((carveout, index) => {
      const later = this.carveouts.slice(index + 1).filter((c) => c.da !== null && !reservedNames.has(c.name)).map((c) => ({ da: c.da!, len: c.len }));
      carveout.memory = this.deviceMemory.allocate(carveout.name, carveout.len, carveout.da, later);
      if (carveout.rscOffset !== null && this.tablePtr) {
        const view = this.tablePtr.view;
        view.setUint32(carveout.rscOffset + CARVEOUT_PA, carveout.memory.da, true);
        view.setUint32(carveout.rscOffset + CARVEOUT_DA, carveout.memory.da, true);
        view.setUint32(carveout.rscOffset + CARVEOUT_LEN, carveout.memory.len, true);
      }
    });
    for (const rvdev of this.vdevs) {
      rvdev.vrings.forEach((vring, i) => { vring.memory = this.deviceMemory.find(`vdev${rvdev.index}vring${i}`) ?? null; });
    }
  }

  /** rproc_start: load segments, copy the processed table over the loaded one, ops.start(), register vdevs. */
  private async start(): Promise<void> {
    const firmware = this.firmware!;
    this.withMemory(() => {
      if (firmware.elf) this.loadSegments(firmware.elf, firmware.segments);
      this.loadedTableOffset = this.findLoadedTable(firmware);
      if (this.loadedTableOffset !== null && this.cachedTable) {
        this.memory.bytes.set(this.cachedTable, this.loadedTableOffset);
        this.tablePtr = { view: this.memory.view, offset: this.loadedTableOffset };
      } else if (this.cachedTable) {
        this.counters.record('loaded-table-not-found', new RpmsgError('EINVAL', 'the loaded resource table is not in the shared memory: the remote will never see status, features or vring addresses'));
        this.log.write('warn', this.source, 'loaded resource table not found in device memory');
      }
    });
    await this.ops.start();
    // rproc_start_subdevices, then RPROC_RUNNING: drivers probing the vdevs see the rproc not yet running.
    this.withMemory(() => {
      for (const rvdev of this.vdevs) {
        const vdev = new VirtioDevice(rvdev.id, rvdev, this.name);
        this.virtioDevices.push(vdev);
        this.virtioBus.registerDevice(vdev);
      }
    });
    this.state = 'running';
    this.log.write('info', this.source, `remote processor ${this.name} is now up`);
  }

  private loadSegments(elf: Uint8Array, segments: ElfSegment[]): void {
    for (const segment of segments) {
      const data = elf.subarray(segment.offset, segment.offset + segment.filesz);
      const offset = segment.da - this.memory.base;
      if (this.memory.contains(offset, segment.memsz)) {
        this.memory.bytes.set(data, offset);
        this.memory.bytes.fill(0, offset + segment.filesz, offset + segment.memsz);
      } else if (!this.ops.loadSegment?.(segment.da, data, segment.memsz)) {
        throw new RpmsgError('EINVAL', `bad phdr da 0x${segment.da.toString(16)} mem 0x${segment.memsz.toString(16)}: not the remote's memory`);
      }
    }
  }

  /** rproc_find_loaded_rsc_table: sh_addr (ELF) or the given offset, if inside the shared memory. */
  private findLoadedTable(firmware: LoadedFirmware): number | null {
    if (!this.cachedTable) return null;
    if (firmware.tableOffset !== null) return firmware.tableOffset;
    if (!firmware.elfTable) return null;
    const offset = firmware.elfTable.address - this.memory.base;
    return this.memory.contains(offset, firmware.elfTable.size) ? offset : null;
  }

  /** rproc_stop: remove the vdevs (channels go, buffers freed), back to the cached table, ops.stop(). */
  private async stop(crashed: boolean): Promise<void> {
    this.withMemory(() => {
      for (const vdev of this.virtioDevices.splice(0)) this.virtioBus.unregisterDevice(vdev);
    });
    if (this.cachedTable) this.tablePtr = { view: new DataView(this.cachedTable.buffer, this.cachedTable.byteOffset, this.cachedTable.byteLength), offset: 0 };
    await this.ops.stop();
    this.state = 'offline';
    this.log.write('info', this.source, `stopped remote processor ${this.name}${crashed ? ' after a crash' : ''}`);
  }

  /** rproc_resource_cleanup: free carveouts, traces, vdevs. */
  private resourceCleanup(): void {
    this.deviceMemory.clear();
    this.carveouts = [];
    this.traces = [];
    this.vdevs = [];
    this.cachedTable = null;
    this.tablePtr = null;
    this.loadedTableOffset = null;
  }

  /** rproc_shutdown. */
  async shutdown(): Promise<void> {
    this.cancelBackoff?.();
    if (this.recovering) await this.recovering.catch(() => undefined);
    if (this.state === 'offline') return;
    await this.stop(false);
    this.resourceCleanup();
    this.firmware = null;
  }

  /**
   * rproc_report_crash: the platform saw the remote die. With recovery on (the default): every
   * channel removed, buffers freed, the firmware reloaded and restarted, vrings re-posted.
   * Resolves when recovery is done.
   */
  reportCrash(reason = 'fatal error'): Promise<void> {
    if (this.recovering) {
      // The restarted firmware crashed before recovery finished (e.g. at its top level): handle it after.
      this.crashDuringRecovery ??= reason;
      return this.recovering;
    }
    if (this.state !== 'running') return Promise.resolve();
    this.state = 'crashed';
    this.crashCount++;
    this.log.write('err', this.source, `handling crash #${this.crashCount} in ${this.name} (${reason})`);
    if (!this.recovery) return Promise.resolve();
    const limit = this.recoveryLimit;
    const now = Date.now();
    this.crashTimes = this.crashTimes.filter((time) => now - time < limit.windowMs);
    this.crashTimes.push(now);
    const inWindow = this.crashTimes.length;
    if (inWindow >= limit.maxCrashes) {
      this.gaveUp = `remote crashed ${inWindow} times in ${((now - this.crashTimes[0]) / 1000).toFixed(1)} s at ${reason}; not restarting`;
      this.log.write('err', this.source, `${this.name}: ${this.gaveUp}`);
      return (async () => {
        await this.stop(true);
        this.state = 'crashed';
      })();
    }
    const delay = inWindow === 1 ? 0 : Math.min(limit.maxBackoffMs, limit.backoffMs * 2 ** (inWindow - 2));
    this.recovering = (async () => {
      this.log.write('err', this.source, `recovering ${this.name}${delay > 0 ? ` in ${delay} ms (crash ${inWindow} in ${limit.windowMs / 1000} s; recovery stops at ${limit.maxCrashes})` : ''}`);
      if (delay > 0 && !(await this.backoff(delay))) return; // shut down while waiting
      await this.stop(true);
      this.state = 'offline';
      await this.start();
      this.recoveries++;
    })().finally(() => {
      this.recovering = null;
      const again = this.crashDuringRecovery;
      this.crashDuringRecovery = null;
      if (again !== null && this.state === 'running') void this.reportCrash(again).catch(() => {});
    });
    return this.recovering;
  }

  /** Wait `ms` before a restart; false if shutdown() ended the wait. */
  private backoff(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.cancelBackoff = null; resolve(true); }, ms);
      this.cancelBackoff = () => { clearTimeout(timer); this.cancelBackoff = null; resolve(false); };
    });
  }

  /**
   * rproc_vq_interrupt: the remote rang for vring `notifyid`; null = the transport cannot tell
   * which (kicks merge), so every vring is serviced. True if any had work.
   */
  vqInterrupt(notifyid: number | null): boolean {
    return this.withMemory(() => this.serviceVrings(notifyid));
  }

  private serviceVrings(notifyid: number | null): boolean {
    let handled = false;
    for (const rvdev of this.vdevs) {
      for (const vring of rvdev.vrings) {
        if (notifyid !== null && vring.notifyid !== notifyid) continue;
        if (vring.vq && vring.vq.interrupt()) handled = true;
        if (notifyid !== null) return handled;
      }
    }
    if (notifyid !== null) {
      this.counters.record('interrupt-unknown-notifyid', new RpmsgError('EINVAL', `the remote signalled notifyid ${notifyid}, which no vring has`));
    }
    return handled;
  }

  /** rproc_trace_read: strnlen(buffer, len) bytes of trace buffer `index`, as text. */
  readTrace(index = 0): string {
    const trace = this.traces[index];
    if (!trace) throw new RpmsgError('ENOENT', `${this.name} has no trace${index}`);
    const offset = trace.da - this.memory.base;
    this.ops.syncMemory?.('pull');
    let bytes: Uint8Array | null = null;
    if (this.memory.contains(offset, trace.len)) bytes = this.memory.bytes.subarray(offset, offset + trace.len);
    else bytes = this.ops.readMemory?.(trace.da, trace.len) ?? null;
    if (!bytes) return `Trace ${trace.name} not available\n`;
    let length = 0;
    while (length < bytes.length && bytes[length] !== 0) length++;
    let text = '';
    for (let i = 0; i < length; i++) text += String.fromCharCode(bytes[i]);
    return text;
  }
}
