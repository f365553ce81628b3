/** Shared helpers of the platform tests: fixture builds, shared-file access, doorbell byte queue. */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFirmware, type FirmwareTarget } from '../../tools/build-firmware.ts';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Offset of the fixtures' command block in the shared window (test/platform/fixtures/doorbell.js). */
export const COMMAND = 0x10000;
export const Command = { ECHO: 1, WAIT: 2, EXIT: 3, THROW: 4, REJECT: 5, RECURSE: 6, ALLOCATE: 7, NEST: 8, MAP_RECURSE: 9, BUSY_TIMERS: 10 } as const;

/** Builds test/platform/fixtures/<name>.js into build/test/<target>/<name>; returns the ELF or executable. */
export async function buildFixture(target: FirmwareTarget, name: string, options: { manifest?: string; out?: string; program?: 'bytecode' | 'source' } = {}): Promise<string> {
  const result = await buildFirmware({
    target,
    js: join(root, 'test/platform/fixtures', `${name}.js`),
    out: join(root, 'build/test', target, options.out ?? name),
    manifest: options.manifest ? join(root, 'test/platform/fixtures', options.manifest) : undefined,
    program: options.program,
    verbose: false,
  });
  return result.output;
}

/** Writes little-endian u32 values at `offset` of a shared file. */
export function writeWords(path: string, offset: number, words: number[]): void {
  const bytes = Buffer.alloc(words.length * 4);
  words.forEach((word, i) => bytes.writeUInt32LE(word >>> 0, i * 4));
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** Reads `length` bytes at `offset` of a shared file. */
export function readBytes(path: string, offset: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, bytes, 0, length, offset);
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/** The crash record at window offset 0x3F00 (firmware/platform/xs/xs_board.h), or null if none. */
export function readCrashRecord(path: string): { status: number; uptimeMs: number; reason: string } | null {
  const record = readBytes(path, 0x3f00, 256);
  if (record.readUInt32LE(0) !== 0x52435358) return null;
  const text = record.subarray(16);
  const end = text.indexOf(0);
  return { status: record.readInt32LE(4), uptimeMs: record.readUInt32LE(8), reason: text.subarray(0, end < 0 ? text.length : end).toString('latin1') };
}

/** Collects doorbell bytes from a socket and hands them out one by one. */
export class DoorbellQueue {
  private bytes: number[] = [];
  private wake: (() => void) | null = null;
  ended = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.bytes.push(...chunk);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('error', () => { /* reported as close */ });
  }

  /** Sends one kick byte. */
  kick(value = 1): void {
    this.socket.write(Buffer.from([value & 0xff]));
  }

  /** Next byte the remote rang with; rejects after timeoutMs. */
  async next(timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.bytes.length === 0) {
      if (this.ended) throw new Error('doorbell socket closed');
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no doorbell byte within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, remaining);
        this.wake = () => { clearTimeout(timer); r(); };
      });
      this.wake = null;
    }
    return this.bytes.shift()!;
  }

  /** Bytes received and not consumed yet. */
  get pending(): number {
    return this.bytes.length;
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
