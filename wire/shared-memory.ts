/** The shared window as one side sees it: bytes plus the peer's addresses for them, bounds-checked. */
import { RpmsgError, type ErrorCounters } from './errors.ts';

/**
 * `value` as a 32-bit integer when it is one. XS keeps a number that arrived as a double (the C
 * platform passes memoryBase with xsNumber) a double through every sum derived from it, and double
 * arithmetic is soft-float on a Cortex-M3; `| 0` turns an exact int32 back into an XS integer.
 */
export function integerIfExact(value: number): number {
  return (value | 0) === value ? value | 0 : value;
}

/**
 * A byte region written by a stranger. `base` is the address that byte 0 has in the
 * addresses the host writes (vring da, descriptor addr); every peer address goes through
 * translate() before use, so nothing reads or writes outside the region.
 */
export class SharedMemory {
  /** Byte view of the whole region. */
  readonly bytes: Uint8Array;
  /**
   * The region as u32 and u16 elements (host byte order: every supported CPU is little-endian),
   * for aligned fields on hot paths: an indexed typed-array access is much cheaper than a
   * DataView call on XS. Element i covers bytes 4i..4i+3 (2i..2i+1).
   */
  readonly words: Uint32Array;
  readonly halves: Uint16Array;
  /** The peer's address of byte 0. */
  readonly base: number;
  /** Size of the region in bytes. */
  readonly size: number;
  /** Little-endian field access over the whole region. */
  readonly view: DataView;

  constructor(buffer: ArrayBufferLike, base: number, byteOffset = 0, byteLength?: number) {
    const length = byteLength ?? buffer.byteLength - byteOffset;
    this.bytes = new Uint8Array(buffer as ArrayBuffer, byteOffset, length);
    this.view = new DataView(buffer as ArrayBuffer, byteOffset, length);
    if ((byteOffset & 3) !== 0) throw new RangeError(`shared memory must start 4-byte aligned (byteOffset ${byteOffset})`);
    this.words = new Uint32Array(buffer as ArrayBuffer, byteOffset, length >> 2);
    this.halves = new Uint16Array(buffer as ArrayBuffer, byteOffset, length >> 1);
    // Every descriptor address minus base is a buffer offset: keep it integer arithmetic on XS.
    this.base = integerIfExact(base);
    this.size = integerIfExact(length);
  }

  /** True when [offset, offset+length) lies inside the region. */
  contains(offset: number, length: number): boolean {
    return offset >= 0 && length >= 0 && offset <= this.size && length <= this.size - offset;
  }

  /**
   * The local offset of peer address `address` for `length` bytes, or an EFAULT that is
   * counted under `what` when the range falls outside the region.
   */
  translate(address: number, length: number, what: string, counters: ErrorCounters): number {
    const offset = address - this.base;
    if (!this.contains(offset, length)) throw this.refuse(address, length, what, counters);
    return offset;
  }

  /** The counted EFAULT for a range outside the region (hot paths test contains() first, then call this). */
  refuse(address: number, length: number, what: string, counters: ErrorCounters): RpmsgError {
    return counters.record(
      'address-outside-region',
      new RpmsgError(
        'EFAULT',
        `${what} at 0x${address.toString(16)} (+${length}) lies outside the shared region ` +
          `0x${this.base.toString(16)}..0x${(this.base + this.size).toString(16)}; the peer wrote a bad address`,
      ),
    );
  }

  /** The peer's address of local offset `offset`. */
  address(offset: number): number {
    return this.base + offset;
  }
}
