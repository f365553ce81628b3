/**
 * The editor side of the debugger: Debug Adapter Protocol framing (a `Content-Length: N` header,
 * CR LF CR LF, then N bytes of JSON) over any byte stream (stdio when an editor starts the
 * adapter, a TCP connection for `xs-rpmsg run --debug`). Also the client side, for tests that
 * drive the adapter as an editor would.
 */
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';

export interface DapMessage {
  seq: number;
  type: 'request' | 'response' | 'event';
  command?: string;
  event?: string;
  request_seq?: number;
  success?: boolean;
  message?: string;
  arguments?: Record<string, unknown>;
  body?: unknown;
}

/** Reads and writes framed DAP messages. Events: 'message' (DapMessage), 'close'. */
export class DapStream extends EventEmitter {
  private buffer = Buffer.alloc(0);
  private seq = 1;

  constructor(private readonly input: Readable, private readonly output: Writable) {
    super();
    input.on('data', (chunk: Buffer) => this.receive(chunk));
    input.on('end', () => this.emit('close'));
    input.on('close', () => this.emit('close'));
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buffer.subarray(0, headerEnd).toString('ascii');
      const length = /Content-Length:\s*(\d+)/i.exec(header);
      if (!length) {
        // not a DAP header: drop it, so one bad frame does not wedge the stream
        this.buffer = this.buffer.subarray(headerEnd + 4);
        this.emit('protocolError', new Error(`DAP: a header without Content-Length: ${JSON.stringify(header)}`));
        continue;
      }
      const size = Number(length[1]);
      if (this.buffer.length < headerEnd + 4 + size) return;
      const body = this.buffer.subarray(headerEnd + 4, headerEnd + 4 + size).toString('utf8');
      this.buffer = this.buffer.subarray(headerEnd + 4 + size);
      try {
        this.emit('message', JSON.parse(body) as DapMessage);
      } catch (error) {
        this.emit('protocolError', new Error(`DAP: a body that is not JSON: ${(error as Error).message}`));
      }
    }
  }

  /** Writes one message (seq filled in). */
  write(message: Omit<DapMessage, 'seq'>): void {
    const json = JSON.stringify({ seq: this.seq++, ...message });
    this.output.write(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  }

  event(event: string, body?: unknown): void {
    this.write({ type: 'event', event, ...(body === undefined ? {} : { body }) });
  }

  respond(request: DapMessage, body?: unknown): void {
    this.write({ type: 'response', request_seq: request.seq, command: request.command, success: true, ...(body === undefined ? {} : { body }) });
  }

  fail(request: DapMessage, message: string): void {
    this.write({ type: 'response', request_seq: request.seq, command: request.command, success: false, message, body: { error: { id: 1, format: message } } });
  }
}

/** An editor's end of a DAP stream: requests that resolve with their response, events kept and awaitable. */
export class DapClient {
  readonly events: DapMessage[] = [];
  private readonly pending = new Map<number, (response: DapMessage) => void>();
  private readonly waiters: { match: (event: DapMessage) => boolean; resolve: (event: DapMessage) => void }[] = [];
  private seq = 1;
  private readonly stream: DapStream;

  constructor(input: Readable, private readonly output: Writable) {
    this.stream = new DapStream(input, output);
    this.stream.on('message', (message: DapMessage) => {
      if (message.type === 'response') {
        this.pending.get(message.request_seq!)?.(message);
        this.pending.delete(message.request_seq!);
      } else if (message.type === 'event') {
        this.events.push(message);
        for (const waiter of [...this.waiters]) {
          if (waiter.match(message)) {
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            waiter.resolve(message);
          }
        }
      }
    });
  }

  /** Sends a request; resolves with the response (rejects on success: false). */
  async request(command: string, args: Record<string, unknown> = {}): Promise<DapMessage> {
    const seq = this.seq++;
    const json = JSON.stringify({ seq, type: 'request', command, arguments: args });
    const response = new Promise<DapMessage>((resolve) => this.pending.set(seq, resolve));
    this.output.write(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
    const answer = await response;
    if (!answer.success) throw new Error(`DAP ${command} failed: ${answer.message}`);
    return answer;
  }

  /** The next event named `event` (after `after` events were seen) matching `match`. */
  waitForEvent(event: string, match: (message: DapMessage) => boolean = () => true, timeoutMs = 60_000): Promise<DapMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`DAP: no "${event}" event within ${timeoutMs} ms; events so far: ${this.events.map((e) => e.event).join(', ')}`)), timeoutMs);
      this.waiters.push({
        match: (m) => m.event === event && match(m),
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }
}
