/** Errors named after the Linux errno a kernel caller would see, shared by both roles. */

/** Linux errno values for the names this project uses (include/uapi/asm-generic/errno*.h). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  EPIPE: 32,
  EBADMSG: 74,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  ECONNRESET: 104,
  ENOBUFS: 105,
  ETIMEDOUT: 110,
  EALREADY: 114,
  ECANCELED: 125,
  ERESTARTSYS: 512,
} as const;

/** One of the errno names above. */
export type ErrnoName = keyof typeof ERRNO;

/** An error a caller can act on: the errno name plus a sentence saying what to do. */
export class RpmsgError extends Error {
  /** The Linux errno name, e.g. "ENOMEM". */
  readonly code: ErrnoName;
  /** The Linux errno value (positive), e.g. 12 for ENOMEM. */
  readonly errno: number;

  constructor(code: ErrnoName, message: string) {
    super(`${code}: ${message}`);
    this.name = 'RpmsgError';
    this.code = code;
    this.errno = ERRNO[code];
  }
}

/** Counts refused inputs by a short reason key, so bad peers show up in statistics. */
export class ErrorCounters {
  /** reason -> how many times it happened */
  readonly counts: Record<string, number> = {};
  /** The most recent refusal, for a person reading a log. */
  last: RpmsgError | null = null;

  /** Count `error` under `reason` and return it (so callers can `throw counters.record(...)`). */
  record(reason: string, error: RpmsgError): RpmsgError {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
    this.last = error;
    return error;
  }

  /** How many times `reason` was counted. */
  count(reason: string): number {
    return this.counts[reason] ?? 0;
  }

  /** Total refusals of every kind. */
  total(): number {
    let sum = 0;
    for (const key in this.counts) sum += this.counts[key];
    return sum;
  }
}
