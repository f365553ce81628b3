/** The seam between remoteproc and a platform (struct rproc_ops): what a transport implements. */

/**
 * Platform operations, modelled on struct rproc_ops. A transport (in-process, posix, qemu)
 * implements these; remoteproc calls them and never touches the remote any other way.
 * The remote's interrupts go the other way: the transport calls `rproc.vqInterrupt(notifyid | null)`.
 */
export interface RprocOps {
  /** Power the remote up; the processed resource table is already in its memory. */
  start(): void | Promise<void>;
  /** Power the remote down (also before a crash recovery restarts it). */
  stop(): void | Promise<void>;
  /** Ring the remote's doorbell for the vring with this notifyid (qemu: one byte = notifyid; posix: any byte). */
  kick(notifyid: number): void;
  /**
   * Write a PT_LOAD segment at device address `da` when it lies outside the shared memory
   * (e.g. flash or private RAM of an emulated core); zero-fill up to memsz. Return false if the
   * address is not the remote's (rproc_da_to_va returned NULL: EINVAL "bad phdr da").
   * Optional: without it, only segments inside the shared memory load.
   */
  loadSegment?(da: number, data: Uint8Array, memsz: number): boolean;
  /** Read `length` bytes of device memory outside the shared memory (trace buffers), or null. Optional. */
  readMemory?(da: number, length: number): Uint8Array | null;
  /**
   * Only for transports whose SharedMemory is a copy of the real window (no mmap): "pull"
   * refreshes the copy from the remote's memory, "push" writes the host's side back. Called
   * around every host operation that touches the window (outermost only), and "push" again
   * right before each kick, so the remote never sees a doorbell before the data. Optional.
   */
  syncMemory?(direction: 'pull' | 'push'): void;
}

/**
 * What boot() takes: an ELF image (segments loaded at p_paddr, `.resource_table` found by name),
 * or a resource table that the remote keeps at `offset` of the shared memory (in-process and
 * posix targets: no segments to load; the processed table is copied there before start).
 */
export type RprocFirmware = Uint8Array | { resourceTable: Uint8Array; offset: number };

/** A named region the platform pre-registers (device-tree reserved-memory), e.g. "vdev0buffer". */
export interface ReservedMemory {
  name: string;
  da: number;
  len: number;
}
