/** The RSC_TRACE buffer: console text the host reads as strnlen(buffer, len) bytes from its start. */

/**
 * Appends text to a byte region in shared memory, keeping a NUL after the newest byte.
 * When full it starts again at the beginning, so the host always reads the latest text
 * back to the last wrap (Linux reads from the start up to the first NUL).
 */
export class TraceBuffer {
  private readonly bytes: Uint8Array;
  private readonly start: number;
  private readonly size: number;
  private cursor = 0;

  constructor(bytes: Uint8Array, start: number, size: number) {
    this.bytes = bytes;
    this.start = start;
    this.size = size;
    if (size > 0) bytes[start] = 0;
  }

  /** Append one line (a newline is added). Non-ASCII characters become '?'. */
  writeLine(text: string): void {
    if (this.size < 2) return;
    const usable = this.size - 1; // one byte always left for the NUL
    const total = text.length + 1;
    if (this.cursor + total > usable) this.cursor = 0;
    const first = total > usable ? total - usable : 0; // keep the tail of an over-long line
    for (let i = first; i < text.length; i++) {
      const code = text.charCodeAt(i);
      this.bytes[this.start + this.cursor++] = code < 0x80 && code !== 0 ? code : 0x3f;
    }
    this.bytes[this.start + this.cursor++] = 0x0a;
    this.bytes[this.start + this.cursor] = 0;
  }
}
