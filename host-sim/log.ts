/** The simulator's kernel log: dev_info/dev_warn/dev_err lines, kept for tests and printed if asked. */

/** Severity, as the kernel's dev_* helpers. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'err';

/** One line of the log. */
export interface LogLine {
  level: LogLevel;
  /** "<driver> <device>" as Linux prints it, e.g. "virtio_rpmsg_bus virtio0". */
  source: string;
  text: string;
}

/** Collects log lines; `sink` (e.g. console output) sees every line as it is written. */
export class HostLog {
  /** Every line so far (bounded by `limit`). */
  readonly lines: LogLine[] = [];
  /** Called for each line, if set. */
  sink: ((line: LogLine) => void) | null;
  /** Oldest lines are dropped beyond this many. */
  limit: number;

  constructor(sink: ((line: LogLine) => void) | null = null, limit = 10000) {
    this.sink = sink;
    this.limit = limit;
  }

  /** Write one line. */
  write(level: LogLevel, source: string, text: string): void {
    const line = { level, source, text };
    this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.shift();
    this.sink?.(line);
  }

  /** Lines whose text contains `fragment`. */
  find(fragment: string): LogLine[] {
    return this.lines.filter((line) => line.text.includes(fragment));
  }
}

/** "source: text", the way dmesg shows a dev_* line. */
export function formatLogLine(line: LogLine): string {
  return `${line.source}: ${line.text}`;
}
