/**
 * The remote side of the debugger: the xsbug protocol that the XS engine's xsDebug.c (mxDebug,
 * LGPL) speaks over the connection the platform gives it (firmware/platform/xs/xs_debug_*.c).
 * What the engine sends is one XML document per message, `<xsbug>...</xsbug>` between CR LF:
 * `<login>`, `<frames>`, `<local>`, `<global>`, `<grammar>`, `<break>`, `<log>`. What it parses are
 * single tags followed by CR LF: `<set-breakpoint path line/>`, `<clear-breakpoint path line/>`,
 * `<clear-all-breakpoints/>`, `<go/>`, `<step/>`, `<step-inside/>`, `<step-outside/>`,
 * `<select id="@ADDR"/>`, `<toggle id="@ADDR"/>`, `<logout/>`, `<abort/>`; the paths
 * "exceptions" and "start" of set-breakpoint are the engine's flags (break on exceptions, on start).
 *
 * The firmware connects to us (as a machine connects to xsbug): posix over a UNIX socket, qemu
 * through the third UART's chardev socket. XsbugListener is that socket; XsbugConnection one
 * connected engine.
 */
import { EventEmitter } from 'node:events';
import { existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One XML element of a message. */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_all, entity: string) => {
    if (entity[0] === '#') return String.fromCodePoint(entity[1] === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity] ?? '';
  });
}

/** Parses the XML the engine writes (elements, attributes in double quotes, text, entities); refuses anything unbalanced. */
export function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  const tag = /<(\/?)([A-Za-z_:][\w.:-]*)((?:\s+[A-Za-z_:][\w.:-]*\s*=\s*"[^"]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let match = tag.exec(text); match; match = tag.exec(text)) {
    const top = stack[stack.length - 1];
    top.text += decodeEntities(text.slice(last, match.index));
    last = tag.lastIndex;
    const [, closing, name, attributeText, selfClosing] = match;
    if (closing) {
      if (top.name !== name) throw new Error(`xsbug: </${name}> closes <${top.name}>`);
      stack.pop();
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const a of attributeText.matchAll(/([A-Za-z_:][\w.:-]*)\s*=\s*"([^"]*)"/g)) attributes[a[1]] = decodeEntities(a[2]);
    const element: XmlElement = { name, attributes, children: [], text: '' };
    top.children.push(element);
    if (!selfClosing) stack.push(element);
  }
  stack[stack.length - 1].text += decodeEntities(text.slice(last));
  if (stack.length !== 1) throw new Error(`xsbug: <${stack[stack.length - 1].name}> is not closed`);
  return root;
}

/** Attribute values the engine reads: it stops a path at 255 bytes and reads no entity, so refuse what it would misread. */
function attribute(value: string): string {
  if (/["<>&\r\n]/.test(value) || Buffer.byteLength(value) > 255) throw new Error(`xsbug: cannot send the value ${JSON.stringify(value)} (quotes, <, >, & or line breaks, or over 255 bytes)`);
  return value;
}

/** One engine connected over the xsbug protocol. Events: 'message' (XmlElement, the <xsbug> element), 'close'. */
export class XsbugConnection extends EventEmitter {
  private buffer = '';
  closed = false;
  /** Every byte the engine sent, for a test's failure message (bounded). */
  transcript = '';

  constructor(private readonly socket: Socket) {
    super();
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.emit('close');
    });
    socket.on('error', () => { /* reported as close */ });
  }

  private receive(chunk: string): void {
    this.transcript = (this.transcript + chunk).slice(-20000);
    this.buffer += chunk;
    for (;;) {
      const start = this.buffer.indexOf('<xsbug>');
      if (start < 0) {
        this.buffer = this.buffer.slice(-8);
        return;
      }
      const end = this.buffer.indexOf('</xsbug>', start);
      if (end < 0) {
        this.buffer = this.buffer.slice(start);
        return;
      }
      // the engine writes UTF-8 bytes: read them as Latin-1 above, decode the whole message here
      const raw = Buffer.from(this.buffer.slice(start, end + 8), 'latin1').toString('utf8');
      this.buffer = this.buffer.slice(end + 8);
      let message: XmlElement;
      try {
        message = parseXml(raw).children[0];
      } catch (error) {
        this.emit('protocolError', error);
        continue;
      }
      this.emit('message', message);
    }
  }

  /** Sends commands (each a tag), then CR LF: the engine acts once a line is complete. */
  send(...tags: string[]): void {
    if (this.closed) return;
    this.socket.write(`${tags.join('')}\r\n`);
  }

  setBreakpoint(path: string, line: number): string { return `<set-breakpoint path="${attribute(path)}" line="${line}"/>`; }
  clearBreakpoint(path: string, line: number): string { return `<clear-breakpoint path="${attribute(path)}" line="${line}"/>`; }
  select(address: string): string { return `<select id="${attribute(address)}"/>`; }
  toggle(address: string): string { return `<toggle id="${attribute(address)}"/>`; }

  close(): void {
    this.socket.destroy();
  }
}

let counter = 0;

/**
 * The socket the firmware connects to: a UNIX stream socket at a unique path (pid-based) in the
 * temp folder, removed by close() (and at process exit). Events: 'connection' (XsbugConnection).
 */
export class XsbugListener extends EventEmitter {
  readonly path: string;
  /** The engine connected now (a firmware connects once per boot), or null. */
  current: XsbugConnection | null = null;
  private readonly server: Server;
  private readonly remove = () => {
    try {
      if (existsSync(this.path)) unlinkSync(this.path);
    } catch { /* gone */ }
  };

  private constructor(path: string, server: Server, options: { hello: boolean }) {
    super();
    this.path = path;
    this.server = server;
    server.on('connection', (socket) => {
      // qemu: a UART cannot tell that someone is there: the firmware waits for this hello (xs_debug_mps2.c)
      if (options.hello) socket.write('\r\n');
      const connection = new XsbugConnection(socket);
      this.current = connection;
      connection.on('close', () => {
        if (this.current === connection) this.current = null;
      });
      this.emit('connection', connection);
    });
    process.once('exit', this.remove);
  }

  /** Listens at `path` (default: a unique path in the temp folder). hello (default true): send CR LF on connection (the qemu UART's handshake; harmless protocol text elsewhere). */
  static async listen(options: { path?: string; hello?: boolean } = {}): Promise<XsbugListener> {
    const path = options.path ?? join(tmpdir(), `xs-rpmsg-xsbug-${process.pid}-${counter++}.sock`);
    if (existsSync(path)) unlinkSync(path);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new XsbugListener(path, server, { hello: options.hello ?? true });
  }

  /** Stops listening and removes the socket file. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.remove();
    process.off('exit', this.remove);
  }
}
